"""The inspector page in headless chromium against a real `terra listen`.

Printed:
  1. how long the page takes to show a new event after its delivery was answered
     (p50/p99 over --events deliveries sent one at a time; the page stamps each row
     as it is inserted, on the same clock);
  2. the listener's events/s and answer p99 under load (benchmarks/listener.py's
     client) with the page open and streaming, against the same listener with no
     page open, in interleaved rounds of the same run;
  3. the page's JS heap (CDP Runtime.getHeapUsage after a forced GC) and DOM node
     count empty and after --burst events have streamed in;
  4. `terra listen` (inspector served, no page open) against `terra listen
     --no-inspect`: events/s, p99 and CPU per event, interleaved rounds of one run.

Needs Debian's chromium (/usr/bin/chromium) and the `playwright` package (the test
extra); it downloads nothing. Loopback only.

    python benchmarks/inspector.py [--events 200] [--requests 2000] [--rounds 3] [--burst 5000]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.listener import (
    SECRET,
    Figures,
    activity_body,
    cpu_seconds,
    load,
    median,
    signature,
    start_terra,
)

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Stamps each row as the page inserts it (epoch ms, the same clock as time.time()).
STAMP_ROWS = """() => {
  window.__shown = {};
  new MutationObserver((changes) => {
    const now = performance.timeOrigin + performance.now();
    for (const change of changes)
      for (const node of change.addedNodes)
        if (node.dataset && node.dataset.id && !(node.dataset.id in window.__shown))
          window.__shown[node.dataset.id] = now;
  }).observe(document.getElementById("rows"), { childList: true });
}"""


def start_listener(tmp: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    terra = str(Path(sys.executable).parent / "terra")
    env = dict(
        os.environ,
        TERRA_DATA_DIR=str(tmp / "data"),
        TERRA_CONFIG_DIR=str(tmp / "config"),
        TERRA_SIGNING_SECRET=SECRET,
    )
    proc = subprocess.Popen(
        [terra, "listen", "--no-tunnel", "--json", "--port", "0", "--inspect-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    # Keep reading NDJSON so a full pipe never stalls the listener.
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()
    return proc, ready


def deliver(conn: http.client.HTTPConnection, i: int) -> str:
    body = activity_body(i)
    headers = {"Content-Type": "application/json", "terra-signature": signature(body)}
    conn.request("POST", "/consumeTerraWebhook", body=body, headers=headers)
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    assert resp.status == 200, resp.status
    return str(answer["id"])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show_latency(page: Any, port: int, events: int) -> list[float]:
    """Milliseconds from each answered delivery to its row in the page."""
    page.evaluate(STAMP_ROWS)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    waits: list[float] = []
    for i in range(events):
        event_id = deliver(conn, 10_000_000 + i)
        answered = time.time() * 1000
        page.wait_for_function(f"() => '{event_id}' in window.__shown", timeout=10_000)
        waits.append(page.evaluate(f"() => window.__shown['{event_id}']") - answered)
    conn.close()
    return waits


def heap(page: Any, cdp: Any) -> tuple[float, int]:
    """Used JS heap in MB after a forced GC, and the page's DOM node count."""
    cdp.send("HeapProfiler.collectGarbage")
    used = cdp.send("Runtime.getHeapUsage")["usedSize"] / 1e6
    nodes = page.evaluate("() => document.getElementsByTagName('*').length")
    return used, int(nodes)


def on_vs_off(requests: int, rounds: int, connections: int, clients: int) -> None:
    """The listener with its inspector served against --no-inspect, same load, same run."""
    with tempfile.TemporaryDirectory(prefix="terra-inspect-bench-") as name:
        tmp = Path(name)
        (tmp / "on").mkdir()
        (tmp / "off").mkdir()
        on = start_terra(tmp / "on", True)
        off = start_terra(tmp / "off", False)
        procs = {"inspector on": on, "--no-inspect": off}
        figures: dict[str, list[Figures]] = {label: [] for label in procs}
        cpu = dict.fromkeys(procs, 0.0)
        try:
            for _proc, port, _log, _lines in procs.values():
                load("warm-up", port, 200, 2, 1)
            for _ in range(rounds):
                for label, (proc, port, _log, _lines) in procs.items():
                    before = cpu_seconds(proc.pid)
                    figures[label].append(load(label, port, requests, connections, clients))
                    cpu[label] += cpu_seconds(proc.pid) - before
        finally:
            for proc, _port, _log, _lines in procs.values():
                proc.send_signal(signal.SIGINT)
                proc.wait(timeout=10)
    for label, rounds_of in figures.items():
        sent = sum(f.requests for f in rounds_of)
        print(
            f"terra listen, {label:>12}: median {median([f.rate for f in rounds_of]):6.0f} "
            f"events/s (rounds: {', '.join(f'{f.rate:.0f}' for f in rounds_of)})  "
            f"p50 {median([f.p50_ms for f in rounds_of]):5.2f} ms  "
            f"p99 {median([f.p99_ms for f in rounds_of]):5.2f} ms  "
            f"all 200: {all(f.all_200 for f in rounds_of)}  "
            f"CPU {cpu[label] / sent * 1e6:.0f} us/event"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200, help="deliveries timed one by one")
    parser.add_argument("--requests", type=int, default=2000, help="per load round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--burst", type=int, default=5000, help="events for the memory figure")
    parser.add_argument(
        "--only-on-vs-off", action="store_true", help="just figure 4, no browser needed"
    )
    args = parser.parse_args()
    if args.only_on_vs_off:
        on_vs_off(args.requests, args.rounds, args.connections, args.clients)
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="terra-inspect-bench-") as name:
        tmp = Path(name)
        proc, ready = start_listener(tmp)
        port, url = int(ready["port"]), str(ready["inspect_url"])
        try:
            with sync_playwright() as driver:
                browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                load("warm-up", port, 200, 2, 1)

                # 2. Load with no page open, then with the page open, interleaved.
                closed: list[Figures] = []
                opened: list[Figures] = []
                cpu = {"no page open": 0.0, "page open": 0.0}
                for _ in range(args.rounds):
                    before = cpu_seconds(proc.pid)
                    closed.append(
                        load("closed", port, args.requests, args.connections, args.clients)
                    )
                    cpu["no page open"] += cpu_seconds(proc.pid) - before
                    context = browser.new_context()
                    page = context.new_page()
                    page.goto(url)
                    page.wait_for_selector("#conn.live")
                    before = cpu_seconds(proc.pid)
                    opened.append(load("open", port, args.requests, args.connections, args.clients))
                    cpu["page open"] += cpu_seconds(proc.pid) - before
                    context.close()

                # 1. Delivery-to-row latency, and 3. memory, on a fresh page.
                context = browser.new_context()
                page = context.new_page()
                page.goto(url + "&bench=1")
                page.wait_for_selector("#conn.live")
                page.wait_for_function("() => document.querySelectorAll('#rows tr').length > 0")
                cdp = context.new_cdp_session(page)
                base_heap, base_nodes = heap(page, cdp)
                waits = show_latency(page, port, args.events)
                before = page.evaluate("() => document.getElementById('count').textContent")
                started = time.perf_counter()
                burst = load("burst", port, args.burst, args.connections, args.clients)
                target = int(before.split()[0]) + burst.requests
                page.wait_for_function(
                    f"() => parseInt(document.getElementById('count').textContent) >= {target}",
                    timeout=120_000,
                )
                caught_up = time.perf_counter() - started
                full_heap, full_nodes = heap(page, cdp)
                listed = page.evaluate("() => document.getElementById('count').textContent")
                context.close()
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)

    print(f"machine: {os.cpu_count()} CPUs; listener and chromium on the same machine")
    print(
        f"page shows a delivered event: p50 {pct(waits, 0.5):.1f} ms, "
        f"p99 {pct(waits, 0.99):.1f} ms, max {max(waits):.1f} ms "
        f"over {len(waits)} events sent one at a time"
    )
    for label, rounds in (("no page open", closed), ("page open", opened)):
        print(
            f"listener, {label:>12}: median {median([f.rate for f in rounds]):6.0f} events/s "
            f"(rounds: {', '.join(f'{f.rate:.0f}' for f in rounds)})  "
            f"p50 {median([f.p50_ms for f in rounds]):5.2f} ms  "
            f"p99 {median([f.p99_ms for f in rounds]):5.2f} ms  "
            f"all 200: {all(f.all_200 for f in rounds)}  "
            f"terra CPU {cpu[label] / sum(f.requests for f in rounds) * 1e6:.0f} us/event"
        )
    ratio = median([f.rate for f in opened]) / median([f.rate for f in closed])
    print(f"events/s with the page open / without: {ratio:.2f}")
    print(
        f"page memory: JS heap {base_heap:.1f} MB, {base_nodes} DOM nodes at start; "
        f"{full_heap:.1f} MB, {full_nodes} DOM nodes after {burst.requests} more events "
        f"({listed}); the page caught up {caught_up:.1f} s after the burst began"
    )
    on_vs_off(args.requests, args.rounds, args.connections, args.clients)


if __name__ == "__main__":
    main()
