"""Terra-aware summaries: every documented type, odd bodies, and no crash on anything."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from terra_cli.webhooks.events import (
    KNOWN_TYPES,
    STREAM_OVER,
    Delivery,
    ForwardInfo,
    build_event,
    human_size,
    summarize,
)
from tests.listen.payloads import EVENTS, OLD_USER_ID, USER_ID, dumps

EXPECTED: dict[str, tuple[str, str, str]] = {
    # name: (kind, type, text)
    "auth": ("auth", "auth", "user connected"),
    "auth_error": ("error", "auth", "connection failed (auth_cancelled); the user was deleted"),
    "auth_cancelled": (
        "error", "auth_cancelled", "connection failed (user_denied); the user was deleted"
    ),
    "deauth": ("auth", "deauth", "user disconnected"),
    "user_reauth": ("auth", "user_reauth", "re-connected: old user 0a1b2c3d -> new user 7d5c1e0a"),
    "access_revoked": ("warning", "access_revoked", "user revoked access at the provider"),
    "connection_error": (
        "warning", "connection_error",
        "connection degraded (the provider refused Terra's credentials)",
    ),
    "google_no_datasource": ("warning", "google_no_datasource", "No data source for this user"),
    "permission_change": (
        "warning", "permission_change", "scopes added: heartrate; removed: sleep"
    ),
    "processing": ("info", "processing", "provider is processing, retry after 30 s"),
    "large_request_processing": (
        "info", "large_request_processing", "large request accepted (reference ref-777)"
    ),
    "large_request_sending": (
        "info", "large_request_sending",
        "large request sending: 3 payloads expected (reference ref-777)",
    ),
    "rate_limit_hit": (
        "warning", "rate_limit_hit",
        "provider rate limit hit for 2026-01-01 to 2026-02-01; retrying at "
        "2026-02-02T00:00:00+00:00",
    ),
    "healthcheck": ("info", "healthcheck", "healthcheck normal: 12 webhooks last hour, trend 5%"),
    "s3_payload": (
        "info", "s3_payload",
        "payload uploaded: https://bucket.example/p.json, link expires in 600 s",
    ),
    "s3_upload": ("info", "s3_upload", "payload uploaded: https://b.example/x"),
    "athlete": ("data", "athlete", "athlete profile: Ada Lovelace"),
    # Contract change (issue 11): lab reports as Terra sends them; a failure is an error.
    "lab_report.completed": (
        "data",
        "lab_report.completed",
        "lab report completed: 2 results, report date 2026-10-30 (session sess-1)",
    ),
    "lab_report.failed": (
        "error",
        "lab_report.failed",
        "lab report failed: file_unreadable: Cannot read it.; not retriable (session sess-2)",
    ),
    "activity": ("data", "activity", "2 activity records, 2026-11-01 to 2026-11-03"),
    "body": ("data", "body", "1 body record, 2026-11-02"),
    "daily": ("data", "daily", "3 daily records, 2026-11-01 to 2026-11-03"),
    "sleep": ("data", "sleep", "1 sleep record, 2026-11-04"),
    "nutrition": ("data", "nutrition", "1 nutrition record, 2026-11-05"),
    "menstruation": ("data", "menstruation", "1 menstruation record, 2026-11-06"),
    "planned_workout": ("data", "planned_workout", "1 planned_workout record, 2026-12-01"),
    "hormone": ("data", "hormone", "1 hormone record, 2026-11-07"),
    "health_observation": ("data", "health_observation", "1 health_observation record, 2026-11-08"),
}  # fmt: skip


def test_every_sample_has_an_expectation() -> None:
    assert set(EXPECTED) == set(EVENTS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_summary_of_each_documented_type(name: str) -> None:
    kind, etype, text = EXPECTED[name]
    s = summarize(dumps(EVENTS[name]))
    assert (s.kind, s.type, s.text) == (kind, etype, text)


@pytest.mark.parametrize("name", ["activity", "daily", "sleep", "auth", "deauth", "user_reauth"])
def test_user_fields(name: str) -> None:
    s = summarize(dumps(EVENTS[name]))
    assert s.user_id == USER_ID and s.provider == "OURA" and s.reference_id == "athlete-42"


def test_records_are_null_without_data_and_counted_with_it() -> None:
    assert summarize(dumps(EVENTS["auth"])).records is None
    assert summarize(dumps(EVENTS["healthcheck"])).records is None
    assert summarize(dumps(EVENTS["daily"])).records == 3
    assert summarize(dumps(EVENTS["athlete"])).records == 1
    s = summarize(dumps(EVENTS["activity"]))
    assert (s.start, s.end) == ("2026-11-01", "2026-11-03")


@pytest.mark.parametrize("padding", [0, STREAM_OVER], ids=["small", "streamed"])
def test_data_as_one_object_counts_one_record(padding: int) -> None:
    record = EVENTS["activity"]["data"][0]
    doc = {**EVENTS["activity"], "data": record, "pad": "x" * padding}
    s = summarize(dumps(doc))
    assert s.records == 1
    assert s.text.startswith("1 activity record")
    assert not s.text.startswith("1 activity records")
    # A list of one is one record too (singular), and no data at all is none.
    one = summarize(dumps({**EVENTS["activity"], "data": [record], "pad": "x" * padding}))
    assert one.records == 1 and one.text.startswith("1 activity record,")
    none = summarize(dumps({**EVENTS["activity"], "data": None, "pad": "x" * padding}))
    assert none.records == 0 and none.text == "0 activity records"


def test_reauth_without_old_user_still_summarises() -> None:
    doc = {**EVENTS["user_reauth"], "old_user": None}
    s = summarize(dumps(doc))
    assert s.text == "re-connected: old user ? -> new user 7d5c1e0a"
    assert OLD_USER_ID not in s.text


def test_auth_2026_shape_takes_reference_from_user() -> None:
    doc = {"type": "auth", "user": {"user_id": "u", "provider": "WHOOP", "reference_id": "r"}}
    s = summarize(dumps(doc))
    assert (s.user_id, s.provider, s.reference_id) == ("u", "WHOOP", "r")


@pytest.mark.parametrize(
    ("body", "headers", "text"),
    [
        (b"", {}, "empty body"),
        (b"{not json", {}, "not JSON (9 B)"),
        (b"\xff\xfe", {}, "binary body, not UTF-8 (2 B)"),
        (b"[1,2]", {}, "JSON list, not an event object"),
        (b'{"a":1}', {}, "JSON object without a type (keys: a)"),
        (b'{"type":"brand_new","message":"hi"}', {}, "unknown type 'brand_new': hi"),
        (b"plain", {"Content-Encoding": "gzip"}, "gzip-encoded body that could not be decoded"),
        (b"plain", {"Content-Encoding": "br"}, "br-encoded body that could not be decoded"),
    ],
)
def test_odd_bodies(body: bytes, headers: dict[str, str], text: str) -> None:
    s = summarize(body, headers)
    assert s.text == text
    assert s.records is None


def test_gzip_is_decoded_for_display() -> None:
    raw = gzip.compress(dumps(EVENTS["sleep"]))
    s = summarize(raw, [("content-encoding", "gzip")])
    assert s.type == "sleep" and s.records == 1


def test_unknown_type_is_unknown_kind_and_keeps_user() -> None:
    s = summarize(dumps({"type": "new_thing", "user": {"user_id": "x", "provider": "P"}}))
    assert (s.kind, s.type, s.user_id) == ("unknown", "new_thing", "x")


def test_every_known_type_has_a_specific_summary() -> None:
    for etype in KNOWN_TYPES:
        s = summarize(dumps({"type": etype}))
        assert s.kind != "unknown", etype


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
fields = st.sampled_from(
    ["type", "user", "data", "old_user", "new_user", "athlete", "message", "status",
     "expected_payloads", "start_date", "url", "expires_in", "scopes_added", "metadata",
     "retry_after_seconds", "reference", "sent_webhooks_last_hour", "reason"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    etype=st.sampled_from(sorted(KNOWN_TYPES)) | st.text(max_size=5) | json_values,
    rest=st.dictionaries(fields, json_values, max_size=6),
)
def test_no_json_shape_crashes_the_summary(etype: Any, rest: dict[str, Any]) -> None:
    body = json.dumps({**rest, "type": etype}).encode()
    s = summarize(body)
    assert isinstance(s.text, str) and s.text
    assert s.records is None or isinstance(s.records, int)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.sampled_from(["", "gzip", "deflate", "identity", "x"]))
def test_no_bytes_crash_the_summary(body: bytes, encoding: str) -> None:
    s = summarize(body, {"content-encoding": encoding} if encoding else {})
    assert isinstance(s.text, str)


def _delivery(**kw: Any) -> Delivery:
    base: dict[str, Any] = {
        "id": "evt_1",
        "received_at": "2026-11-28T10:00:00.000Z",
        "method": "POST",
        "path": "/h",
        "headers": (("Terra-Reference", "tr"), ("X-Terra-Trace-Id", "t1")),
        "body": dumps(EVENTS["sleep"]),
        "size": 10,
        "verdict": "ok",
        "status": 200,
        "forward": None,
        "retry": False,
    }
    base.update(kw)
    return Delivery(**base)


def test_build_event_fills_every_ndjson_field() -> None:
    fwd = ForwardInfo("http://127.0.0.1:3000/h", 201, 12.345, None)
    event = build_event(_delivery(forward=fwd, retry=True))
    doc = event.to_json()
    assert doc["terra_reference"] == "tr" and doc["trace_id"] == "t1"
    assert doc["forward"] == {
        "url": "http://127.0.0.1:3000/h", "status": 201, "latency_ms": 12.3, "error": None,
        "route": None,
    }
    assert doc["type"] == "sleep" and doc["records"] == 1 and doc["retry"] is True
    assert event.body == b""  # kept only for --full
    assert build_event(_delivery(), keep_body=True).body == dumps(EVENTS["sleep"])


def test_build_event_for_a_refused_body() -> None:
    event = build_event(_delivery(body=b"", size=200 * 1024 * 1024, truncated=True, status=413))
    assert event.summary == "body refused: over the size limit (200.0 MB)"
    assert event.type is None and event.records is None


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (31457280, "30.0 MB")]
)
def test_human_size(n: int, text: str) -> None:
    assert human_size(n) == text


# -- large bodies are summarised record by record; the result must not change ------------


@pytest.fixture
def stream_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    import terra_cli.webhooks.events as events_module

    monkeypatch.setattr(events_module, "STREAM_OVER", 0)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("indent", [None, 2])
def test_streamed_summary_equals_the_plain_one(
    name: str, indent: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import terra_cli.webhooks.events as events_module

    body = json.dumps(EVENTS[name], indent=indent).encode()
    plain = summarize(body)
    monkeypatch.setattr(events_module, "STREAM_OVER", 0)
    assert summarize(body) == plain


@pytest.mark.parametrize(
    "body",
    [
        b'{"type":"daily","data":[1,2}',
        b'{"type":"daily","data":[{"a":1}],}',
        b'{"type":"daily" "data":[]}',
        b'{"type":"daily","data":[]} extra',
        b'{"type":"daily",',
        b"{",
    ],
)
def test_streamed_summary_rejects_what_json_rejects(
    body: bytes, stream_everything: None
) -> None:
    assert summarize(body).text.startswith("not JSON")


def test_streamed_summary_of_odd_shapes(stream_everything: None) -> None:
    assert summarize(b"[1]").text == "JSON list, not an event object"
    assert summarize(b" {} ").text == "JSON object without a type (keys: )"
    s = summarize(b'{"type":"sleep","data":[],"user":{"user_id":"u"}}')
    assert (s.records, s.user_id) == (0, "u")
    s = summarize(b'{"type":"sleep","data":[3, {"metadata": {"start_time": "2026-01-02"}}]}')
    assert (s.records, s.start) == (2, "2026-01-02")


@settings(max_examples=200, deadline=None)
@given(
    etype=st.sampled_from(["activity", "daily", "sleep", "x"]),
    rest=st.dictionaries(fields, json_values, max_size=6),
    indent=st.sampled_from([None, 1]),
)
def test_streamed_and_plain_agree_on_any_shape(
    etype: str, rest: dict[str, Any], indent: int | None
) -> None:
    import terra_cli.webhooks.events as events_module

    body = json.dumps({**rest, "type": etype}, indent=indent).encode()
    plain = summarize(body)
    saved = events_module.STREAM_OVER
    events_module.STREAM_OVER = 0
    try:
        assert summarize(body) == plain
    finally:
        events_module.STREAM_OVER = saved
