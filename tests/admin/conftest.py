"""Fixtures for the Admin API: the fake on 127.0.0.1:0, a home pointed at it, a pty runner."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import TERRA, Home
from tests.fakes.admin_api import FakeAdmin

DEV_ID = "staging-app-b52TnP"
ENV_NAME = "Staging"
ALL_SCOPES = [
    "account:read",
    "destinations:read",
    "destinations:write",
    "events:read",
    "payloads:read",
]


@pytest.fixture
def admin() -> Iterator[FakeAdmin]:
    fake = FakeAdmin().start()
    fake.add_environment(DEV_ID, ENV_NAME)
    fake.add_environment("prod-app-x81LmQ", "Production", billable=True)
    yield fake
    fake.stop()


@pytest.fixture
def admin_home(home: Home, admin: FakeAdmin) -> Home:
    """A home whose admin-url is the fake, with no waits in the device flow."""
    home.env.update(TERRA_ADMIN_URL=admin.base, TERRA_LOGIN_POLL_SCALE="0.01", TERRA_RETRIES="0")
    return home


def logged_in(home: Home, admin: FakeAdmin, scopes: list[str] | None = None) -> str:
    """A token minted by the fake and saved in the profile, as `terra login` leaves it."""
    token = admin.mint(ALL_SCOPES if scopes is None else scopes)
    r = home.run("config", "set", "admin-token", input=token + "\n")
    assert r.code == 0, r.stderr
    return token


@dataclass
class PtyRun:
    """`terra` on a real pseudo-terminal: everything it wrote, and its exit code."""

    proc: subprocess.Popen[bytes]
    master: int
    output: bytearray = field(default_factory=bytearray)

    def read_until(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {text!r} on the terminal; got {self.text()!r}")
            ready, _, _ = select.select([self.master], [], [], min(left, 0.2))
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk and self.proc.poll() is not None:
                    raise AssertionError(f"terra ended without {text!r}: {self.text()!r}")
                self.output += chunk
        return self.text()

    def finish(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None or self._drain():
            if time.monotonic() > deadline:
                self.proc.kill()
                raise AssertionError(f"terra did not finish: {self.text()!r}")
            self._drain()
        os.close(self.master)
        return self.proc.wait()

    def _drain(self) -> bool:
        ready, _, _ = select.select([self.master], [], [], 0.05)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:
            return False
        self.output += chunk
        return bool(chunk)

    def text(self) -> str:
        return self.output.decode("utf-8", "replace")


def run_on_pty(home: Home, *args: str, env: Mapping[str, str] | None = None) -> PtyRun:
    """Start the installed `terra` with stdin, stdout and stderr on one pseudo-terminal."""
    import pty

    master, slave = pty.openpty()
    full = dict(home.env)
    full.update(env or {})
    full.setdefault("TERM", "xterm")
    full.setdefault("NO_COLOR", "1")
    proc = subprocess.Popen(
        [TERRA, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=full,
        cwd=home.root,
        start_new_session=True,
    )
    os.close(slave)
    return PtyRun(proc, master)


def config_text(home: Home) -> str:
    path: Path = home.config_file
    return path.read_text() if path.exists() else ""


# The fake ngrok agent's fixtures, shared with the tunnel tests.
from tests.tunnel.conftest import records  # noqa: E402, F401
