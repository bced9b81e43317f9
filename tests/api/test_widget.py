"""`terra widget` against the fake Terra API: requests, outputs and every error path."""

from __future__ import annotations

import json
import re
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from terra_cli import __version__
from tests.api.helpers import assert_error, assert_no_secrets
from tests.conftest import Home
from tests.fakes.terra_api import API_KEY, DEV_ID, WIDGET_URL, FakeTerra, Reply, unused_port


def test_creates_a_session_on_the_new_endpoint(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("widget", "--ref", "my_first_connection", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert r.stdout == WIDGET_URL + "\n"
    assert "Reference: my_first_connection" in r.stderr
    assert "Providers: (as selected in the dashboard)" in r.stderr
    assert re.search(r"Expires: +\d\d:\d\d:\d\d local time \(in 15 min\)", r.stderr)
    [req] = terra_api.requests
    assert (req.method, req.path) == ("POST", "/access/api/widget/session")
    assert req.headers["dev-id"] == DEV_ID
    assert req.headers["x-api-key"] == API_KEY
    assert req.headers["user-agent"] == f"terra-cli/{__version__}"
    assert req.headers["content-type"] == "application/json"
    assert req.json == {"reference_id": "my_first_connection"}
    assert_no_secrets(r, terra_api)


def test_sends_every_option_with_terras_field_names(home: Home, terra_api: FakeTerra) -> None:
    r = home.run(
        "widget",
        "--ref",
        "u-42",
        "--providers",
        " fitbit, oura,FITBIT garmin",
        "--language",
        "pt-BR",
        "--success-url",
        "https://app.example/ok/",
        "--failure-url",
        "https://app.example/fail",
        "--avengers-app",
        env=terra_api.env(),
    )
    assert r.code == 0, r.stderr
    assert terra_api.requests[0].json == {
        "reference_id": "u-42",
        "providers": "FITBIT,OURA,GARMIN",
        "language": "pt-BR",
        "auth_success_redirect_url": "https://app.example/ok",
        "auth_failure_redirect_url": "https://app.example/fail",
        "use_terra_avengers_app": True,
    }
    assert "Providers: FITBIT,OURA,GARMIN" in r.stderr


def test_no_options_sends_an_empty_object(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("widget", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert terra_api.requests[0].body == b"{}"
    assert "Reference: (none)" in r.stderr


def test_credentials_from_the_config_file(home: Home, terra_api: FakeTerra) -> None:
    env = terra_api.env()
    dev_id, api_key = env.pop("TERRA_DEV_ID"), env.pop("TERRA_API_KEY")
    assert home.run("config", "set", "dev-id", input=dev_id + "\n").code == 0
    assert home.run("config", "set", "api-key", input=api_key + "\n").code == 0
    r = home.run("widget", env=env)
    assert r.code == 0, r.stderr
    assert terra_api.requests[0].headers["x-api-key"] == API_KEY
    assert_no_secrets(r, terra_api)


def test_json_output(home: Home, terra_api: FakeTerra) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    r = home.run("widget", "--ref", "abc", "--json", env=terra_api.env())
    after = datetime.now(timezone.utc)
    assert r.code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert set(doc) == {"url", "session_id", "expires_in", "expires_at", "reference_id"}
    assert doc["url"] == WIDGET_URL
    assert doc["session_id"] == "23dc2540-7139-44c6-8158-f81196e2cf2e"
    assert doc["expires_in"] == 900
    assert doc["reference_id"] == "abc"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["expires_at"])
    expires = datetime.strptime(doc["expires_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc
    )
    assert before + timedelta(seconds=900) <= expires <= after + timedelta(seconds=900)
    assert "\x1b" not in r.stdout


@pytest.mark.parametrize("status", [404, 405])
def test_falls_back_to_the_widget_specs_path(home: Home, terra_api: FakeTerra, status: int) -> None:
    """The docs' path is missing: the path in Terra's published widget spec is next."""
    terra_api.always("widget", Reply.problem(status, "not found", "no such route"))
    r = home.run(
        "widget", "--ref", "my_first_connection", "--providers", "oura", env=terra_api.env()
    )
    assert r.code == 0, r.stderr
    assert r.stdout == WIDGET_URL + "\n"
    assert "legacy" not in r.stderr
    first, second = terra_api.requests
    assert (first.method, first.path) == ("POST", "/access/api/widget/session")
    assert (second.method, second.path) == ("POST", "/access/widget/api/session")
    assert second.json == {"reference_id": "my_first_connection", "providers": "OURA"}
    assert second.headers["dev-id"] == DEV_ID and second.headers["x-api-key"] == API_KEY


@pytest.mark.parametrize(("first", "status"), [(404, 404), (405, 405), (404, 405)])
def test_falls_back_to_the_legacy_endpoint_last(
    home: Home, terra_api: FakeTerra, first: int, status: int
) -> None:
    """Both access-host paths missing: the legacy endpoint on api-url, in that order."""
    terra_api.always("widget", Reply.problem(first, "not found", "no such route"))
    terra_api.always("spec_widget", Reply.problem(status, "not found", "no such route"))
    r = home.run(
        "widget", "--ref", "my_first_connection", "--providers", "oura", env=terra_api.env()
    )
    assert r.code == 0, r.stderr
    assert r.stdout == WIDGET_URL + "\n"
    assert f"answered {status}; used the legacy /auth/generateWidgetSession" in r.stderr
    assert [(q.method, q.path) for q in terra_api.requests] == [
        ("POST", "/access/api/widget/session"),
        ("POST", "/access/widget/api/session"),
        ("POST", "/v2/auth/generateWidgetSession"),
    ]
    third = terra_api.requests[2]
    assert third.json == {"reference_id": "my_first_connection", "providers": "OURA"}
    assert third.headers["dev-id"] == DEV_ID and third.headers["x-api-key"] == API_KEY


def test_other_errors_on_the_docs_path_do_not_fall_back(home: Home, terra_api: FakeTerra) -> None:
    """Only 404/405 mean "not here": a 400 is Terra's answer and is reported as such."""
    terra_api.always("widget", Reply.legacy_error(400, "providers must be a string"))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "providers must be a string")
    assert [q.path for q in terra_api.requests] == ["/access/api/widget/session"]


def test_spec_path_error_is_reported_not_skipped(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.problem(404, "not found", "no such route"))
    terra_api.always("spec_widget", Reply.legacy_error(403, "credentials are invalid"))
    r = home.run("widget", env=terra_api.env())
    assert r.code == 2, r.stderr
    assert "credentials are invalid" in r.stderr
    assert [q.path for q in terra_api.requests] == [
        "/access/api/widget/session",
        "/access/widget/api/session",
    ]


def test_legacy_410_is_reported_as_such(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.problem(404, "not found", "no such route"))
    terra_api.always("spec_widget", Reply.problem(405, "method not allowed", "no such route"))
    terra_api.always(
        "legacy_widget",
        Reply.legacy_error(
            410,
            "This endpoint is deprecated; use POST https://access.tryterra.co/api/widget/session",
        ),
    )
    r = home.run("widget", env=terra_api.env())
    assert_error(
        r,
        1,
        "answered 404 and 405",
        "410 Gone",
        "retired for this account",
        "This endpoint is deprecated",
        "terra config set access-url",
        "TERRA_ACCESS_URL",
    )
    assert len(terra_api.requests) == 3


def test_400_legacy_shape_carries_terras_words(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.legacy_error(400, "providers must be a string"))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "HTTP 400: providers must be a string")
    assert len(terra_api.requests) == 1  # a 400 is never retried


def test_400_problem_json_carries_terras_words(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.problem(400, "bad request", "language is not supported"))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "HTTP 400: bad request: language is not supported")


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_credentials_exit_2(home: Home, terra_api: FakeTerra, status: int) -> None:
    terra_api.always("widget", Reply.legacy_error(status, "credentials are invalid"))
    r = home.run("widget", env=terra_api.env())
    assert_error(
        r,
        2,
        f"HTTP {status}: credentials are invalid",
        "same Terra environment",
        "terra config set dev-id",
    )
    assert len(terra_api.requests) == 1


def test_wrong_api_key_is_rejected_by_terra(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("widget", env=terra_api.env(TERRA_API_KEY="not-the-right-key-123456"))
    assert_error(r, 2, "HTTP 401", "dev-id or x-api-key headers are missing")
    assert "not-the-right-key-123456" not in r.output


def test_echoed_credentials_are_scrubbed(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.legacy_error(400, f"unknown developer {DEV_ID}"))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "unknown developer ****")
    assert_no_secrets(r, terra_api)


def test_429_waits_as_told_then_succeeds(home: Home, terra_api: FakeTerra) -> None:
    terra_api.queue("widget", Reply.rate_limited(retry_after=1))
    r = home.run("widget", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert r.stdout == WIDGET_URL + "\n"
    assert "Terra answered HTTP 429 and asked to wait 1 s; retrying in 1 s (try 2 of 4)" in r.stderr
    assert len(terra_api.requests) == 2


def test_retry_after_longer_than_the_cap_fails_at_once(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.rate_limited(retry_after=120))
    r = home.run("widget", env=terra_api.env(TERRA_MAX_RETRY_WAIT="5"))
    assert_error(r, 1, "asks to wait 120 s", "rate limit exceeded", "after 120 s")
    assert len(terra_api.requests) == 1


def test_retries_are_bounded(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.rate_limited(retry_after=0))
    r = home.run("widget", env=terra_api.env(TERRA_RETRIES="2"))
    assert_error(r, 1, "still rate limiting after every retry", "TERRA_RETRIES")
    assert len(terra_api.requests) == 3
    assert r.stderr.count("retrying in") == 2


@pytest.mark.parametrize("status", [502, 503, 504])
def test_gateway_errors_are_retried(home: Home, terra_api: FakeTerra, status: int) -> None:
    terra_api.queue("widget", Reply.raw(status, "upstream trouble"))
    r = home.run("widget", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert f"Terra answered HTTP {status}; retrying in 0.01 s" in r.stderr
    assert len(terra_api.requests) == 2


def test_other_500_is_not_retried(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.problem(500, "internal error", "boom"))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "server error", "HTTP 500: internal error: boom")
    assert len(terra_api.requests) == 1


def test_html_500_names_the_documented_cause(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.html_500())
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "HTML page", "no data sources", "Enable at least one provider")
    assert "<html" not in r.stderr.lower()


def test_slow_answer_times_out_with_exit_8(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.slow(5))
    r = home.run("widget", env=terra_api.env(TERRA_TIMEOUT="1.5", TERRA_RETRIES="0"))
    assert_error(r, 8, "did not answer within 1.5 s", "TERRA_TIMEOUT")


def test_slow_answer_is_retried(home: Home, terra_api: FakeTerra) -> None:
    terra_api.queue("widget", Reply.slow(5))
    r = home.run("widget", env=terra_api.env(TERRA_TIMEOUT="1.5", TERRA_RETRIES="1"))
    assert r.code == 0, r.stderr
    assert "did not answer within 1.5 s; retrying" in r.stderr
    assert len(terra_api.requests) == 2


def test_dropped_connection_exit_8(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.dropped())
    r = home.run("widget", env=terra_api.env(TERRA_RETRIES="1"))
    assert_error(r, 8, "closed the connection without answering", "network")
    assert len(terra_api.requests) == 2


def test_refused_connection_exit_8(home: Home, terra_api: FakeTerra) -> None:
    dead = f"http://127.0.0.1:{unused_port()}"
    r = home.run("widget", env=terra_api.env(TERRA_ACCESS_URL=dead, TERRA_RETRIES="1"))
    assert_error(r, 8, "refused the connection", "TERRA_ACCESS_URL")
    assert r.stderr.count("retrying in") == 1
    assert terra_api.requests == []


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        (("TERRA_DEV_ID",), ["No dev-id configured", "'terra config set dev-id'", "TERRA_DEV_ID"]),
        (("TERRA_API_KEY",), ["No api-key configured", "terra config set api-key"]),
        (
            ("TERRA_DEV_ID", "TERRA_API_KEY"),
            [
                "No dev-id and api-key",
                "'terra config set dev-id'",
                "TERRA_DEV_ID and TERRA_API_KEY",
            ],
        ),
    ],
)
def test_missing_credentials_exit_2_before_any_request(
    home: Home, terra_api: FakeTerra, missing: tuple[str, ...], named: list[str]
) -> None:
    env = terra_api.env()
    for name in missing:
        env.pop(name)
    r = home.run("widget", env=env)
    assert_error(r, 2, *named)
    assert terra_api.requests == []


@pytest.mark.parametrize(
    ("args", "phrase"),
    [
        (["--providers", "FIT BIT!"], "'BIT!' is not a provider name"),
        (["--providers", ", ,"], "--providers is empty"),
        (["--language", "english!"], "not a language code"),
        (["--success-url", "ftp://x"], "--success-url must be an http"),
        (["--failure-url", "nope"], "--failure-url must be an http"),
        (["--ref", ""], "--ref must be 1 to 255"),
    ],
)
def test_bad_input_exit_3_before_any_request(
    home: Home, terra_api: FakeTerra, args: list[str], phrase: str
) -> None:
    r = home.run("widget", *args, env=terra_api.env())
    assert_error(r, 3, phrase)
    assert terra_api.requests == []


@pytest.mark.parametrize(
    ("env", "phrase"),
    [
        ({"TERRA_ACCESS_URL": "access.tryterra.co"}, "TERRA_ACCESS_URL must be an http"),
        ({"TERRA_TIMEOUT": "soon"}, "TERRA_TIMEOUT='soon' is not valid"),
        ({"TERRA_RETRIES": "1.5"}, "TERRA_RETRIES='1.5' is not valid"),
    ],
)
def test_bad_settings_exit_3(
    home: Home, terra_api: FakeTerra, env: dict[str, str], phrase: str
) -> None:
    r = home.run("widget", env=terra_api.env(**env))
    assert_error(r, 3, phrase)
    assert terra_api.requests == []


def test_unknown_flag_is_a_usage_error(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("widget", "--colour", env=terra_api.env())
    assert_error(r, 4, "--colour", "terra widget --help")


def _decode_qr(stderr: str) -> list[str]:
    """Turn the half-block drawing back into pixels and read it with a real decoder."""
    import zxingcpp

    lines = [ln for ln in stderr.splitlines() if ln and set(ln) <= set("█▀▄ ")]
    assert len(lines) > 10, stderr
    rows: list[list[bool]] = []
    for line in lines:
        rows.append([ch in "█▀" for ch in line])
        rows.append([ch in "█▄" for ch in line])
    scale = 4
    width, height = len(rows[0]) * scale, len(rows) * scale
    pixels = bytes(
        255 if light else 0
        for row in rows
        for _ in range(scale)
        for light in row
        for _ in range(scale)
    )

    class Image:
        __array_interface__ = {  # noqa: RUF012 - the buffer protocol zxingcpp reads
            "shape": (height, width),
            "typestr": "|u1",
            "data": pixels,
            "version": 3,
        }

    return [b.text for b in zxingcpp.read_barcodes(Image())]


def test_qr_code_on_stderr_decodes_to_the_url(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("widget", "--qr", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert r.stdout == WIDGET_URL + "\n"
    assert _decode_qr(r.stderr) == [WIDGET_URL]


def test_qr_with_json_keeps_stdout_clean(home: Home, terra_api: FakeTerra) -> None:
    r = home.run("widget", "--qr", "--json", env=terra_api.env())
    assert r.code == 0, r.stderr
    assert json.loads(r.stdout)["url"] == WIDGET_URL
    assert _decode_qr(r.stderr) == [WIDGET_URL]


def test_open_hands_the_url_to_the_browser(
    home: Home, terra_api: FakeTerra, tmp_path: Path
) -> None:
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\nprintf "%s" "$1" > {opened}\n')
    browser.chmod(browser.stat().st_mode | stat.S_IXUSR)
    r = home.run("widget", "--open", env=terra_api.env(BROWSER=str(browser)))
    assert r.code == 0, r.stderr
    assert opened.read_text() == WIDGET_URL
    assert r.stdout == WIDGET_URL + "\n"


def test_redirect_is_reported_not_followed(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply(301, b"", {"Location": "https://elsewhere.example/api"}))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "redirected", "HTTP 301 to https://elsewhere.example/api", "api-url")
    assert len(terra_api.requests) == 1


def test_undecodable_answer_exit_1(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply(200, b"not gzip at all", {"Content-Encoding": "gzip"}))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "sent an answer terra cannot read", "api-url")
    assert len(terra_api.requests) == 1


def test_unavailable_with_a_long_retry_after(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply(503, b"", {"Retry-After": "600"}))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "Terra is unavailable and asks to wait 600 s", "after 600 s")


def test_non_json_success_exit_1(home: Home, terra_api: FakeTerra) -> None:
    terra_api.always("widget", Reply.raw(200, "OK"))
    r = home.run("widget", env=terra_api.env())
    assert_error(r, 1, "but not with JSON", "api-url")
