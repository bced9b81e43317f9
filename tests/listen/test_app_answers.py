"""What the user's app answers goes back to the sender as a well-formed answer.

Real apps frame their answers in ways the test apps elsewhere never do: a
streamed answer is `Transfer-Encoding: chunked` (Flask/FastAPI streaming,
Express `res.write`), some close the connection after the body, some announce
`Keep-Alive`. Those fields describe the app's connection, not the sender's:
passed through, the sender reads a chunked body that is not chunked, or waits
for a close that never comes. And a 3xx is the app's answer like any other:
it goes back unchanged and nothing follows it.
"""

from __future__ import annotations

import socket
from typing import Literal

import pytest

from terra_cli.webhooks import forward
from terra_cli.webhooks.forward import AppForwarder
from tests.fakes.capture import CaptureServer, capture_server
from tests.listen.conftest import StartReceiver

ANSWER = b'{"stored": true, "note": "streamed by the app"}'
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade"}


def _read_answer(sock: socket.socket, buf: bytearray) -> tuple[str, dict[str, str], bytes]:
    """One HTTP answer framed by Content-Length (the only framing the sender may get)."""
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        assert data, f"connection closed before a whole head: {bytes(buf)!r}"
        buf += data
    end = buf.index(b"\r\n\r\n")
    status_line, *lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"duplicate header {name}"
        headers[name.lower()] = value.strip()
    length = int(headers["content-length"])
    while len(buf) < length:
        data = sock.recv(65536)
        assert data, "connection closed before the whole body"
        buf += data
    body = bytes(buf[:length])
    del buf[:length]
    return status_line, headers, body


def _request(path: str, body: bytes, close: bool = False) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


Framing = Literal["length", "chunked", "close"]
APP_FRAMINGS: dict[str, tuple[Framing, list[tuple[str, str]]]] = {
    "chunked": ("chunked", [("Trailer", "X-Checksum")]),
    "connection-close": ("close", []),
    "keep-alive": ("length", [("Connection", "keep-alive"), ("Keep-Alive", "timeout=5, max=9")]),
}


def _app(app: CaptureServer, framing: str) -> None:
    app.framing, extra = APP_FRAMINGS[framing]
    app.headers = [("X-App", "yes"), *extra]
    app.answer = ANSWER


@pytest.mark.parametrize("framing", sorted(APP_FRAMINGS))
def test_deliver_reads_every_framing_of_the_answer(framing: str) -> None:
    with capture_server(status=201) as app:
        _app(app, framing)
        result = forward.deliver(app.url, "POST", [], b"{}", timeout=5)
    assert (result.status, result.body, result.error) == (201, ANSWER, None)
    assert ("X-App", "yes") in result.headers


@pytest.mark.parametrize("framing", sorted(APP_FRAMINGS))
def test_forwarded_answer_is_well_formed_without_hop_by_hop_headers(
    start_receiver: StartReceiver, framing: str
) -> None:
    with capture_server(status=201) as app:
        _app(app, framing)
        r = start_receiver(forwarder=AppForwarder(app.url, timeout=5))
        with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
            buf = bytearray()
            # Two requests on one keep-alive connection: the first answer must end where
            # its Content-Length says, and the connection must stay usable.
            s.sendall(_request("/one", b'{"n": 1}'))
            first = _read_answer(s, buf)
            s.sendall(_request("/two", b'{"n": 2}', close=True))
            second = _read_answer(s, buf)
            assert s.recv(65536) == b"" and not buf  # closed as the sender asked, nothing extra
        forwarded = app.wait_for(2)
    for status_line, headers, body in (first, second):
        assert status_line.startswith("HTTP/1.1 201")
        assert body == ANSWER
        assert headers["x-app"] == "yes"
        assert headers["content-length"] == str(len(ANSWER))
    assert HOP.isdisjoint(first[1]), first[1]
    assert HOP.isdisjoint(set(second[1]) - {"connection"})
    assert second[1]["connection"] == "close"
    assert [c.body for c in forwarded] == [b'{"n": 1}', b'{"n": 2}']
    assert [rec["status"] for rec in r.records()] == [201, 201]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_the_answer_and_is_never_followed(
    start_receiver: StartReceiver, status: int
) -> None:
    with capture_server() as elsewhere, capture_server(status=status) as app:
        app.headers = [("Location", elsewhere.url)]
        app.answer = b'{"moved": true}'
        result = forward.deliver(app.url, "POST", [], b"{}", timeout=5)
        r = start_receiver(forwarder=AppForwarder(app.url, timeout=5))
        reply = r.post(b'{"type": "activity"}')
        app.wait_for(2)
        assert elsewhere.requests == []
    assert result.status == status and not result.ok
    assert ("Location", elsewhere.url) in result.headers
    assert result.body == b'{"moved": true}'
    # Through the listener: the sender gets the app's 3xx as it was.
    assert reply.status == status
    assert reply.headers["location"] == elsewhere.url
    assert reply.body == b'{"moved": true}'
    [record] = r.records()
    assert record["status"] == status and record["forward"]["status"] == status
