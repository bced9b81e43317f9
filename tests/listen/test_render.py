"""The live line at real widths: aligned columns, nothing cut that fits, never too wide."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from terra_cli.render.listen import (
    INDENT,
    PROVIDER_WIDTH,
    TYPE_WIDTH,
    event_line,
    event_rows,
    failure_advice,
    full_body,
)
from terra_cli.webhooks import samples
from terra_cli.webhooks.events import KNOWN_TYPES, Delivery, Event, ForwardInfo, build_event
from terra_cli.webhooks.signature import check, sign
from tests.listen.payloads import EVENTS, USER_ID, dumps

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDTHS = (80, 100, 120, 200)
VERDICTS = ("ok", "bad", "stale", "unsigned", "unchecked")
# Terra's provider slugs of every length, the longest ones included.
PROVIDERS = ("OURA", "GOOGLE", "WITHINGS", "FREESTYLELIBRE", "HEALTH_CONNECT")
TERRA_REF = "3f2a9c1d-5b6e-4e0f-9a51-2c1d0e9f8a7b"
VERDICT_COL = 9
USER_COL = VERDICT_COL + 9 + 1 + TYPE_WIDTH + 1 + PROVIDER_WIDTH + 1


def make(
    name: str = "activity",
    verdict: str = "ok",
    body: bytes | None = None,
    reference: str | None = TERRA_REF,
    **kw: object,
) -> Event:
    body = dumps(EVENTS[name]) if body is None else body
    headers = (("terra-reference", reference),) if reference else ()
    delivery = Delivery(
        id="evt_0123456789abcdef",
        received_at="2026-11-28T10:00:00.000Z",
        method="POST",
        path="/consumeTerraWebhook",
        headers=headers,
        body=body,
        size=len(body),
        verdict=verdict,
        status=200,
        forward=None,
        retry=False,
    )
    return replace(build_event(delivery, keep_body=True), **kw)  # type: ignore[arg-type]


def every_event() -> list[Event]:
    """A sample of every type `terra trigger` sends, for each provider, each verdict."""
    now = datetime(2026, 11, 28, 10, tzinfo=timezone.utc)
    out = []
    for i, name in enumerate(samples.EVENT_TYPES):
        for j, provider in enumerate(PROVIDERS):
            options = samples.SampleOptions(provider=provider)
            body = samples.encode(samples.build(name, now, seed=i, options=options))
            out.append(make(body=body, verdict=VERDICTS[(i + j) % len(VERDICTS)]))
    return out


def long_ones() -> list[Event]:
    """A long reference_id, a long summary, and an unknown type longer than the column."""
    long_ref = dict(EVENTS["activity"])
    long_ref["user"] = {**long_ref["user"], "reference_id": "customer-" + "x" * 60}
    odd = {"type": "some_future_type_nobody_knows_yet", "message": "word " * 60}
    scopes = dict(EVENTS["permission_change"])
    scopes["scopes_added"] = ",".join(f"fitness.scope_{i}.read" for i in range(12))
    return [make(body=dumps(long_ref)), make(body=dumps(odd)), make(body=dumps(scopes))]


def test_every_type_terra_sends_is_known_and_fits_the_column() -> None:
    assert {e.type for e in every_event()} <= KNOWN_TYPES
    assert len("large_request_processing") == TYPE_WIDTH
    assert len("FREESTYLELIBRE") == PROVIDER_WIDTH


@pytest.mark.parametrize("width", WIDTHS)
def test_every_type_and_provider_fits_and_lines_up(width: int) -> None:
    for event in every_event() + long_ones():
        rows = event_rows(event, width)
        assert all(len(row) <= width for row in rows), rows
        head = rows[0]
        assert head[VERDICT_COL:].split()[0] == event.verdict
        assert head[VERDICT_COL - 1] == " " and head[USER_COL - 1] == " "
        user = event.user_id or "-"
        assert user.startswith(head[USER_COL:].split()[0]), (head, user)
        if event.type in KNOWN_TYPES:
            assert head[VERDICT_COL + 10 :].split()[0] == event.type
        # the terra-reference, whole, on one of the event's rows
        assert any(f"ref:{TERRA_REF}" in row for row in rows), rows
        # continuation rows start under the verdict
        assert all(row.startswith(" " * INDENT) and row[INDENT] != " " for row in rows[1:])


@pytest.mark.parametrize("width", WIDTHS)
def test_nothing_that_fits_is_cut(width: int) -> None:
    for event in every_event():
        text = " ".join(row.strip() for row in event_rows(event, width))
        # a word longer than a whole row (an S3 URL at 80) is broken, never shortened
        assert "".join(event.summary.split()) in "".join(text.split())
        assert "…" not in text
        assert (event.provider or "-") in text


def test_the_size_is_padded_right_aligned() -> None:
    small = event_rows(make("deauth"), 100)[0]
    big = event_rows(make("activity", body=dumps(EVENTS["activity"]) + b" " * 20000), 100)[0]
    end = USER_COL + 8 + 1 + 8
    assert re.fullmatch(r" {2,}\d+ B", small[end - 8 : end])
    assert re.fullmatch(r" \d\d\.\d KB", big[end - 8 : end])


def test_a_long_type_is_the_only_thing_cut_and_keeps_the_columns() -> None:
    rows = event_rows(long_ones()[1], 80)
    assert rows[0][VERDICT_COL + 10 :].split()[0].endswith("…")
    assert len(rows) <= 5  # the long message wraps onto at most three rows, then is cut


def test_wide_terminals_show_it_on_one_line_and_the_whole_user_id() -> None:
    rows = event_rows(make("activity"), 200)
    assert len(rows) == 1
    assert "reference_id=athlete-42" in rows[0]
    assert event_rows(make("activity"), 240)[0][USER_COL:].split()[0] == USER_ID


def test_a_pipe_gets_one_unwrapped_line_with_every_part() -> None:
    line = event_line(make(), width=None)
    assert "\n" not in line and "\x1b" not in line
    parts = line.split()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", parts[0])
    assert parts[1:5] == ["ok", "activity", "OURA", USER_ID]
    assert f"ref:{TERRA_REF}" in line and "reference_id=athlete-42" in line
    assert "2 activity records, 2026-11-01 to 2026-11-03" in line


def test_no_terra_reference_no_ref() -> None:
    assert "ref:" not in event_line(make(reference=None), 120)


def test_colour_wraps_type_and_verdict_and_strips_to_the_plain_rows() -> None:
    event = make(verdict="bad")
    coloured = event_line(event, width=100, color=True)
    assert "\x1b[36mactivity" in coloured
    assert "\x1b[1;31mbad      \x1b[0m" in coloured
    assert ANSI.sub("", coloured) == event_line(event, width=100, color=False)


@pytest.mark.parametrize(
    ("verdict", "code"),
    [("ok", "32"), ("bad", "1;31"), ("stale", "1;31"), ("unsigned", "1;31"), ("unchecked", "1;33")],
)
def test_one_verdict_vocabulary_and_colour(verdict: str, code: str) -> None:
    line = event_line(make(verdict=verdict), width=100, color=True)
    assert f"\x1b[{code}m{verdict:<9}\x1b[0m" in line


def test_forward_status_retry_and_rejection_are_shown() -> None:
    fwd = ForwardInfo("http://127.0.0.1:3000/h", 201, 12.4, None)
    assert "-> 201 in 12 ms" in event_line(make(forward=fwd), width=200)
    down = ForwardInfo("http://127.0.0.1:3000/h", None, 1.0, "connection refused")
    assert "-> failed (connection refused)" in event_line(make(forward=down), width=80)
    assert "(retry)" in event_line(make(retry=True), width=80)
    assert "answered 401" in event_line(make(verdict="bad", status=401), width=80)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_stale_verdict_says_why_beside_the_plain_word(width: int) -> None:
    for detail, note in (
        ("in the future: signed 15 min ahead of this clock, tolerance 300 s", "(in the future)"),
        ("too old: signed 60 min ago, tolerance 300 s", "(too old)"),
    ):
        rows = event_rows(make("sleep", verdict="stale", verdict_detail=detail), width)
        assert all(len(row) <= width for row in rows), rows
        assert rows[0][VERDICT_COL:].split()[0] == "stale"
        text = " ".join(rows)
        assert note in text and "STALE" not in text and "✗" not in text
        # first of the flowing parts: before the terra-reference
        assert text.index(note) < text.index(f"ref:{TERRA_REF}")
    assert "(" not in event_line(make("sleep", verdict="stale"), 200).split("ref:")[0]
    assert "(in the future)" not in event_line(
        make("sleep", verdict="bad", verdict_detail="in the future: x"), 200
    )


def test_failure_advice_says_what_each_verdict_means() -> None:
    now = int(datetime(2026, 11, 28, 10, tzinfo=timezone.utc).timestamp())
    body = b'{"type":"healthcheck"}'
    secret = "test-signing-secret"

    def why(signed: int, signer: str = secret) -> str | None:
        """The reason the real signature check gives for a delivery signed at `signed`."""
        return check(sign(signer, body, signed), body, secret, now).detail

    bad = failure_advice("bad", "evt_1", why(now, signer="another-secret"))
    assert "signing secret" in bad and "does not match" in bad
    unsigned = failure_advice("unsigned", "evt_1")
    assert "no signature header" in unsigned and "is the sender Terra" in unsigned
    assert "signing secret" in unsigned
    old = failure_advice("stale", "evt_1", why(now - 3600))
    assert "too old: signed 60 min ago" in old
    assert "--original-signature" in old and "clock" in old
    future = failure_advice("stale", "evt_1", why(now + 900))
    assert "in the future: signed 15 min ahead" in future and "clock skew" in future
    assert "--original-signature" not in future


def test_full_body_is_pretty_and_cut() -> None:
    event = make("deauth")
    assert full_body(event).startswith('{\n  "type": "deauth"')
    cut = full_body(make("daily"), limit=50)
    assert len(cut.splitlines()[0]) <= 50
    assert "… cut: " in cut and "terra events show evt_0123456789abcdef" in cut


def test_full_body_of_binary_and_text() -> None:
    assert full_body(make(body=b"\xff\x00")).startswith("(binary body")
    assert full_body(make(body=b"hello")) == "hello"
