"""`terra events list|show|replay` over a log written by a real `terra listen` run."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import TERRA, Home
from tests.fakes.capture import Captured, capture_server
from tests.listen.conftest import post, start_listener
from tests.trigger.conftest import SECRET, independent_sign, independent_verify

ENV = {"TERRA_SIGNING_SECRET": SECRET}
BINARY = b"\x00\xff\xfe raw bytes \x80\n"


@dataclass
class Logged:
    """The log a real listen run left, and what the app behind it received."""

    records: list[dict[str, Any]]  # oldest first, as written
    forwarded: list[Captured]  # what the app got, in order
    app_url: str

    def by_type(self, kind: str) -> dict[str, Any]:
        for record in self.records:
            body = record.get("body")
            if isinstance(body, str) and f'"type": "{kind}"' in body:
                return record
        raise AssertionError(kind)


def _log(home: Home) -> list[dict[str, Any]]:
    files = sorted((home.data_dir / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_bytes().splitlines()]


@pytest.fixture
def logged(home: Home) -> Logged:
    """activity, sleep and deauth sent by `terra trigger`, then a binary body, through
    `terra listen --no-tunnel --forward-to <app>`."""
    with capture_server() as app:
        listener = start_listener(home, "--forward-to", app.url, "--max-events", "4", env=ENV)
        for kind in ("activity", "sleep", "deauth"):
            r = home.run("trigger", kind, "--to", listener.ready["url"], env=ENV)
            assert r.code == 0, r.stderr
        assert post(listener.port, BINARY, {"terra-signature": independent_sign(BINARY)}).status
        code, _, err = listener.finish()
        assert code == 0, err
        forwarded = app.wait_for(4)
    records = _log(home)
    assert len(records) == 4
    return Logged(records, forwarded, app.url)


def test_list_newest_first_with_limit_and_type(home: Home, logged: Logged) -> None:
    r = home.run("events", "list", "--json")
    assert r.code == 0 and r.stderr == ""
    assert json.loads(r.stdout) == list(reversed(logged.records))

    plain = home.run("events", "list")
    rows = plain.stdout.splitlines()
    assert rows[0].split("\t")[:3] == ["id", "received", "type"]
    assert [row.split("\t")[2] for row in rows[1:]] == ["?", "deauth", "sleep", "activity"]
    assert all(row.split("\t")[5] == "ok" for row in rows[1:])  # every verdict

    one = json.loads(home.run("events", "list", "--json", "--limit", "1").stdout)
    assert one == [logged.records[-1]]
    sleep = json.loads(home.run("events", "list", "--json", "--type", "sleep").stdout)
    assert [s["id"] for s in sleep] == [logged.by_type("sleep")["id"]]
    none = home.run("events", "list", "--json", "--type", "nutrition")
    assert none.code == 0 and json.loads(none.stdout) == []


def test_show_is_readable_with_charts(home: Home, logged: Logged) -> None:
    record = logged.by_type("sleep")
    r = home.run("events", "show", record["id"])
    assert r.code == 0, r.stderr
    out = r.stdout
    assert out.splitlines()[0].startswith(f"{record['id']}  sleep  2 sleep records")
    assert "signature  ok" in out
    assert f"forward    {logged.app_url} → 200 in " in out
    assert "terra-signature: t=" in out and "terra-reference: " in out
    assert '"type": "sleep"' not in out  # the body only with --body (contract)
    assert "heart rate" in out and "bpm" in out
    assert "sleep stages" in out
    for stage in ("awake │", "REM │", "light │", "deep │"):
        assert stage in out
    assert any(ch in out for ch in "▁▂▃▄▅▆▇█")
    # A unique prefix of the id works too.
    assert home.run("events", "show", record["id"][:10]).stdout == out
    with_body = home.run("events", "show", record["id"], "--body").stdout
    assert with_body.startswith(out.rsplit("\nBody: ", 1)[0])
    assert '"type": "sleep"' in with_body and '\n  "data": [' in with_body  # pretty JSON


def test_show_raw_prints_the_stored_bytes_exactly(home: Home, logged: Logged) -> None:
    for index, record in enumerate(logged.records):
        proc = subprocess.run(
            [TERRA, "events", "show", record["id"], "--raw"],
            capture_output=True,
            env=home.env,
            timeout=20,
            check=False,
        )
        assert proc.returncode == 0
        assert proc.stdout == logged.forwarded[index].body  # what the app got, byte for byte
    assert logged.forwarded[3].body == BINARY


def test_show_unknown_id_exits_3(home: Home, logged: Logged) -> None:
    r = home.run("events", "show", "evt_doesnotexist")
    assert r.code == 3
    assert r.stderr.startswith("Error: No event 'evt_doesnotexist'")
    assert "terra events list" in r.stderr


def test_replay_resigns_with_a_fresh_timestamp(home: Home, logged: Logged) -> None:
    record = logged.by_type("activity")
    original = record["headers"]["terra-signature"]
    time.sleep(1.1)  # so the fresh timestamp differs from the original one
    with capture_server() as target:
        r = home.run("events", "replay", record["id"], "--to", target.url, env=ENV)
        (got,) = target.wait_for(1)
    assert r.code == 0, r.stderr
    assert got.body == logged.forwarded[0].body
    header = got.header("terra-signature") or ""
    assert header != original
    t, valid = independent_verify(header, got.body, SECRET)
    assert valid
    old_t, _ = independent_verify(original, got.body, SECRET)
    assert t > old_t and abs(t - time.time()) < 30
    assert got.header("terra-reference") == record["headers"]["terra-reference"]
    assert got.header("content-type") == "application/json"


def test_replay_with_the_original_signature(home: Home, logged: Logged) -> None:
    record = logged.by_type("deauth")
    with capture_server() as target:
        r = home.run(
            "events",
            "replay",
            record["id"][:12],
            "--to",
            target.url,
            "--original-signature",
            "--json",
        )
        (got,) = target.wait_for(1)
    assert r.code == 0, r.stderr
    assert got.header("terra-signature") == record["headers"]["terra-signature"]
    out = json.loads(r.stdout)
    assert out["id"] == record["id"] and out["status"] == 200 and out["resigned"] is False


def test_replay_of_a_binary_body_is_byte_exact(home: Home, logged: Logged) -> None:
    record = logged.records[3]
    assert "body_b64" in record
    with capture_server() as target:
        r = home.run("events", "replay", record["id"], "--to", target.url, env=ENV)
        (got,) = target.wait_for(1)
    assert r.code == 0
    assert got.body == BINARY
    assert independent_verify(got.header("terra-signature") or "", BINARY, SECRET)[1]


def test_replay_failures_keep_the_contract(home: Home, logged: Logged, refused_port: int) -> None:
    record = logged.by_type("activity")
    with capture_server(status=500) as target:
        bad = home.run("events", "replay", record["id"], "--to", target.url, env=ENV)
    assert bad.code == 1 and f"Error: {target.url} answered 500." in bad.stderr

    down = home.run(
        "events", "replay", record["id"], "--to", f"http://127.0.0.1:{refused_port}/", env=ENV
    )
    assert down.code == 8 and "Error: Connection refused" in down.stderr

    with capture_server() as target:
        nosecret = home.run("events", "replay", record["id"], "--to", target.url)
        time.sleep(0.1)
        assert target.requests == []
    assert nosecret.code == 2
    assert "terra config set signing-secret" in nosecret.stderr
    assert "--original-signature" in nosecret.stderr

    unknown = home.run("events", "replay", "evt_nope", "--to", "http://127.0.0.1:9/", env=ENV)
    assert unknown.code == 3
    badurl = home.run("events", "replay", record["id"], "--to", "nourl", env=ENV)
    assert badurl.code == 3


def test_empty_log(home: Home) -> None:
    r = home.run("events", "list", "--json")
    assert r.code == 0 and json.loads(r.stdout) == []
    plain = home.run("events", "list")
    assert plain.code == 0 and plain.stdout == ""
    assert "terra listen --no-tunnel" in plain.stderr


def test_gzip_body_is_shown_decoded_and_kept_raw(home: Home) -> None:
    import gzip

    plain = b'{"type": "daily", "data": [{"metadata": {"start_time": "2026-11-27T00:00:00Z"}}]}'
    packed = gzip.compress(plain, mtime=0)
    listener = start_listener(home, "--max-events", "1", env=ENV)
    headers = {"Content-Encoding": "gzip", "terra-signature": independent_sign(packed)}
    assert post(listener.port, packed, headers).status == 200
    listener.finish()
    (record,) = _log(home)
    shown = home.run("events", "show", record["id"])
    assert shown.code == 0
    assert "content-encoding: gzip" in shown.stdout and "1 daily record" in shown.stdout
    with_body = home.run("events", "show", record["id"], "--body")
    assert '"type": "daily"' in with_body.stdout
    raw = subprocess.run(
        [TERRA, "events", "show", record["id"], "--raw"],
        capture_output=True,
        env=home.env,
        timeout=20,
        check=False,
    )
    assert raw.stdout == packed


def test_a_refused_body_can_be_shown_but_not_replayed(home: Home) -> None:
    big = b'{"type": "activity", "pad": "' + b"x" * 4096 + b'"}'
    listener = start_listener(home, "--max-body", "0.001", "--max-events", "1", env=ENV)
    assert post(listener.port, big, {"terra-signature": independent_sign(big)}).status == 413
    listener.finish()
    (record,) = _log(home)
    shown = home.run("events", "show", record["id"])
    assert shown.code == 0 and "not kept: the request was answered 413" in shown.stdout
    with capture_server() as target:
        r = home.run("events", "replay", record["id"], "--to", target.url, env=ENV)
        time.sleep(0.1)
        assert target.requests == []
    assert r.code == 3 and "has no stored body" in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("events", "list", "--limit", "0"),
        ("events", "show"),
        ("events", "replay"),
        ("events", "replay", "evt_x", "--timeout", "0"),
        ("events", "bogus"),
    ],
)
def test_usage_errors_exit_4(home: Home, args: tuple[str, ...]) -> None:
    r = home.run(*args)
    assert r.code == 4
    assert r.stderr.startswith("Error: ") and "Hint: " in r.stderr
    assert r.stdout == ""
