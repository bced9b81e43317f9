"""`terra doctor`: every check passing, then each one failing in turn."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.api.helpers import assert_no_secrets
from tests.conftest import Home, Result
from tests.fakes.terra_api import API_KEY, DEV_ID, FakeTerra, Reply, unused_port

SIGNING_SECRET = "0123456789abcdef0123456789abcdef0123456789abcdef"
NGROK_TOKEN = "2abcdefghijklmnopqrstuvwxyz_0123456789ABCDEFG"
NAMES = [
    "config",
    "credentials",
    "terra-auth",
    "signing-secret",
    "ngrok-authtoken",
    "ngrok-agent",
    "port",
]


@pytest.fixture
def agent(tmp_path: Path) -> Path:
    path = tmp_path / "ngrok"
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def app_server() -> Iterator[str]:
    """Something listening, as the user's app would be."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}/webhooks/terra"


def _env(fake: FakeTerra, agent: Path, **extra: str) -> dict[str, str]:
    return fake.env(
        TERRA_SIGNING_SECRET=SIGNING_SECRET,
        NGROK_AUTHTOKEN=NGROK_TOKEN,
        TERRA_NGROK_PATH=str(agent),
        **extra,
    )


def _doctor(home: Home, env: dict[str, str], *args: str) -> tuple[Result, dict[str, Any]]:
    r = home.run("doctor", "--port", str(unused_port()), "--json", *args, env=env)
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    for c in checks.values():
        assert set(c) == {"name", "status", "detail", "hint"}
        assert c["status"] in ("ok", "warn", "fail")
        if c["status"] != "ok":
            assert c["hint"], c
    return r, checks


def _statuses(checks: dict[str, Any]) -> dict[str, str]:
    return {name: c["status"] for name, c in checks.items()}


def test_all_good(home: Home, terra_api: FakeTerra, agent: Path, app_server: str) -> None:
    r, checks = _doctor(home, _env(terra_api, agent), "--forward-to", app_server)
    assert r.code == 0, r.stderr
    # The Admin API checks come last; without 'terra login' they are one warning (issue 18).
    assert list(checks) == [*NAMES, "forward-target", "admin-token"]
    statuses = _statuses(checks)
    assert statuses.pop("admin-token") == "warn"
    assert set(statuses.values()) == {"ok"}
    assert "all good" in r.stderr
    [req] = terra_api.requests  # one cheap authenticated call
    assert (req.method, req.path, req.query) == (
        "GET",
        "/v2/subscriptions",
        {"page": "0", "per_page": "1"},
    )
    assert req.headers["dev-id"] == DEV_ID and req.headers["x-api-key"] == API_KEY
    assert checks["credentials"]["detail"] == "dev-id from TERRA_DEV_ID, api-key from TERRA_API_KEY"
    assert_no_secrets(r, terra_api)
    for secret in (SIGNING_SECRET, NGROK_TOKEN):
        assert secret not in r.output


def test_text_report(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    env = _env(terra_api, agent)
    env.pop("TERRA_SIGNING_SECRET")
    r = home.run("doctor", "--port", str(unused_port()), env=env)
    assert r.code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("[ok]   config ")
    assert any(line.startswith("[warn] signing-secret ") for line in lines)
    assert any("fix: Run 'terra config set signing-secret'" in line for line in lines)
    assert "\x1b" not in r.stdout
    # the admin-token warning too: no terra login here (the Admin API checks, issue 18)
    assert "all good (0 failed, 2 warnings)" in r.stderr


def test_malformed_config_fails_with_3(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    home.config_dir.mkdir(mode=0o700)
    home.config_file.write_text("active_profile = [\n")
    home.config_file.chmod(0o600)
    r, checks = _doctor(home, _env(terra_api, agent))
    assert r.code == 3
    assert checks["config"]["status"] == "fail" and "not valid TOML" in checks["config"]["detail"]
    assert checks["terra-auth"]["status"] == "ok"  # the other checks still ran
    assert "Error: terra doctor: 1 failed" in r.stderr


def test_world_readable_config_is_tightened(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    home.config_dir.mkdir(mode=0o700)
    home.config_file.write_text('active_profile = "default"\n')
    home.config_file.chmod(0o644)
    r, checks = _doctor(home, _env(terra_api, agent))
    assert r.code == 0, r.stderr
    assert checks["config"]["status"] == "warn"
    assert "mode 644" in checks["config"]["detail"]
    assert home.config_file.stat().st_mode & 0o777 == 0o600


def test_missing_credentials_fail_with_2(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    env = _env(terra_api, agent)
    env.pop("TERRA_API_KEY")
    r, checks = _doctor(home, env)
    assert r.code == 2
    assert checks["credentials"]["status"] == "fail"
    assert "terra config set api-key" in checks["credentials"]["hint"]
    assert checks["terra-auth"]["status"] == "warn"
    assert terra_api.requests == []


def test_credentials_from_the_config_file(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    env = _env(terra_api, agent)
    assert home.run("config", "set", "api-key", input=env.pop("TERRA_API_KEY") + "\n").code == 0
    r, checks = _doctor(home, env)
    assert r.code == 0, r.stderr
    assert checks["credentials"]["detail"] == "dev-id from TERRA_DEV_ID, api-key from config file"


def test_rejected_credentials_fail_with_2(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    r, checks = _doctor(home, _env(terra_api, agent, TERRA_API_KEY="a-key-from-another-env-0"))
    assert r.code == 2
    assert checks["credentials"]["status"] == "ok"
    assert checks["terra-auth"]["status"] == "fail"
    assert "HTTP 401" in checks["terra-auth"]["detail"]
    assert "same Terra environment" in checks["terra-auth"]["hint"]


def test_terra_unreachable_fails_with_8(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v2"
    r, checks = _doctor(home, _env(terra_api, agent, TERRA_API_URL=dead, TERRA_RETRIES="0"))
    assert r.code == 8
    assert "refused the connection" in checks["terra-auth"]["detail"]


def test_terra_error_fails_with_1(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    terra_api.always("subscriptions", Reply.problem(500, "internal error", "try later"))
    r, checks = _doctor(home, _env(terra_api, agent))
    assert r.code == 1
    assert "internal error: try later" in checks["terra-auth"]["detail"]


def test_bad_api_url_fails_with_3(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    r, checks = _doctor(home, _env(terra_api, agent, TERRA_API_URL="api.tryterra.co"))
    assert r.code == 3
    assert "TERRA_API_URL must be an http" in checks["terra-auth"]["detail"]


def test_missing_signing_secret_warns(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    env = _env(terra_api, agent)
    env.pop("TERRA_SIGNING_SECRET")
    r, checks = _doctor(home, env)
    assert r.code == 0
    assert _statuses(checks)["signing-secret"] == "warn"
    assert "TERRA_SIGNING_SECRET" in checks["signing-secret"]["hint"]


def test_missing_ngrok_token_warns(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    env = _env(terra_api, agent)
    env.pop("NGROK_AUTHTOKEN")
    r, checks = _doctor(home, env)
    assert r.code == 0
    assert _statuses(checks)["ngrok-authtoken"] == "warn"
    assert "--no-tunnel" in checks["ngrok-authtoken"]["hint"]


def test_ngrok_token_source_is_named(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    r, checks = _doctor(home, _env(terra_api, agent))
    assert r.code == 0, r.stderr
    assert checks["ngrok-authtoken"]["detail"] == "set, from NGROK_AUTHTOKEN"


def test_ngrok_token_from_the_users_ngrok_config(
    home: Home, terra_api: FakeTerra, agent: Path
) -> None:
    token = "3zYxWvUtSrQpOnMlKjIhGfEdCbA_9876543210"
    ngrok_yml = home.root / ".config" / "ngrok" / "ngrok.yml"
    ngrok_yml.parent.mkdir(parents=True)
    ngrok_yml.write_text(f"version: '3'\nagent:\n  authtoken: {token}\n")
    env = _env(terra_api, agent)
    env.pop("NGROK_AUTHTOKEN")
    r, checks = _doctor(home, env)
    assert r.code == 0, r.stderr
    assert checks["ngrok-authtoken"]["status"] == "ok"
    assert "your ngrok config file" in checks["ngrok-authtoken"]["detail"]
    assert token not in r.output


def test_configured_agent_missing_fails_with_3(
    home: Home, terra_api: FakeTerra, tmp_path: Path
) -> None:
    r, checks = _doctor(home, _env(terra_api, tmp_path / "no-such-ngrok"))
    assert r.code == 3
    assert "does not exist" in checks["ngrok-agent"]["detail"]
    assert "terra config set ngrok-path" in checks["ngrok-agent"]["hint"]


def test_configured_agent_not_executable(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    agent.chmod(0o644)
    r, checks = _doctor(home, _env(terra_api, agent))
    assert r.code == 3
    assert "is not executable" in checks["ngrok-agent"]["detail"]


def test_default_agent_absent_warns(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    env = _env(terra_api, agent)
    env.pop("TERRA_NGROK_PATH")
    r, checks = _doctor(home, env)
    assert r.code == 0
    assert checks["ngrok-agent"]["status"] == "warn"
    assert "downloads it on the first 'terra listen'" in checks["ngrok-agent"]["detail"]


def test_busy_port_fails_with_9(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = home.run("doctor", "--port", str(port), "--json", env=_env(terra_api, agent))
    assert r.code == 9
    [check] = [c for c in json.loads(r.stdout)["checks"] if c["name"] == "port"]
    assert check["status"] == "fail"
    assert check["detail"] == f"Port {port} on 127.0.0.1 is already in use."
    assert "--port" in check["hint"]


def test_unreachable_forward_target_fails_with_8(
    home: Home, terra_api: FakeTerra, agent: Path
) -> None:
    target = f"http://127.0.0.1:{unused_port()}/hook"
    r, checks = _doctor(home, _env(terra_api, agent), "--forward-to", target)
    assert r.code == 8
    assert "cannot connect to 127.0.0.1" in checks["forward-target"]["detail"]


def test_malformed_forward_target_fails_with_3(
    home: Home, terra_api: FakeTerra, agent: Path
) -> None:
    r, checks = _doctor(home, _env(terra_api, agent), "--forward-to", "localhost:3000")
    assert r.code == 3
    assert "--forward-to must be an http" in checks["forward-target"]["detail"]


def test_first_failure_decides_the_exit_code(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    env = _env(terra_api, agent)
    env.pop("TERRA_DEV_ID")
    target = f"http://127.0.0.1:{unused_port()}/hook"
    r, checks = _doctor(home, env, "--forward-to", target)
    assert (checks["credentials"]["status"], checks["forward-target"]["status"]) == ("fail", "fail")
    assert r.code == 2
    assert "2 failed" in r.stderr


def test_bad_port_is_a_usage_error(home: Home) -> None:
    r = home.run("doctor", "--port", "70000")
    assert r.code == 4 and r.stdout == ""
    assert "Error:" in r.stderr and "terra doctor --help" in r.stderr


def test_unknown_host_fails_the_port_check(home: Home, terra_api: FakeTerra, agent: Path) -> None:
    r, checks = _doctor(home, _env(terra_api, agent), "--host", "256.1.1.1")
    assert r.code == 9
    assert "no such address" in checks["port"]["detail"]
