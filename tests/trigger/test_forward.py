"""Byte-exact delivery against real local servers, and classified failures."""

from __future__ import annotations

import socket
import time

import pytest

from terra_cli.errors import InputError
from terra_cli.webhooks import forward
from tests.fakes.capture import capture_server

BODY = b'{"type": "activity", "data": [{"x": "caf\xc3\xa9"}]}\n'
HEADERS = [
    ("terra-signature", "t=1,v1=ab"),
    ("Content-Type", "application/json"),
    ("terra-reference", "ref-1"),
    ("X-Custom-Case", "KeepMe"),
    ("Connection", "keep-alive, X-Drop-Me"),
    ("X-Drop-Me", "gone"),
    ("Keep-Alive", "timeout=5"),
    ("Transfer-Encoding", "chunked"),
    ("Host", "original.example"),
    ("Content-Length", "999"),
    ("User-Agent", "Terra-Webhooks"),
]


def test_body_and_headers_arrive_exactly() -> None:
    with capture_server(status=201) as app:
        result = forward.deliver(app.url, "POST", HEADERS, BODY, timeout=5)
        (got,) = app.wait_for(1)
    assert result.status == 201 and result.ok and result.error is None
    assert result.body == b'{"ok": true}'
    assert got.method == "POST" and got.path == "/hooks/terra"
    assert got.body == BODY
    names = [k for k, _ in got.headers]
    sent = [(k, v) for k, v in got.headers if k.lower() not in ("host", "content-length")]
    assert sent == [
        ("terra-signature", "t=1,v1=ab"),
        ("Content-Type", "application/json"),
        ("terra-reference", "ref-1"),
        ("X-Custom-Case", "KeepMe"),
        ("User-Agent", "Terra-Webhooks"),
    ]
    assert got.header("content-length") == str(len(BODY))
    assert got.header("host") == f"127.0.0.1:{app.port}"
    assert "Accept-Encoding" not in names and "Accept" not in names


@pytest.mark.parametrize("status", [200, 202, 400, 500, 503])
def test_status_comes_back_unchanged(status: int) -> None:
    with capture_server(status=status) as app:
        result = forward.deliver(app.url, "POST", [], b"{}", timeout=5)
    assert result.status == status
    assert result.ok == (200 <= status < 300)
    assert result.record()["status"] == status


def test_refused_names_the_likely_causes(refused_port: int) -> None:
    url = f"http://localhost:{refused_port}/hook"
    started = time.perf_counter()
    result = forward.deliver(url, "POST", [], b"{}", timeout=5)
    elapsed_ms = (time.perf_counter() - started) * 1000
    assert result.status is None and result.error == "refused"
    assert result.hint is not None
    assert f"port {refused_port}" in result.hint
    assert f"http://127.0.0.1:{refused_port}/hook" in result.hint  # the ::1 vs 127.0.0.1 trap
    assert "container" in result.hint
    assert 0 < result.latency_ms <= elapsed_ms  # measured around the attempt, in ms
    assert result.record() == {
        "url": url,
        "status": None,
        "latency_ms": round(result.latency_ms, 1),
        "error": "refused",
    }


def test_latency_is_the_apps_answer_time_in_milliseconds() -> None:
    with capture_server(delay=0.2) as app:
        started = time.perf_counter()
        result = forward.deliver(app.url, "POST", [], b"{}", timeout=5)
        elapsed_ms = (time.perf_counter() - started) * 1000
    assert result.status == 200
    # The app held the answer 200 ms: the latency covers that and no more than the call.
    assert 200 <= result.latency_ms <= elapsed_ms
    assert result.record()["latency_ms"] == round(result.latency_ms, 1)


def test_slow_app_is_a_timeout() -> None:
    with capture_server(delay=1.5) as app:
        result = forward.deliver(app.url, "POST", [], b"{}", timeout=0.3)
    assert result.error == "timeout" and result.status is None
    assert "8 s" in (result.hint or "")


def test_https_to_a_plain_http_port_is_a_tls_failure() -> None:
    with capture_server() as app:
        result = forward.deliver(f"https://127.0.0.1:{app.port}/", "POST", [], b"{}", timeout=5)
    assert result.error == "tls"
    assert "http://" in (result.hint or "")


def test_dns_failures_are_classified_from_the_cause_chain() -> None:
    # Resolving a name would leave this machine, so the classifier is fed the
    # exception chain httpx builds around a resolver failure.
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert forward._classify(outer) == "dns"
    assert forward._classify(RuntimeError("garbage answer")) == "protocol"
    hint = forward.failure_hint("http://app:3000/x", "dns", 8)
    assert "'app'" in hint and "Docker" in hint


@pytest.mark.parametrize(
    "url", ["ftp://x/y", "127.0.0.1:8080/x", "http:///nohost", "http://h:99999/"]
)
def test_bad_urls_are_input_errors(url: str) -> None:
    with pytest.raises(InputError):
        forward.deliver(url, "POST", [], b"{}")


def test_connection_listed_headers_are_dropped() -> None:
    out = forward.outgoing_headers(
        [("Connection", "X-A, x-b"), ("X-A", "1"), ("X-B", "2"), ("X-C", "3"), ("TE", "trailers")]
    )
    assert out == [("X-C", "3")]


def test_only_the_connection_header_names_hop_by_hop_fields() -> None:
    # A value that happens to be another header's name drops nothing.
    headers = [("X-Note", "x-keep, close"), ("X-Keep", "1"), ("Terra-Reference", "x-note")]
    assert forward.outgoing_headers(headers) == headers
