"""A stuck screen never grows memory without bound: the display backlog is capped.

In-process: a `ListenSession` whose sink blocks (like a paused terminal or a
pipe nobody reads) while senders keep posting over real sockets.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from terra_cli.webhooks import session as session_module
from terra_cli.webhooks.events import Event
from terra_cli.webhooks.receiver import ReceiverConfig
from terra_cli.webhooks.session import ListenSession
from terra_cli.webhooks.store import EventStore
from tests.listen.conftest import post


class StuckSink:
    """Takes the first batch, then blocks until released; records what it got."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.got: list[str] = []
        self.entered = threading.Event()

    def __call__(self, events: list[Event]) -> None:
        self.entered.set()
        self.gate.wait(20)
        self.got += [e.id for e in events]


def run_stuck(
    tmp_path: Path, bodies: list[bytes], max_events: int | None = None
) -> tuple[ListenSession, StuckSink, list[str], EventStore]:
    store = EventStore(tmp_path / "events")
    sink = StuckSink()
    session = ListenSession(ReceiverConfig(port=0), store, sink, max_events=max_events)
    session.start()
    port = session.receiver.port
    ids = [post(port, bodies[0]).json()["id"]]
    assert sink.entered.wait(10)  # the screen is now stuck on the first event
    for body in bodies[1:]:
        reply = post(port, body)
        assert reply.status == 200  # answers never wait for the screen
        ids.append(reply.json()["id"])
    return session, sink, ids, store


def test_past_the_backlog_events_are_counted_and_logged_not_queued(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "BACKLOG_EVENTS", 5)
    session, sink, ids, store = run_stuck(tmp_path, [b'{"n":%d}' % i for i in range(30)])
    sink.gate.set()
    session.request_stop("stopped")
    outcome = session.run()
    store.close()
    assert outcome.events == 30 and outcome.by_verdict == {"unchecked": 30}
    assert outcome.unshown == 30 - 1 - 5  # one on screen, five waiting, the rest dropped
    assert sink.got == ids[:6]  # shown in order, no gaps before the cut
    assert [r["id"] for r in store.iter_records(newest_first=False)] == ids


def test_the_byte_budget_caps_waiting_bodies_but_one_large_body_still_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "BACKLOG_BYTES", 10_000)
    bodies = [b"first", b"x" * 50_000, b"y" * 4_000, b"z" * 4_000]
    session, sink, ids, store = run_stuck(tmp_path, bodies)
    sink.gate.set()
    session.request_stop("stopped")
    outcome = session.run()
    store.close()
    # The 50 KB body waits alone (nothing else was waiting); the next two do not fit.
    assert sink.got == ids[:2] and outcome.unshown == 2 and outcome.events == 4


def test_max_events_counts_events_the_screen_has_not_caught_up_with(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(session_module, "BACKLOG_EVENTS", 2)
    session, sink, _ids, store = run_stuck(tmp_path, [b"{}"] * 10, max_events=10)
    outcome_holder: dict[str, object] = {}
    runner = threading.Thread(target=lambda: outcome_holder.update(o=session.run()))
    runner.start()
    sink.gate.set()
    runner.join(10)
    store.close()
    outcome = session.outcome
    assert outcome.reason == "max-events" and outcome.events == 10
