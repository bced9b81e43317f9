"""Progress shows on a terminal's stderr while the cases run, and never on stdout."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time

from tests.check.handlers import SECRET, running
from tests.conftest import TERRA, Home


def _read_all(fd: int, proc: subprocess.Popen[bytes], limit: float = 60) -> bytes:
    out = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        elif proc.poll() is not None:
            break
    return out


def test_progress_on_a_terminal_stderr_and_json_stays_clean(home: Home) -> None:
    env = {**home.env, "TERRA_SIGNING_SECRET": SECRET, "TERRA_CHECK_BIG_MB": "4",
           "COLUMNS": "80", "LINES": "24", "TERM": "xterm-256color"}  # fmt: skip
    master, slave = pty.openpty()
    with running("slow-on-big", slow_seconds=0.6) as handler:
        proc = subprocess.Popen(
            [TERRA, "check", handler.url, "--json"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env,
        )  # fmt: skip
        os.close(slave)
        screen = _read_all(master, proc)
        stdout = proc.communicate(timeout=60)[0]
    os.close(master)
    assert proc.returncode == 0, screen
    text = screen.decode("utf-8", "replace")
    assert "checking" in text  # the progress line, drawn while big waited
    assert "/16" in text  # cases done out of 16
    report = json.loads(stdout)  # stdout: only the JSON document
    assert report["failed"] == 0 and b"\x1b" not in stdout
