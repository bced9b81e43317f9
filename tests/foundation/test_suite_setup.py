"""The suite's own set-up: children start with default signals, whatever started pytest."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.conftest import default_signals_for_children

# Which of SIGHUP, SIGINT and SIGQUIT a fresh child process starts with ignored.
PROBE = (
    "import signal\n"
    "names = ('SIGHUP', 'SIGINT', 'SIGQUIT')\n"
    "print(*('ignored' if signal.getsignal(getattr(signal, n)) is signal.SIG_IGN else 'default'"
    " for n in names))"
)


def _child_dispositions() -> list[str]:
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=30)
    return run.stdout.split()


def test_children_start_with_default_signals_when_pytest_ignores_them() -> None:
    """What `nohup pytest` does: SIGHUP ignored. Without the conftest fixture every terra
    the suite starts inherits that, and the SIGHUP lifecycle tests fail."""
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        assert _child_dispositions()[0] == "ignored"  # inherited: what the fixture undoes
        with default_signals_for_children():
            assert _child_dispositions() == ["default", "default", "default"]
            assert signal.getsignal(signal.SIGHUP) not in (signal.SIG_IGN, signal.SIG_DFL)
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN  # put back afterwards
    finally:
        signal.signal(signal.SIGHUP, previous)


def test_the_suite_itself_hands_children_default_signals() -> None:
    assert _child_dispositions() == ["default", "default", "default"]
