"""Load and soak: 20,000 signed events over loopback into the installed `terra listen`.

Four keep-alive senders post Terra-shaped, signed events, each with its own
`x-terra-trace-id` as Terra sends them. Checked: every answer is 2xx, the
event log holds exactly the acknowledged events (ids equal, none twice), the
NDJSON stream shows each once, and terra's resident memory stays bounded.

Memory is sampled by progress, not by the clock: whenever the senders pass
another 500 events, VmRSS is read from /proc. The bound is relative to the
run's own early plateau (the highest sample between 2,000 and 4,000 events,
once imports, buffers and the allocator have warmed up): no later sample may
exceed it by more than 6 MiB, and the last quarter of the run may not grow
more than 2 MiB above the second quarter. Keeping anything of the order of a
body per event (about 1 KB here) breaks both by far; a leak of 400 bytes per
event breaks the first. Measured on the development machine: a plateau of
about 24 MiB and at most 1.2 MiB above it, of which ~1 MiB is the retry
window of 10,000 trace ids filling up (it stays flat once full).

The second run never reads terra's stdout (a stuck pipe or paused terminal):
the display backlog fills to its cap (5,000 events) and memory must then stay
flat by the same rule, its plateau taken between 6,000 and 8,000 events.
Without the cap it grew by ~3 KB per event (all bodies kept for the screen).
"""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TERRA, Home
from tests.listen.conftest import _first_line
from tests.reliability.conftest import ENV, log_records, signature

# 20,000 events take minutes on a slow machine: a longer limit than the suite's 120 s.
pytestmark = pytest.mark.timeout(900)

TOTAL = 20_000
SENDERS = 4
SAMPLE_EVERY = 500
MIB = 1024 * 1024
Samples = list[tuple[int, int]]


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def event_body(k: int, n: int) -> bytes:
    samples = [{"timestamp": f"2026-11-01T08:{m:02d}:00+00:00", "bpm": 60 + (m + n) % 90}
               for m in range(12)]  # fmt: skip
    doc = {
        "type": "activity",
        "user": {"user_id": f"user-{n % 97}", "provider": "GARMIN", "reference_id": f"s{k}"},
        "data": [
            {
                "metadata": {
                    "summary_id": f"{k}-{n}",
                    "start_time": "2026-11-01T08:00:00+00:00",
                    "end_time": "2026-11-01T09:00:00+00:00",
                },
                "heart_rate_data": {"detailed": {"hr_samples": samples}},
            }
        ],
        "version": "2022-03-16",
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def wait_ready(out_file: Path, proc: subprocess.Popen[bytes]) -> dict[str, object]:
    for _ in range(1500):
        text = out_file.read_text() if out_file.exists() else ""
        if "\n" in text:
            ready: dict[str, object] = json.loads(text.split("\n", 1)[0])
            return ready
        assert proc.poll() is None, "terra listen exited before it was ready"
        time.sleep(0.01)
    raise AssertionError("terra listen never printed its ready record")


def drive(proc: subprocess.Popen[Any], port: int) -> tuple[list[str], list[int], Samples]:
    """Send TOTAL signed events from SENDERS keep-alive connections; the acknowledged
    ids, the other statuses, and (events so far, RSS) every SAMPLE_EVERY events."""
    lock = threading.Lock()
    done = 0
    samples: Samples = [(0, rss_bytes(proc.pid))]
    acked: list[str] = []
    others: list[int] = []

    def sender(k: int) -> None:
        nonlocal done
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[str] = []
        for n in range(TOTAL // SENDERS):
            body = event_body(k, n)
            headers = {
                "Content-Type": "application/json",
                "terra-signature": signature(body),
                "x-terra-trace-id": f"trace-{k}-{n:06d}-7d5c1e0a3b2f4c69",
            }
            conn.request("POST", "/consumeTerraWebhook", body=body, headers=headers)
            resp = conn.getresponse()
            answer = resp.read()
            with lock:
                done += 1
                if 200 <= resp.status < 300:
                    mine.append(json.loads(answer)["id"])
                else:
                    others.append(resp.status)
                if done % SAMPLE_EVERY == 0:
                    samples.append((done, rss_bytes(proc.pid)))
        conn.close()
        with lock:
            acked.extend(mine)

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(SENDERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    samples.append((TOTAL, rss_bytes(proc.pid)))
    return acked, others, samples


def assert_bounded(samples: Samples, warm: int, plateau_end: int) -> None:
    plateau = max(rss for n, rss in samples if warm <= n <= plateau_end)
    later = [rss for n, rss in samples if n > plateau_end]
    bound = plateau + 6 * MIB
    second_quarter = max(rss for n, rss in samples if TOTAL // 4 < n <= TOTAL // 2)
    last_quarter = max(rss for n, rss in samples if n > 3 * TOTAL // 4)
    report = ", ".join(f"{n}:{rss / MIB:.1f}" for n, rss in samples)
    print(f"\nRSS MiB by events: {report}")
    assert max(later) <= bound, f"memory grew past {bound / MIB:.1f} MiB: {report}"
    assert last_quarter - second_quarter <= 2 * MIB, f"memory kept growing: {report}"


def assert_log_is_the_acknowledged(home: Home, acked: list[str], others: list[int]) -> list[str]:
    assert others == [] and len(acked) == TOTAL
    records = log_records(home.data_dir)
    logged = [r["id"] for r in records]
    assert len(logged) == len(set(logged)) == TOTAL
    assert set(logged) == set(acked)
    assert all(r["verdict"] == "ok" and r["status"] == 200 for r in records)
    return logged


@pytest.mark.soak
def test_20000_signed_events_all_logged_memory_bounded(home: Home, tmp_path: Path) -> None:
    out_file, err_file = tmp_path / "out.ndjson", tmp_path / "err.txt"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        proc = subprocess.Popen(
            [TERRA, "listen", "--no-tunnel", "--port", "0", "--json"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=err, env={**home.env, **ENV},
        )  # fmt: skip
    try:
        port = int(wait_ready(out_file, proc)["port"])  # type: ignore[call-overload]
        acked, others, samples = drive(proc, port)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    errors = err_file.read_text()
    assert code == 0, errors
    assert "Traceback" not in errors
    logged = assert_log_is_the_acknowledged(home, acked, others)
    shown = [json.loads(line) for line in out_file.read_bytes().splitlines()[1:]]
    assert [e["id"] for e in shown] == logged
    assert f"{TOTAL} events ({TOTAL} ok)" in errors
    assert_bounded(samples, warm=2_000, plateau_end=4_000)


@pytest.mark.soak
def test_20000_events_with_stdout_never_read_memory_bounded(home: Home) -> None:
    """`terra listen --json | something-stuck`: answers go on, the display backlog
    fills (5,000 events) and stays that size; the log has everything."""
    proc = subprocess.Popen(
        [TERRA, "listen", "--no-tunnel", "--port", "0", "--json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**home.env, **ENV}, text=True,
    )  # fmt: skip
    try:
        ready = json.loads(_first_line(proc.stdout, proc, 15))
        acked, others, samples = drive(proc, int(ready["port"]))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    errors = err
    assert proc.returncode == 0, errors
    assert "Traceback" not in errors and "Fatal" not in errors
    logged = assert_log_is_the_acknowledged(home, acked, others)
    assert f"{TOTAL} events ({TOTAL} ok)" in errors
    assert "not shown: the display fell too far behind" in errors
    shown = [json.loads(line)["id"] for line in out.splitlines()]
    position = {event_id: i for i, event_id in enumerate(logged)}
    assert [position[i] for i in shown] == sorted(position[i] for i in shown)  # in order
    # The backlog fills after ~5,000 events plus what the pipe holds; the plateau follows.
    assert_bounded(samples, warm=6_000, plateau_end=8_000)
