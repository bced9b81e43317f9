"""`terra listen --forward-to [TYPES=]URL` repeated: one listener, two real apps, by type."""

from __future__ import annotations

import json
from typing import Any

import pytest

from terra_cli.webhooks.routes import Route, choose, parse_route, parse_routes
from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.fakes.terra_api import unused_port
from tests.listen.conftest import post, start_listener, start_plain_listener
from tests.trigger.conftest import SECRET, independent_sign

ENV = {"TERRA_SIGNING_SECRET": SECRET}


def _body(event_type: str) -> bytes:
    return json.dumps(
        {"type": event_type, "user": {"user_id": "u-1", "provider": "OURA"}, "data": []}
    ).encode()


def _send(port: int, event_type: str) -> Any:
    body = _body(event_type)
    return post(port, body, {"terra-signature": independent_sign(body)})


def _log(home: Home) -> list[dict[str, Any]]:
    files = sorted((home.data_dir / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_bytes().splitlines()]


def test_typed_route_default_route_and_statuses_back_to_the_sender(home: Home) -> None:
    with capture_server(status=201) as sleep_app, capture_server(status=202) as other_app:
        listener = start_listener(
            home,
            "--forward-to",
            f"sleep,daily={sleep_app.url}",
            "--forward-to",
            other_app.url,
            "--max-events",
            "3",
            env=ENV,
        )
        replies = [_send(listener.port, t) for t in ("sleep", "activity", "daily")]
        code, out, err = listener.finish()
        to_sleep = sleep_app.wait_for(2)
        to_other = other_app.wait_for(1)
    assert [r.status for r in replies] == [201, 202, 201]  # the chosen route's answer
    assert [json.loads(c.body)["type"] for c in to_sleep] == ["sleep", "daily"]
    assert [json.loads(c.body)["type"] for c in to_other] == ["activity"]
    records = _log(home)
    assert [r["forward"]["route"] for r in records] == ["sleep,daily", None, "sleep,daily"]
    assert [r["forward"]["url"] for r in records] == [sleep_app.url, other_app.url, sleep_app.url]
    events = [json.loads(line) for line in out.splitlines()[1:]]
    assert [e["forward"]["route"] for e in events] == ["sleep,daily", None, "sleep,daily"]
    assert [e["status"] for e in events] == [201, 202, 201]
    assert "sleep,daily -> " + sleep_app.url in err and "any other type -> " + other_app.url in err
    assert code == 0


def test_no_matching_route_is_answered_200_logged_and_sent_nowhere(home: Home) -> None:
    with capture_server(status=500) as sleep_app:
        listener = start_listener(
            home, "--forward-to", f"sleep={sleep_app.url}", "--max-events", "2", env=ENV
        )
        activity = _send(listener.port, "activity")
        sleep = _send(listener.port, "sleep")
        code, _, err = listener.finish()
        (got,) = sleep_app.wait_for(1)
    assert activity.status == 200 and activity.json()["received"] is True
    assert sleep.status == 500  # the route's own answer, unchanged
    assert json.loads(got.body)["type"] == "sleep"
    records = _log(home)
    assert [r["status"] for r in records] == [200, 500]
    assert records[0]["forward"] is None and records[1]["forward"]["route"] == "sleep"
    assert "other types: not forwarded" in err
    assert code == 0


def test_the_live_line_names_the_route(home: Home) -> None:
    with capture_server(status=201) as sleep_app:
        listener, _ = start_plain_listener(
            home, "--forward-to", f"sleep={sleep_app.url}", "--max-events", "1", env=ENV
        )
        _send(listener.port, "sleep")
        code, out, _ = listener.finish()
    (line,) = [x for x in out.splitlines() if "sleep" in x]
    assert "-> sleep: 201 in" in line
    assert code == 0


def test_exclude_hides_types_from_the_live_view_but_logs_them(home: Home) -> None:
    listener = start_listener(home, "--exclude", "activity,daily", "--max-events", "3", env=ENV)
    for event_type in ("activity", "sleep", "daily"):
        assert _send(listener.port, event_type).status == 200
    code, out, _ = listener.finish()
    shown = [json.loads(line)["type"] for line in out.splitlines()[1:]]
    assert shown == ["sleep"]
    assert [json.loads(r["body"])["type"] for r in _log(home)] == ["activity", "sleep", "daily"]
    assert code == 0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("=http://127.0.0.1:3000/", "empty"),
        ("sleep,,daily=http://127.0.0.1:3000/", "empty"),
        ("sleep daily=http://127.0.0.1:3000/", "not an event type name"),
        ("sleep=127.0.0.1:3000", "must be an http"),
        ("sleep=", "must be an http"),
    ],
)
def test_invalid_route_is_exit_3_with_an_example(home: Home, spec: str, message: str) -> None:
    r = home.run("listen", "--no-tunnel", "--port", "0", "--forward-to", spec)
    assert r.code == 3, r.stderr
    assert message in r.stderr
    assert "Hint: Write" in r.stderr and "sleep,daily=http://" in r.stderr
    assert not (home.data_dir / "events").exists()  # nothing started, nothing logged


def test_two_routes_without_types_are_refused(home: Home) -> None:
    r = home.run(
        "listen", "--no-tunnel", "--port", "0",
        "--forward-to", "http://127.0.0.1:3000/a", "--forward-to", "http://127.0.0.1:3000/b",
    )  # fmt: skip
    assert r.code == 3
    assert "without types" in r.stderr and "Hint:" in r.stderr


def test_route_parsing_and_first_match() -> None:
    assert parse_route("Sleep, daily=http://h:1/x") == Route(("sleep", "daily"), "http://h:1/x")
    assert parse_route("http://h:1/x?a=b") == Route((), "http://h:1/x?a=b")  # '=' in a query
    routes = parse_routes(["sleep=http://h:1/a", "sleep,body=http://h:1/b", "http://h:1/c"])
    assert choose(routes, "sleep") == routes[0]  # first match wins
    assert choose(routes, "body") == routes[1]
    assert choose(routes, "activity") == routes[2]
    assert choose(routes, None) == routes[2]
    assert choose(routes[:2], "activity") is None


def test_doctor_checks_every_route(home: Home) -> None:
    with capture_server() as app:
        r = home.run(
            "doctor", "--port", str(unused_port()), "--json",
            "--forward-to", f"sleep={app.url}",
            "--forward-to", "http://127.0.0.1:1/down",
            "--forward-to", "sleep=nonsense",
        )  # fmt: skip
    checks = [c for c in json.loads(r.stdout)["checks"] if c["name"] == "forward-target"]
    assert [c["status"] for c in checks] == ["ok", "fail", "fail"]
    assert checks[0]["detail"].startswith("sleep: ")
    assert "cannot connect to 127.0.0.1:1" in checks[1]["detail"]
    assert "must be an http" in checks[2]["detail"]


def test_an_unknown_type_in_a_route_or_exclude_is_warned_about(home: Home) -> None:
    listener = start_listener(
        home,
        "--forward-to", "slep=http://127.0.0.1:9/x",
        "--exclude", "actvity",
        "--timeout", "0.2",
    )  # fmt: skip
    code, _, err = listener.finish()
    assert code == 0
    assert "unknown event type(s) for --forward-to: slep" in err
    assert "unknown event type(s) for --exclude: actvity" in err
