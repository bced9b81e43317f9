"""What reading a large request back costs `terra events show`.

Writes an event log of N sample data events (each with its own
terra-reference, as `terra trigger` sends them), with a large request of
`--chunks` payloads announced at the oldest end, then prints the median wall
time of `terra events show` for: the newest plain event (not chunk-shaped, so
nothing is read back), the newest chunk (read back to its announcement across
the whole log), and `terra events show --raw` of the same plain event (the
lookup alone, no summary work) as the baseline.

    python benchmarks/chunk_lookup.py [--events 3000] [--chunks 40] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from terra_cli.webhooks import samples

BIN = Path(sys.executable).parent


def _record(n: int, body: bytes, reference: str, trace: str) -> dict[str, object]:
    return {
        "id": f"evt_{n:016x}",
        "received_at": "2026-12-01T10:00:00.000Z",
        "method": "POST",
        "path": "/consumeTerraWebhook",
        "headers": {"terra-reference": reference, "x-terra-trace-id": trace},
        "body": body.decode("utf-8"),
        "size": len(body),
        "verdict": "ok",
        "status": 200,
        "forward": None,
    }


def build_log(root: Path, events: int, chunks: int) -> tuple[str, str]:
    """Write the log; the ids of the newest plain event and of the newest chunk."""
    now = datetime(2026, 12, 1, 10, tzinfo=timezone.utc)
    lines: list[str] = []
    announce = samples.build("large_request_sending", now, 1)
    announce["expected_payloads"] = chunks
    ref = announce["reference"]
    lines.append(json.dumps(_record(0, samples.encode(announce), ref, "big")))
    daily = samples.encode(samples.build("daily", now, 2))
    for k in range(1, chunks + 1):
        lines.append(json.dumps(_record(k, daily, ref, f"big:chunk:{k}")))
    last_chunk = f"evt_{chunks:016x}"
    for n in range(chunks + 1, chunks + 1 + events):
        lines.append(json.dumps(_record(n, daily, f"ref-{n}", f"t-{n}")))
    (root / "events").mkdir(parents=True)
    (root / "events" / "2026-12-01.jsonl").write_text("\n".join(lines) + "\n")
    return f"evt_{chunks + events:016x}", last_chunk


def _median(cmd: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--chunks", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plain, chunk = build_log(root, args.events, args.chunks)
        size = (root / "events" / "2026-12-01.jsonl").stat().st_size
        env = dict(os.environ, TERRA_CONFIG_DIR=tmp, TERRA_DATA_DIR=tmp)
        terra = str(BIN / "terra")
        raw = _median([terra, "events", "show", plain, "--raw"], env, args.runs)
        shown = _median([terra, "events", "show", plain], env, args.runs)
        chunked = _median([terra, "events", "show", chunk], env, args.runs)
    total = args.events + args.chunks + 1
    print(f"log: {total} events, {size / 2**20:.1f} MiB, large request of {args.chunks} chunks")
    print(f"events show --raw (lookup only):        {raw * 1000:7.0f} ms")
    print(f"events show, plain event:               {shown * 1000:7.0f} ms")
    print(f"events show, chunk {args.chunks} (reads back the log): {chunked * 1000:7.0f} ms")


if __name__ == "__main__":
    main()
