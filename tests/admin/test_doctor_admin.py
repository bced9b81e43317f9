"""`terra doctor`'s Admin API checks: a warning until the user opts in, then real checks."""

from __future__ import annotations

import json
from typing import Any

from tests.admin.conftest import DEV_ID, logged_in
from tests.conftest import Home
from tests.fakes.admin_api import FakeAdmin


def _checks(home: Home, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    r = home.run("doctor", "--json", "--port", "1", env=env)
    doc = json.loads(r.stdout)
    return r.code, {c["name"]: c for c in doc["checks"] if c["name"].startswith("admin-")}


def test_without_a_token_one_warning_and_no_request(admin_home: Home, admin: FakeAdmin) -> None:
    _, checks = _checks(admin_home)
    assert list(checks) == ["admin-token"]
    assert checks["admin-token"]["status"] == "warn"
    assert "terra login" in checks["admin-token"]["hint"]
    assert admin.seen == []


def test_a_good_token_and_environment(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    _, checks = _checks(admin_home, {"TERRA_DEV_ID": DEV_ID})
    assert [c["status"] for c in checks.values()] == ["ok", "ok", "ok"]
    assert "Terra knows 'Staging'" in checks["admin-environment"]["detail"]


def test_missing_scopes_are_a_warning_naming_them(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin, scopes=["destinations:read", "events:read"])
    _, checks = _checks(admin_home, {"TERRA_DEV_ID": DEV_ID})
    scopes = checks["admin-scopes"]
    assert scopes["status"] == "warn"
    assert "destinations:write" in scopes["detail"] and "payloads:read" in scopes["detail"]
    assert "terra login --scope destinations:write --scope payloads:read" in scopes["hint"]
    assert checks["admin-environment"]["status"] == "ok"  # checked through destinations:read


def test_a_rejected_token_fails_with_2(admin_home: Home, admin: FakeAdmin) -> None:
    code, checks = _checks(admin_home, {"TERRA_ADMIN_TOKEN": "terra_at_revoked-token-value"})
    assert checks["admin-token"]["status"] == "fail"
    assert "terra login" in checks["admin-token"]["hint"]
    assert code == 2


def test_an_unknown_environment_fails_with_3(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    _, checks = _checks(admin_home, {"TERRA_DEV_ID": "unknown-env-123456"})
    env = checks["admin-environment"]
    assert env["status"] == "fail"
    assert "dev_id_not_found" in env["detail"]


def test_an_unreachable_admin_api_fails_the_token_check(admin_home: Home, admin: FakeAdmin) -> None:
    logged_in(admin_home, admin)
    admin.stop()
    _, checks = _checks(admin_home)
    assert list(checks) == ["admin-token"]
    assert checks["admin-token"]["status"] == "fail"
    assert "admin-url" in checks["admin-token"]["hint"]
