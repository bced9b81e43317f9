"""Summaries per "Terra's semantics in summaries", on payloads shaped like Terra's examples.

The payloads are written here (not copied); every expected fact (type, user,
provider, reference, records, date span) is computed by the test from the
payload itself. The last tests send Terra's own example payloads (from the
spec beside the checkout) through a real `terra listen --json`.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from terra_cli.webhooks.events import ChunkCounter, Delivery, build_event, chunk_of, summarize
from terra_cli.webhooks.signature import sign
from tests.conftest import Home
from tests.fidelity import spec
from tests.listen.conftest import start_listener, start_plain_listener

SECRET = "whsec_test_0123456789abcdef"
USER = {
    "user_id": "5b1f0c2e-8d3a-4e7b-9a61-0c2d4e6f8a10",
    "provider": "WITHINGS",
    "last_webhook_update": "2026-08-14T06:01:12.000000+00:00",
    "scopes": "user.metrics,user.activity",
    "reference_id": "member-8812",
    "active": True,
}


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def _day(stamp: str) -> date:
    return datetime.fromisoformat(stamp).date()


def expected_span(records: list[dict[str, Any]]) -> tuple[str, str]:
    """The days the records cover, as a reader would say: `end_time` is exclusive."""
    firsts, lasts = [], []
    for record in records:
        meta = record["metadata"]
        start = datetime.fromisoformat(meta["start_time"])
        end = datetime.fromisoformat(meta["end_time"])
        last = end.date()
        if end.time() == datetime.min.time() and end > start:
            last -= timedelta(days=1)  # ends at the midnight that closes the previous day
        firsts.append(start.date())
        lasts.append(last)
    return min(firsts).isoformat(), max(lasts).isoformat()


def _day_record(day: str, offset: str = "+01:00") -> dict[str, Any]:
    start = date.fromisoformat(day)
    return {
        "metadata": {
            "start_time": f"{start}T00:00:00.000000{offset}",
            "end_time": f"{start + timedelta(days=1)}T00:00:00.000000{offset}",
        },
        "distance_data": {"steps": 6021},
    }


@pytest.mark.parametrize("etype", ["daily", "body", "nutrition", "menstruation"])
@pytest.mark.parametrize("days", [["2026-08-13"], ["2026-08-11", "2026-08-12", "2026-08-13"]])
def test_day_scoped_records_cover_their_days_only(etype: str, days: list[str]) -> None:
    records = [_day_record(d) for d in days]
    payload = {"type": etype, "version": "2022-03-16", "user": USER, "data": records}
    s = summarize(_dumps(payload))
    first, last = expected_span(records)
    assert (s.type, s.user_id, s.provider, s.reference_id) == (
        payload["type"],
        USER["user_id"],
        USER["provider"],
        USER["reference_id"],
    )
    assert (s.records, s.start, s.end) == (len(records), first, last)
    span = first if first == last else f"{first} to {last}"
    assert s.text == f"{len(records)} {etype} record{'s' if len(records) > 1 else ''}, {span}"
    if len(days) == 1:
        assert " to " not in s.text  # one day, never "day to next day"


def test_a_sleep_crossing_midnight_spans_two_days_and_a_midnight_end_does_not() -> None:
    night = {"start_time": "2026-08-12T23:40:00+02:00", "end_time": "2026-08-13T06:55:00+02:00"}
    s = summarize(_dumps({"type": "sleep", "user": USER, "data": [{"metadata": night}]}))
    assert (s.start, s.end) == ("2026-08-12", "2026-08-13")
    evening = {"start_time": "2026-08-12T22:00:00Z", "end_time": "2026-08-13T00:00:00Z"}
    s = summarize(_dumps({"type": "activity", "user": USER, "data": [{"metadata": evening}]}))
    assert (s.start, s.end) == ("2026-08-12", "2026-08-12")


def test_hormone_and_planned_workout_get_date_spans() -> None:
    hormone: dict[str, Any] = {
        "type": "hormone",
        "user": USER,
        "version": "2022-03-16",
        "data": [
            {"timestamp": "2026-08-10T07:45:00+02:00", "lh_mIU_per_ml": 6.1},
            {"timestamp": "2026-08-12T07:40:00+02:00", "lh_mIU_per_ml": 14.8},
        ],
    }
    s = summarize(_dumps(hormone))
    days = sorted(r["timestamp"][:10] for r in hormone["data"])
    assert (s.records, s.start, s.end) == (2, days[0], days[-1])
    assert s.text == f"2 hormone records, {days[0]} to {days[-1]}"
    planned = {
        "type": "planned_workout",
        "user": USER,
        "version": "2022-03-16",
        "data": [
            {"planned_workout_id": "77", "planned_date": "2026-08-20", "details": {}},
            {"planned_workout_id": "78", "details": {"metadata": {"planned_date": "2026-08-22"}}},
        ],
    }
    s = summarize(_dumps(planned))
    assert (s.records, s.start, s.end) == (2, "2026-08-20", "2026-08-22")


def test_lab_report_completed_uses_data_reference_and_counts_results() -> None:
    data: dict[str, Any] = {
        "session_id": "411902338110422016",
        "reference_id": "patient-0042",
        "report_date": "2026-08-09",
        "results_count": 2,
        "results": [{"source": {"name": "Ferritin"}}, {"source": {"name": "B12"}}],
    }
    doc = {"type": "lab_report.completed", "event_id": "evt_1", "occurred_at": "x", "data": data}
    s = summarize(_dumps(doc))
    assert (s.type, s.kind, s.reference_id, s.user_id) == (
        doc["type"],
        "data",
        data["reference_id"],
        None,
    )
    assert (s.records, s.start, s.end) == (data["results_count"], "2026-08-09", "2026-08-09")
    assert data["session_id"] in s.text and "2 results" in s.text


def test_lab_report_failed_is_a_failure_with_code_and_message() -> None:
    error = {
        "code": "extraction_failed",
        "message": "No results found in page 2.",
        "retriable": True,
    }
    data = {"session_id": "9", "reference_id": "patient-0042", "error": error}
    s = summarize(_dumps({"type": "lab_report.failed", "event_id": "evt_2", "data": data}))
    assert s.kind == "error" and s.records is None
    assert s.reference_id == data["reference_id"]
    assert s.text.startswith(f"lab report failed: {error['code']}: {error['message']}")
    assert "retriable" in s.text and "record" not in s.text


# ---------------------------------------------------------------- large requests


def _delivery(n: int, body: dict[str, Any], headers: dict[str, str]) -> Delivery:
    raw = _dumps(body)
    return Delivery(
        id=f"evt-{n}",
        received_at="2026-08-14T10:00:00Z",
        method="POST",
        path="/consumeTerraWebhook",
        headers=tuple(headers.items()),
        body=raw,
        size=len(raw),
        verdict="ok",
        status=200,
        forward=None,
        retry=False,
    )


def test_chunks_count_against_the_announced_number() -> None:
    ref = "c0ffee00-1111-4222-8333-444455556666"
    expected = 3
    counter = ChunkCounter()
    announced = {
        "type": "large_request_sending",
        "user": USER,
        "reference": ref,
        "message": "Large request is being sent",
        "expected_payloads": expected,
    }
    seen = [counter.observe(build_event(_delivery(0, announced, {"terra-reference": ref})))]
    assert seen[0].chunks == expected and seen[0].chunk is None
    chunk = {"type": "activity", "user": USER, "data": [{"metadata": {"start_time": "2026-07-01"}}]}
    for n, trace in enumerate(("t:chunk:1", "t:chunk:2", "t:chunk:2"), start=1):
        headers = {"terra-reference": ref, "x-terra-trace-id": trace}
        seen.append(counter.observe(build_event(_delivery(n, chunk, headers))))
    assert [(e.chunk, e.chunks) for e in seen[1:]] == [(1, 3), (2, 3), (2, 3)]  # a retry: no new k
    assert seen[2].summary.startswith("chunk 2 of 3: 1 activity record")
    assert seen[2].to_json()["chunk"] == {"index": 2, "of": 3}
    other = counter.observe(build_event(_delivery(9, chunk, {"terra-reference": "other"})))
    assert other.chunk is None and other.to_json()["chunk"] is None
    [request] = counter.report()
    assert (request.reference, request.arrived, request.expected) == (ref, 2, expected)


def test_listen_counts_chunks_and_closes_with_how_many_arrived(home: Home) -> None:
    ref = "d3f1a9c2-0000-4f0a-8f21-9e5b2c7a4d10"
    listener = start_listener(home, "--max-events", "4")
    announce = {
        "type": "large_request_sending",
        "user": USER,
        "reference": ref,
        "message": "Large request payloads are being sent",
        "expected_payloads": 3,
    }
    day = {
        "type": "daily",
        "user": USER,
        "version": "2022-03-16",
        "data": [_day_record("2026-07-01")],
    }
    listener.post(_dumps({**announce}), {"terra-reference": ref, "x-terra-trace-id": "a"})
    for n in (1, 2):
        listener.post(_dumps(day), {"terra-reference": ref, "x-terra-trace-id": f"a:chunk:{n}"})
    listener.post(_dumps(day), {"terra-reference": ref, "x-terra-trace-id": "a:chunk:2"})  # retry
    code, out, err = listener.finish()
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()[1:]]
    assert [e["chunk"] for e in events] == [
        None,
        {"index": 1, "of": 3},
        {"index": 2, "of": 3},
        {"index": 2, "of": 3},
    ]
    assert [e["retry"] for e in events] == [False, False, False, True]
    assert events[1]["summary"] == "chunk 1 of 3: 1 daily record, 2026-07-01"
    assert f"Large request {ref}: 2 of 3 payloads arrived (1 missing)." in err
    # events show reads the log back to the announcement: the same chunk k of N.
    for event in events[1:]:
        shown = home.run("events", "show", event["id"])
        assert shown.code == 0, shown.stderr
        k = event["chunk"]["index"]
        assert shown.stdout.splitlines()[0].endswith(f"chunk {k} of 3: 1 daily record, 2026-07-01")
    first = home.run("events", "show", events[0]["id"]).stdout.splitlines()[0]
    assert "chunk" not in first


def test_chunk_of_reads_back_to_the_announcement_within_a_limit() -> None:
    def rec(n: int, etype: str, ref: str, trace: str, **extra: Any) -> dict[str, Any]:
        body = {"type": etype, "user": USER, "data": [], **extra}
        headers = {"terra-reference": ref, "x-terra-trace-id": trace}
        return {"id": f"e{n}", "headers": headers, "body": json.dumps(body)}

    oldest_first = [
        rec(0, "large_request_sending", "R", "a", reference="R", expected_payloads=4),
        rec(1, "sleep", "R", "a:chunk:1"),
        rec(2, "sleep", "OTHER", "b:chunk:1"),
        rec(3, "sleep", "R", "a:chunk:2"),
        rec(4, "sleep", "R", "a:chunk:2"),  # a retry of chunk 2
        rec(5, "sleep", "R", "a:chunk:3"),
        rec(6, "sleep", "R", "not-chunk-shaped"),  # not looked up: costs nothing
    ]
    log = list(reversed(oldest_first))
    assert [chunk_of(log, r) for r in oldest_first] == [
        None,
        (1, 4),
        None,
        (2, 4),
        (2, 4),
        (3, 4),
        None,
    ]
    assert chunk_of(log, oldest_first[5], limit=3) is None  # the announcement is too far back
    assert chunk_of(log, {"id": "x", "headers": {}}) is None


# ---------------------------------------------------------------- verdict details


def _signed_at(body: bytes, when: int, name: str = "x-terra-signature") -> dict[str, str]:
    return {name: sign(SECRET, body, when)}


def test_future_and_past_timestamps_are_stale_with_their_detail(home: Home) -> None:
    listener = start_listener(home, "--max-events", "3", env={"TERRA_SIGNING_SECRET": SECRET})
    body = b'{"type":"healthcheck","status":"normal"}'
    now = int(time.time())
    listener.post(body, _signed_at(body, now + 900))
    listener.post(body, _signed_at(body, now - 900))
    listener.post(body, _signed_at(body, now))
    code, out, err = listener.finish()
    assert code == 1  # failed verdicts
    future, past, fine = (json.loads(line) for line in out.splitlines()[1:])
    assert future["verdict"] == past["verdict"] == "stale" and fine["verdict"] == "ok"
    assert future["verdict_detail"].startswith("in the future")
    assert past["verdict_detail"].startswith("too old")
    assert fine["verdict_detail"] is None
    assert "Traceback" not in err
    files = sorted((home.data_dir / "events").glob("*.jsonl"))
    logged = [json.loads(line) for line in files[-1].read_bytes().splitlines()]
    assert logged[0]["verdict_detail"].startswith("in the future")
    shown = home.run("events", "show", future["id"])
    assert shown.code == 0 and "stale (in the future" in shown.stdout


def test_live_line_and_warning_say_in_the_future(home: Home) -> None:
    listener, _banner = start_plain_listener(
        home, "--max-events", "1", env={"TERRA_SIGNING_SECRET": SECRET, "COLUMNS": "200"}
    )
    body = b'{"type":"healthcheck","status":"normal"}'
    listener.post(body, _signed_at(body, int(time.time()) + 3600))
    code, out, err = listener.finish()
    assert code == 1
    [line] = out.splitlines()  # 200 columns: one row
    assert line.split()[1] == "stale"  # the verdict column holds the plain word
    assert "(in the future)" in line and "STALE SIGNATURE" not in line
    assert "signature check failed (stale, in the future" in err and "clock" in err


@pytest.mark.parametrize(
    ("x_valid", "legacy_valid", "verdict"), [(True, False, "ok"), (False, True, "bad")]
)
def test_x_terra_signature_wins_when_both_are_sent(
    home: Home, x_valid: bool, legacy_valid: bool, verdict: str
) -> None:
    listener = start_listener(home, "--max-events", "1", env={"TERRA_SIGNING_SECRET": SECRET})
    body = b'{"type":"deauth","user":{"user_id":"u","provider":"OURA"}}'
    good = sign(SECRET, body, int(time.time()))
    bad = sign("another-secret-entirely", body, int(time.time()))
    listener.post(
        body,
        {
            "x-terra-signature": good if x_valid else bad,
            "terra-signature": good if legacy_valid else bad,
        },
    )
    _code, out, _err = listener.finish()
    assert json.loads(out.splitlines()[1])["verdict"] == verdict


# ---------------------------------------------------------------- Terra's own examples


def _facts(payload: dict[str, Any]) -> dict[str, Any]:
    """What a person reading the payload would state, computed here from the payload."""
    etype = payload["type"]
    user = payload.get("user") or payload.get("new_user") or {}
    data: Any = payload.get("data")
    reference = user.get("reference_id") or payload.get("reference_id")
    if etype.startswith("lab_report."):
        reference = data["reference_id"]
    facts: dict[str, Any] = {
        "type": etype,
        "user_id": user.get("user_id"),
        "provider": user.get("provider"),
        "reference_id": reference,
    }
    if isinstance(data, list):
        facts["records"] = len(data)
        first, last = expected_span(data)
        facts["span"] = {"start": first, "end": last}
    return facts


def _spec_examples() -> list[tuple[str, dict[str, Any]]]:
    return [(name, ex) for name in spec.spec()["webhooks"] for ex in spec.webhook_examples(name)]


def test_terras_example_payloads_through_listen_json_give_the_readers_facts(home: Home) -> None:
    examples = _spec_examples()
    assert len(examples) >= 17  # one per webhook, two for auth and lab_report
    listener = start_listener(home, "--max-events", str(len(examples)))
    for _name, example in examples:
        assert listener.post(_dumps(example)).status == 200
    code, out, err = listener.finish(timeout=30)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()[1:]]
    assert len(events) == len(examples)
    for (name, example), event in zip(examples, events, strict=True):
        for key, value in _facts(example).items():
            assert event[key] == value, (name, key, event[key], value)
        if example["type"] == "lab_report.failed":
            error = example["data"]["error"]
            assert error["code"] in event["summary"] and error["message"] in event["summary"]
            assert event["records"] is None
        if example["type"] == "large_request_sending":
            assert str(example["expected_payloads"]) in event["summary"]
        if example["type"] == "s3_payload":
            assert example["url"].split("?")[0] in event["summary"]
    days = {e["type"]: e["span"] for e in events if e["type"] in ("daily", "body", "nutrition")}
    assert days and all(span["start"] == span["end"] for span in days.values())
