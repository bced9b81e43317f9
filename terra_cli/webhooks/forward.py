"""Byte-exact delivery of one HTTP request to the user's app (or any target).

Used by `terra trigger`, `terra events replay` and `terra listen --forward-to`.
The body goes out exactly as given and the headers in their order, minus the
hop-by-hop ones that belong to a single connection. Nothing is added except
what HTTP requires (Host, Content-Length). Failures to connect never raise:
they come back as a `Delivery` with a short error kind and a hint naming the
likely cause. httpx is imported inside the function that needs it.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from terra_cli.errors import InputError, NetworkError, RemoteError
from terra_cli.webhooks.headers import HOP_BY_HOP

if TYPE_CHECKING:
    from terra_cli.webhooks.receiver import ForwardOutcome

DEFAULT_TIMEOUT = 8.0  # seconds; Terra's delivery window is roughly 8 s

# Never copied onto an outgoing request: hop-by-hop fields, plus the ones the
# HTTP client must compute itself for the new connection.
SKIPPED_HEADERS = HOP_BY_HOP | {"host", "content-length"}

ErrorKind = Literal["refused", "timeout", "dns", "tls", "reset", "protocol", "unreachable"]


@dataclass(frozen=True)
class Delivery:
    """What happened to one request: the answer, or why there was none."""

    url: str
    status: int | None
    latency_ms: float
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: ErrorKind | None = None
    detail: str | None = None
    hint: str | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    def record(self) -> dict[str, object]:
        """The event log's `forward` object: url, status, latency_ms, error."""
        return {
            "url": self.url,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "error": self.error,
        }


def check_url(url: str, what: str = "--to") -> str:
    """An absolute http(s) URL with a host, else exit 3."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(
            f"{what} must be an http:// or https:// URL, got '{url}'.",
            hint=f"Give a full URL, e.g. {what} http://127.0.0.1:3000/webhooks/terra",
        )
    try:
        _ = parts.port
    except ValueError:
        raise InputError(
            f"{what} has an invalid port: '{url}'.",
            hint=f"Give a port between 1 and 65535, e.g. {what} http://127.0.0.1:3000/",
        ) from None
    return url.strip()


def outgoing_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers minus hop-by-hop ones, including any the Connection header names."""
    pairs = list(headers)
    named = {
        token.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [(k, v) for k, v in pairs if k.lower() not in SKIPPED_HEADERS and k.lower() not in named]


def _raw(text: str) -> bytes:
    """Header text back to its wire bytes (servers decode headers as latin-1)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def deliver(
    url: str,
    method: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    timeout: float = DEFAULT_TIMEOUT,
) -> Delivery:
    """Send one request byte-exact and return the answer or a classified failure."""
    import httpx

    url = check_url(url)
    wire = [(_raw(k), _raw(v)) for k, v in outgoing_headers(headers)]
    started = time.perf_counter()
    try:
        # Certificates matter only for https; building the verifying TLS context costs
        # ~20 ms, which a plain-http local app should not pay on every forward.
        tls = urlsplit(url).scheme == "https"
        with httpx.Client(
            timeout=timeout, follow_redirects=False, trust_env=False, verify=tls
        ) as client:
            # httpx adds Accept, Accept-Encoding, Connection and User-Agent by default;
            # the target must see only what the original sender sent.
            for name in list(client.headers.keys()):
                del client.headers[name]
            request = client.build_request(method.upper(), url, headers=wire, content=body)
            response = client.send(request)
            answer = response.read()
    except httpx.TimeoutException as exc:
        return _failed(url, started, "timeout", exc, timeout)
    except httpx.TransportError as exc:
        return _failed(url, started, _classify(exc), exc, timeout)
    latency = (time.perf_counter() - started) * 1000
    return Delivery(
        url=url,
        status=response.status_code,
        latency_ms=latency,
        headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw],
        body=answer,
    )


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it was raised from, outermost first."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        chain.append(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return chain


def _classify(exc: BaseException) -> ErrorKind:
    """Map a transport failure to what a developer would call it."""
    for cause in _causes(exc):
        if isinstance(cause, ConnectionRefusedError):
            return "refused"
        if isinstance(cause, socket.gaierror):
            return "dns"
        if isinstance(cause, ssl.SSLError):
            return "tls"
        if isinstance(cause, (ConnectionResetError, BrokenPipeError)):
            return "reset"
        if isinstance(cause, OSError) and cause.errno in (101, 113, 65, 51):
            return "unreachable"
    text = str(exc).lower()
    if "refused" in text:
        return "refused"
    if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
        return "dns"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls"
    if "reset" in text:
        return "reset"
    return "protocol"


def _failed(
    url: str, started: float, kind: ErrorKind, exc: BaseException, timeout: float
) -> Delivery:
    """A Delivery for a request that got no answer."""
    detail = str(exc) or type(exc).__name__
    return Delivery(
        url=url,
        status=None,
        latency_ms=(time.perf_counter() - started) * 1000,
        error=kind,
        detail=detail,
        hint=failure_hint(url, kind, timeout),
    )


_LOOPBACK = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104 - a name to compare, not a bind


def describe(kind: ErrorKind, url: str, timeout: float) -> str:
    """One sentence saying what went wrong."""
    parts = urlsplit(url)
    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    return {
        "refused": f"Connection refused at {where}: nothing is listening there.",
        "timeout": f"{url} did not answer within {timeout:g} s.",
        "dns": f"The host '{parts.hostname}' could not be resolved.",
        "tls": f"The TLS handshake with {where} failed.",
        "reset": f"{where} closed the connection before answering.",
        "protocol": f"{where} did not answer with valid HTTP.",
        "unreachable": f"The network to {where} is unreachable.",
    }[kind]


def failure_hint(url: str, kind: ErrorKind, timeout: float) -> str:
    """The likely cause, in the words a developer would search for."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if kind == "refused":
        hint = f"Is your app running and listening on port {port}?"
        if host == "localhost":
            hint += (
                f" 'localhost' may resolve to ::1 while your app listens on 127.0.0.1 only:"
                f" try http://127.0.0.1:{port}{parts.path}."
            )
        if host in _LOOPBACK:
            hint += (
                f" An app inside a container must publish the port (docker run -p {port}:{port})"
                " and listen on 0.0.0.0 inside it."
            )
        return hint
    if kind == "timeout":
        return (
            f"Your app took longer than {timeout:g} s; Terra waits about 8 s. Acknowledge with"
            " 2xx first and process later, or raise the limit (--forward-timeout on listen,"
            " --timeout on trigger and replay)."
        )
    if kind == "dns":
        return (
            f"Check the spelling of '{host}'. A Docker service name resolves only inside its"
            " network: from this machine use http://127.0.0.1:<published port>."
        )
    if kind == "tls":
        return "Use http:// for a local app, or give it a certificate this machine trusts."
    if kind == "reset":
        return "The app crashed or closed the socket; check its logs for this request."
    if kind == "unreachable":
        return "Check the address and your network; a VPN or firewall may be in the way."
    return "Make sure the URL points at an HTTP server (not HTTPS on an HTTP port or the reverse)."


class AppForwarder:
    """The Forwarder behind `terra listen --forward-to`: each request goes on byte-exact.

    A fresh connection per request: the app may restart between events, and
    a stale keep-alive connection must never turn into a false 502.
    """

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = check_url(url, "--forward-to")
        self.timeout = timeout

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> ForwardOutcome:
        """Send one received request to the app; never raises for network failures."""
        from terra_cli.webhooks.receiver import ForwardOutcome

        result = deliver(self.url, method, headers, body, self.timeout)
        return ForwardOutcome(
            url=result.url,
            status=result.status,
            headers=result.headers,
            body=result.body,
            latency_ms=result.latency_ms,
            error=result.error,
            hint=result.hint,
        )

    def points_at(self, host: str, port: int) -> bool:
        """True when forwarding would send each event back to the listener itself."""
        parts = urlsplit(self.url)
        target = (parts.hostname or "").lower()
        target_port = parts.port or (443 if parts.scheme == "https" else 80)
        listening = {host.lower(), *_LOOPBACK} if host.lower() in _LOOPBACK | {""} else {host}
        return target_port == port and target in listening


def raise_for_delivery(
    result: Delivery, timeout: float, *, listener_url: str, retry_advice: str
) -> None:
    """Turn a failed delivery into the contract's error: 8 unreachable, 1 for a non-2xx."""
    if result.error is not None:
        hint = result.hint
        if result.error == "refused" and result.url == listener_url:
            hint = (
                "Start a listener in another terminal with 'terra listen --no-tunnel', "
                "or send to your app with --to URL."
            )
        raise NetworkError(describe(result.error, result.url, timeout), hint=hint)
    if not result.ok:
        raise RemoteError(
            f"{result.url} answered {result.status}.",
            hint=f"Check your app's log for this request; {retry_advice}",
        )
