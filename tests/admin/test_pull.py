"""`terra events pull`: Terra's delivery record into the local log, then show and replay."""

from __future__ import annotations

import json
import socket
import time

from terra_cli.webhooks.signature import Verdict, verify
from tests.admin.conftest import DEV_ID, logged_in
from tests.conftest import Home
from tests.fakes.admin_api import FakeAdmin
from tests.fakes.capture import capture_server

SECRET = "whsec_pull_test_0123456789abcdef"


def _payload(kind: str, user: str) -> dict[str, object]:
    return {
        "type": kind,
        "user": {"user_id": user, "provider": "GARMIN"},
        "data": [{"metadata": {"start_time": "2026-07-02T06:31:04Z"}}],
    }


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _setup(home: Home, admin: FakeAdmin) -> None:
    """Terra tried to deliver while the laptop slept: the destination did not answer."""
    home.env.update(TERRA_SIGNING_SECRET=SECRET)
    admin.add_destination(DEV_ID, f"http://127.0.0.1:{_closed_port()}/consumeTerraWebhook")
    admin.deliver(DEV_ID, _payload("activity", "u-sleep"))  # refused: a failed delivery
    admin.record_event(DEV_ID, _payload("sleep", "u-500"), http_status=500)
    admin.record_event(DEV_ID, _payload("daily", "u-ok"), http_status=200)
    admin.max_page = 1  # every row on its own page: the cursor must be followed


def test_pull_failed_deliveries_then_show_and_replay(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    _setup(admin_home, admin)
    r = admin_home.run("events", "pull", "--env", DEV_ID, "--outcome", "failed")
    assert r.code == 0, r.stderr
    ids = r.stdout.split()
    assert len(ids) == 2
    assert "Pulled 2 failed deliveries from Terra" in r.stderr
    listed = admin_home.run("events", "list", "--json")
    records = {rec["id"]: rec for rec in json.loads(listed.stdout)}
    assert set(ids) <= set(records)
    for rid in ids:
        rec = records[rid]
        assert rec["source"] == "terra"
        assert rec["verdict"] == "unchecked"
        assert rec["terra"]["http_status"] in (0, 500)
    by_user = {json.loads(records[i]["body"])["user"]["user_id"]: i for i in ids}
    assert set(by_user) == {"u-sleep", "u-500"}
    shown = admin_home.run("events", "show", by_user["u-sleep"])
    assert shown.code == 0, shown.stderr
    assert "activity" in shown.stdout
    raw = admin_home.run("events", "show", by_user["u-sleep"], "--raw")
    assert json.loads(raw.stdout) == _payload("activity", "u-sleep")
    with capture_server() as app:
        replayed = admin_home.run("events", "replay", by_user["u-500"], "--to", app.url)
        assert replayed.code == 0, replayed.stderr
        [got] = app.wait_for(1)
    assert json.loads(got.body) == _payload("sleep", "u-500")
    signature = got.header("terra-signature") or got.header("x-terra-signature")
    assert verify(signature, got.body, SECRET, time.time(), 300) is Verdict.OK
    # Terra was only read, never asked to resend.
    assert [s for s in admin.seen if s.method != "GET"] == []


def test_a_second_pull_writes_nothing_twice(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    _setup(admin_home, admin)
    first = admin_home.run("events", "pull", "--env", DEV_ID)
    assert first.code == 0, first.stderr
    assert len(first.stdout.split()) == 3
    as_json = admin_home.run("events", "pull", "--env", DEV_ID, "--json")
    assert as_json.code == 0 and json.loads(as_json.stdout) == []
    again = admin_home.run("events", "pull", "--env", DEV_ID)
    assert again.code == 0, again.stderr
    assert again.stdout == ""
    assert "3 were already in the log" in again.stderr
    assert len(json.loads(admin_home.run("events", "list", "--json").stdout)) == 3


def test_limit_and_since(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    _setup(admin_home, admin)
    admin.record_event(
        DEV_ID, _payload("body", "u-old"), http_status=500, sent_at="2020-01-01T00:00:00.000Z"
    )
    r = admin_home.run("events", "pull", "--env", DEV_ID, "--limit", "2", "--since", "2d", "--json")
    assert r.code == 0, r.stderr
    pulled = json.loads(r.stdout)
    assert len(pulled) == 2 and {p["source"] for p in pulled} == {"terra"}
    lists = [s for s in admin.requests("GET") if s.path.endswith("/webhook-events")]
    assert lists[0].query["since"].endswith("Z") and "cursor" not in lists[0].query
    assert len(lists) == 2 and "cursor" in lists[1].query  # one row per page: two pages
    older = admin_home.run("events", "pull", "--env", DEV_ID, "--since", "2019-12-31")
    assert older.code == 0, older.stderr
    assert len(older.stdout.split()) == 2  # the two not pulled before, the 2020 one among them


def test_without_payloads_read_only_the_records_come(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin, scopes=["events:read"])
    _setup(admin_home, admin)
    r = admin_home.run("events", "pull", "--env", DEV_ID)
    assert r.code == 0, r.stderr
    assert "terra login --scope payloads:read" in r.stderr
    assert admin.requests("GET", "/payload") == []
    records = json.loads(admin_home.run("events", "list", "--json").stdout)
    assert all(rec["body"] is None for rec in records)
    assert {rec["terra"]["data_type"] for rec in records} == {"activity", "sleep", "daily"}


def test_missing_events_read_exits_2_naming_the_scope(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin, scopes=["destinations:read"])
    r = admin_home.run("events", "pull", "--env", DEV_ID)
    assert r.code == 2
    assert "terra login --scope events:read" in r.stderr


def test_bad_input_exits_3_before_any_request(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    admin.seen.clear()
    for args, word in (
        (["--outcome", "lost"], "--outcome"),
        (["--since", "last tuesday"], "--since"),
    ):
        r = admin_home.run("events", "pull", "--env", DEV_ID, *args)
        assert r.code == 3, r.stderr
        assert word in r.stderr
    assert admin.seen == []
    r = admin_home.run("events", "pull")
    assert r.code == 3 and "--env" in r.stderr
    r = admin_home.run("events", "pull", "--env", "nope")
    assert r.code == 3 and "dev_id_not_found" in r.stderr
    assert admin_home.run("events", "list", "--json").stdout.strip() in ("[]", "")
