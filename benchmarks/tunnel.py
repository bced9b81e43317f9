"""The tunnel's own costs, measured against the fake agent (no network).

Prints medians over N rounds for:
  - open: `open_tunnel` until the public URL is known (agent start + endpoint);
  - open without the launcher: the same with the parent-death launcher
    switched off, to show what it adds;
  - detect: from the agent being SIGKILLed to the `Lost` report;
  - restore: from the kill to the `Online` report with the new URL;
  - close: `session.close()` until the agent is gone.

    python benchmarks/tunnel.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from terra_cli import ngrok_agent
from terra_cli.tunnel import Lost, Online, TunnelStatus, TunnelTuning, open_tunnel

FAKE = Path(__file__).resolve().parent.parent / "tests" / "fakes" / "fake_ngrok.py"


def _agent(folder: Path) -> Path:
    path = folder / "ngrok"
    path.write_text(f"#!{sys.executable}\n" + FAKE.read_text().split("\n", 1)[1])
    path.chmod(0o755)
    return path


def measure(runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {k: [] for k in ("open", "plain", "detect", "restore", "close")}
    tuning = TunnelTuning(check_interval=0.5, backoff=0.0)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        agent = _agent(root)
        for _ in range(runs):
            marks: dict[str, float] = {}
            done = threading.Event()

            def on_status(
                status: TunnelStatus, marks: dict[str, float] = marks, done: threading.Event = done
            ) -> None:
                if isinstance(status, Lost):
                    marks["lost"] = time.perf_counter()
                if isinstance(status, Online) and status.restarted:
                    marks["online"] = time.perf_counter()
                    done.set()

            start = time.perf_counter()
            session = open_tunnel(
                9,
                authtoken="bench-token-123456",
                ngrok_path=str(agent),
                state_dir=root / "state",
                on_status=on_status,
                tuning=tuning,
            )
            times["open"].append(time.perf_counter() - start)
            proc = session._agent_proc
            assert proc is not None
            killed = time.perf_counter()
            os.kill(proc.pid, signal.SIGKILL)
            done.wait(10)
            times["detect"].append(marks["lost"] - killed)
            times["restore"].append(marks["online"] - killed)
            start = time.perf_counter()
            session.close()
            times["close"].append(time.perf_counter() - start)

            with_launcher = ngrok_agent.supports_parent_death_signal
            ngrok_agent.supports_parent_death_signal = lambda: False
            try:
                start = time.perf_counter()
                plain = open_tunnel(
                    9,
                    authtoken="bench-token-123456",
                    ngrok_path=str(agent),
                    state_dir=root / "state",
                    tuning=tuning,
                )
                times["plain"].append(time.perf_counter() - start)
                plain.close()
            finally:
                ngrok_agent.supports_parent_death_signal = with_launcher
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    times = measure(args.runs)
    labels = {
        "open": "open_tunnel (launcher, fake agent)",
        "plain": "open_tunnel without the launcher",
        "detect": "agent killed -> Lost reported",
        "restore": "agent killed -> new URL online",
        "close": "close (DELETE endpoint, SIGTERM agent)",
    }
    print(f"median of {args.runs} runs")
    for key, label in labels.items():
        print(f"  {label:<42} {statistics.median(times[key]) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
