"""Run the installed `terra` on a real pseudo-terminal (stdlib `pty`) of a chosen size."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import termios
import time
from collections.abc import Mapping
from dataclasses import dataclass

from tests.conftest import TERRA


@dataclass
class PtyResult:
    code: int
    output: str  # stdout and stderr as the terminal showed them (\r\n line ends)

    @property
    def lines(self) -> list[str]:
        return self.output.replace("\r\n", "\n").split("\n")


class PtyProcess:
    """A `terra` whose stdin, stdout and stderr are one terminal we hold the other end of."""

    def __init__(
        self, args: tuple[str, ...], env: Mapping[str, str], cols: int = 80, rows: int = 40
    ) -> None:
        full_env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        full_env["TERM"] = "xterm-256color"
        pid, fd = pty.fork()  # the child is a session leader with the terminal as controlling tty
        if pid == 0:  # pragma: no cover - the child
            try:
                os.execve(TERRA, [TERRA, *args], full_env)  # noqa: S606 - our own binary
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.buffer = b""

    def read_until(self, marker: str, timeout: float = 15) -> str:
        """Read the terminal until `marker` shows up (or fail after `timeout`)."""
        deadline = time.monotonic() + timeout
        while marker.encode() not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, f"{marker!r} never showed; got {self.buffer!r}"
            if not self._read(left):
                break
        return self.buffer.decode("utf-8", "replace")

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.buffer += data
        return bool(data)

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def finish(self, timeout: float = 15) -> PtyResult:
        """Drain the terminal until the child closes it, then reap it (killed if it hangs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._read(0.2):
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                while select.select([self.fd], [], [], 0.05)[0] and self._read(0.05):
                    pass
                break
        else:
            done = 0
        if not done:
            while time.monotonic() < deadline:
                done, status = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    break
                time.sleep(0.05)
            else:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
                raise AssertionError(f"terra did not exit; got {self.buffer!r}")
        os.close(self.fd)
        return PtyResult(os.waitstatus_to_exitcode(status), self.buffer.decode("utf-8", "replace"))


def run_in_pty(
    args: tuple[str, ...], env: Mapping[str, str], cols: int = 80, rows: int = 40
) -> PtyResult:
    """Run `terra args` on a terminal of `cols` columns and wait for it."""
    return PtyProcess(args, env, cols, rows).finish()
