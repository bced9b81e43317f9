"""Retry marking remembers a bounded window of trace ids (memory stays flat all day)."""

from __future__ import annotations

import pytest

from terra_cli.webhooks import receiver as receiver_module
from terra_cli.webhooks.receiver import Receiver, ReceiverConfig


def test_only_the_most_recent_trace_ids_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receiver_module, "RETRY_WINDOW", 5)
    r = Receiver(ReceiverConfig(port=0), None, lambda d: None)
    assert [r.is_retry(f"t{i}") for i in range(5)] == [False] * 5
    assert r.is_retry("t0") and r.is_retry("t4")  # a repeat inside the window is a retry
    assert not r.is_retry("t5")  # the sixth id pushes t0 out
    assert not r.is_retry("t0")  # ...so t0 is news again (and pushes t1 out)
    assert r.is_retry("t5") and not r.is_retry("t1")
    assert not r.is_retry(None) and not r.is_retry("")


def test_the_default_window_is_large_enough_for_a_busy_day() -> None:
    r = Receiver(ReceiverConfig(port=0), None, lambda d: None)
    for i in range(receiver_module.RETRY_WINDOW):
        r.is_retry(f"trace-{i}")
    assert r.is_retry("trace-0")
