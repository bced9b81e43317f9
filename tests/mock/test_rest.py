"""`terra mock`'s REST answers, path by path: valid and invalid input, field by field.

Every answer is also checked against Terra's published spec when it is beside
the checkout (tests/mock/spec.py skips that part with a reason otherwise).
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.mock import spec
from tests.mock.conftest import AUTH, KEY, Mock, Reply, call

DATED = ("activity", "body", "daily", "sleep", "nutrition", "menstruation")
PROBLEM = "application/problem+json"
# Every REST path that needs credentials, with a request that would otherwise be fine.
PROTECTED = [
    ("POST", "/auth/authenticateUser", {"resource": "GARMIN"}),
    ("POST", "/auth/generateWidgetSession", None),
    ("DELETE", "/auth/deauthenticateUser", {"user_id": "x"}),
    ("POST", "/auth/generateAuthToken", None),
    *[("GET", f"/{kind}", {"user_id": "x", "start_date": "2026-07-01"}) for kind in DATED],
    ("GET", "/athlete", {"user_id": "x"}),
    ("GET", "/userInfo", {"user_id": "x"}),
    ("GET", "/subscriptions", None),
    ("POST", "/bulkUserInfo", None),
    ("GET", "/plannedWorkouts", {"user_id": "x"}),
]


def is_uuid(text: Any) -> bool:
    try:
        return isinstance(text, str) and str(uuid.UUID(text)) == text
    except ValueError:
        return False


def assert_problem(reply: Reply, status: int, title: str, instance: str, detail: str) -> None:
    """Terra's Problem Details: the status, the media type and each field."""
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == PROBLEM
    body = reply.json()
    assert body["type"] == "about:blank"
    assert body["title"] == title
    assert body["instance"] == instance
    assert detail in body["detail"]
    assert set(body) == {"type", "title", "instance", "detail"}
    assert spec.errors_for_schema("Problem", body) == []


def assert_terra_user(user: dict[str, Any], user_id: str, provider: str, ref: str | None) -> None:
    """A TerraUser with every field the spec lists, with its types."""
    assert user["user_id"] == user_id and user["provider"] == provider
    assert user["reference_id"] == ref
    assert isinstance(user["active"], bool)
    assert isinstance(user["scopes"], str) and user["scopes"]
    assert datetime.fromisoformat(user["created_at"]).tzinfo is not None
    assert user["last_webhook_update"] is None or isinstance(user["last_webhook_update"], str)


# ---------------------------------------------------------------- routing and credentials


@pytest.mark.parametrize(("method", "path", "query"), PROTECTED)
def test_every_protected_path_wants_both_headers(
    shared: Mock, method: str, path: str, query: dict[str, str] | None
) -> None:
    target = "/v2" + path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    missing = shared.call(method, "/v2" + path, query=query)
    assert_problem(missing, 401, "unauthorized", target, "dev-id or x-api-key headers are missing")
    only_dev = shared.call(method, "/v2" + path, query=query, headers={"dev-id": "mock-dev"})
    assert only_dev.status == 401
    wrong = shared.call(method, "/v2" + path, query=query, headers={**AUTH, "x-api-key": "nope"})
    assert_problem(wrong, 401, "unauthorized", target, "dev-id or x-api-key is invalid")
    wrong_dev = shared.call(method, "/v2" + path, query=query, headers={**AUTH, "dev-id": "other"})
    assert wrong_dev.status == 401
    right = shared.call(
        method, "/v2" + path, query=query, headers=AUTH, body={} if method == "POST" else None
    )
    assert right.status != 401


def test_both_prefixes_serve_the_same_api(shared: Mock) -> None:
    classic = shared.rest("GET", "/integrations", prefix="/v2")
    access = shared.rest("GET", "/integrations", prefix="/api/v2")
    assert classic.status == access.status == 200
    assert classic.body == access.body
    assert shared.rest("GET", "/subscriptions", prefix="/api/v2").status == 200


def test_unknown_path_is_404_and_wrong_method_405(shared: Mock) -> None:
    assert_problem(
        shared.rest("GET", "/nothing"), 404, "not found", "/v2/nothing", "no such endpoint"
    )
    assert_problem(
        shared.call("GET", "/elsewhere"), 404, "not found", "/elsewhere", "no such endpoint"
    )
    wrong = shared.rest("GET", "/auth/authenticateUser")
    assert_problem(
        wrong, 405, "method not allowed", "/v2/auth/authenticateUser", "does not accept GET"
    )
    assert wrong.headers["allow"] == "POST"


def test_keep_alive_serves_several_answers_on_one_connection(shared: Mock) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", shared.ready["port"], timeout=5)
    try:
        for _ in range(3):
            conn.request("GET", "/v2/integrations")
            resp = conn.getresponse()
            assert resp.status == 200 and resp.getheader("connection") is None
            assert resp.read().startswith(b"{")
    finally:
        conn.close()


# ---------------------------------------------------------------- integrations


def test_integrations_are_public_and_shaped_like_terra(shared: Mock) -> None:
    reply = shared.call("GET", "/v2/integrations")
    assert reply.status == 200 and reply.headers["content-type"] == "application/json"
    body = reply.json()
    assert body["status"] == "success"
    assert "GARMIN" in body["providers"] and "APPLE" in body["sdk_providers"]
    assert all(isinstance(p, str) and p.isupper() for p in body["providers"])
    assert spec.response_errors("/integrations", "get", 200, "application/json", body) == []


def test_detailed_integrations_list_every_field_and_sdk_on_request(shared: Mock) -> None:
    body = shared.call("GET", "/v2/integrations/detailed").json()
    assert body["status"] == "success"
    slugs = [p["provider"] for p in body["providers"]]
    assert "OURA" in slugs and "APPLE" not in slugs
    for provider in body["providers"]:
        assert set(provider) == {"provider", "name", "icon", "setup", "enabled", "types"}
        assert isinstance(provider["name"], str) and provider["enabled"] is True
        assert set(provider["types"]) == {
            "activity",
            "body",
            "nutrition",
            "daily",
            "sleep",
            "menstruation",
        }
        assert all(isinstance(v, bool) for v in provider["types"].values())
    icon = call(shared.url, "GET", urlsplit(body["providers"][0]["icon"]).path)
    assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert (
        spec.response_errors("/integrations/detailed", "get", 200, "application/json", body) == []
    )
    with_sdk = shared.call("GET", "/v2/integrations/detailed", query={"sdk": "true"}).json()
    assert "APPLE" in [p["provider"] for p in with_sdk["providers"]]


# ---------------------------------------------------------------- widget sessions


@pytest.mark.parametrize(
    "path", ["/api/widget/session", "/widget/api/session", "/v2/auth/generateWidgetSession"]
)
def test_widget_session_answers_terra_s_four_fields(shared: Mock, path: str) -> None:
    reply = shared.call(
        "POST",
        path,
        headers=AUTH,
        body={"providers": "OURA,garmin", "reference_id": "u-1", "language": "en"},
    )
    assert reply.status == 200, reply.body
    body = reply.json()
    assert set(body) == {"session_id", "url", "status", "expires_in"}
    assert is_uuid(body["session_id"]) and body["status"] == "success"
    assert body["expires_in"] == 900
    assert (
        body["url"]
        == f"{shared.url.replace('127.0.0.1', '127.0.0.1')}/widget/session/{body['session_id']}"
    )
    if path.startswith("/v2"):
        errors = spec.response_errors(
            "/auth/generateWidgetSession", "post", 200, "application/json", body
        )
    else:
        errors = spec.response_errors(
            "/widget/api/session", "post", 200, "application/json", body, path=spec.WIDGET
        )
    assert errors == []
    page = call(shared.url, "GET", urlsplit(body["url"]).path)
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert b"value='OURA'" in page.body and b"value='GARMIN'" in page.body
    assert b"value='FITBIT'" not in page.body  # only the session's providers


@pytest.mark.parametrize(
    ("body", "raw", "detail"),
    [
        (None, b"{not json", "not valid JSON"),
        (["GARMIN"], None, "must be a JSON object"),
        ({"providers": 3}, None, "providers must be a string"),
        ({"providers": "GARMIN,NOPE"}, None, "unknown provider NOPE"),
        ({"auth_success_redirect_url": "not a url"}, None, "absolute http(s) URL"),
        (None, b"", "a JSON object body is required"),
    ],
)
def test_widget_session_rejects_bad_bodies_in_each_spec_s_words(
    shared: Mock, body: Any, raw: bytes | None, detail: str
) -> None:
    for path in ("/api/widget/session", "/widget/api/session"):
        reply = shared.call("POST", path, headers=AUTH, body=body, raw=raw)
        assert reply.status == 400
        assert reply.json()["status"] == "error" and detail in reply.json()["message"]
        assert (
            spec.response_errors(
                "/widget/api/session",
                "post",
                400,
                "application/json",
                reply.json(),
                path=spec.WIDGET,
            )
            == []
        )
    legacy = shared.call("POST", "/v2/auth/generateWidgetSession", headers=AUTH, body=body, raw=raw)
    assert_problem(legacy, 400, "bad request", "/v2/auth/generateWidgetSession", detail)


def test_widget_paths_answer_403_for_bad_credentials_as_the_widget_spec_says(shared: Mock) -> None:
    for headers in ({}, {**AUTH, "x-api-key": "wrong"}):
        reply = shared.call("POST", "/api/widget/session", headers=headers, body={})
        assert reply.status == 403
        assert reply.json() == {"status": "error", "message": "dev-id and x-api-key are invalid"}


def _session(mock: Mock, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = mock.call(
        "POST", "/api/widget/session", headers=AUTH, body=fields
    ).json()
    return body


def test_choosing_a_provider_connects_a_user_and_redirects_with_its_ids(shared: Mock) -> None:
    session = _session(
        shared, reference_id="ref-42", auth_success_redirect_url="https://app.example/ok?keep=1"
    )
    chosen = call(
        shared.url,
        "POST",
        urlsplit(session["url"]).path,
        raw=b"provider=WITHINGS",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert chosen.status == 302
    location = urlsplit(chosen.headers["location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "app.example", "/ok")
    query = parse_qs(location.query)
    assert query["keep"] == ["1"] and query["reference_id"] == ["ref-42"]
    user_id = query["user_id"][0]
    info = shared.rest("GET", "/userInfo", query={"user_id": user_id}).json()
    assert_terra_user(info["user"], user_id, "WITHINGS", "ref-42")


def test_widget_page_without_success_url_says_connected(shared: Mock) -> None:
    session = _session(shared)
    page = call(shared.url, "GET", urlsplit(session["url"]).path, query={"provider": "oura"})
    assert page.status == 200
    found = re.search(rb"<code id='user_id'>([0-9a-f-]{36})</code>", page.body)
    assert found is not None
    assert shared.rest("GET", "/userInfo", query={"user_id": found.group(1).decode()}).status == 200


def test_widget_page_refuses_unknown_sessions_and_providers(shared: Mock) -> None:
    assert call(shared.url, "GET", f"/widget/session/{uuid.uuid4()}").status == 404
    session = _session(shared, providers="OURA")
    path = urlsplit(session["url"]).path
    assert call(shared.url, "GET", path, query={"provider": "GARMIN"}).status == 400
    before = len(shared.rest("GET", "/subscriptions").json()["users"])
    assert call(shared.url, "GET", path, query={"provider": "NOPE"}).status == 400
    assert len(shared.rest("GET", "/subscriptions").json()["users"]) == before


def test_cancel_goes_to_the_failure_url_and_connects_nobody(shared: Mock) -> None:
    session = _session(
        shared, reference_id="r-9", auth_failure_redirect_url="https://app.example/failed"
    )
    before = len(shared.rest("GET", "/subscriptions").json()["users"])
    reply = call(shared.url, "GET", urlsplit(session["url"]).path, query={"cancel": "1"})
    assert reply.status == 302
    query = parse_qs(urlsplit(reply.headers["location"]).query)
    assert query == {"reason": ["access_denied"], "reference_id": ["r-9"]}
    assert len(shared.rest("GET", "/subscriptions").json()["users"]) == before


# ---------------------------------------------------------------- authenticateUser, deauth, token


def test_authenticate_user_hands_out_the_user_id_that_the_login_then_creates(shared: Mock) -> None:
    reply = shared.rest(
        "POST",
        "/auth/authenticateUser",
        query={"resource": "fitbit"},
        body={"reference_id": "ref-auth", "auth_success_redirect_url": "https://app.example/x"},
    )
    assert reply.status == 200
    body = reply.json()
    assert set(body) == {"status", "user_id", "auth_url"} and body["status"] == "success"
    assert is_uuid(body["user_id"])
    assert (
        spec.response_errors("/auth/authenticateUser", "post", 200, "application/json", body) == []
    )
    user_id = body["user_id"]
    assert shared.rest("GET", "/userInfo", query={"user_id": user_id}).status == 404
    page = call(shared.url, "GET", urlsplit(body["auth_url"]).path)
    assert page.status == 200 and b"Authorize FITBIT" in page.body
    done = call(shared.url, "GET", urlsplit(body["auth_url"]).path, query={"provider": "FITBIT"})
    assert done.status == 302
    assert parse_qs(urlsplit(done.headers["location"]).query)["user_id"] == [user_id]
    info = shared.rest("GET", "/userInfo", query={"user_id": user_id}).json()
    assert_terra_user(info["user"], user_id, "FITBIT", "ref-auth")


def test_authenticate_user_with_sdk_body_of_nulls(shared: Mock) -> None:
    body = {"language": None, "reference_id": None}
    reply = shared.rest("POST", "/auth/authenticateUser", query={"resource": "OURA"}, body=body)
    assert reply.status == 200


@pytest.mark.parametrize(
    ("query", "raw", "status", "title", "detail"),
    [
        ({}, None, 400, "bad request", "resource is required"),
        ({"resource": "MYSPACE"}, None, 404, "not found", "unknown resource MYSPACE"),
        ({"resource": "GARMIN"}, b"[1", 400, "bad request", "not valid JSON"),
    ],
)
def test_authenticate_user_rejects_bad_input(
    shared: Mock, query: dict[str, str], raw: bytes | None, status: int, title: str, detail: str
) -> None:
    reply = shared.rest("POST", "/auth/authenticateUser", query=query, raw=raw)
    target = "/v2/auth/authenticateUser" + ("?resource=" + query["resource"] if query else "")
    assert_problem(reply, status, title, target, detail)


def test_deauthenticate_removes_the_user(shared: Mock) -> None:
    user_id = shared.connect("POLAR")
    reply = shared.rest("DELETE", "/auth/deauthenticateUser", query={"user_id": user_id})
    assert reply.status == 200 and reply.json() == {"status": "success"}
    assert (
        spec.response_errors(
            "/auth/deauthenticateUser", "delete", 200, "application/json", reply.json()
        )
        == []
    )
    assert shared.rest("GET", "/userInfo", query={"user_id": user_id}).status == 404
    again = shared.rest("DELETE", "/auth/deauthenticateUser", query={"user_id": user_id})
    assert_problem(
        again, 404, "not found", f"/v2/auth/deauthenticateUser?user_id={user_id}", "user not found"
    )
    missing = shared.rest("DELETE", "/auth/deauthenticateUser")
    assert_problem(
        missing, 400, "bad request", "/v2/auth/deauthenticateUser", "user_id is required"
    )


def test_generate_auth_token(shared: Mock) -> None:
    body = shared.rest("POST", "/auth/generateAuthToken").json()
    assert body["status"] == "success" and body["expires_in"] == 180
    assert re.fullmatch(r"[0-9a-f]{64}", body["token"])
    assert (
        spec.response_errors("/auth/generateAuthToken", "post", 200, "application/json", body) == []
    )


# ---------------------------------------------------------------- users


def test_user_info_by_id_and_by_reference(shared: Mock) -> None:
    ref = f"ref-{uuid.uuid4()}"
    first, second = shared.connect("OURA", ref), shared.connect("GARMIN", ref)
    body = shared.rest("GET", "/userInfo", query={"user_id": first}).json()
    assert body["status"] == "success" and body["is_authenticated"] is True
    assert_terra_user(body["user"], first, "OURA", ref)
    for stamp in ("last_polled_at", "most_recent_data_at"):
        assert datetime.fromisoformat(body["user"][stamp]).tzinfo is not None
    assert spec.response_errors("/userInfo", "get", 200, "application/json", body, branch=0) == []
    listed = shared.rest("GET", "/userInfo", query={"reference_id": ref}).json()
    assert [u["user_id"] for u in listed] == [first, second]
    assert spec.response_errors("/userInfo", "get", 200, "application/json", listed, branch=1) == []
    assert shared.rest("GET", "/userInfo", query={"reference_id": "nobody"}).json() == []


def test_user_info_errors(shared: Mock) -> None:
    assert_problem(
        shared.rest("GET", "/userInfo"),
        400,
        "bad request",
        "/v2/userInfo",
        "user_id or reference_id is required",
    )
    assert_problem(
        shared.rest("GET", "/userInfo", query={"user_id": "nope"}),
        404,
        "not found",
        "/v2/userInfo?user_id=nope",
        "user not found",
    )


def test_subscriptions_whole_and_paged(shared: Mock) -> None:
    shared.connect("OURA")
    shared.connect("WHOOP")
    whole = shared.rest("GET", "/subscriptions").json()
    assert set(whole) == {"users"} and len(whole["users"]) >= 2
    assert (
        spec.response_errors("/subscriptions", "get", 200, "application/json", whole, branch=0)
        == []
    )
    total = len(whole["users"])
    first = shared.rest("GET", "/subscriptions", query={"page": 0, "per_page": 1}).json()
    assert first["data"]["next"] == 1 and first["data"]["max_page"] == total - 1
    assert first["data"]["results"] == whole["users"][:1]
    assert (
        spec.response_errors("/subscriptions", "get", 200, "application/json", first, branch=1)
        == []
    )
    last = shared.rest("GET", "/subscriptions", query={"page": total - 1, "per_page": 1}).json()
    assert last["data"]["next"] is None and last["data"]["results"] == whole["users"][-1:]
    for bad in ({"page": "x"}, {"page": -1}, {"page": 0, "per_page": 0}):
        assert shared.rest("GET", "/subscriptions", query=bad).status == 400


def test_bulk_user_info(shared: Mock) -> None:
    a, b = shared.connect("OURA"), shared.connect("COROS")
    found = shared.rest("POST", "/bulkUserInfo", body=[b, a]).json()
    assert [u["user_id"] for u in found] == [b, a]
    assert spec.response_errors("/bulkUserInfo", "post", 200, "application/json", found) == []
    assert_problem(
        shared.rest("POST", "/bulkUserInfo", body=[a, "ghost"]),
        404,
        "not found",
        "/v2/bulkUserInfo",
        "user not found: ghost",
    )
    assert_problem(
        shared.rest("POST", "/bulkUserInfo", body={"ids": [a]}),
        400,
        "bad request",
        "/v2/bulkUserInfo",
        "JSON array",
    )
    assert shared.rest("POST", "/bulkUserInfo", raw=b"[").status == 400


# ---------------------------------------------------------------- data


def _sync(mock: Mock, kind: str, user_id: str, **query: Any) -> Reply:
    return mock.rest("GET", f"/{kind}", query={"user_id": user_id, "to_webhook": "false", **query})


@pytest.mark.parametrize("kind", DATED)
def test_data_in_the_answer_covers_each_day_with_or_without_samples(
    shared: Mock, kind: str
) -> None:
    user_id = shared.connect("GARMIN", "data-ref")
    reply = _sync(
        shared, kind, user_id, start_date="2026-07-01", end_date="2026-07-04", with_samples="true"
    )
    assert reply.status == 200, reply.body
    body = reply.json()
    assert set(body) == {"user", "data", "type"} and body["type"] == kind
    assert_terra_user(body["user"], user_id, "GARMIN", "data-ref")
    assert len(body["data"]) == 3  # 07-01, 07-02, 07-03: the end day is not included
    for record in body["data"]:
        meta = record["metadata"]
        assert datetime.fromisoformat(meta["start_time"]) < datetime.fromisoformat(meta["end_time"])
    starts = [datetime.fromisoformat(r["metadata"]["start_time"]) for r in body["data"]]
    assert starts == sorted(starts)
    plain = _sync(shared, kind, user_id, start_date="2026-07-01", end_date="2026-07-04").json()
    assert [r["metadata"]["start_time"] for r in plain["data"]] == [
        r["metadata"]["start_time"] for r in body["data"]
    ]
    if kind in ("activity", "daily", "sleep", "body"):
        assert _series(body["data"]) > 0 and _series(plain["data"]) == 0


def _series(records: list[dict[str, Any]]) -> int:
    """How many heart-rate / hypnogram samples the records carry."""
    total = 0
    for r in records:
        hr = r.get("heart_rate_data") or r.get("heart_data", {}).get("heart_rate_data") or {}
        total += len(hr.get("detailed", {}).get("hr_samples", []))
        total += len(r.get("sleep_durations_data", {}).get("hypnogram_samples", []))
    return total


_SCHEMAS = {
    "activity": "Activity",
    "body": "Body",
    "daily": "Daily",
    "sleep": "Sleep",
    "nutrition": "Nutrition",
    "menstruation": "Menstruation",
}


@pytest.mark.parametrize("kind", DATED)
def test_data_answers_validate_against_the_spec(shared: Mock, kind: str) -> None:
    user_id = shared.connect("FITBIT")
    body = _sync(
        shared, kind, user_id, start_date="2026-06-01", end_date="2026-06-03", with_samples="true"
    ).json()
    assert spec.response_errors(f"/{kind}", "get", 200, "application/json", body, branch=0) == []
    errors = [e for record in body["data"] for e in spec.errors_for_schema(_SCHEMAS[kind], record)]
    assert errors == []


def test_one_day_forms_unix_seconds_and_no_future(shared: Mock) -> None:
    user_id = shared.connect()
    one = _sync(shared, "daily", user_id, start_date="2026-07-01").json()["data"]
    same = _sync(shared, "daily", user_id, start_date="2026-07-01", end_date="2026-07-01").json()[
        "data"
    ]
    unix = int(datetime(2026, 7, 1, 12, tzinfo=timezone.utc).timestamp())
    by_unix = _sync(shared, "daily", user_id, start_date=str(unix)).json()["data"]
    assert len(one) == 1 and one == same == by_unix
    assert one[0]["metadata"]["start_time"].startswith("2026-07-01T00:00:00")
    today = datetime.now(timezone.utc).date()
    ahead = _sync(
        shared,
        "daily",
        user_id,
        start_date=(today + timedelta(days=1)).isoformat(),
        end_date=(today + timedelta(days=5)).isoformat(),
    ).json()
    assert ahead["data"] == []


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({}, "start_date is required"),
        ({"start_date": "2026-13-01"}, "invalid start_date"),
        ({"start_date": "yesterday"}, "invalid start_date"),
        ({"start_date": "12345"}, "invalid start_date"),
        ({"start_date": "2026-07-01", "end_date": "2026/07/02"}, "invalid end_date"),
        ({"start_date": "2026-07-05", "end_date": "2026-07-01"}, "before start_date"),
        ({"start_date": "2026-07-01", "with_samples": "yes"}, "invalid with_samples"),
        ({"start_date": "2026-07-01", "to_webhook": "maybe"}, "invalid to_webhook"),
    ],
)
def test_bad_data_requests_are_400_problems(
    shared: Mock, query: dict[str, str], detail: str
) -> None:
    user_id = shared.connect()
    reply = shared.rest("GET", "/sleep", query={"user_id": user_id, **query})
    assert reply.status == 400 and reply.headers["content-type"] == PROBLEM
    assert detail in reply.json()["detail"]
    assert spec.response_errors("/sleep", "get", 400, PROBLEM, reply.json()) == []


def test_data_for_missing_or_unknown_users(shared: Mock) -> None:
    missing = shared.rest("GET", "/activity", query={"start_date": "2026-07-01"})
    assert_problem(
        missing, 400, "bad request", "/v2/activity?start_date=2026-07-01", "user_id is required"
    )
    unknown = shared.rest(
        "GET", "/activity", query={"user_id": "ghost", "start_date": "2026-07-01"}
    )
    assert_problem(
        unknown,
        404,
        "not found",
        "/v2/activity?user_id=ghost&start_date=2026-07-01",
        "user not found",
    )
    assert spec.response_errors("/activity", "get", 404, PROBLEM, unknown.json()) == []


def test_ranges_beyond_1825_days_hit_terra_s_rule_r1(shared: Mock) -> None:
    user_id = shared.connect()
    limit = date(2020, 1, 1) + timedelta(days=1825)
    ok = _sync(shared, "body", user_id, start_date="2020-01-01", end_date=limit.isoformat())
    assert ok.status == 200
    over = _sync(
        shared,
        "body",
        user_id,
        start_date="2020-01-01",
        end_date=(limit + timedelta(days=1)).isoformat(),
    )
    assert over.status == 429 and over.json() == {"detail": "rate limit exceeded"}
    assert over.headers["x-terra-ratelimit-rule"] == "r1"


def test_to_webhook_without_a_destination_is_terra_s_400(shared: Mock) -> None:
    user_id = shared.connect()
    reply = shared.rest("GET", "/daily", query={"user_id": user_id, "start_date": "2026-07-01"})
    assert reply.status == 400 and "--webhook URL" in reply.json()["detail"]


def test_athlete_in_the_answer(shared: Mock) -> None:
    user_id = shared.connect("SUUNTO", "ath")
    body = shared.rest("GET", "/athlete", query={"user_id": user_id, "to_webhook": "false"}).json()
    assert set(body) == {"athlete", "type", "user"} and body["type"] == "athlete"
    assert_terra_user(body["user"], user_id, "SUUNTO", "ath")
    assert isinstance(body["athlete"]["first_name"], str)
    date.fromisoformat(body["athlete"]["date_of_birth"])
    assert spec.response_errors("/athlete", "get", 200, "application/json", body, branch=0) == []
    assert spec.errors_for_schema("Athlete", body["athlete"]) == []
    again = shared.rest("GET", "/athlete", query={"user_id": user_id, "to_webhook": "false"}).json()
    assert again["athlete"] == body["athlete"]


def test_an_api_key_is_never_echoed(shared: Mock) -> None:
    reply = shared.rest("GET", "/userInfo", query={"user_id": "x"})
    assert KEY.encode() not in reply.body


def test_athlete_errors(shared: Mock) -> None:
    ghost = shared.rest("GET", "/athlete", query={"user_id": "ghost", "to_webhook": "false"})
    assert_problem(
        ghost, 404, "not found", "/v2/athlete?user_id=ghost&to_webhook=false", "user not found"
    )
    user_id = shared.connect()
    bad = shared.rest("GET", "/athlete", query={"user_id": user_id, "to_webhook": "later"})
    assert bad.status == 400 and "invalid to_webhook" in bad.json()["detail"]
    no_hook = shared.rest("GET", "/athlete", query={"user_id": user_id})
    assert no_hook.status == 400 and "--webhook URL" in no_hook.json()["detail"]


def test_chunked_request_bodies_are_read(shared: Mock) -> None:
    import http.client

    user_id = shared.connect()
    conn = http.client.HTTPConnection("127.0.0.1", shared.ready["port"], timeout=5)
    try:
        body = iter([b'["', user_id.encode(), b'"]'])
        conn.request("POST", "/v2/bulkUserInfo", body=body, headers=AUTH, encode_chunked=True)
        resp = conn.getresponse()
        assert resp.status == 200
        assert [u["user_id"] for u in json.loads(resp.read())] == [user_id]
    finally:
        conn.close()


def test_oversized_bodies_get_413_before_being_read(shared: Mock) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", shared.ready["port"]), timeout=5) as sock:
        sock.sendall(
            b"POST /v2/bulkUserInfo HTTP/1.1\r\nHost: x\r\ndev-id: mock-dev\r\n"
            b"x-api-key: mock-key\r\nContent-Length: 20000000\r\n\r\n["
        )
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"Connection: close" in head and b"application/problem+json" in head
    assert json.loads(body)["title"] == HTTPStatus(413).phrase.lower()


def test_planned_workouts_are_the_user_s_external_ones_in_the_window(shared: Mock) -> None:
    user_id = shared.connect("GARMIN")
    window = {"user_id": user_id, "start_date": "2026-07-01", "end_date": "2026-07-31"}
    reply = shared.rest("GET", "/plannedWorkouts", query=window)
    assert reply.status == 200
    found = reply.json()
    assert 3 <= len(found) <= 28  # about two days in five carry one
    dates = [w["planned_date"] for w in found]
    assert dates == sorted(dates) and all("2026-07-01" <= d <= "2026-07-31" for d in dates)
    for workout in found:
        assert workout["is_external"] is True and workout["planned_workout_id"] is None
        assert workout["provider_workout_id"] == workout["details"]["metadata"]["id"]
        assert workout["details"]["metadata"]["planned_date"] == workout["planned_date"]
        assert workout["details"]["steps"]
    assert spec.response_errors("/plannedWorkouts", "get", 200, "application/json", found) == []
    assert shared.rest("GET", "/plannedWorkouts", query=window).json() == found
    inner = {**window, "start_date": "2026-07-10", "end_date": "2026-07-12"}
    assert shared.rest("GET", "/plannedWorkouts", query=inner).json() == [
        w for w in found if "2026-07-10" <= w["planned_date"] <= "2026-07-12"
    ]
    recent = shared.rest("GET", "/plannedWorkouts", query={"user_id": user_id}).json()
    today = date.today()
    assert all(
        (today - timedelta(days=31)).isoformat() <= w["planned_date"] <= today.isoformat()
        for w in recent
    )


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ({}, 400, "user_id is required"),
        ({"user_id": "ghost"}, 404, "user not found"),
        ({"start_date": "1 July"}, 400, "invalid start_date"),
        ({"start_date": "2026-07-10", "end_date": "2026-07-01"}, 400, "before start_date"),
        ({"start_date": "2020-01-01", "end_date": "2026-01-01"}, 400, "at most 366 days"),
    ],
)
def test_planned_workouts_errors(
    shared: Mock, query: dict[str, str], status: int, detail: str
) -> None:
    if query and "user_id" not in query:
        query = {"user_id": shared.connect(), **query}
    reply = shared.rest("GET", "/plannedWorkouts", query=query)
    assert reply.status == status and reply.headers["content-type"] == PROBLEM
    assert detail in reply.json()["detail"]
