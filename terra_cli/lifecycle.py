"""Process lifecycle for long-running commands: noticing that no one is left to stop us.

A listener started from a shell or a task runner that is then killed
(SIGKILL, a crashed IDE) is reparented and would keep its port, and its
tunnel, with nobody watching. `ParentWatch` notices the parent's death by its
pid changing, which works wherever `os.getppid` does. `nohup` (SIGHUP
ignored) is the conventional way to say "keep running on your own": then
nothing is watched.
"""

from __future__ import annotations

import os
import signal


def hangup_ignored() -> bool:
    """True when SIGHUP was set to be ignored before we started (`nohup`)."""
    sighup = getattr(signal, "SIGHUP", None)
    return sighup is not None and signal.getsignal(sighup) is signal.SIG_IGN


class ParentWatch:
    """Tells whether the process that started this one has gone away."""

    def __init__(self) -> None:
        self.parent = os.getppid()
        # Already orphaned (parent pid 1) or started with nohup: nothing to watch.
        self.enabled = self.parent > 1 and not hangup_ignored()

    def gone(self) -> bool:
        """True once the original parent has exited (we were reparented)."""
        return self.enabled and os.getppid() != self.parent


class SignalFlag:
    """Records that a stop signal came, for a main loop that polls it.

    A signal handler runs in the main thread between two bytecodes, possibly
    while that thread holds a lock inside `threading.Event.wait()`; setting an
    Event (or taking any lock) there can deadlock. The handler only assigns.
    """

    def __init__(self) -> None:
        self.raised = False

    def handler(self, signum: int, frame: object) -> None:
        self.raised = True
