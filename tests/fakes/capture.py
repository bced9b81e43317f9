"""A real HTTP server on 127.0.0.1 that records every request it gets.

It stands in for the user's app (forwarding, replay) or a listener (trigger).
Each request is kept with its method, path, headers in wire order and the
exact body bytes; the answer's status, body, extra headers, framing and delay
are set per test (framing as real apps do it: Content-Length, chunked as from
a streaming response, or no length and the connection closed after the body).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal


@dataclass
class Captured:
    """One request as the server saw it."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class CaptureServer:
    """Configuration and record of one running capture server."""

    port: int = 0
    status: int = 200
    answer: bytes = b'{"ok": true}'
    delay: float = 0.0
    headers: list[tuple[str, str]] = field(default_factory=list)  # added to every answer
    framing: Literal["length", "chunked", "close"] = "length"
    requests: list[Captured] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/terra"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Captured]:
        """Block until `n` requests arrived (or fail the test after `timeout`)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {n} requests, got {len(self.requests)}")
            time.sleep(0.01)
        return self.requests


def _handler(state: CaptureServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            state.requests.append(
                Captured(self.command, self.path, list(self.headers.items()), body)
            )
            if state.delay:
                time.sleep(state.delay)
            lines = [f"HTTP/1.1 {state.status} X", "Content-Type: application/json"]
            lines += [f"{name}: {value}" for name, value in state.headers]
            answer = state.answer
            if state.framing == "length":
                lines.append(f"Content-Length: {len(answer)}")
            elif state.framing == "chunked":
                lines.append("Transfer-Encoding: chunked")
                half = len(answer) // 2
                answer = (
                    b"".join(
                        b"%x\r\n%s\r\n" % (len(part), part)
                        for part in (answer[:half], answer[half:])
                        if part
                    )
                    + b"0\r\n\r\n"
                )
            else:
                lines.append("Connection: close")
                self.close_connection = True
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(head + answer)

        do_POST = do_PUT = do_GET = _any

        def log_message(self, format: str, *args: object) -> None:
            """Keep test output clean."""

    return Handler


@contextmanager
def capture_server(
    status: int = 200, delay: float = 0.0, tls: tuple[Path, Path] | None = None
) -> Iterator[CaptureServer]:
    """Run a capture server on a free port for the duration of the block
    (HTTPS with `tls` = (certificate, key) files)."""
    state = CaptureServer(status=status, delay=delay)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
