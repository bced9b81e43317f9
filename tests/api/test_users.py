"""`terra users list|show|deauth` against the fake Terra API."""

from __future__ import annotations

import json
import os
import pty
import subprocess

from tests.api.helpers import assert_error, assert_no_secrets
from tests.conftest import TERRA, Home
from tests.fakes.terra_api import API_KEY, DEV_ID, FakeTerra, Reply, make_user

ALICE = make_user(1, "FITBIT", "alice")


def test_list_follows_every_page(home: Home, terra_api: FakeTerra) -> None:
    terra_api.users = [make_user(i) for i in range(5)]
    terra_api.max_per_page = 2
    r = home.run("users", "list", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == terra_api.users
    assert [(q.path, q.query["page"]) for q in terra_api.requests] == [
        ("/v2/subscriptions", "0"),
        ("/v2/subscriptions", "1"),
        ("/v2/subscriptions", "2"),
    ]
    for req in terra_api.requests:
        assert req.headers["dev-id"] == DEV_ID and req.headers["x-api-key"] == API_KEY
    assert_no_secrets(r, terra_api)


def test_list_table(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "list", env=terra_api.env())
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "user_id\tprovider\treference_id\tactive\tlast_webhook_update"
    assert lines[2] == f"{ALICE['user_id']}\tFITBIT\talice\tyes\t2026-11-20T11:00:00Z"
    assert len(lines) == 3
    assert "2 users." in r.stderr


def test_list_empty(home: Home, terra_api: FakeTerra) -> None:
    terra_api.users = []
    r = home.run("users", "list", "--json", env=terra_api.env())
    assert r.code == 0 and json.loads(r.stdout) == []


def test_list_rejected_credentials(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("subscriptions", Reply.problem(401, "unauthorized", "bad key"))
    r = home.run("users", "list", env=terra_api.env())
    assert_error(r, 2, "HTTP 401: unauthorized: bad key", "same Terra environment")


def test_list_429_then_success(home: Home, terra_api: FakeTerra) -> None:
    terra_api.queue("subscriptions", Reply.rate_limited(retry_after=1))
    r = home.run("users", "list", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert "asked to wait 1 s" in r.stderr
    assert len(json.loads(r.stdout)) == 2


def test_show_by_id(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "show", ALICE["user_id"], "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == {"user": ALICE, "is_authenticated": True}
    [req] = terra_api.requests
    assert (req.method, req.path, req.query) == (
        "GET",
        "/v2/userInfo",
        {"user_id": ALICE["user_id"]},
    )


def test_show_table(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "show", ALICE["user_id"], env=terra_api.env())
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "field\tvalue"
    assert "provider\tFITBIT" in lines and "is_authenticated\tyes" in lines


def test_show_by_reference(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "show", "--ref", "alice", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == [ALICE]
    assert terra_api.requests[0].query == {"reference_id": "alice"}


def test_show_unknown_user_exit_1(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "show", "00000000-0000-0000-0000-0000000000ff", env=terra_api.env())
    assert_error(r, 1, "HTTP 404: User not found", "terra")


def test_show_unknown_reference_exit_1(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "show", "--ref", "nobody", env=terra_api.env())
    assert_error(r, 1, "no user with reference_id 'nobody'", "terra users list")


def test_show_needs_exactly_one_of_id_or_ref(home: Home, terra_api: FakeTerra) -> None:
    for args in ([], [ALICE["user_id"], "--ref", "alice"]):
        r = home.run("users", "show", *args, env=terra_api.env())
        assert_error(r, 4, "exactly one", "--ref")
    assert terra_api.requests == []


def test_deauth_with_yes(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "deauth", ALICE["user_id"], "--yes", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert f"Deauthenticated {ALICE['user_id']}" in r.stderr
    [req] = terra_api.requests
    assert (req.method, req.path, req.query) == (
        "DELETE",
        "/v2/auth/deauthenticateUser",
        {"user_id": ALICE["user_id"]},
    )
    assert req.headers["x-api-key"] == API_KEY
    assert ALICE not in terra_api.users


def test_deauth_without_terminal_or_yes_sends_nothing(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("users", "deauth", ALICE["user_id"], input="y\n", env=terra_api.env())
    assert_error(r, 3, "stdin is not a terminal", "--yes")
    assert terra_api.requests == []


def test_deauth_unknown_user_exit_1(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "users", "deauth", "00000000-0000-0000-0000-0000000000ff", "-y", env=terra_api.env()
    )
    assert_error(r, 1, "HTTP 404: User not found")


def test_deauth_missing_credentials_exit_2(home: Home, terra_api: FakeTerra) -> None:
    env = terra_api.env()
    env.pop("TERRA_API_KEY")
    r = home.run("users", "deauth", ALICE["user_id"], "--yes", env=env)
    assert_error(r, 2, "No api-key", "terra config set api-key")
    assert terra_api.requests == []


def _deauth_on_a_terminal(home: Home, fake: FakeTerra, answer: str) -> tuple[int, str]:
    """Run deauth with stdin on a pseudo-terminal and type `answer` at the question."""
    master, slave = pty.openpty()
    env = dict(home.env)
    env.update(fake.env())
    proc = subprocess.Popen(
        [TERRA, "users", "deauth", ALICE["user_id"]],
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=home.root,
    )
    os.close(slave)
    try:
        os.write(master, answer.encode() + b"\n")
        out, err = proc.communicate(timeout=30)
    finally:
        os.close(master)
    assert out == ""
    for secret in (fake.dev_id, fake.api_key):
        assert secret not in err
    return proc.returncode, err


def test_deauth_on_a_terminal_declined_exit_7(home: Home, terra_api: FakeTerra) -> None:
    code, err = _deauth_on_a_terminal(home, terra_api, "n")
    assert code == 7, err
    assert f"Deauthenticate user {ALICE['user_id']}?" in err
    assert "Error: Kept user" in err and "Hint:" in err
    assert terra_api.requests == []


def test_deauth_on_a_terminal_confirmed(home: Home, terra_api: FakeTerra) -> None:
    code, err = _deauth_on_a_terminal(home, terra_api, "yes")
    assert code == 0, err
    assert [r.method for r in terra_api.requests] == ["DELETE"]
