"""What `terra listen --register` adds, measured with the fake agent and the fake Admin API.

Prints medians over N rounds (the installed `terra`, no network) for:
  - ready: start to the NDJSON ready record, `listen` vs `listen --register`
    (the difference: GET /me, two destination lists, the environment, one create);
  - stop: SIGINT to exit, `listen` vs `listen --register` (which deletes the destination);
  - delivery: the fake signs and POSTs to the public URL until terra answers (--register).

    python benchmarks/register.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.admin_api import FakeAdmin  # noqa: E402

FAKE_AGENT = ROOT / "tests" / "fakes" / "fake_ngrok.py"
TERRA = str(Path(sys.executable).parent / "terra")
DEV_ID = "bench-app-b52TnP"
SCOPES = ["account:read", "destinations:read", "destinations:write", "events:read"]


def _agent(folder: Path) -> Path:
    path = folder / "ngrok"
    path.write_text(f"#!{sys.executable}\n" + FAKE_AGENT.read_text().split("\n", 1)[1])
    path.chmod(0o755)
    return path


def _line(proc: subprocess.Popen[bytes]) -> bytes:
    assert proc.stdout is not None
    data = bytearray()
    while not data.endswith(b"\n"):
        byte = os.read(proc.stdout.fileno(), 1)
        if not byte:
            raise RuntimeError(f"terra stopped: {proc.stderr.read() if proc.stderr else ''!r}")
        data += byte
    return bytes(data)


def one(env: dict[str, str], fake: FakeAdmin, register: bool) -> dict[str, float]:
    args = [TERRA, "listen", "--port", "0", "--json"] + (["--register"] if register else [])
    start = time.perf_counter()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    json.loads(_line(proc))
    out = {"ready": time.perf_counter() - start}
    if register:
        sent = time.perf_counter()
        fake.deliver(DEV_ID, {"type": "activity", "user": {"user_id": "u"}, "data": []})
        out["delivery"] = time.perf_counter() - sent
        _line(proc)
    stop = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    out["stop"] = time.perf_counter() - stop
    if register and fake.destinations[DEV_ID]:
        raise RuntimeError("the destination was not deleted on stop")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    fake = FakeAdmin().start()
    fake.add_environment(DEV_ID, "Bench")
    token = fake.mint(SCOPES)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            env = dict(
                os.environ,
                TERRA_CONFIG_DIR=str(root / "config"),
                TERRA_DATA_DIR=str(root / "data"),
                TERRA_NGROK_PATH=str(_agent(root)),
                NGROK_AUTHTOKEN="bench-ngrok-token-0123456789",
                TERRA_ADMIN_URL=fake.base,
                TERRA_ADMIN_TOKEN=token,
                TERRA_DEV_ID=DEV_ID,
            )
            results: dict[str, list[float]] = {}
            for _ in range(runs):
                for register in (False, True):
                    for name, value in one(env, fake, register).items():
                        key = f"{name} ({'--register' if register else 'plain'})"
                        results.setdefault(key, []).append(value)
    finally:
        fake.stop()
    print(f"terra listen --register vs plain, fake agent + fake Admin API, median of {runs}:")
    for key in sorted(results):
        print(f"  {key:<24} {statistics.median(results[key]) * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
