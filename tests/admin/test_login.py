"""`terra login`, `login --status` and `logout` through the installed CLI, against the fake."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest

from terra_cli.admin_api import AdminClient
from terra_cli.errors import AuthError
from terra_cli.login import wait_for_token
from terra_cli.settings import mask
from tests.admin.conftest import ALL_SCOPES, DEV_ID, config_text, logged_in, run_on_pty
from tests.conftest import Home
from tests.fakes.admin_api import FakeAdmin


def _saved_token(home: Home) -> str | None:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    data = tomllib.loads(config_text(home)) if home.config_file.exists() else {}
    value = data.get("profiles", {}).get("default", {}).get("admin_token")
    return value if isinstance(value, str) else None


def test_without_a_terminal_login_never_waits_and_names_the_variable(
    admin_home: Home, admin: FakeAdmin
) -> None:
    r = admin_home.run("login")
    assert r.code == 2
    assert "TERRA_ADMIN_TOKEN" in r.stderr
    assert r.stderr.startswith("Error: ") and "\nHint: " in r.stderr
    assert admin.seen == []  # nothing was started at Terra
    assert _saved_token(admin_home) is None


def test_login_on_a_terminal_polls_through_pending_and_slow_down(
    admin_home: Home, admin: FakeAdmin
) -> None:
    admin.poll_script = ["authorization_pending", "slow_down", "authorization_pending"]
    run = run_on_pty(admin_home, "login", "--no-browser")
    screen = run.read_until("Waiting for approval")
    device = next(iter(admin.devices.values()))
    assert device.user_code in screen
    assert f"/cli/verify?code={device.user_code}" in screen
    # The user approves on the dashboard while terra polls.
    assert admin.approve(device.user_code)
    code = run.finish()
    assert code == 0, run.text()
    token = _saved_token(admin_home)
    assert token and token.startswith("terra_at_")
    assert token not in run.text()
    assert device.polls[:3] == ["authorization_pending", "slow_down", "authorization_pending"]
    assert device.polls[-1] == "token"
    assert stat.S_IMODE(admin_home.config_file.stat().st_mode) == 0o600
    start = admin.requests("POST", "/auth/device")[0]
    form = start.body.decode()
    assert "client_id=terra-cli" in form
    for scope in ALL_SCOPES:
        assert scope.replace(":", "%3A") in form
    assert "Logged in" in run.text()


def test_a_new_login_revokes_the_token_it_replaces(admin_home: Home, admin: FakeAdmin) -> None:
    old = logged_in(admin_home, admin)
    admin.poll_script = ["approve"]
    run = run_on_pty(admin_home, "login", "--no-browser")
    assert run.finish() == 0, run.text()
    assert admin.tokens[old].revoked
    new = _saved_token(admin_home)
    assert new and new != old and not admin.tokens[new].revoked
    assert "Revoked the token this login replaced" in run.text()


def test_login_opens_the_browser_which_approves_the_code(
    admin_home: Home, admin: FakeAdmin, tmp_path: Path
) -> None:
    opener = tmp_path / "browser.py"
    opener.write_text(
        "import sys, urllib.request\nurllib.request.urlopen(sys.argv[1], timeout=10).read()\n"
    )
    browser = f"{sys.executable} {opener} %s"
    run = run_on_pty(admin_home, "login", env={"BROWSER": browser})
    assert run.finish() == 0, run.text()
    opened = admin.requests("GET", "/cli/verify")
    assert len(opened) == 1 and opened[0].query["code"].startswith("TERRA-")
    assert _saved_token(admin_home)


@pytest.mark.parametrize(
    ("word", "expected"),
    [("access_denied", "denied"), ("expired_token", "expired")],
)
def test_denied_or_expired_login_exits_2_and_saves_nothing(
    admin_home: Home, admin: FakeAdmin, word: str, expected: str
) -> None:
    admin.poll_script = ["authorization_pending", word]
    run = run_on_pty(admin_home, "login", "--no-browser")
    assert run.finish() == 2
    assert expected in run.text()
    assert "Hint: Run 'terra login' again" in run.text()
    assert _saved_token(admin_home) is None


def test_scopes_and_environments_are_requested(admin_home: Home, admin: FakeAdmin) -> None:
    admin.poll_script = ["approve"]
    run = run_on_pty(
        admin_home, "login", "--no-browser", "--scope", "events:write", "--env", DEV_ID
    )
    assert run.finish() == 0, run.text()
    form = admin.requests("POST", "/auth/device")[0].body.decode()
    assert "events%3Awrite" in form
    assert f"requested_dev_ids={DEV_ID}" in form
    assert "account%3Aread" not in form  # account-level scopes never go with an audience


def test_fewer_scopes_granted_than_asked_are_named(admin_home: Home, admin: FakeAdmin) -> None:
    admin.poll_script = ["approve"]
    admin.grant_scopes = ["events:read", "destinations:read"]
    run = run_on_pty(admin_home, "login", "--no-browser")
    assert run.finish() == 0, run.text()
    assert "not account:read, destinations:write, payloads:read" in run.text()


def test_a_scope_terra_refuses_exits_3(admin_home: Home, admin: FakeAdmin) -> None:
    run = run_on_pty(admin_home, "login", "--no-browser", "--scope", "data:read")
    assert run.finish() == 3
    assert "invalid_scope" in run.text()
    assert _saved_token(admin_home) is None


def test_poll_waits_follow_rfc_8628(admin: FakeAdmin) -> None:
    """Absent interval means 5 s; slow_down adds 5 s for every later poll."""
    admin.interval = None
    admin.poll_script = ["authorization_pending", "slow_down", "authorization_pending", "approve"]
    waits: list[float] = []
    with AdminClient(admin.base, None, retries=0) as client:
        start = client.start_device(["events:read"], [])
        assert start.interval == 5
        grant = wait_for_token(client, start, sleep=waits.append)
    assert waits == [5, 5, 10, 10]
    assert grant.access_token.startswith("terra_at_")
    assert grant.scopes == ("events:read",)


def test_a_rate_limited_poll_waits_longer(admin: FakeAdmin) -> None:
    waits: list[float] = []
    with AdminClient(admin.base, None, retries=0) as client:
        start = client.start_device(["events:read"], [])
        admin.fail_next = [429]
        admin.poll_script = ["approve"]
        wait_for_token(client, start, sleep=waits.append)
    assert waits == [1, 6]  # the fake's interval, then 5 s more after the 429


def test_poll_gives_up_when_the_code_expires_locally(admin: FakeAdmin) -> None:
    admin.expires_in = 12
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    admin.interval = 5
    with AdminClient(admin.base, None, retries=0) as client:
        start = client.start_device(["events:read"], [])
        with pytest.raises(AuthError) as err:
            wait_for_token(client, start, sleep=sleep, clock=lambda: now[0])
    assert "expired" in err.value.message
    assert now[0] == 10  # two polls at 5 s; a third would pass the 12 s expiry
    assert len(admin.requests("POST", "/auth/token")) == 2


def test_status_names_who_scopes_and_environments(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    r = admin_home.run("login", "--status")
    assert r.code == 0, r.stderr
    assert "dev@example.test" in r.stdout
    assert "destinations:write" in r.stdout
    assert f"Staging ({mask(DEV_ID)})" in r.stdout
    assert DEV_ID not in r.stdout  # dev-ids are secrets: masked like in config show
    doc = json.loads(admin_home.run("login", "--status", "--json").stdout)
    assert doc["logged_in"] is True
    assert doc["scopes"] == ALL_SCOPES
    assert doc["all_environments"] is True
    assert {"dev_id": mask(DEV_ID), "name": "Staging"} in doc["environments"]
    assert doc["leftover_destinations"] == [] and doc["kept_destinations"] == []
    assert doc["token_source"] == "profile 'default'"


def test_status_of_an_audience_token_from_the_environment(
    admin_home: Home, admin: FakeAdmin
) -> None:
    token = admin.mint(["events:read"], dev_ids=[DEV_ID])
    r = admin_home.run("login", "--status", "--json", env={"TERRA_ADMIN_TOKEN": token})
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["environments"] == [{"dev_id": mask(DEV_ID), "name": None}]
    assert doc["all_environments"] is False
    assert doc["token_source"] == "TERRA_ADMIN_TOKEN"
    assert doc["user"] is None


def test_status_without_a_token_exits_2(admin_home: Home, admin: FakeAdmin) -> None:
    r = admin_home.run("login", "--status")
    assert r.code == 2
    assert "terra login" in r.stderr
    assert admin.seen == []


def test_a_rejected_token_exits_2_in_terras_words(admin_home: Home, admin: FakeAdmin) -> None:
    r = admin_home.run("login", "--status", env={"TERRA_ADMIN_TOKEN": "terra_at_not-a-real-token"})
    assert r.code == 2
    assert "unauthorized: unknown access token" in r.stderr
    assert "Hint: Run 'terra login'" in r.stderr


def test_logout_revokes_and_removes_the_token(admin_home: Home, admin: FakeAdmin) -> None:
    token = logged_in(admin_home, admin)
    r = admin_home.run("logout")
    assert r.code == 0, r.stderr
    assert "Revoked" in r.stderr
    assert admin.tokens[token].revoked
    assert _saved_token(admin_home) is None
    assert admin_home.run("login", "--status").code == 2
    again = admin_home.run("logout")
    assert again.code == 0 and "nothing to do" in again.stderr


def test_logout_of_a_token_terra_no_longer_accepts_still_forgets_it(
    admin_home: Home, admin: FakeAdmin
) -> None:
    token = logged_in(admin_home, admin)
    admin.tokens[token].revoked = True
    r = admin_home.run("logout")
    assert r.code == 0, r.stderr
    assert "no longer accepted" in r.stderr
    assert _saved_token(admin_home) is None


def test_logout_when_terra_is_unreachable_keeps_the_token(
    admin_home: Home, admin: FakeAdmin
) -> None:
    logged_in(admin_home, admin)
    admin.stop()
    r = admin_home.run("logout")
    assert r.code == 8
    assert "admin-url" in r.stderr
    assert _saved_token(admin_home)


def test_the_token_is_a_masked_secret(admin_home: Home, admin: FakeAdmin) -> None:
    token = logged_in(admin_home, admin)
    doc = json.loads(admin_home.run("config", "show", "--json").stdout)
    assert doc["values"]["admin-token"] == {
        "value": f"{token[:4]}…{token[-4:]}",
        "source": "file",
    }
    assert doc["values"]["admin-url"] == {"value": admin.base, "source": "env"}


def test_a_malformed_admin_url_exits_3(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    r = admin_home.run("login", "--status", env={"TERRA_ADMIN_URL": "not a url"})
    assert r.code == 3
    assert "TERRA_ADMIN_URL" in r.stderr
