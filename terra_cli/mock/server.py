"""The mock behind the standard library's threaded HTTP server.

`http.server` is imported here only, and this module only when `terra mock`
runs. Each answer (status line, headers and body) goes out in one write on a
socket with Nagle's algorithm off: a response split over two sends on a
keep-alive connection otherwise stalls ~40 ms waiting for a delayed ACK.
"""

from __future__ import annotations

import errno
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from terra_cli.errors import LocalResourceError
from terra_cli.mock.http import Answer, Request, problem
from terra_cli.mock.service import MockService

MAX_BODY = 10 * 1024 * 1024  # the mock takes small JSON bodies only


@dataclass(frozen=True)
class RequestRecord:
    """One request served, for the request log."""

    at: datetime
    method: str
    target: str
    status: int
    latency_ms: float
    user_id: str | None
    reference: str | None
    webhooks: int

    def json(self) -> dict[str, Any]:
        return {
            "kind": "request",
            "time": self.at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "method": self.method,
            "path": self.target,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 2),
            "user_id": self.user_id,
            "terra_reference": self.reference,
            "webhooks": self.webhooks,
        }


def _encode(answer: Answer, close: bool) -> bytes:
    """The whole response as one byte string."""
    phrase = HTTPStatus(answer.status).phrase
    lines = [f"HTTP/1.1 {answer.status} {phrase}"]
    if answer.body or answer.status not in (204, 304):
        lines.append(f"Content-Type: {answer.content_type}")
    lines.append(f"Content-Length: {len(answer.body)}")
    lines += [f"{name}: {value}" for name, value in answer.headers]
    lines.append("Server: terra-mock")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + answer.body


class _Handler(BaseHTTPRequestHandler):
    """Parses one request, asks the service, writes the answer in one send."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the base class: requests are logged as records."""

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked), or None when too large / malformed."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                size = int(size_line, 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        started = time.perf_counter()
        at = datetime.now(timezone.utc)
        split = urlsplit(self.path)
        host = self.headers.get("Host") or self.server.authority
        request = Request(
            method=self.command,
            target=self.path,
            path=split.path or "/",
            query=dict(reversed(parse_qsl(split.query, keep_blank_values=True))),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=b"",
            base_url=f"http://{host}",
        )
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self.close_connection = True
            answer = problem(413, request, f"the mock accepts bodies up to {MAX_BODY} bytes")
        else:
            request.body = body
            answer = self.server.service.handle(request)
        if self.command == "HEAD":
            answer.body = b""
        # Queued before the answer goes out, so webhooks follow the order of the requests
        # that caused them (a data request, then a deauth, from one client).
        if answer.after and self.server.service.scheduler is not None:
            self.server.service.scheduler.submit(answer.after)
        self.wfile.write(_encode(answer, self.close_connection))
        self.server.sink(
            RequestRecord(
                at,
                self.command,
                self.path,
                answer.status,
                (time.perf_counter() - started) * 1000,
                answer.user_id,
                answer.reference,
                len(answer.after),
            )
        )

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    service: MockService
    sink: Callable[[RequestRecord], None]
    authority: str


class MockServer:
    """The mock bound to host:port, serving on a background thread until closed."""

    def __init__(
        self,
        service: MockService,
        host: str,
        port: int,
        sink: Callable[[RequestRecord], None],
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_class = type("_BoundServer", (_Server,), {"address_family": family})
        try:
            self.httpd: _Server = server_class((host, port), _Handler)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise LocalResourceError(
                    f"Port {port} on {host} is already in use.",
                    hint="Stop what is using it, or pick another with --port N (0: any free port).",
                ) from None
            raise LocalResourceError(
                f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
                hint="Use --host 127.0.0.1, or another --port.",
            ) from None
        self.port = int(self.httpd.server_address[1])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - a name
        shown = "[::1]" if host == "::" else (f"[{shown}]" if ":" in shown else shown)
        self.url = f"http://{shown}:{self.port}"
        self.httpd.service = service
        self.httpd.sink = sink
        self.httpd.authority = f"{shown}:{self.port}"
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop accepting and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()
