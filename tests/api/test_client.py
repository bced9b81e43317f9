"""TerraClient in-process: the parts a subprocess cannot reach (DNS) and Terra's error shapes."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx  # noqa: TID251 - only to build the exceptions httpx raises
import pytest

from terra_cli.api import ClientOptions, RetryNotice, TerraClient, WidgetRequest, terra_words
from terra_cli.errors import NetworkError, RemoteError
from tests.fakes.terra_api import FakeTerra


def _options(fake: FakeTerra | None = None, **kw: Any) -> ClientOptions:
    base = fake.api_url if fake else "http://terra.invalid/v2"
    access = fake.access_url if fake else "http://terra.invalid"
    defaults: dict[str, Any] = {
        "dev_id": fake.dev_id if fake else "dev-id-value-1234",
        "api_key": fake.api_key if fake else "key-value-abcdef",
    }
    defaults.update(retries=1, backoff=0.0)
    defaults.update(kw)
    return ClientOptions(api_url=base, access_url=access, **defaults)


def test_dns_failure_is_a_network_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    notices: list[RetryNotice] = []
    client = TerraClient(_options(), on_retry=notices.append, sleep=lambda s: None)
    with client, pytest.raises(NetworkError) as info:
        client.widget_session(WidgetRequest())
    assert info.value.exit_code == 8
    assert info.value.message == "Cannot resolve terra.invalid (DNS lookup failed)."
    assert "TERRA_API_URL" in (info.value.hint or "")
    assert [n.attempt for n in notices] == [1]


def test_tls_failure_is_a_network_error(terra_api: FakeTerra) -> None:
    # The fake speaks plain HTTP, so an https:// URL to it fails the TLS handshake for real.
    options = _options(terra_api, retries=0)
    options = ClientOptions(
        **{**options.__dict__, "access_url": terra_api.base.replace("http://", "https://")}
    )
    with TerraClient(options) as client, pytest.raises(NetworkError) as info:
        client.widget_session(WidgetRequest())
    assert info.value.message.startswith("The TLS handshake with 127.0.0.1:")


@pytest.mark.parametrize(
    ("body", "text", "words"),
    [
        (
            {"status": "error", "message": "Invalid dev-id was provided"},
            "",
            "Invalid dev-id was provided",
        ),
        (
            {"type": "about:blank", "title": "bad request", "detail": "start_date is invalid"},
            "",
            "bad request: start_date is invalid",
        ),
        ({"detail": "rate limit exceeded"}, "", "rate limit exceeded"),
        ({"title": "forbidden"}, "", "forbidden"),
        (None, "plain   text\nanswer", "plain text answer"),
        (None, "<!DOCTYPE html><html><body>oops</body></html>", None),
        (None, "<!doctype html><title>oops</title>", None),
        (None, "<html><head><title>oops</title></head></html>", None),
        (None, "  <p>a page<body>oops", None),
        ([1, 2], "", None),
    ],
)
def test_terra_words_reads_both_error_shapes(body: Any, text: str, words: str | None) -> None:
    assert terra_words(body, text) == words


def test_backoff_doubles_and_is_capped(terra_api: FakeTerra) -> None:
    from tests.fakes.terra_api import Reply

    terra_api.always("widget", Reply.raw(503, "busy"))
    waits: list[float] = []
    options = _options(terra_api, retries=4, backoff=0.5, max_wait=1.5)
    client = TerraClient(options, sleep=waits.append)
    with client, pytest.raises(RemoteError) as info:
        client.widget_session(WidgetRequest())
    assert waits == [0.5, 1.0, 1.5, 1.5]
    assert len(terra_api.requests) == 5
    assert "HTTP 503: busy" in info.value.message


def test_retry_after_is_used_as_the_wait(terra_api: FakeTerra) -> None:
    from tests.fakes.terra_api import Reply

    terra_api.queue("widget", Reply.rate_limited(retry_after=7), Reply.rate_limited(retry_after=2))
    waits: list[float] = []
    notices: list[RetryNotice] = []
    options = _options(terra_api, retries=3, backoff=0.5, max_wait=10)
    client = TerraClient(options, on_retry=notices.append, sleep=waits.append)
    with client:
        session = client.widget_session(WidgetRequest())
    assert session.url.startswith("https://widget.tryterra.co/session/")
    assert waits == [7.0, 2.0]
    assert [n.reason for n in notices] == [
        "Terra answered HTTP 429 and asked to wait 7 s",
        "Terra answered HTTP 429 and asked to wait 2 s",
    ]


def test_other_4xx_is_never_retried(terra_api: FakeTerra) -> None:
    from tests.fakes.terra_api import Reply

    terra_api.always("widget", Reply.legacy_error(422, "unprocessable"))
    waits: list[float] = []
    client = TerraClient(_options(terra_api, retries=3), sleep=waits.append)
    with client, pytest.raises(RemoteError):
        client.widget_session(WidgetRequest())
    assert waits == [] and len(terra_api.requests) == 1


def test_an_answer_that_cannot_be_decoded_is_a_remote_error(terra_api: FakeTerra) -> None:
    from tests.fakes.terra_api import Reply

    broken = Reply(200, b"\x1f\x8b not really gzip", {"Content-Encoding": "gzip"})
    terra_api.always("widget", broken)
    with TerraClient(_options(terra_api, retries=2)) as client, pytest.raises(RemoteError) as info:
        client.widget_session(WidgetRequest())
    host = terra_api.base.split("//", 1)[1].split("/", 1)[0]
    assert info.value.message.startswith(f"{host} sent an answer terra cannot read (")
    assert "api-url / access-url" in (info.value.hint or "")
    assert len(terra_api.requests) == 1  # not retried: the same bytes would come back


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (httpx.ConnectError("[Errno -3] Temporary failure in name resolution"), "Cannot resolve"),
        (httpx.ConnectError("getaddrinfo failed"), "Cannot resolve"),
        (httpx.ConnectError("[Errno -5] No address associated with hostname"), "Cannot resolve"),
        (httpx.ConnectError("nodename nor servname provided, or not known"), "Cannot resolve"),
        (httpx.ConnectError("[Errno 111] Connection refused"), "h.test refused the connection."),
        (httpx.RemoteProtocolError("Server disconnected"), "h.test closed the connection"),
        (httpx.ConnectTimeout("timed out"), "Connecting to h.test timed out after 10 s."),
        (httpx.ReadTimeout("timed out"), "h.test did not answer within 30 s."),
        (httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"), "The TLS handshake with h.test"),
        (httpx.ConnectError("Network is unreachable"), "Cannot reach h.test: Network is"),
    ],
)
def test_network_failures_are_named(exc: Exception, message: str) -> None:
    """Causes a local test cannot produce for real (DNS), as httpx words them."""
    error = TerraClient(_options())._network_error(exc, "https://h.test/v2/x")
    assert error.message.startswith(message), error.message
    assert error.exit_code == 8


def test_network_failures_back_off_doubling() -> None:
    with socket.socket() as holder:  # bound, never listening: connections are refused
        holder.bind(("127.0.0.1", 0))
        _assert_backoff(f"http://127.0.0.1:{holder.getsockname()[1]}")


def _assert_backoff(refused_url: str) -> None:
    waits: list[float] = []
    options = ClientOptions(
        api_url=refused_url, access_url=refused_url, dev_id="dev-id-value-1234",
        api_key="key-value-abcdef", retries=3, backoff=0.5, max_wait=60,
    )  # fmt: skip
    with TerraClient(options, sleep=waits.append) as client, pytest.raises(NetworkError) as info:
        client.widget_session(WidgetRequest())
    assert waits == [0.5, 1.0, 2.0]
    assert info.value.message.endswith("refused the connection.")


@pytest.mark.parametrize(
    ("reply", "message", "hint"),
    [
        (
            "429",
            "Terra is rate limiting these requests and asks to wait 120 s before the next one "
            "(HTTP 429: rate limit exceeded).",
            "Run the command again after 120 s; Terra counts requested days per user per "
            "hour, so shorter date ranges help.",
        ),
        (
            "503",
            "Terra is unavailable and asks to wait 120 s before the next one (HTTP 503: busy).",
            "Run the command again after 120 s.",
        ),
    ],
)
def test_a_wait_longer_than_allowed_is_not_waited_for(
    terra_api: FakeTerra, reply: str, message: str, hint: str
) -> None:
    from tests.fakes.terra_api import Reply

    if reply == "429":
        terra_api.always("widget", Reply.rate_limited(retry_after=120))
    else:
        terra_api.always(
            "widget", Reply(503, b"busy", {"Retry-After": "120"}, content_type="text/plain")
        )
    waits: list[float] = []
    client = TerraClient(_options(terra_api, retries=3, max_wait=10), sleep=waits.append)
    with client, pytest.raises(RemoteError) as info:
        client.widget_session(WidgetRequest())
    assert (info.value.message, info.value.hint) == (message, hint)
    assert waits == [] and len(terra_api.requests) == 1


@pytest.mark.parametrize("status", [200, 201, 202])
def test_any_2xx_is_a_success(terra_api: FakeTerra, status: int) -> None:
    from tests.fakes.terra_api import SESSION_ID, WIDGET_URL, Reply

    body = {"session_id": SESSION_ID, "url": WIDGET_URL, "status": "success"}
    terra_api.always("widget", Reply.json(status, body))
    providers = [{"provider": "GARMIN", "name": "Garmin"}]
    terra_api.always("integrations", Reply.json(status, {"providers": providers}))
    with TerraClient(_options(terra_api)) as client:
        assert client.widget_session(WidgetRequest()).url == WIDGET_URL
        assert client.integrations() == providers


def test_users_in_the_older_unpaged_shape(terra_api: FakeTerra) -> None:
    from tests.fakes.terra_api import Reply, make_user

    users = [make_user(0), make_user(1)]
    terra_api.always("subscriptions", Reply.json(200, {"users": users}))
    with TerraClient(_options(terra_api)) as client:
        assert client.users_page(0) == (users, None)
    terra_api.always("subscriptions", Reply.json(200, {"unexpected": True}))
    with TerraClient(_options(terra_api)) as client, pytest.raises(RemoteError) as info:
        client.users_page(0)
    assert info.value.message == "Terra's subscriptions answer has an unexpected shape."


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_busy_and_gateway_answers_are_retried(terra_api: FakeTerra, status: int) -> None:
    from tests.fakes.terra_api import Reply

    terra_api.queue("integrations", Reply.raw(status, "busy"))
    terra_api.always("integrations", Reply.json(200, {"providers": []}))
    waits: list[float] = []
    with TerraClient(_options(terra_api, retries=2), sleep=waits.append) as client:
        assert client.integrations() == []
    assert len(terra_api.requests) == 2 and len(waits) == 1


@pytest.mark.parametrize("status", [500, 501, 400])
def test_other_errors_are_not_retried(terra_api: FakeTerra, status: int) -> None:
    from tests.fakes.terra_api import Reply

    terra_api.always("integrations", Reply.raw(status, "no"))
    with TerraClient(_options(terra_api, retries=2)) as client, pytest.raises(RemoteError):
        client.integrations()
    assert len(terra_api.requests) == 1


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("r1", "Terra refused the request while listing integrations: one request may span at "
               "most 1,825 days (HTTP 429: rate limit exceeded)."),
        ("r2", "Terra is still rate limiting after every retry while listing integrations "
               "(HTTP 429: rate limit exceeded)."),
    ],
)  # fmt: skip
def test_rate_limits_are_told_apart_by_rule(terra_api: FakeTerra, rule: str, message: str) -> None:
    from tests.fakes.terra_api import Reply

    terra_api.always("integrations", Reply.rate_limited(rule="".join(list(rule))))
    with TerraClient(_options(terra_api, retries=0)) as client, pytest.raises(RemoteError) as info:
        client.integrations()
    assert info.value.message == message


def test_retry_after_as_seconds_or_an_http_date() -> None:
    from email.utils import format_datetime

    from terra_cli.api import _parse_retry_after

    assert _parse_retry_after(None) is None
    assert _parse_retry_after(" 7 ") == 7.0
    assert _parse_retry_after("-3") == 0.0
    assert _parse_retry_after("soon") is None
    assert _parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # already past: no wait
    ahead = datetime.now(timezone.utc) + timedelta(seconds=120)
    wait = _parse_retry_after(format_datetime(ahead, usegmt=True))
    assert wait is not None and 100 < wait <= 120


def test_by_default_three_retries_half_a_second_doubling(terra_api: FakeTerra) -> None:
    from tests.fakes.terra_api import Reply

    terra_api.always("integrations", Reply.raw(503, "busy"))
    options = ClientOptions(
        api_url=terra_api.api_url, access_url=terra_api.access_url,
        dev_id=terra_api.dev_id, api_key=terra_api.api_key,
    )  # fmt: skip
    waits: list[float] = []
    with TerraClient(options, sleep=waits.append) as client, pytest.raises(RemoteError):
        client.integrations()
    assert waits == [0.5, 1.0, 2.0] and len(terra_api.requests) == 4
    assert (options.connect_timeout, options.read_timeout, options.max_wait) == (10, 30, 60)


@pytest.mark.parametrize(
    ("status", "start"),
    [
        (499, "Terra refused the request while listing integrations (HTTP 499"),
        (500, "Terra had a server error while listing integrations (HTTP 500"),
    ],
)
def test_credentials_echoed_by_terra_never_reach_a_message(
    terra_api: FakeTerra, status: int, start: str
) -> None:
    from tests.fakes.terra_api import Reply

    echoed = f"bad key {terra_api.api_key} for dev {terra_api.dev_id}"
    terra_api.always("integrations", Reply.legacy_error(status, echoed))
    with TerraClient(_options(terra_api, retries=0)) as client, pytest.raises(RemoteError) as info:
        client.integrations()
    assert info.value.message.startswith(start)
    assert "bad key **** for dev ****" in info.value.message
    assert terra_api.api_key not in info.value.message
    assert terra_api.dev_id not in info.value.message
