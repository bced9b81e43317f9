"""The whole flow: `terra mock --webhook` into a real `terra listen`, and delivery retries.

connect -> `auth`; a data request -> its data event carrying the request's
reference; a range over 28 days -> large_request_processing, _sending and
chunks sharing the reference; deauth -> `deauth`. Deliveries are signed with
the configured secret (the listener's verdict is `ok`), and the records the
webhooks carry are the ones REST returns for the same user and days.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import urlsplit

from terra_cli.webhooks.signature import Verdict, verify
from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.listen.conftest import SECRET, start_listener
from tests.mock import spec
from tests.mock.conftest import AUTH, Mock, call, start_mock

ENV = {"TERRA_SIGNING_SECRET": SECRET}
FAST_RETRIES = {"TERRA_MOCK_RETRY_DELAYS": "0.2,0.2"}


def log_bodies(home: Home) -> list[dict[str, Any]]:
    """The listener's event log, oldest first."""
    files = sorted((home.data_dir / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_bytes().splitlines()]


def test_connect_data_large_request_and_deauth_reach_terra_listen(
    home: Home, mocks: list[Mock]
) -> None:
    listener = start_listener(home, "--max-events", "9", "--timeout", "60", env=ENV)
    mock = start_mock(home, "--webhook", listener.ready["url"], env=ENV)
    mocks.append(mock)

    user_id = mock.connect("OURA", "flow-ref")
    ack = mock.rest(
        "GET",
        "/daily",
        query={
            "user_id": user_id,
            "start_date": "2026-07-01",
            "end_date": "2026-07-04",
            "with_samples": "true",
        },
    )
    assert ack.status == 200
    small = ack.json()
    assert small["status"] == "success" and small["type"] == "daily"
    assert small["reference"] == small["trace_id"] == ack.headers["terra-reference"]
    assert small["user"]["user_id"] == user_id and "message" not in small

    large = mock.rest(
        "GET",
        "/sleep",
        query={
            "user_id": user_id,
            "start_date": "2026-05-01",
            "end_date": "2026-06-10",
            "to_webhook": "true",
        },
    ).json()
    assert large["message"].startswith("Large request submitted")
    mock.wait_records("webhook", 8)
    gone = mock.rest("DELETE", "/auth/deauthenticateUser", query={"user_id": user_id})
    assert gone.status == 200

    code, out, err = listener.finish(timeout=30)
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()][1:]
    assert [e["type"] for e in events] == [
        "auth", "daily", "large_request_processing", "large_request_sending",
        "sleep", "sleep", "sleep", "sleep", "deauth",
    ]  # fmt: skip
    assert all(e["verdict"] == "ok" and e["status"] == 200 for e in events)
    assert all(e["user_id"] == user_id for e in events)
    assert events[0]["reference_id"] == "flow-ref"
    assert events[1]["terra_reference"] == small["reference"] and events[1]["records"] == 3
    ref = large["reference"]
    assert all(e["terra_reference"] == ref for e in events[2:8])
    assert [e["records"] for e in events[4:8]] == [10, 10, 10, 10]
    assert [e["trace_id"] for e in events[4:8]] == [f"{ref}:chunk:{n}" for n in range(1, 5)]
    assert len({e["trace_id"] for e in events}) == len(events)  # none looks like a retry

    bodies = [json.loads(r["body"]) for r in log_bodies(home)]
    schemas = ["AuthSuccessEvent", "DailyEvent", "LargeRequestProcessingEvent",
               "LargeRequestSendingEvent", *["SleepEvent"] * 4, "DeauthEvent"]  # fmt: skip
    for name, body in zip(schemas, bodies, strict=True):
        assert spec.errors_for_schema(name, body) == [], name
    assert bodies[3]["expected_payloads"] == 4 and bodies[2]["reference"] == ref
    assert bodies[0]["user"]["user_id"] == user_id and bodies[0]["status"] == "success"
    assert bodies[8]["user"]["user_id"] == user_id and bodies[8]["user"]["active"] is False

    # The same records through REST, for the same user and days (REST works until deauth;
    # a second mock with the same seed replays the same ids, so ask it).
    twin = start_mock(home, env=ENV)
    mocks.append(twin)
    assert twin.connect("OURA", "flow-ref") == user_id
    rest = twin.rest(
        "GET",
        "/daily",
        query={
            "user_id": user_id,
            "start_date": "2026-07-01",
            "end_date": "2026-07-04",
            "with_samples": "true",
            "to_webhook": "false",
        },
    ).json()
    assert rest["data"] == bodies[1]["data"]
    rest_sleep = twin.rest(
        "GET",
        "/sleep",
        query={
            "user_id": user_id,
            "start_date": "2026-05-01",
            "end_date": "2026-06-10",
            "to_webhook": "false",
        },
    ).json()
    assert rest_sleep["data"] == [r for b in bodies[4:8] for r in b["data"]]

    code, _ = mock.stop()
    assert code == 0
    sent = [r for r in mock.records if r["kind"] == "webhook"]
    assert [r["status"] for r in sent] == [200] * 9
    requests = [r for r in mock.records if r["kind"] == "request"]
    assert requests[-1]["path"] == f"/v2/auth/deauthenticateUser?user_id={user_id}"
    assert requests[-1]["webhooks"] == 1


def test_deliveries_carry_terra_s_headers_and_a_valid_signature(
    home: Home, mocks: list[Mock]
) -> None:
    with capture_server() as app:
        mock = start_mock(home, "--webhook", app.url, env=ENV)
        mocks.append(mock)
        user_id = mock.connect("GARMIN")
        ack = mock.rest("GET", "/athlete", query={"user_id": user_id}).json()
        auth, athlete = app.wait_for(2)
    for got in (auth, athlete):
        assert got.header("content-type") == "application/json"
        assert got.header("x-terra-signature") == got.header("terra-signature")
        verdict = verify(got.header("x-terra-signature"), got.body, SECRET, time.time())
        assert verdict == Verdict.OK
        assert re.fullmatch(r"\d{13}", got.header("x-terra-ordering-timestamp") or "")
        assert got.header("x-terra-trace-id")
    assert athlete.header("terra-reference") == ack["reference"]
    body = json.loads(athlete.body)
    assert body["type"] == "athlete" and body["user"]["user_id"] == user_id
    assert set(body) == {"type", "user", "athlete", "version"}
    assert spec.errors_for_schema("AthleteEvent", body) == []
    assert spec.errors_for_schema("AuthSuccessEvent", json.loads(auth.body)) == []


def test_a_failed_delivery_is_retried_with_the_same_trace_id(home: Home, mocks: list[Mock]) -> None:
    with capture_server(status=500) as app:
        retries = {"TERRA_MOCK_RETRY_DELAYS": "1,1"}
        mock = start_mock(home, "--webhook", app.url, env={**ENV, **retries})
        mocks.append(mock)
        mock.connect("OURA")
        mock.wait_records("webhook", 1)  # the 500 has been answered and seen
        app.status = 200
        first, second = app.wait_for(2)
        records = mock.wait_records("webhook", 2)
    assert first.header("x-terra-trace-id") == second.header("x-terra-trace-id")
    assert first.header("x-terra-ordering-timestamp") == second.header("x-terra-ordering-timestamp")
    assert first.body == second.body
    assert [(r["attempt"], r["status"], r["retry_in"]) for r in records] == [
        (1, 500, 1.0),
        (2, 200, None),
    ]
    code, _ = mock.stop()
    assert code == 0


def test_an_unreachable_webhook_is_retried_then_given_up_and_shown(
    home: Home, mocks: list[Mock]
) -> None:
    with capture_server() as gone:
        dead = gone.url  # the port is free again once the server stops
    proc = home.popen("mock", "--port", "0", "--webhook", dead, env={**ENV, **FAST_RETRIES})
    from tests.listen.conftest import _first_line

    lines = [_first_line(proc.stderr, proc, 15)]
    port = int(re.search(r"127\.0\.0\.1:(\d+)", lines[0]).group(1))  # type: ignore[union-attr]
    base = f"http://127.0.0.1:{port}"
    session = call(base, "POST", "/api/widget/session", headers=AUTH, body={}).json()
    assert (
        call(base, "GET", urlsplit(session["url"]).path, query={"provider": "OURA"}).status == 200
    )
    while "gave up" not in lines[-1]:
        line = _first_line(proc.stderr, proc, 15)
        assert line, "".join(lines)
        lines.append(line)
    proc.send_signal(15)
    out, err = proc.communicate(timeout=10)
    text = "".join(lines) + err
    assert proc.returncode == 0
    assert out == ""  # the human view keeps stdout empty
    assert text.count("webhook auth -> refused") == 3
    assert "Warning: auth not delivered (refused); retrying in 0.2 s." in text
    assert "Warning: gave up on auth after 3 attempts (refused)." in text
    assert "Stopped: 2 requests served, 0 webhooks delivered, 1 given up." in text
