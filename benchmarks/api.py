"""How long Terra API commands take against the local fake Terra API (no network).

Prints medians of alternating runs: `terra --version` (start-up alone),
`terra widget` (start-up + httpx + one request), `terra users list --json`
over many users (pagination), and the in-process TerraClient's request rate
over one keep-alive connection.

    python benchmarks/api.py [--runs 15] [--users 20000] [--requests 500]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from terra_cli.api import ClientOptions, TerraClient, WidgetRequest  # noqa: E402
from tests.fakes.terra_api import FakeTerra, make_user  # noqa: E402

TERRA = str(Path(sys.executable).parent / "terra")


def _time(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--users", type=int, default=20000)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    fake = FakeTerra().start()
    fake.users = [make_user(i) for i in range(args.users)]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            env = dict(os.environ, TERRA_CONFIG_DIR=tmp, TERRA_DATA_DIR=tmp, **fake.env())
            commands = {
                "terra --version": [TERRA, "--version"],
                "terra widget": [TERRA, "widget"],
                f"terra users list --json ({args.users} users)": [TERRA, "users", "list", "--json"],
            }
            for cmd in commands.values():
                _time(cmd, env)
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.runs):
                for name, cmd in commands.items():
                    samples[name].append(_time(cmd, env))
        print(f"median of {args.runs} alternating runs against the fake Terra API on 127.0.0.1")
        for name, values in samples.items():
            print(f"  {name:<40} {statistics.median(values) * 1000:8.1f} ms")
        options = ClientOptions(fake.api_url, fake.access_url, fake.dev_id, fake.api_key)
        with TerraClient(options) as client:
            client.widget_session(WidgetRequest())
            start = time.perf_counter()
            for _ in range(args.requests):
                client.widget_session(WidgetRequest(reference_id="bench"))
            elapsed = time.perf_counter() - start
        print(f"  TerraClient.widget_session, keep-alive: {args.requests / elapsed:8.0f} req/s "
              f"({args.requests} requests)")
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
