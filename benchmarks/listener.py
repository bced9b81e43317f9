"""Throughput and latency of `terra listen --no-tunnel --json` against a bare stdlib receiver.

Both receivers run as their own processes and get the same load in the same
run: C keep-alive connections (spread over client processes) each sending
signed, Terra-shaped activity events. The bare receiver is the least a
receiver can do: a ThreadingHTTPServer that reads the body, verifies the
signature, appends a JSON line and answers in one write with Nagle off.
Printed: events/s of each, their ratio, answer latency p50/p99 under that
load, and whether every request was answered 200, logged and (for terra)
shown as an NDJSON event.

    python benchmarks/listener.py [--requests 3000] [--rounds 5] [--connections 8] [--clients 2]
                                  [--no-inspect]

terra runs with its inspector page served (on a free port, nobody viewing it), as
`terra listen` does by default; `--no-inspect` measures it without.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SECRET = "bench-signing-secret-0123456789"
HERE = Path(__file__).resolve().parent


def activity_body(i: int) -> bytes:
    """A small activity event (about 2 KB), different per request."""
    samples = [
        {"timestamp": f"2026-11-0{1 + i % 9}T08:{m:02d}:00+00:00", "bpm": 60 + (m + i) % 90}
        for m in range(30)
    ]
    doc = {
        "type": "activity",
        "user": {"user_id": f"user-{i % 50}", "provider": "GARMIN", "reference_id": "bench"},
        "data": [
            {
                "metadata": {
                    "summary_id": f"s-{i}",
                    "start_time": "2026-11-01T08:00:00+00:00",
                    "end_time": "2026-11-01T09:00:00+00:00",
                },
                "heart_rate_data": {"detailed": {"hr_samples": samples}},
            }
        ],
        "version": "2022-03-16",
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def signature(body: bytes) -> str:
    t = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# -- the bare receiver (run as its own process) ---------------------------------


def bare_receiver(log_path: str, port_file: str) -> None:
    """The baseline: read, verify, append+flush, answer in one write."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    lock = threading.Lock()
    log = open(log_path, "ab")  # noqa: SIM115 - open for the process's life

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            header = self.headers.get("terra-signature", "")
            parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
            expected = hmac.new(
                SECRET.encode(), parts.get("t", "").encode() + b"." + body, hashlib.sha256
            ).hexdigest()
            ok = hmac.compare_digest(expected, parts.get("v1", ""))
            line = json.dumps({"body": body.decode(), "ok": ok}).encode() + b"\n"
            with lock:
                log.write(line)
                log.flush()
            reply = b'{"received":true}'
            self.wfile.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(reply)).encode()
                + b"\r\n\r\n"
                + reply
            )

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Path(port_file).write_text(str(server.server_address[1]))
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    server.serve_forever()
    log.close()


# -- load -----------------------------------------------------------------------


def client_process(port: int, connections: int, per_conn: int, offset: int, out: Any) -> None:
    """Run `connections` keep-alive connections in threads; send back latencies and statuses."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    bodies = [activity_body(offset + i) for i in range(connections * per_conn)]

    def conn_worker(c: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine_lat: list[float] = []
        mine_st: list[int] = []
        for i in range(per_conn):
            body = bodies[c * per_conn + i]
            headers = {"Content-Type": "application/json", "terra-signature": signature(body)}
            started = time.perf_counter()
            conn.request("POST", "/consumeTerraWebhook", body=body, headers=headers)
            resp = conn.getresponse()
            resp.read()
            mine_lat.append(time.perf_counter() - started)
            mine_st.append(resp.status)
        conn.close()
        with lock:
            latencies.extend(mine_lat)
            statuses.extend(mine_st)

    threads = [threading.Thread(target=conn_worker, args=(c,)) for c in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.send((latencies, statuses))
    out.close()


@dataclass
class Figures:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    all_200: bool

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def load(name: str, port: int, requests: int, connections: int, clients: int) -> Figures:
    per_client = connections // clients
    per_conn = requests // (clients * per_client)
    ctx = multiprocessing.get_context("fork")
    pipes = []
    procs = []
    for k in range(clients):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(
            target=client_process, args=(port, per_client, per_conn, k * 1_000_000, child)
        )
        pipes.append(parent)
        procs.append(p)
    started = time.perf_counter()
    for p in procs:
        p.start()
    latencies: list[float] = []
    statuses: list[int] = []
    for parent in pipes:
        lat, st = parent.recv()
        latencies.extend(lat)
        statuses.extend(st)
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return Figures(
        name, len(statuses), elapsed, pct(0.50), pct(0.99), all(s == 200 for s in statuses)
    )


def wait_port_file(path: Path, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return int(path.read_text())
        time.sleep(0.02)
    raise SystemExit("bare receiver did not start")


def start_bare(tmp: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    log = tmp / "bare.jsonl"
    port_file = tmp / "bare.port"
    proc = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(log), str(port_file)])
    return proc, wait_port_file(port_file), log


def start_terra(
    tmp: Path, inspect: bool = True
) -> tuple[subprocess.Popen[bytes], int, Path, list[bytes]]:
    terra = shutil.which("terra") or str(Path(sys.executable).parent / "terra")
    data = tmp / "terra-data"
    env = dict(os.environ, TERRA_DATA_DIR=str(data), TERRA_SIGNING_SECRET=SECRET)
    env["TERRA_CONFIG_DIR"] = str(tmp / "terra-config")
    proc = subprocess.Popen(
        [terra, "listen", "--no-tunnel", "--json", "--port", "0"]
        + (["--inspect-port", "0"] if inspect else ["--no-inspect"]),
        stdout=subprocess.PIPE,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True)
    reader.start()
    return proc, int(ready["port"]), data / "events", lines


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


@dataclass
class Comparison:
    """One run of the listener benchmark: both receivers under the same load."""

    requests: int
    rounds: int
    connections: int
    clients: int
    results: dict[str, list[Figures]]
    cpu: dict[str, float]
    logged: dict[str, int]
    sent: dict[str, int]
    terra_shown: int

    def rate(self, label: str) -> float:
        return median([f.rate for f in self.results[label]])

    def p50(self, label: str) -> float:
        return median([f.p50_ms for f in self.results[label]])

    def p99(self, label: str) -> float:
        return median([f.p99_ms for f in self.results[label]])

    @property
    def ratio(self) -> float:
        return self.rate("terra listen") / self.rate("bare stdlib")

    @property
    def lost(self) -> int:
        """Events sent to terra but missing from its log or its NDJSON stream."""
        sent = self.sent["terra listen"]
        return 2 * sent - self.logged["terra listen"] - self.terra_shown


def measure(
    requests: int = 3000,
    rounds: int = 5,
    connections: int = 8,
    clients: int = 2,
    inspect: bool = True,
) -> Comparison:
    """Interleaved rounds of the same load against the bare receiver and terra."""
    with tempfile.TemporaryDirectory(prefix="terra-bench-") as name:
        tmp = Path(name)
        bare_proc, bare_port, bare_log = start_bare(tmp)
        terra_proc, terra_port, terra_events, lines = start_terra(tmp, inspect)
        warm = 200
        results: dict[str, list[Figures]] = {"bare stdlib": [], "terra listen": []}
        pids = {"bare stdlib": bare_proc.pid, "terra listen": terra_proc.pid}
        cpu: dict[str, float] = dict.fromkeys(pids, 0.0)
        try:
            load("warm-up", bare_port, warm, 2, 1)
            load("warm-up", terra_port, warm, 2, 1)
            # Interleaved rounds, so noise from other work on the machine hits both alike.
            for _ in range(rounds):
                for label, port in (("bare stdlib", bare_port), ("terra listen", terra_port)):
                    before = cpu_seconds(pids[label])
                    results[label].append(load(label, port, requests, connections, clients))
                    cpu[label] += cpu_seconds(pids[label]) - before
        finally:
            bare_proc.send_signal(signal.SIGTERM)
            terra_proc.send_signal(signal.SIGINT)
            bare_proc.wait(timeout=10)
            terra_proc.wait(timeout=10)
        sent = {k: sum(f.requests for f in v) for k, v in results.items()}
        logged = {
            "bare stdlib": len(bare_log.read_bytes().splitlines()) - warm,
            "terra listen": sum(
                len(f.read_bytes().splitlines()) for f in terra_events.glob("*.jsonl")
            )
            - warm,
        }
        terra_shown = sum(1 for line in lines if json.loads(line).get("kind") == "event") - warm
    return Comparison(
        requests, rounds, connections, clients, results, cpu, logged, sent, terra_shown
    )


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--serve-bare":
        bare_receiver(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000, help="per round and receiver")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--no-inspect", action="store_true", help="terra without its page")
    args = parser.parse_args()
    c = measure(args.requests, args.rounds, args.connections, args.clients, not args.no_inspect)
    print(f"terra inspector page: {'off (--no-inspect)' if args.no_inspect else 'on'}")
    print(
        f"load: {c.rounds} interleaved rounds x {c.requests} signed activity events "
        f"(~{len(activity_body(0))} B) per receiver, {c.connections} keep-alive connections "
        f"from {c.clients} client processes, {os.cpu_count()} CPUs"
    )
    for label, rounds in c.results.items():
        print(
            f"{label:>13}: median {c.rate(label):6.0f} events/s "
            f"(rounds: {', '.join(f'{f.rate:.0f}' for f in rounds)})  "
            f"p50 {c.p50(label):5.2f} ms  "
            f"p99 {c.p99(label):5.2f} ms (worst round "
            f"{max(f.p99_ms for f in rounds):5.2f})  "
            f"all 200: {all(f.all_200 for f in rounds)}  "
            f"logged {c.logged[label]}/{c.sent[label]}  "
            f"CPU {c.cpu[label] / c.sent[label] * 1e6:.0f} us/event"
        )
    print(f"terra listen NDJSON events shown: {c.terra_shown}/{c.sent['terra listen']}")
    print(
        f"ratio terra/bare: {c.ratio:.2f} (goal >= 0.7)   "
        f"terra p99 {c.p99('terra listen'):.1f} ms (goal <= 25)   lost: {c.lost}"
    )


if __name__ == "__main__":
    main()
