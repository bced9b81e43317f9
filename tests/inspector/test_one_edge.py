"""The page is served by the receiver's own loop and parser: a second socket, one HTTP edge.

What this proves: the page's requests are parsed like webhooks (pipelining on
its socket answers in order, malformed heads get the parser's 400/431), they
never count as dropped webhooks, a slow page request (a replay to a stalled
app) never holds a webhook's answer back, an oversized POST is refused
without being read, and no stdlib HTTP server thread runs for the page.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

from terra_cli.inspector.security import TOKEN_HEADER
from tests.inspector.conftest import Page, read_stream, request, sample_body, send


def _read_replies(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """`count` answers read off one connection: status and body, by Content-Length."""
    sock.settimeout(10)
    data = b""
    found: list[tuple[int, bytes]] = []
    while len(found) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            head = data[:end].decode("latin-1").split("\r\n")
            length = next(
                int(line.split(":", 1)[1])
                for line in head
                if line.lower().startswith("content-length:")
            )
            if len(data) >= end + 4 + length:
                found.append((int(head[0].split(" ")[1]), data[end + 4 : end + 4 + length]))
                data = data[end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return found


def _raw(port: int, data: bytes) -> bytes:
    """Send `data` on a fresh connection; everything read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def _dropped(page: Page) -> int:
    health = request(page.webhook_port, "GET", "/healthz")
    return int(health.json()["dropped"])


def test_pipelined_page_requests_answer_in_order(page: Page) -> None:
    host = f"Host: 127.0.0.1:{page.port}\r\n"
    slow = f"GET /api/events/evt_ffffffffffffffff?token={page.token} HTTP/1.1\r\n{host}\r\n"
    quick = f"GET /api/info?token={page.token} HTTP/1.1\r\n{host}\r\n"
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as sock:
        # The first is answered on a worker, the second on the loop: order still holds.
        sock.sendall((slow + quick + slow).encode())
        replies = _read_replies(sock, 3)
    assert [status for status, _ in replies] == [404, 200, 404]
    assert json.loads(replies[1][1])["mode"] == "listen"


def test_malformed_page_requests_get_the_parsers_answers_not_dropped_webhooks(
    page: Page,
) -> None:
    assert _raw(page.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert _raw(page.port, b"GET / HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505 ")
    huge = b"GET / HTTP/1.1\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n"
    assert _raw(page.port, huge).startswith(b"HTTP/1.1 431 ")
    with socket.create_connection(("127.0.0.1", page.port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # cut short: not a webhook
    assert _dropped(page) == 0
    # A webhook socket still counts its own.
    with socket.create_connection(("127.0.0.1", page.webhook_port), timeout=10) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        sock.recv(4096)
    assert _dropped(page) == 1


def test_an_oversized_replay_post_is_refused_unread_and_the_connection_closes(
    page: Page,
) -> None:
    sent = send(page.webhook_port, sample_body("sleep")).json()["id"]
    body = b"{" + b" " * (200 * 1024) + b"}"
    head = (
        f"POST /api/events/{sent}/replay HTTP/1.1\r\nHost: 127.0.0.1:{page.port}\r\n"
        f"{TOKEN_HEADER}: {page.token}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    out = _raw(page.port, head + body)
    assert out.startswith(b"HTTP/1.1 400 ")
    assert b"Connection: close" in out
    assert b"must be a JSON object" in out
    assert [e["id"] for e in read_stream(page.port, page.token, 2, timeout=2)] == [sent]


class _StalledApp:
    """A local app that accepts a request and answers only when released."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.got = threading.Event()
        self.release = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _addr = self.sock.accept()
        with conn:
            conn.recv(65536)
            self.got.set()
            self.release.wait(20)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def close(self) -> None:
        self.release.set()
        self.sock.close()


def test_a_slow_replay_never_holds_a_webhook_answer_back(page: Page) -> None:
    sent = send(page.webhook_port, sample_body("activity")).json()["id"]
    app = _StalledApp()
    result: dict[str, Any] = {}

    def replay() -> None:
        result.update(page.request_replay(sent, to=f"http://127.0.0.1:{app.port}/hook"))

    worker = threading.Thread(target=replay, daemon=True)
    try:
        worker.start()
        assert app.got.wait(10), "the replay never reached the app"
        # The replay is waiting on the stalled app: webhooks and the page's files still answer.
        answer = send(page.webhook_port, sample_body("daily"))
        assert answer.status == 200 and answer.json()["received"] is True
        assert page.get("/app.css").status == 200
        assert worker.is_alive(), "the replay finished before the webhook was sent"
        app.release.set()
        worker.join(10)
        assert result["status"] == 200
    finally:
        app.close()


def test_no_stdlib_server_thread_serves_the_page() -> None:
    """In-process (`terra inspect`'s way): the page is served by a receiver loop thread."""
    from terra_cli.inspector.feed import Feed
    from terra_cli.inspector.server import Inspector, InspectorConfig

    inspector = Inspector(Feed(None), InspectorConfig(port=0))
    inspector.start()
    loop = inspector._loop
    assert loop is not None and loop._thread is not None
    thread = loop._thread
    try:
        assert thread.name == "terra-receiver" and thread.is_alive()
        assert not any(t.name == "terra-inspector" for t in threading.enumerate())
        reply = request(inspector.port, "GET", f"/api/info?token={inspector.token}")
        assert reply.status == 200 and reply.json()["mode"] == "listen"
        stream = threading.Thread(
            target=read_stream, args=(inspector.port, inspector.token, 1, 5), daemon=True
        )
        stream.start()
        time.sleep(0.3)
    finally:
        inspector.stop()
    thread.join(5)
    assert not thread.is_alive()  # stopping ends the loop, open streams included
    stream.join(5)
    assert not stream.is_alive()
