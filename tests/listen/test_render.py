"""Event lines at a fixed width, with and without colour, and --full bodies."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from terra_cli.render.listen import event_line, full_body
from terra_cli.webhooks.events import Delivery, Event, ForwardInfo, build_event
from tests.listen.payloads import EVENTS, dumps

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def make(name: str = "activity", verdict: str = "ok", **kw: object) -> Event:
    body = dumps(EVENTS[name])
    delivery = Delivery(
        id="evt_0123456789abcdef",
        received_at="2026-11-28T10:00:00.000Z",
        method="POST",
        path="/consumeTerraWebhook",
        headers=(),
        body=body,
        size=len(body),
        verdict=verdict,
        status=200,
        forward=None,
        retry=False,
    )
    return replace(build_event(delivery, keep_body=True), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("width", [60, 80, 100, 140])
@pytest.mark.parametrize("name", ["activity", "user_reauth", "healthcheck", "rate_limit_hit"])
def test_lines_fit_the_width_and_keep_the_verdict(width: int, name: str) -> None:
    line = event_line(make(name), width=width)
    assert len(line) <= width
    assert line.endswith("✓ signed")
    assert f" {EVENTS[name]['type']} " in line


def test_plain_line_has_every_part() -> None:
    line = event_line(make(), width=None)
    parts = line.split()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", parts[0])
    assert parts[1:5] == ["activity", "OURA", "7d5c1e0a", "ref:athlete-42"]
    assert "2 activity records, 2026-11-01 to 2026-11-03" in line
    assert "\x1b" not in line


def test_colour_wraps_type_and_verdict_and_strips_to_the_plain_line() -> None:
    event = make(verdict="bad")
    coloured = event_line(event, width=100, color=True)
    assert "\x1b[36mactivity" in coloured
    assert "\x1b[1;31m✗ BAD SIGNATURE\x1b[0m" in coloured
    assert ANSI.sub("", coloured) == event_line(event, width=100, color=False)


@pytest.mark.parametrize(
    ("verdict", "text"),
    [("unchecked", "unchecked"), ("stale", "✗ STALE SIGNATURE"), ("unsigned", "✗ UNSIGNED")],
)
def test_verdict_texts(verdict: str, text: str) -> None:
    assert event_line(make(verdict=verdict), width=100).endswith(text)


def test_forward_status_retry_and_rejection_are_shown() -> None:
    fwd = ForwardInfo("http://127.0.0.1:3000/h", 201, 12.4, None)
    assert event_line(make(forward=fwd), width=120).endswith("✓ signed -> 201 in 12 ms")
    down = ForwardInfo("http://127.0.0.1:3000/h", None, 1.0, "connection refused")
    assert "-> failed (connection refused)" in event_line(make(forward=down))
    assert event_line(make(retry=True)).endswith("(retry)")
    assert "answered 401" in event_line(make(verdict="bad", status=401))


def test_full_body_is_pretty_and_cut() -> None:
    event = make("deauth")
    assert full_body(event).startswith('{\n  "type": "deauth"')
    cut = full_body(make("daily"), limit=50)
    assert len(cut.splitlines()[0]) <= 50
    assert "… cut: " in cut and "terra events show evt_0123456789abcdef" in cut


def test_full_body_of_binary_and_text() -> None:
    assert full_body(make(body=b"\xff\x00")).startswith("(binary body")
    assert full_body(make(body=b"hello")) == "hello"
