"""Start-up cost of the installed `terra`, relative to importing typer alone.

Prints the median wall time of `terra --version`, `terra config show` and
`python -c "import typer"`, measured alternately in one run so machine noise
hits all three alike, and the two ratios the foundation issue sets goals for
(<= 1.15 and <= 1.5).

    python benchmarks/startup.py [--runs 40]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(runs: int) -> dict[str, float]:
    """Median seconds for each command over `runs` alternating rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, TERRA_CONFIG_DIR=tmp, TERRA_DATA_DIR=tmp)
        env.pop("TERRA_DEBUG", None)
        subprocess.run(
            [str(BIN / "terra"), "config", "set", "dev-id", "bench-dev-id-123456"],
            env=env, capture_output=True, check=True,
        )
        commands = {
            "import typer": [sys.executable, "-c", "import typer"],
            "terra --version": [str(BIN / "terra"), "--version"],
            "terra config show": [str(BIN / "terra"), "config", "show"],
        }
        for cmd in commands.values():  # warm the page cache and .pyc files
            _time(cmd, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, cmd in commands.items():
                samples[name].append(_time(cmd, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    medians = measure(args.runs)
    base = medians["import typer"]
    print(f"start-up, median of {args.runs} alternating runs")
    for name, value in medians.items():
        print(f"  {name:<20} {value * 1000:7.1f} ms")
    print(f"  ratio terra --version / import typer     {medians['terra --version'] / base:.2f}"
          "  (goal <= 1.15)")
    print(f"  ratio terra config show / import typer   {medians['terra config show'] / base:.2f}"
          "  (goal <= 1.5)")


if __name__ == "__main__":
    main()
