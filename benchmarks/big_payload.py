"""A ~30 MB signed activity payload sent to `terra listen --no-tunnel --json`.

Prints the time from the first byte sent to the answer, the time until the
event is shown (NDJSON), the listener's peak RSS (VmHWM from /proc, Linux)
before and after, and checks the log holds the body byte-exact.

    python benchmarks/big_payload.py [--mb 30] [--gzip]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import hmac
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET = "bench-signing-secret-0123456789"


def activity_payload(target_bytes: int) -> bytes:
    """Terra-shaped activity event whose heart-rate samples make it ~target_bytes."""
    sample = {"timestamp": "2026-11-01T08:00:00.000000+00:00", "bpm": 123, "timer_duration": 1}
    per_sample = len(json.dumps(sample, separators=(",", ":"))) + 1
    records = 10
    per_record = max(1, target_bytes // per_sample // records)
    data = []
    for r in range(records):
        samples = [
            {
                "timestamp": f"2026-11-{1 + r:02d}T{(i // 3600) % 24:02d}:{(i // 60) % 60:02d}:"
                f"{i % 60:02d}.000000+00:00",
                "bpm": 60 + i % 120,
                "timer_duration": i,
            }
            for i in range(per_record)
        ]
        data.append(
            {
                "metadata": {
                    "summary_id": f"big-{r}",
                    "start_time": f"2026-11-{1 + r:02d}T06:00:00+00:00",
                    "end_time": f"2026-11-{1 + r:02d}T20:00:00+00:00",
                },
                "heart_rate_data": {"detailed": {"hr_samples": samples}},
            }
        )
    doc = {
        "type": "activity",
        "user": {"user_id": "big-user", "provider": "GARMIN", "reference_id": "bench"},
        "data": data,
        "version": "2022-03-16",
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def peak_rss_mb(pid: int) -> float:
    """VmHWM (peak resident set) of a process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mb", type=float, default=30.0)
    parser.add_argument("--gzip", action="store_true", help="send it gzip-encoded")
    args = parser.parse_args()

    body = activity_payload(int(args.mb * 1024 * 1024))
    headers = {"Content-Type": "application/json"}
    if args.gzip:
        body = gzip.compress(body, compresslevel=6)
        headers["Content-Encoding"] = "gzip"
    t = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    headers["terra-signature"] = f"t={t},v1={mac}"

    terra = shutil.which("terra") or str(Path(sys.executable).parent / "terra")
    with tempfile.TemporaryDirectory(prefix="terra-big-") as name:
        tmp = Path(name)
        env = dict(os.environ, TERRA_DATA_DIR=str(tmp), TERRA_SIGNING_SECRET=SECRET)
        env["TERRA_CONFIG_DIR"] = str(tmp / "config")
        proc = subprocess.Popen(
            [terra, "listen", "--no-tunnel", "--json", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        idle_mb = peak_rss_mb(proc.pid)
        conn = http.client.HTTPConnection("127.0.0.1", ready["port"], timeout=60)
        started = time.perf_counter()
        conn.request("POST", ready["path"], body=body, headers=headers)
        resp = conn.getresponse()
        reply = resp.read()
        answered = time.perf_counter() - started
        event = json.loads(proc.stdout.readline())
        shown = time.perf_counter() - started
        peak_mb = peak_rss_mb(proc.pid)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        conn.close()
        [log] = list((tmp / "events").glob("*.jsonl"))
        record = json.loads(log.read_bytes())
        if "body" in record:
            logged = record["body"].encode()
        else:
            import base64

            logged = base64.b64decode(record["body_b64"])
    print(
        f"payload: {len(body) / 1024 / 1024:.1f} MiB activity event"
        f"{' (gzip)' if args.gzip else ''}, {event['records']} records"
    )
    print(f"answer: HTTP {resp.status} {json.loads(reply)['verdict']} in {answered:.3f} s "
          f"(goal <= 1.5 s); shown as an event after {shown:.3f} s")  # fmt: skip
    print(f"listener peak RSS: {peak_mb:.0f} MiB (idle {idle_mb:.0f} MiB; goal <= 250 MiB)")
    print(f"log byte-exact: {logged == body}; summary: {event['summary']}")


if __name__ == "__main__":
    main()
