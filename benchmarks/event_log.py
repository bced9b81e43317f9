"""The event log at size: `events list/show` on a big log, and the index's cost to listen.

1. The receiver with and without the index writer, in the same run: two
   `terra listen --no-tunnel --json` processes (one with the index writer
   switched off through `terra_cli.webhooks.store.INDEX_WRITES`), the same
   interleaved rounds of signed activity events (benchmarks/listener.py's load):
   events/s, p50 and p99 of each.
2. A big log written through `terra listen` (mixed: small events and ~1 MB
   ones, a quarter of them sleep), built once and kept under --dir (outside
   the repository; reused when already big enough).
3. On that log: `terra --version`, `events list --limit 5`, `events list
   --type sleep`, `events show ID` (the oldest event: a scan's worst case)
   and `events show PREFIX`, medians of --runs alternating runs, each as a
   ratio to `terra --version`; and a rebuild of the index from the JSONL
   files (the index deleted first).

    python benchmarks/event_log.py [--size-mb 1024] [--dir /tmp/terra-event-log-bench]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.listener import SECRET, cpu_seconds, load, median, signature

BIN = Path(sys.executable).parent
TERRA = shutil.which("terra") or str(BIN / "terra")
BIG = 1_000_000  # bytes of a big event's body
NO_INDEX = (
    "import sys; import terra_cli.webhooks.store as s; s.INDEX_WRITES = False; "
    "from terra_cli.app import main; sys.argv[0] = 'terra'; main()"
)


def small_body(i: int) -> bytes:
    """A small event (~1.5 KB) of one of four types."""
    kind = ("activity", "sleep", "daily", "body")[i % 4]
    samples = [{"timestamp": f"2026-11-01T08:{m:02d}:00+00:00", "bpm": 60 + m} for m in range(20)]
    doc = {
        "type": kind,
        "user": {"user_id": f"user-{i % 200}", "provider": "OURA", "reference_id": "bench"},
        "data": [
            {
                "metadata": {
                    "start_time": "2026-11-01T00:00:00+00:00",
                    "end_time": "2026-11-02T00:00:00+00:00",
                    "n": i,
                },
                "heart_rate_data": {"detailed": {"hr_samples": samples}},
            }
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def big_body(i: int) -> bytes:
    """A ~1 MB event: a day of one-second heart-rate samples, sleep or activity."""
    kind = ("sleep", "activity")[i % 2]
    sample = {"timestamp": "2026-11-01T08:00:00+00:00", "bpm": 61}
    per = len(json.dumps(sample, separators=(",", ":"))) + 1
    samples = [sample] * (BIG // per)
    doc = {
        "type": kind,
        "user": {"user_id": f"user-{i % 200}", "provider": "GARMIN", "reference_id": "bench"},
        "data": [
            {
                "metadata": {
                    "start_time": "2026-11-01T00:00:00+00:00",
                    "end_time": "2026-11-02T00:00:00+00:00",
                    "n": i,
                },
                "heart_rate_data": {"detailed": {"hr_samples": samples}},
            }
        ],
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def start_listener(data: Path, index: bool) -> tuple[subprocess.Popen[bytes], int]:
    """`terra listen --no-tunnel --json --port 0` with the data dir at `data`."""
    env = dict(os.environ, TERRA_DATA_DIR=str(data), TERRA_SIGNING_SECRET=SECRET)
    env["TERRA_CONFIG_DIR"] = str(data / "config")
    env["TERRA_EVENT_LOG_DAYS"] = "0"
    argv = [TERRA] if index else [sys.executable, "-c", NO_INDEX]
    proc = subprocess.Popen(
        [*argv, "listen", "--no-tunnel", "--json", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    assert proc.stdout is not None
    ready = json.loads(proc.stdout.readline())
    # Keep reading NDJSON so the listener never waits on a full pipe.
    threading.Thread(target=lambda: [None for _ in proc.stdout or []], daemon=True).start()
    return proc, int(ready["port"])


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# -- 1. the receiver with and without the index --------------------------------------


def compare_listeners(requests: int, rounds: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="terra-index-bench-") as name:
        tmp = Path(name)
        procs = {
            "without index": start_listener(tmp / "plain", index=False),
            "with index": start_listener(tmp / "indexed", index=True),
        }
        results: dict[str, list[Any]] = {label: [] for label in procs}
        cpu = dict.fromkeys(procs, 0.0)
        try:
            for _label, (_proc, port) in procs.items():
                load("warm-up", port, 200, 2, 1)
            for _ in range(rounds):
                for label, (proc, port) in procs.items():
                    before = cpu_seconds(proc.pid)
                    results[label].append(load(label, port, requests, 8, 2))
                    time.sleep(0.2)  # the index writer's last batch of the round
                    cpu[label] += cpu_seconds(proc.pid) - before
        finally:
            for proc, _port in procs.values():
                stop(proc)
        indexed = tmp / "indexed" / "events" / "index.sqlite3"
        import sqlite3

        with contextlib.closing(sqlite3.connect(indexed)) as conn:
            rows = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        sent = 200 + sum(f.requests for figs in results.values() for f in figs) // len(results)
        return {
            label: {
                "rate": median([f.rate for f in figs]),
                "p50": median([f.p50_ms for f in figs]),
                "p99": median([f.p99_ms for f in figs]),
                "all_200": float(all(f.all_200 for f in figs)),
                "rounds": len(figs),
                "cpu_us": cpu[label] / sum(f.requests for f in figs) * 1e6,
                **({"indexed": rows, "sent": sent} if label == "with index" else {}),
            }
            for label, figs in results.items()
        }


# -- 2. the big log ------------------------------------------------------------------


def _sender(port: int, jobs: list[tuple[str, int]], out: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = 0
    big_cache: dict[int, bytes] = {}
    for kind, i in jobs:
        if kind == "big":
            body = big_cache.get(i % 2) or big_body(i)
            big_cache.setdefault(i % 2, body)
        else:
            body = small_body(i)
        headers = {"Content-Type": "application/json", "terra-signature": signature(body)}
        conn.request("POST", "/consumeTerraWebhook", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        sent += resp.status == 200
    conn.close()
    out.send(sent)


def build_log(root: Path, size_mb: int) -> tuple[int, float]:
    """Write about `size_mb` MB through `terra listen`; events written and seconds taken."""
    events = root / "events"
    have = sum(p.stat().st_size for p in events.glob("*.jsonl")) if events.is_dir() else 0
    if have >= size_mb * 1_000_000 * 0.95:
        return -1, 0.0
    target = size_mb * 1_000_000 - have
    # By bytes: 70 % in ~1 MB events, 30 % in ~2.5 KB lines (small body plus headers).
    bigs = max(1, int(target * 0.7 / (BIG + 400)))
    smalls = int(target * 0.3 / 2600)
    jobs = [("small", i) for i in range(smalls)]
    step = max(1, smalls // bigs)
    for k in range(bigs):
        jobs.insert(min(len(jobs), k * (step + 1)), ("big", k))
    proc, port = start_listener(root, index=True)
    started = time.perf_counter()
    ctx = multiprocessing.get_context("fork")
    clients = 4
    pipes, workers = [], []
    for c in range(clients):
        parent, child = ctx.Pipe(duplex=False)
        worker = ctx.Process(target=_sender, args=(port, jobs[c::clients], child))
        worker.start()
        pipes.append(parent)
        workers.append(worker)
    sent = sum(p.recv() for p in pipes)
    for worker in workers:
        worker.join()
    stop(proc)
    return sent, time.perf_counter() - started


# -- 3. queries ---------------------------------------------------------------------


def _time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def queries(root: Path, runs: int) -> tuple[dict[str, float], float, str]:
    env = dict(os.environ, TERRA_DATA_DIR=str(root), TERRA_CONFIG_DIR=str(root / "config"))
    env.pop("COLUMNS", None)
    first = (root / "events").glob("*.jsonl")
    oldest = min(first)
    with oldest.open("rb") as f:
        event_id = json.loads(f.readline())["id"]
    prefix = event_id[4:12]
    commands = {
        "terra --version": [TERRA, "--version"],
        "events list --limit 5": [TERRA, "events", "list", "--limit", "5"],
        "events list --type sleep": [TERRA, "events", "list", "--type", "sleep"],
        "events show ID": [TERRA, "events", "show", event_id],
        "events show PREFIX": [TERRA, "events", "show", prefix],
    }
    # The index after a deletion: rebuilt from the JSONL files by the first query.
    index = root / "events" / "index.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    rebuild = _time(commands["events list --limit 5"], env)
    for argv in commands.values():
        _time(argv, env)  # warm
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            samples[name].append(_time(argv, env))
    return {n: statistics.median(v) for n, v in samples.items()}, rebuild, event_id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--dir", default="/tmp/terra-event-log-bench")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=3000, help="per listener round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--skip-listener", action="store_true", help="only the log queries")
    parser.add_argument("--listener-only", action="store_true", help="only the receiver figures")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    if not args.skip_listener:
        figures = compare_listeners(args.requests, args.rounds)
        print(
            f"receiver, {args.rounds} interleaved rounds x {args.requests} signed events, "
            "8 keep-alive connections from 2 client processes:"
        )
        for label, f in figures.items():
            extra = f"  indexed {f['indexed']:.0f}/{f['sent']:.0f}" if "indexed" in f else ""
            print(
                f"  {label:>13}: {f['rate']:6.0f} events/s  p50 {f['p50']:5.2f} ms  "
                f"p99 {f['p99']:5.2f} ms  CPU {f['cpu_us']:4.0f} us/event  "
                f"all 200: {bool(f['all_200'])}{extra}"
            )
        ratio = figures["with index"]["rate"] / figures["without index"]["rate"]
        print(f"  with/without index: {ratio:.2f} x events/s")
    if args.listener_only:
        return
    root = Path(args.dir)
    root.mkdir(parents=True, exist_ok=True)
    sent, took = build_log(root, args.size_mb)
    files = sorted((root / "events").glob("*.jsonl"))
    size = sum(p.stat().st_size for p in files)
    lines = sum(1 for p in files for _ in p.open("rb"))
    if sent >= 0:
        print(f"log written through terra listen: {sent} events in {took:.0f} s")
    print(f"log: {size / 1e6:.0f} MB, {lines} events in {len(files)} day file(s) under {root}")
    medians, rebuild, event_id = queries(root, args.runs)
    base = medians["terra --version"]
    print(f"queries, median of {args.runs} alternating runs ({event_id} is the oldest):")
    for name, value in medians.items():
        versus = "" if name == "terra --version" else f"  {value / base:5.1f} x --version"
        print(f"  {name:<26} {value * 1000:7.0f} ms{versus}")
    print(f"  index rebuilt from the JSONL files (deleted first): {rebuild:.1f} s")


if __name__ == "__main__":
    main()
