"""`terra config set` killed at random moments never leaves a broken or loose file."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time

from tests.conftest import TERRA, Home

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_killed_mid_write_always_leaves_a_valid_private_file(home: Home) -> None:
    rng = random.Random(20261128)
    first = home.run("config", "set", "dev-id", input="dev-initial-value-0000\n")
    assert first.code == 0
    kills = 0
    for i in range(40):
        # A large value makes the write window wide enough to be hit.
        value = f"value{i:03d}" + "x" * 200_000
        proc = subprocess.Popen(
            [TERRA, "config", "set", "api-key"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=home.env,
        )
        assert proc.stdin is not None
        proc.stdin.write(value.encode() + b"\n")
        proc.stdin.close()
        time.sleep(rng.uniform(0.0, 0.12))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        data = tomllib.loads(home.config_file.read_text())
        table = data["profiles"]["default"]
        assert table["dev_id"] == "dev-initial-value-0000"
        written = {f"value{j:03d}" + "x" * 200_000 for j in range(i + 1)}
        assert table.get("api_key") is None or table["api_key"] in written
        assert stat.S_IMODE(os.stat(home.config_file).st_mode) == 0o600
        for leftover in home.config_dir.iterdir():
            assert stat.S_IMODE(leftover.stat().st_mode) == 0o600
    assert kills > 0, "no run was interrupted; the test proved nothing"
