"""`terra data TYPE` against the fake Terra API: parameters, outputs, validation, limits."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from tests.api.helpers import assert_error, assert_no_secrets
from tests.conftest import Home
from tests.fakes.terra_api import API_KEY, DEV_ID, REFERENCE, FakeTerra, Reply, make_user

USER = make_user(0)["user_id"]


def test_to_webhook_prints_the_reference(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "data",
        "activity",
        "--user-id",
        USER,
        "--start",
        "2026-11-01",
        "--end",
        "2026-11-03",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    assert r.stdout == REFERENCE + "\n"
    assert "terra listen" in r.stderr
    [req] = terra_api.requests
    assert (req.method, req.path) == ("GET", "/v2/activity")
    assert req.query == {
        "user_id": USER,
        "start_date": "2026-11-01",
        "end_date": "2026-11-03",
        "to_webhook": "true",
        "with_samples": "false",
    }
    assert req.headers["dev-id"] == DEV_ID and req.headers["x-api-key"] == API_KEY
    assert_no_secrets(r, terra_api)


@pytest.mark.parametrize("kind", ["body", "daily", "sleep", "nutrition", "menstruation"])
def test_every_dated_type(home: Home, terra_api: FakeTerra, kind: str) -> None:
    r = home.run(
        "data",
        kind.upper(),
        "--user-id",
        USER,
        "--start",
        "today",
        "--samples",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    [req] = terra_api.requests
    assert req.path == f"/v2/{kind}"
    assert req.query["with_samples"] == "true"
    assert req.query["start_date"] == date.today().isoformat()
    assert "end_date" not in req.query


def test_relative_and_unix_dates(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "data",
        "sleep",
        "--user-id",
        USER,
        "--start",
        "7d",
        "--end",
        "yesterday",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    today = date.today()
    assert terra_api.requests[0].query["start_date"] == (today - timedelta(days=7)).isoformat()
    assert terra_api.requests[0].query["end_date"] == (today - timedelta(days=1)).isoformat()
    r = home.run(
        "data",
        "sleep",
        "--user-id",
        USER,
        "--start",
        "1764288000",
        "--end",
        "1764374400",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    assert terra_api.requests[1].query["start_date"] == "1764288000"
    assert terra_api.requests[1].query["end_date"] == "1764374400"


def test_json_with_to_webhook(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("data", "daily", "--user-id", USER, "--start", "3d", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["reference"] == REFERENCE and doc["type"] == "daily"


def test_large_request_message_is_shown(home: Home, terra_api: FakeTerra) -> None:
    msg = "Large request submitted. The data is being processed and will be sent in chunks"
    terra_api.queue(
        "activity",
        Reply.json(
            200, {"status": "success", "type": "activity", "reference": REFERENCE, "message": msg}
        ),
    )
    r = home.run("data", "activity", "--user-id", USER, "--start", "60d", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert r.stdout == REFERENCE + "\n"  # from the body when the header is absent
    assert f"Terra: {msg}" in r.stderr


def test_no_to_webhook_json_is_terras_answer(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "data",
        "activity",
        "--user-id",
        USER,
        "--start",
        "2026-11-01",
        "--no-to-webhook",
        "--json",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["type"] == "activity" and len(doc["data"]) == 2
    assert terra_api.requests[0].query["to_webhook"] == "false"


def test_no_to_webhook_summary(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "data",
        "activity",
        "--user-id",
        USER,
        "--start",
        "2026-11-01",
        "--no-to-webhook",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "#\tstart_time\tend_time\tsummary_id",
        "1\t2026-11-01T00:00:00+00:00\t2026-11-02T00:00:00+00:00\ta1",
        "2\t2026-11-02T00:00:00+00:00\t2026-11-03T00:00:00+00:00\ta2",
    ]
    assert f"2 activity records for {USER} (GARMIN)" in r.stderr


def test_athlete_takes_no_dates(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("data", "athlete", "--user-id", USER, "--no-to-webhook", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert "first_name\tAda" in r.stdout.splitlines()
    assert terra_api.requests[0].query == {"user_id": USER, "to_webhook": "false"}
    r = home.run("data", "athlete", "--user-id", USER, "--start", "7d", env=terra_api.env())
    assert_error(r, 3, "athlete takes no dates", "--start")
    assert len(terra_api.requests) == 1


def test_legacy_no_data_answer(home: Home, terra_api: FakeTerra) -> None:
    terra_api.queue(
        "sleep",
        Reply.json(
            200,
            {
                "status": "success",
                "type": "no_data",
                "message": "No data available for specified time range",
            },
        ),
    )
    r = home.run("data", "sleep", "--user-id", USER, "--start", "7d", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert "no data for that range" in r.stderr


@pytest.mark.parametrize(
    ("args", "code", "phrase"),
    [
        (["steps", "--user-id", USER, "--start", "7d"], 3, "Unknown data type 'steps'"),
        (["activity", "--user-id", USER, "--start", "2026-02-30"], 3, "is not a real date"),
        (["activity", "--user-id", USER, "--start", "last week"], 3, "not a date terra"),
        (
            ["activity", "--user-id", USER, "--start", "2026-11-05", "--end", "2026-11-01"],
            3,
            "is before --start",
        ),
        (
            ["activity", "--user-id", USER, "--start", "2020-01-01", "--end", "2024-12-31"],
            3,
            "spans 1826 days",
        ),
        (["activity", "--user-id", USER], 4, "needs --start"),
        (["activity", "--start", "7d"], 4, "--user-id"),
        (["activity", "--user-id", "a b", "--start", "7d"], 3, "is not a Terra user id"),
    ],
)
def test_invalid_requests_send_nothing(
    home: Home, terra_api: FakeTerra, args: list[str], code: int, phrase: str
) -> None:
    r = home.run("data", *args, env=terra_api.env())
    assert_error(r, code, phrase)
    assert terra_api.requests == []


def test_exactly_1825_days_is_sent(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "data",
        "activity",
        "--user-id",
        USER,
        "--start",
        "2020-01-01",
        "--end",
        "2024-12-30",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    assert len(terra_api.requests) == 1


def test_span_rule_429_is_not_retried(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("activity", Reply.rate_limited(retry_after=None, rule="r1"))
    r = home.run("data", "activity", "--user-id", USER, "--start", "7d", env=terra_api.env())
    assert_error(r, 1, "at most 1,825 days", "rate limit exceeded", "--start/--end")
    assert len(terra_api.requests) == 1


def test_hourly_rule_429_waits_and_retries(home: Home, terra_api: FakeTerra) -> None:
    terra_api.queue("activity", Reply.rate_limited(retry_after=1, rule="r2"))
    r = home.run("data", "activity", "--user-id", USER, "--start", "7d", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert "asked to wait 1 s; retrying in 1 s" in r.stderr
    assert r.stdout == REFERENCE + "\n"
    assert len(terra_api.requests) == 2


def test_unknown_user_exit_1(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("data", "activity", "--user-id", "nobody", "--start", "7d", env=terra_api.env())
    assert_error(r, 1, "HTTP 404: User not found")


def test_no_destination_400_in_terras_words(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always(
        "activity", Reply.problem(400, "bad request", "no destination configured for to_webhook")
    )
    r = home.run("data", "activity", "--user-id", USER, "--start", "7d", env=terra_api.env())
    assert_error(r, 1, "no destination configured for to_webhook")


def test_network_failure_exit_8(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("activity", Reply.dropped())
    r = home.run(
        "data", "activity", "--user-id", USER, "--start", "7d", env=terra_api.env(TERRA_RETRIES="0")
    )
    assert_error(r, 8, "closed the connection")


def test_help_names_every_data_type(home: Home) -> None:
    from terra_cli.api import DATA_TYPES
    from terra_cli.commands.data import TYPES_HELP

    r = home.run("data", "--help")
    assert r.code == 0
    assert f"One of: {', '.join(DATA_TYPES)}." == TYPES_HELP
    assert "menstruation" in r.stdout
