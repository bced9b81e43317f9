"""How long `terra check` takes against a correct local handler, and what each case adds.

Starts the correct handler the tests use (tests/check/handlers.py: a stdlib
ThreadingHTTPServer on 127.0.0.1:0 that verifies every signature over the raw
bytes), runs the installed `terra check URL --json` with the real 30 MB `big`
case, and prints the whole suite's wall time (process start to exit) and each
case's time (building its payloads, sending, judging) and request count.
Also times building the 30 MB payload alone. Loopback only.

    python benchmarks/check.py [--rounds 2] [--big-mb 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from terra_cli.webhooks import conformance
from tests.check.handlers import SECRET, running

TERRA = str(Path(sys.executable).parent / "terra")


def one_run(url: str, big_mb: float) -> tuple[float, dict[str, object]]:
    """Wall seconds of one `terra check --json` and its report."""
    env = {**os.environ, "TERRA_SIGNING_SECRET": SECRET, "TERRA_CHECK_BIG_MB": f"{big_mb:g}"}
    env["TERRA_CONFIG_DIR"] = env["TERRA_DATA_DIR"] = "/nonexistent-terra-bench"
    began = time.perf_counter()
    proc = subprocess.run(
        [TERRA, "check", url, "--json"], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"terra check exited {proc.returncode}: {proc.stderr}")
    report: dict[str, object] = json.loads(proc.stdout)
    return wall, report


def build_seconds(big_mb: float) -> tuple[float, int]:
    """Seconds to build the big payload in-process, and its size."""
    run = conformance.new_run(datetime.now(timezone.utc), int(big_mb * 1024 * 1024))
    began = time.perf_counter()
    body = conformance.big_activity(run, run.big_bytes)
    return time.perf_counter() - began, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--big-mb", type=float, default=30.0)
    args = parser.parse_args()

    walls: list[float] = []
    per_case: dict[str, list[float]] = {}
    requests: dict[str, int] = {}
    with running() as handler:
        for _ in range(args.rounds):
            wall, report = one_run(handler.url, args.big_mb)
            walls.append(wall)
            cases = report["cases"]
            assert isinstance(cases, list)
            for case in cases:
                per_case.setdefault(case["name"], []).append(case["elapsed_ms"])
                requests[case["name"]] = case["requests"]
            print(
                f"round: {wall:.2f} s wall, {report['requests']} requests, "
                f"{report['passed']} passed, suite {report['seconds']} s",
                flush=True,
            )
    built, size = build_seconds(args.big_mb)
    print(f"\nterra check, whole suite ({args.big_mb:g} MB big case), {args.rounds} rounds:")
    print(f"  wall (process start to exit): median {statistics.median(walls):.2f} s, "
          f"max {max(walls):.2f} s (goal: under 10 s)")  # fmt: skip
    print(f"  building the big payload alone: {built:.2f} s for {size / 1e6:.1f} MB")
    print("\n| case | requests | time (median ms) |\n| --- | ---: | ---: |")
    for name, times in per_case.items():
        print(f"| {name} | {requests[name]} | {statistics.median(times):.0f} |")


if __name__ == "__main__":
    main()
