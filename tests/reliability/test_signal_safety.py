"""Stop signals are recorded without taking a lock.

A Python signal handler runs in the main thread between two bytecodes, which
may be while that thread holds a lock inside `threading.Event.wait()` (the
lock of the very event the handler would set). A handler that sets an Event or
takes a lock then waits on itself forever: `terra listen` ignored Ctrl-C now
and then on a loaded machine. These tests hold those locks and call what the
handlers call, on another thread, which must return at once.
"""

from __future__ import annotations

import threading
from typing import Any

from terra_cli.webhooks.receiver import ReceiverConfig
from terra_cli.webhooks.session import ListenSession


def _returns_while_held(lock: Any, call: threading.Thread) -> bool:
    with lock:  # as if the main thread had been interrupted while holding it
        call.start()
        call.join(timeout=2)
        alive = call.is_alive()
    call.join(timeout=2)
    return not alive


def test_listen_records_a_signal_without_the_stop_events_lock() -> None:
    session = ListenSession(ReceiverConfig(port=0), None, lambda events: None)
    held = session._stop._cond  # type: ignore[attr-defined]  # what Event.wait() holds
    call = threading.Thread(target=session.request_stop_from_signal, args=("stopped",))
    assert _returns_while_held(held, call)
    assert session.outcome.reason == "stopped"


def test_listen_records_a_signal_without_the_sessions_lock() -> None:
    session = ListenSession(ReceiverConfig(port=0), None, lambda events: None)
    call = threading.Thread(target=session.request_stop_from_signal, args=("stopped",))
    assert _returns_while_held(session._lock, call)


def test_a_recorded_signal_ends_the_run_within_a_tick() -> None:
    session = ListenSession(ReceiverConfig(port=0), None, lambda events: None)
    session.start()
    timer = threading.Timer(0.2, session.request_stop_from_signal, args=("stopped",))
    timer.start()
    outcome = session.run(tick=0.05)
    timer.join()
    assert outcome.reason == "stopped"

