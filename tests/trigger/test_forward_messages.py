"""What a failed delivery says: the error kind, the sentence and the hint, per cause.

The causes that a local test cannot produce for real (DNS, an unreachable
network, a reset mid-handshake) are fed to the classifier as the exception
chains httpx raises around them; the sentences are the ones users read.
"""

from __future__ import annotations

import errno
import socket
import ssl

import pytest

from terra_cli.errors import InputError, NetworkError, RemoteError
from terra_cli.webhooks import forward
from terra_cli.webhooks.forward import AppForwarder, Delivery


def _wrapped(inner: BaseException) -> BaseException:
    """`inner` as the cause of a transport error, as httpx chains it."""
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("transport failed") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("cause", "kind"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "refused"),
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns"),
        (ssl.SSLError(1, "wrong version number"), "tls"),
        (ConnectionResetError(errno.ECONNRESET, "reset by peer"), "reset"),
        (BrokenPipeError(errno.EPIPE, "broken pipe"), "reset"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "unreachable"),
        (OSError(errno.EHOSTUNREACH, "No route to host"), "unreachable"),
        (OSError(51, "Network is unreachable"), "unreachable"),  # the macOS numbers
        (OSError(65, "No route to host"), "unreachable"),
        (OSError(errno.EACCES, "Permission denied"), "protocol"),
    ],
)
def test_causes_are_classified_through_the_chain(cause: BaseException, kind: str) -> None:
    assert forward._classify(_wrapped(cause)) == kind
    assert forward._classify(cause) == kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("[Errno 111] Connection refused", "refused"),
        ("[Errno -2] Name or service not known", "dns"),
        ("nodename nor servname provided", "dns"),
        ("getaddrinfo failed", "dns"),
        ("[SSL: WRONG_VERSION_NUMBER]", "tls"),
        ("certificate verify failed", "tls"),
        ("TLS alert", "tls"),
        ("Connection reset by peer", "reset"),
        ("Server disconnected without sending a response.", "protocol"),
    ],
)
def test_causes_known_only_by_their_words(text: str, kind: str) -> None:
    assert forward._classify(RuntimeError(text)) == kind


URL = "http://127.0.0.1:3000/webhooks/terra"


@pytest.mark.parametrize(
    ("kind", "sentence"),
    [
        ("refused", "Connection refused at 127.0.0.1:3000: nothing is listening there."),
        ("timeout", f"{URL} did not answer within 2.5 s."),
        ("dns", "The host '127.0.0.1' could not be resolved."),
        ("tls", "The TLS handshake with 127.0.0.1:3000 failed."),
        ("reset", "127.0.0.1:3000 closed the connection before answering."),
        ("protocol", "127.0.0.1:3000 did not answer with valid HTTP."),
        ("unreachable", "The network to 127.0.0.1:3000 is unreachable."),
    ],
)
def test_each_failure_has_its_sentence(kind: forward.ErrorKind, sentence: str) -> None:
    assert forward.describe(kind, URL, 2.5) == sentence


def test_default_ports_are_named() -> None:
    refused = forward.describe("refused", "http://app/x", 8)
    assert refused == "Connection refused at app:80: nothing is listening there."
    assert forward.describe("tls", "https://app/x", 8) == "The TLS handshake with app:443 failed."
    assert "port 443?" in forward.failure_hint("https://app/x", "refused", 8)


@pytest.mark.parametrize(
    ("url", "kind", "expected", "absent"),
    [
        ("http://10.0.0.5:3000/x", "refused", "Is your app running and listening on port 3000?",
         "container"),
        ("http://127.0.0.1:3000/x", "refused", "docker run -p 3000:3000", "'localhost'"),
        ("http://localhost:3000/x", "refused", "try http://127.0.0.1:3000/x.", None),
        ("http://127.0.0.1:3000/x", "timeout", "took longer than 2.5 s; Terra waits", None),
        ("http://127.0.0.1:3000/x", "timeout", "--forward-timeout on listen", None),
        ("http://app:3000/x", "dns", "Check the spelling of 'app'.", None),
        ("http://127.0.0.1:3000/x", "tls", "Use http:// for a local app", None),
        ("http://127.0.0.1:3000/x", "reset", "The app crashed or closed the socket", None),
        ("http://127.0.0.1:3000/x", "unreachable", "a VPN or firewall may be in the way", None),
        ("http://127.0.0.1:3000/x", "protocol", "not HTTPS on an HTTP port", None),
    ],
)  # fmt: skip
def test_each_failure_has_its_hint(
    url: str, kind: forward.ErrorKind, expected: str, absent: str | None
) -> None:
    hint = forward.failure_hint(url, kind, 2.5)
    assert expected in hint
    if absent:
        assert absent not in hint


@pytest.mark.parametrize("status", [199, 200, 299, 300, None])
def test_ok_means_2xx(status: int | None) -> None:
    result = Delivery(url=URL, status=status, latency_ms=1.04)
    assert result.ok == (status is not None and 200 <= status < 300)
    assert result.record() == {"url": URL, "status": status, "latency_ms": 1.0, "error": None}


def test_a_non_2xx_is_exit_1_and_a_failure_exit_8() -> None:
    with pytest.raises(RemoteError) as remote:
        forward.raise_for_delivery(
            Delivery(url=URL, status=302, latency_ms=1), 8, listener_url="x", retry_advice="again."
        )
    assert remote.value.message == f"{URL} answered 302."
    assert remote.value.hint == "Check your app's log for this request; again."
    failed = Delivery(url=URL, status=None, latency_ms=1, error="reset", hint="app hint")
    with pytest.raises(NetworkError) as network:
        forward.raise_for_delivery(failed, 8, listener_url=URL, retry_advice="again.")
    assert network.value.message == forward.describe("reset", URL, 8)
    assert network.value.hint == "app hint"  # only a refusal at the listener gets its hint
    forward.raise_for_delivery(
        Delivery(url=URL, status=204, latency_ms=1), 8, listener_url=URL, retry_advice="."
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://x/y", "--to must be an http:// or https:// URL, got 'ftp://x/y'."),
        ("http:///path", "--to must be an http:// or https:// URL, got 'http:///path'."),
        ("http://h:99999/", "--to has an invalid port: 'http://h:99999/'."),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        forward.check_url(url)
    assert info.value.message == message
    assert (info.value.hint or "").startswith("Give ")
    assert forward.check_url("  https://app.example/hook ") == "https://app.example/hook"


@pytest.mark.parametrize(
    ("target", "host", "port", "loops"),
    [
        ("http://localhost:8123/x", "127.0.0.1", 8123, True),
        ("http://127.0.0.1:8123/x", "127.0.0.1", 8123, True),
        ("http://[::1]:8123/x", "127.0.0.1", 8123, True),
        ("http://127.0.0.1:8123/x", "0.0.0.0", 8123, True),
        ("http://127.0.0.1:8123/x", "", 8123, True),
        ("http://127.0.0.1:8124/x", "127.0.0.1", 8123, False),
        ("http://192.168.1.9:8123/x", "127.0.0.1", 8123, False),
        ("http://192.168.1.9:8123/x", "192.168.1.9", 8123, True),
        ("http://localhost:8123/x", "192.168.1.9", 8123, False),
        ("http://app.local/x", "127.0.0.1", 80, False),
        ("http://127.0.0.1/x", "127.0.0.1", 80, True),
        ("https://127.0.0.1/x", "127.0.0.1", 443, True),
    ],
)
def test_forwarding_to_the_listener_itself_is_recognised(
    target: str, host: str, port: int, loops: bool
) -> None:
    assert AppForwarder(target).points_at(host, port) is loops
