"""`terra integrations` and `terra auth PROVIDER` against the fake Terra API."""

from __future__ import annotations

import json

from tests.api.helpers import assert_error, assert_no_secrets
from tests.conftest import Home
from tests.fakes.terra_api import API_KEY, DEV_ID, FakeTerra, Reply


def test_integrations_table(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("integrations", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert r.stdout.splitlines() == [
        "provider\tname\tenabled\ttypes",
        "GARMIN\tGarmin\tyes\tactivity,body,daily,sleep",
        "OURA\tOura\tno\tactivity,daily,sleep",
    ]
    assert "2 providers, 1 enabled." in r.stderr
    [req] = terra_api.requests
    assert (req.method, req.path, req.query) == ("GET", "/v2/integrations/detailed", {})
    assert req.headers["dev-id"] == DEV_ID
    assert_no_secrets(r, terra_api)


def test_integrations_json(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("integrations", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == [
        {
            "provider": "GARMIN",
            "name": "Garmin",
            "enabled": True,
            "types": ["activity", "body", "daily", "sleep"],
        },
        {
            "provider": "OURA",
            "name": "Oura",
            "enabled": False,
            "types": ["activity", "daily", "sleep"],
        },
    ]


def test_integrations_needs_only_the_dev_id(home: Home, terra_api: FakeTerra) -> None:
    env = terra_api.env()
    env.pop("TERRA_API_KEY")
    r = home.run("integrations", env=env)
    assert r.code == 0, r.stderr
    assert "x-api-key" not in terra_api.requests[0].headers


def test_integrations_without_dev_id_exit_2(home: Home, terra_api: FakeTerra) -> None:
    env = terra_api.env()
    env.pop("TERRA_DEV_ID")
    r = home.run("integrations", env=env)
    assert_error(r, 2, "No dev-id configured", "terra config set dev-id", "TERRA_DEV_ID")
    assert terra_api.requests == []


def test_integrations_wrong_dev_id_exit_2(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("integrations", env=terra_api.env(TERRA_DEV_ID="some-other-dev-id-000"))
    assert_error(r, 2, "HTTP 401", "same Terra environment")


def test_integrations_429_is_honoured(home: Home, terra_api: FakeTerra) -> None:
    terra_api.queue("integrations", Reply.rate_limited(retry_after=1))
    r = home.run("integrations", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert "asked to wait 1 s; retrying in 1 s" in r.stderr
    assert len(json.loads(r.stdout)) == 2
    assert len(terra_api.requests) == 2


def test_auth_prints_the_auth_url(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "auth",
        "fitbit",
        "--ref",
        "user-7",
        "--success-url",
        "https://app.example/ok",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    assert r.stdout == "https://auth.example/fitbit/oauth\n"
    assert "Provider:  FITBIT" in r.stderr and "Reference: user-7" in r.stderr
    assert "User id:   00000000-0000-0000-0000-000000000063" in r.stderr
    [req] = terra_api.requests
    assert (req.method, req.path, req.query) == (
        "POST",
        "/v2/auth/authenticateUser",
        {"resource": "FITBIT"},
    )
    assert req.json == {
        "reference_id": "user-7",
        "auth_success_redirect_url": "https://app.example/ok",
    }
    assert req.headers["x-api-key"] == API_KEY
    assert_no_secrets(r, terra_api)


def test_auth_json(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("auth", "GARMIN", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout) == {
        "auth_url": "https://auth.example/garmin/oauth",
        "user_id": "00000000-0000-0000-0000-000000000063",
        "provider": "GARMIN",
        "reference_id": None,
    }
    assert terra_api.requests[0].json == {}


def test_auth_bad_provider_exit_3(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("auth", "fit bit", env=terra_api.env())
    assert_error(r, 3, "'fit bit' is not a provider name", "terra integrations")
    assert terra_api.requests == []


def test_auth_terra_refuses_exit_1(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("authenticate", Reply.legacy_error(400, "Invalid resource NOPE"))
    r = home.run("auth", "NOPE", env=terra_api.env())
    assert_error(r, 1, "HTTP 400: Invalid resource NOPE")


def test_auth_missing_provider_is_a_usage_error(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("auth", env=terra_api.env())
    assert_error(r, 4, "Missing argument", "terra auth --help")
