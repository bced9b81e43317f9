"""Prompts on a real pseudo-terminal: tests/terminal/pty_run.py's PtyProcess, plus typing.

`expect` waits for a text after the last one expected (so a question asked
twice is seen twice), `send` types a line and Enter, `wait` is the exit code.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from tests.terminal.pty_run import PtyProcess


class Terminal(PtyProcess):
    """One `terra ARGS` run on a terminal of `cols` columns, driven line by line."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cols: int = 100) -> None:
        super().__init__(tuple(args), env, cols)
        self._seen = 0  # `expect` searches after this point

    @property
    def output(self) -> str:
        """Everything the terminal showed so far."""
        return self.buffer.decode("utf-8", "replace")

    def expect(self, text: str, timeout: float = 15) -> str:
        """Read until `text` shows; what came before it (since the last expect)."""
        deadline = time.monotonic() + timeout
        while True:
            shown = self.output
            at = shown.find(text, self._seen)
            if at >= 0:
                before = shown[self._seen : at]
                self._seen = at + len(text)
                return before
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} never showed; the terminal showed:\n{shown}"
            if not self._read(min(left, 0.2)):  # terra closed the terminal
                assert text in self.output[self._seen :], (
                    f"{text!r} never showed before terra ended; it showed:\n{self.output}"
                )

    def send(self, line: str) -> None:
        """Type a line and Enter."""
        self.write(line.encode() + b"\r")

    def wait(self, timeout: float = 20) -> int:
        """The exit code, once terra ended (everything it showed is in `output`)."""
        return self.finish(timeout).code
