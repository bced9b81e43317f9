"""The installed `terra` on a real pseudo-terminal (stdlib pty): type answers, read prompts.

stdin, stdout and stderr are the terminal's one end, made the child's
controlling terminal, so `isatty()` is true and getpass really turns echo off.
"""

from __future__ import annotations

import fcntl
import os
import select
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


class Terminal:
    """One `terra` run on a pty; `expect` text, `send` lines, then `wait` for the code."""

    def __init__(
        self, argv: Sequence[str], env: Mapping[str, str], cwd: Path, columns: int = 100
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, _winsize(40, columns))

        def controlling_terminal() -> None:  # runs in the child, after setsid
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.proc = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=controlling_terminal,
        )
        os.close(slave)
        self.master = master
        self.output = ""  # everything the terminal showed so far
        self._seen = 0  # `expect` searches after this point

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # the child closed its end
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace")
        return True

    def expect(self, text: str, timeout: float = 15) -> str:
        """Read until `text` shows; what came before it (since the last expect)."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.output.find(text, self._seen)
            if at >= 0:
                before = self.output[self._seen : at]
                self._seen = at + len(text)
                return before
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} never showed; the terminal showed:\n{self.output}")
            if not self._read(min(left, 0.2)) and self.proc.poll() is not None:
                self._drain()
                if text not in self.output[self._seen :]:
                    raise AssertionError(
                        f"{text!r} never showed before terra ended; it showed:\n{self.output}"
                    )

    def send(self, line: str) -> None:
        """Type a line and Enter."""
        os.write(self.master, line.encode() + b"\r")

    def _drain(self) -> None:
        while self._read(0.05):
            pass

    def wait(self, timeout: float = 20) -> int:
        """The exit code, once the run ended (everything it showed is in `output`)."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError(f"terra did not end; the terminal showed:\n{self.output}")
        self._drain()
        os.close(self.master)
        return int(self.proc.returncode)


def _winsize(rows: int, cols: int) -> bytes:
    import struct

    return struct.pack("HHHH", rows, cols, 0, 0)
