"""The receiver in this process on port 0, talked to over real sockets."""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from terra_cli.errors import LocalResourceError
from terra_cli.webhooks.receiver import ForwardOutcome, display_host
from terra_cli.webhooks.signature import sign
from terra_cli.webhooks.store import record_body
from tests.listen.conftest import SECRET, StartReceiver, post
from tests.listen.payloads import EVENTS, dumps

NOW = 1_790_000_000.0
BODY = dumps(EVENTS["activity"])


def signed(body: bytes, t: float = NOW, secret: str = SECRET) -> dict[str, str]:
    return {"terra-signature": sign(secret, body, int(t)), "Content-Type": "application/json"}


def fixed_clock() -> float:
    return NOW


def test_signed_request_is_ok_logged_byte_exact_and_emitted(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    reply = r.post(BODY, signed(BODY))
    assert reply.status == 200
    assert reply.json()["verdict"] == "ok"
    [record] = r.records()
    assert record["verdict"] == "ok" and record["status"] == 200
    assert record["body"] == BODY.decode()
    assert record_body(record) == BODY
    assert record["id"] == reply.json()["id"]
    assert record["headers"]["terra-signature"].startswith(f"t={int(NOW)},v1=")
    assert record["forward"] is None and record["method"] == "POST"
    assert record["received_at"].endswith("Z")
    [delivery] = r.emitted(1)
    assert delivery.body == BODY and delivery.verdict == "ok"


@pytest.mark.parametrize(
    ("headers", "verdict"),
    [
        ({}, "unsigned"),
        ({"terra-signature": sign(SECRET, BODY, int(NOW) - 301)}, "stale"),
        ({"terra-signature": sign(SECRET, BODY, int(NOW) + 301)}, "stale"),
        ({"terra-signature": sign("another-secret", BODY, int(NOW))}, "bad"),
        ({"terra-signature": "garbage"}, "bad"),
        ({"terra-signature": f"t={int(NOW)}"}, "bad"),
        ({"x-terra-signature": sign(SECRET, BODY, int(NOW))}, "ok"),
        ({"X-Terra-Signature": sign(SECRET, BODY, int(NOW))}, "ok"),
    ],
)
def test_verdicts_by_default_are_acknowledged_and_logged(
    start_receiver: StartReceiver, headers: dict[str, str], verdict: str
) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    reply = r.post(BODY, headers)
    assert reply.status == 200
    assert reply.json()["verdict"] == verdict
    [record] = r.records()
    assert record["verdict"] == verdict and record["body"] == BODY.decode()


def test_tampered_body_is_bad(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    tampered = BODY.replace(b"OURA", b"OURB")
    reply = r.post(tampered, signed(BODY))
    assert reply.json()["verdict"] == "bad"
    assert r.records()[0]["body"] == tampered.decode()


def test_tolerance_widens_the_window(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock, tolerance=3600)
    assert r.post(BODY, signed(BODY, NOW - 3000)).json()["verdict"] == "ok"


def test_without_secret_everything_is_unchecked(start_receiver: StartReceiver) -> None:
    r = start_receiver(clock=fixed_clock)
    assert r.post(BODY, signed(BODY)).json()["verdict"] == "unchecked"
    assert r.post(BODY).json()["verdict"] == "unchecked"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({}, 401), ({"terra-signature": "t=1,v1=00"}, 401), (None, 200)],
)
def test_strict_answers_401_to_failed_verdicts_and_still_logs(
    start_receiver: StartReceiver, headers: dict[str, str] | None, expected: int
) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock, strict=True)
    reply = r.post(BODY, signed(BODY) if headers is None else headers)
    assert reply.status == expected
    [record] = r.records()
    assert record["status"] == expected
    assert record["body"] == BODY.decode()
    assert r.emitted(1)[0].status == expected


def test_strict_without_secret_accepts_unchecked(start_receiver: StartReceiver) -> None:
    r = start_receiver(clock=fixed_clock, strict=True)
    assert r.post(BODY).status == 200


def test_malformed_json_is_still_an_event(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    body = b'{"type": "activity", '
    reply = r.post(body, signed(body))
    assert reply.status == 200 and reply.json()["verdict"] == "ok"
    assert r.records()[0]["body"] == body.decode()


def test_non_utf8_body_is_logged_as_base64(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    body = b"\xff\xfe\x00binary\x80"
    reply = r.post(body, signed(body))
    assert reply.json()["verdict"] == "ok"
    [record] = r.records()
    assert "body" not in record
    assert base64.b64decode(record["body_b64"]) == body
    assert record_body(record) == body


def test_gzip_body_is_verified_and_stored_raw(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    raw = gzip.compress(BODY)
    headers = signed(raw) | {"Content-Encoding": "gzip"}
    assert r.post(raw, headers).json()["verdict"] == "ok"
    [record] = r.records()
    assert record_body(record) == raw
    assert r.emitted(1)[0].body == raw


def test_empty_post_is_an_event(start_receiver: StartReceiver) -> None:
    r = start_receiver(clock=fixed_clock)
    assert r.post(b"").status == 200
    assert r.records()[0]["body"] == ""


def test_oversized_body_gets_413_logged_without_body(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock, max_body=1024)
    body = b"x" * 5000
    reply = r.post(body, signed(body))
    assert reply.status == 413
    [record] = r.records()
    assert record["status"] == 413 and record["body"] is None and record["size"] == 5000
    assert "body_b64" not in record
    # The server still works afterwards, and a body at the limit is fine.
    assert r.post(b"y" * 1024).status == 200


def test_a_large_oversized_body_still_gets_the_413_not_a_reset(
    start_receiver: StartReceiver,
) -> None:
    """The rest of a refused body is read and dropped (up to 4 x the limit + 1 MiB), so
    the sender can read the answer instead of a reset."""
    r = start_receiver(max_body=1024 * 1024)
    body = b"x" * (4 * 1024 * 1024)
    reply = r.post(body)
    assert reply.status == 413
    assert reply.json()["error"] == "body over the limit of 1.0 MB"
    assert r.records()[0]["size"] == len(body)


def test_a_refused_body_already_received_whole_is_answered_and_closed(
    start_receiver: StartReceiver,
) -> None:
    r = start_receiver(max_body=10)
    raw = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n" + b"y" * 20
    with socket.create_connection(("127.0.0.1", r.port), timeout=3) as s:
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)  # a timeout here (3 s, under the 5 s drain) fails the test
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert b"Connection: close\r\n" in data


def test_the_default_limit_is_100_mib_to_the_byte(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    head = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n"
    limit = 100 * 1024 * 1024
    # At the limit the body is welcome (100 Continue); one byte over is refused unread.
    at = _exchange(r.port, head.format(limit).encode(), until=b"\r\n\r\n", timeout=3)
    assert at == b"HTTP/1.1 100 Continue\r\n\r\n"
    over = _exchange(r.port, head.format(limit + 1).encode(), until=b"}\n", timeout=3)
    assert over.startswith(b"HTTP/1.1 413 Content Too Large\r\n")
    assert b'"error": "body over the limit of 100.0 MB"' in over


@pytest.mark.parametrize(("size", "status"), [(100, 200), (101, 413)])
def test_a_chunked_body_at_the_limit_is_accepted_and_one_byte_more_refused(
    start_receiver: StartReceiver, size: int, status: int
) -> None:
    r = start_receiver(max_body=100)
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    conn.request("POST", "/c", body=iter([b"a" * 60, b"b" * (size - 60)]), encode_chunked=True)
    assert conn.getresponse().status == status
    conn.close()
    assert r.records()[0]["status"] == status


def test_a_refused_body_is_drained_while_forwarding_too(start_receiver: StartReceiver) -> None:
    fwd = GatedForwarder()
    fwd.gate.set()
    r = start_receiver(max_body=1024 * 1024, forwarder=fwd)
    reply = r.post(b"x" * (4 * 1024 * 1024), path="/big")
    assert reply.status == 413
    assert r.records()[0]["forward"] is None  # refused bodies are not forwarded


def test_oversized_chunked_body_gets_413(start_receiver: StartReceiver) -> None:
    r = start_receiver(max_body=100)
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    conn.request("POST", "/hook", body=iter([b"a" * 80, b"b" * 80]), encode_chunked=True)
    resp = conn.getresponse()
    assert resp.status == 413
    conn.close()
    assert r.records()[0]["status"] == 413


def test_chunked_body_is_reassembled(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    chunks = [BODY[:100], BODY[100:]]
    conn.request("POST", "/hook", body=iter(chunks), headers=signed(BODY), encode_chunked=True)
    resp = conn.getresponse()
    assert json.loads(resp.read())["verdict"] == "ok"
    conn.close()
    assert record_body(r.records()[0]) == BODY


def test_invalid_content_length_is_400_and_not_logged(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        s.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400")
    assert r.records() == []


def test_slow_client_is_dropped_and_others_are_served(start_receiver: StartReceiver) -> None:
    r = start_receiver(idle_timeout=0.5)
    slow = socket.create_connection(("127.0.0.1", r.port), timeout=5)
    slow.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-part")
    # While the slow client holds its connection, another is answered at once.
    assert r.post(BODY).status == 200
    answer = slow.recv(4096)  # the server gives up on it after the idle timeout
    rest = slow.recv(4096)
    slow.close()
    # The module promises a 408 (then the close), not a bare close.
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answer
    assert b"Connection: close" in answer and rest == b""
    assert len(r.records()) == 1
    assert r.receiver.stats.snapshot()["dropped"] == 1


def test_trickling_client_hits_the_request_deadline(start_receiver: StartReceiver) -> None:
    r = start_receiver(idle_timeout=2, request_timeout=0.3)
    with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        s.sendall(b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n")
        answer = b""
        for _ in range(40):
            try:
                s.sendall(b"x")
            except OSError:
                break
            time.sleep(0.05)
            s.setblocking(False)
            try:
                answer += s.recv(4096)
            except BlockingIOError:
                pass
            finally:
                s.setblocking(True)
            if answer:
                break
    assert answer.startswith(b"HTTP/1.1 408")
    assert r.records() == []


def test_keep_alive_connection_serves_many_requests(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    for i in range(20):
        body = dumps({"type": "healthcheck", "n": i})
        conn.request("POST", f"/p{i}", body=body, headers=signed(body))
        resp = conn.getresponse()
        assert resp.status == 200
        resp.read()
    conn.close()
    records = r.records()
    assert [rec["path"] for rec in records] == [f"/p{i}" for i in range(20)]


def test_many_connections_at_once_lose_nothing(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    statuses: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(10):
            body = dumps({"type": "daily", "worker": n, "i": i})
            status = post(r.port, body, signed(body)).status
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 160
    records = r.records()
    assert len(records) == 160 == len({rec["id"] for rec in records})
    bodies = [json.loads(rec["body"]) for rec in records]
    assert {(b["worker"], b["i"]) for b in bodies} == {(n, i) for n in range(16) for i in range(10)}


def test_answer_comes_after_the_record_is_in_the_file(start_receiver: StartReceiver) -> None:
    r = start_receiver(clock=fixed_clock)
    for i in range(5):
        body = dumps({"type": "sleep", "i": i})
        reply = r.post(body)
        # Read the file directly, without closing anything: the line is already there.
        lines = r.store.files()[0].read_bytes().splitlines()
        assert json.loads(lines[-1])["id"] == reply.json()["id"]


def test_any_path_is_accepted_and_recorded(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    assert r.post(b"{}", path="/other/hook?x=1").status == 200
    assert r.records()[0]["path"] == "/other/hook?x=1"


def test_retry_is_marked_by_trace_id(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    r.post(BODY, {"X-Terra-Trace-Id": "trace-1"})
    r.post(BODY, {"X-Terra-Trace-Id": "trace-2"})
    r.post(BODY, {"X-Terra-Trace-Id": "trace-1"})
    r.post(BODY)
    assert [d.retry for d in r.emitted(4)] == [False, False, True, False]


def test_get_status_page_and_healthz(start_receiver: StartReceiver) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock)
    r.post(BODY, signed(BODY))
    r.post(BODY)
    page = post(r.port, b"", method="GET", path="/")
    assert page.status == 200
    text = page.body.decode()
    assert "events:       2 (1 ok, 1 unsigned)" in text
    assert f"http://127.0.0.1:{r.port}/consumeTerraWebhook" in text
    health = post(r.port, b"", method="GET", path="/healthz")
    assert health.status == 200
    doc = health.json()
    assert doc["status"] == "ok" and doc["events"] == 2
    assert doc["by_verdict"] == {"ok": 1, "unsigned": 1}
    assert doc["signing_secret"] is True
    assert SECRET not in health.body.decode() and SECRET not in text
    assert post(r.port, b"", method="GET", path="/nope").status == 404
    assert post(r.port, b"", method="PUT", path="/").status == 405
    assert len(r.records()) == 2  # GETs are not events


def test_port_in_use_is_a_local_resource_error(start_receiver: StartReceiver) -> None:
    first = start_receiver()
    with pytest.raises(LocalResourceError) as info:
        start_receiver(port=first.port)
    assert "already in use" in info.value.message
    assert "--port" in (info.value.hint or "")


def test_without_store_nothing_is_written(start_receiver: StartReceiver) -> None:
    r = start_receiver(save=False)
    assert r.post(BODY).status == 200
    assert r.store.files() == []
    assert len(r.emitted(1)) == 1


def test_unwritable_log_fails_the_answer_and_the_run(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    r.store.root.parent.mkdir(parents=True, exist_ok=True)
    r.store.root.write_text("a file where the events folder should be")
    reply = r.post(BODY)
    assert reply.status == 500
    assert r.receiver.failed.is_set()
    assert isinstance(r.receiver.failure, LocalResourceError)
    time.sleep(0.1)
    assert r.deliveries == []


# -- the forwarding seam ---------------------------------------------------------


class _App(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _App.seen.append((self.command, self.path, dict(self.headers.items()), body))
        reply = b'{"stored":true}'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-App", "yes")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StdlibForwarder:
    """A tiny forwarder for the test: byte-exact POST to a local app with http.client."""

    def __init__(self, port: int) -> None:
        self.port = port

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> ForwardOutcome:
        url = f"http://127.0.0.1:{self.port}{path}"
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request(method, path, body=body, headers=dict(headers))
            resp = conn.getresponse()
            data = resp.read()
            return ForwardOutcome(
                url, resp.status, resp.getheaders(), data,
                (time.perf_counter() - started) * 1000, None,
            )
        except OSError as exc:
            return ForwardOutcome(url, None, [], b"", (time.perf_counter() - started) * 1000,
                                  str(exc))
        finally:
            conn.close()


@pytest.fixture
def app_port() -> Any:
    _App.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_forwarder_gets_exact_bytes_and_sender_gets_app_status(
    start_receiver: StartReceiver, app_port: int
) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock, forwarder=StdlibForwarder(app_port))
    reply = r.post(BODY, signed(BODY), path="/consumeTerraWebhook")
    assert reply.status == 201
    assert reply.body == b'{"stored":true}'
    assert reply.headers["x-app"] == "yes"
    [(method, path, headers, body)] = _App.seen
    assert (method, path, body) == ("POST", "/consumeTerraWebhook", BODY)
    assert headers["terra-signature"] == signed(BODY)["terra-signature"]
    [record] = r.records()
    assert record["status"] == 201
    assert record["forward"]["url"] == f"http://127.0.0.1:{app_port}/consumeTerraWebhook"
    assert record["forward"]["status"] == 201 and record["forward"]["error"] is None
    assert set(record["forward"]) == {"url", "status", "latency_ms", "error", "route"}
    assert r.emitted(1)[0].forward is not None


def test_unreachable_app_gives_502_with_a_hint(start_receiver: StartReceiver) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    r = start_receiver(forwarder=StdlibForwarder(dead_port))
    reply = r.post(BODY)
    assert reply.status == 502
    assert "hint" in reply.json()
    [record] = r.records()
    assert record["status"] == 502
    assert record["forward"]["status"] is None and record["forward"]["error"]


def test_strict_rejections_are_not_forwarded(start_receiver: StartReceiver, app_port: int) -> None:
    r = start_receiver(
        secret=SECRET, clock=fixed_clock, strict=True, forwarder=StdlibForwarder(app_port)
    )
    assert r.post(BODY).status == 401
    assert _App.seen == []
    assert r.records()[0]["forward"] is None


def test_failed_verdicts_are_forwarded_without_strict(
    start_receiver: StartReceiver, app_port: int
) -> None:
    r = start_receiver(secret=SECRET, clock=fixed_clock, forwarder=StdlibForwarder(app_port))
    assert r.post(BODY).status == 201
    assert len(_App.seen) == 1


# -- HTTP details of the event-loop server --------------------------------------------


def _exchange(port: int, raw: bytes, until: bytes = b"", timeout: float = 5.0) -> bytes:
    """Send raw bytes; read until `until` is seen, the server closes, or timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(raw)
        data = b""
        while not (until and until in data):
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
    return data


def test_pipelined_requests_are_answered_in_order(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    one = b'{"type":"sleep","n":1}'
    two = b'{"type":"sleep","n":2}'
    raw = (
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
        b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
        % (len(one), one, len(two), two)
    )
    data = _exchange(r.port, raw)
    assert data.count(b"HTTP/1.1 200 OK") == 2
    assert [rec["path"] for rec in r.records()] == ["/a", "/b"]
    assert [record_body(rec) for rec in r.records()] == [one, two]


def test_pipelined_requests_behind_a_forward_are_answered_in_order(
    start_receiver: StartReceiver,
) -> None:
    r = start_receiver(forwarder=GatedForwarder())
    raw = b"".join(
        b"POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n%s\r\n{}"
        % (i, b"Connection: close\r\n" if i == 3 else b"")
        for i in range(1, 4)
    )
    data = _exchange(r.port, raw)
    assert data.count(b"HTTP/1.1 204") == 3, data
    assert [rec["path"] for rec in r.records()] == ["/p1", "/p2", "/p3"]


def test_a_chunked_body_trickling_in_byte_by_byte(start_receiver: StartReceiver) -> None:
    """Chunk sizes, data, CRLFs and trailers split across reads at every byte."""
    r = start_receiver()
    raw = (
        b"POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n1;x=y\r\n \r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n"
        b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(len(raw)):
            s.sendall(raw[i : i + 1])
            time.sleep(0.002)  # lets the server read each byte on its own
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 2, data
    assert [record_body(rec) for rec in r.records()] == [b"hello 0123456789abcdef", b"{}"]


def test_expect_100_continue(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        s.sendall(
            b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        assert s.recv(4096) == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"{}")
        assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
    assert record_body(r.records()[0]) == b"{}"


def test_expect_100_is_not_sent_for_a_body_over_the_limit(start_receiver: StartReceiver) -> None:
    r = start_receiver(max_body=10)
    raw = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99\r\nExpect: 100-continue\r\n\r\n"
    data = _exchange(r.port, raw)
    assert data.startswith(b"HTTP/1.1 413")
    assert r.records()[0]["status"] == 413


def test_http_1_0_gets_connection_close(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    data = _exchange(r.port, b"POST /x HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}")
    assert data.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" in data


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"POST /x HTTP/2.0\r\nContent-Length: 0\r\n\r\n", b"505"),
        (b"POST /x HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"400"),
        (b"POST /x HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", b"400"),
        (b"POST /x HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
        (b"POST /x HTTP/1.1\r\n" + b"X-A: 1\r\n" * 101 + b"\r\n", b"431"),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", b"400"),
        (b"POST /x HTTP/1.1\r\n X-Lead: 1\r\nContent-Length: 0\r\n\r\n", b"400"),
        (b"POST /x HTTP/1.1\r\nX-Trail : 1\r\nContent-Length: 0\r\n\r\n", b"400"),
    ],
)
def test_malformed_requests_are_answered_and_not_logged(
    start_receiver: StartReceiver, raw: bytes, status: bytes
) -> None:
    r = start_receiver()
    assert _exchange(r.port, raw).startswith(b"HTTP/1.1 " + status)
    assert r.records() == []
    assert r.post(b"{}").status == 200  # and the server carries on


def test_chunked_with_trailers(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    raw = (
        b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
    )
    assert _exchange(r.port, raw).startswith(b"HTTP/1.1 200 OK")
    assert record_body(r.records()[0]) == b"abcde"


def test_chunked_with_trailers_keeps_the_connection_usable(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    raw = (
        b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n"
        b"POST /y HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    data = _exchange(r.port, raw)
    assert data.count(b"HTTP/1.1 200 OK") == 2, data
    assert [(rec["path"], record_body(rec)) for rec in r.records()] == [
        ("/x", b"abcde"),
        ("/y", b"{}"),
    ]
    assert r.receiver.stats.snapshot()["dropped"] == 0


def test_chunked_without_trailers_keeps_the_connection_usable(
    start_receiver: StartReceiver,
) -> None:
    r = start_receiver()
    raw = (
        b"POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"A\r\n0123456789\r\n0\r\n\r\n"
        b"POST /y HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    data = _exchange(r.port, raw)
    assert data.count(b"HTTP/1.1 200 OK") == 2, data
    assert [record_body(rec) for rec in r.records()] == [b"0123456789", b"{}"]


def test_a_head_at_the_limits_is_accepted(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    # 100 header lines in all, and a head of exactly 64 KiB, are still fine.
    many = b"POST /h HTTP/1.1\r\nContent-Length: 0\r\n" + b"X-A: 1\r\n" * 97
    many += b"Connection: close\r\nHost: x\r\n\r\n"
    assert _exchange(r.port, many).startswith(b"HTTP/1.1 200 OK")
    start = b"POST /h HTTP/1.1\r\nConnection: close\r\nX-Big: "
    end = b"\r\nContent-Length: 0\r\n"
    big = start + b"b" * (64 * 1024 - len(start) - len(end)) + end + b"\r\n"
    assert len(big) == 64 * 1024 + 2
    assert _exchange(r.port, big).startswith(b"HTTP/1.1 200 OK")
    assert len(r.records()) == 2


def test_folded_header_lines_join_the_header_they_continue(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    raw = (
        b"POST /f HTTP/1.1\r\nHost: x\r\nX-First: 1\r\nX-Folded: a\r\n  b\r\n\tc\r\n"
        b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    assert _exchange(r.port, raw).startswith(b"HTTP/1.1 200 OK")
    headers = r.records()[0]["headers"]
    assert headers["x-folded"] == "a b c" and headers["x-first"] == "1"


def test_a_large_chunked_body_over_the_limit_still_gets_its_413(
    start_receiver: StartReceiver,
) -> None:
    """Its length is unknown, so up to 4 x the limit is drained after the refusal."""
    r = start_receiver(max_body=4 * 1024 * 1024)
    conn = http.client.HTTPConnection("127.0.0.1", r.port, timeout=10)
    pieces = (b"z" * (256 * 1024) for _ in range(64))  # 16 MiB in 256 KiB chunks
    conn.request("POST", "/big", body=pieces, encode_chunked=True)
    assert conn.getresponse().status == 413
    conn.close()


def test_client_gone_mid_body_is_dropped(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    deadline = time.monotonic() + 5
    while r.receiver.stats.snapshot()["dropped"] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert r.receiver.stats.snapshot()["dropped"] == 1
    assert r.records() == []


def test_idle_keep_alive_connection_is_closed_quietly(start_receiver: StartReceiver) -> None:
    r = start_receiver(idle_timeout=0.3)
    with socket.create_connection(("127.0.0.1", r.port), timeout=5) as s:
        s.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        first = s.recv(4096)
        assert first.startswith(b"HTTP/1.1 200 OK")
        assert s.recv(4096) == b""  # closed after the idle timeout, with no 408
    assert r.receiver.stats.snapshot()["dropped"] == 0


def test_hundreds_of_open_connections_at_once(start_receiver: StartReceiver) -> None:
    r = start_receiver()
    socks = [socket.create_connection(("127.0.0.1", r.port), timeout=10) for _ in range(300)]
    try:
        for i, s in enumerate(socks):
            body = b'{"i":%d}' % i
            head = b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
            s.sendall(head + body)
        answers = [s.recv(4096) for s in socks]
    finally:
        for s in socks:
            s.close()
    assert all(a.startswith(b"HTTP/1.1 200 OK") for a in answers)
    assert len(r.records()) == 300


class GatedForwarder:
    """Forwards nothing for real: '/slow' waits for the test to open the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> ForwardOutcome:
        if path == "/slow":
            self.gate.wait(10)
        return ForwardOutcome("http://app" + path, 204, [], b"", 1.0, None)


def test_a_slow_forward_does_not_hold_other_senders(start_receiver: StartReceiver) -> None:
    fwd = GatedForwarder()
    r = start_receiver(forwarder=fwd)
    slow: dict[str, Any] = {}
    t = threading.Thread(target=lambda: slow.update(reply=r.post(b"{}", path="/slow")))
    t.start()
    try:
        # Answered while /slow is still waiting: the loop is not blocked by it.
        assert r.post(b"{}", path="/fast").status == 204
        assert "reply" not in slow
    finally:
        fwd.gate.set()
        t.join(10)
    assert slow["reply"].status == 204
    assert [rec["path"] for rec in r.records()] == ["/fast", "/slow"]


def test_stop_waits_for_a_forward_in_flight(start_receiver: StartReceiver) -> None:
    fwd = GatedForwarder()
    r = start_receiver(forwarder=fwd)
    slow: dict[str, Any] = {}
    t = threading.Thread(target=lambda: slow.update(reply=r.post(b"{}", path="/slow")))
    t.start()
    time.sleep(0.2)
    threading.Timer(0.2, fwd.gate.set).start()
    r.receiver.stop(grace=5)
    assert len(r.records()) == 1  # stop() returned only once the forward was done
    t.join(10)
    assert slow["reply"].status == 204


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0.0.0.0", "127.0.0.1"),
        ("", "127.0.0.1"),
        ("::", "[::1]"),
        ("::1", "[::1]"),
        ("fe80::2", "[fe80::2]"),
        ("192.168.1.9", "192.168.1.9"),
    ],
)
def test_the_url_shows_a_host_people_can_open(host: str, shown: str) -> None:
    # Built at run time, as --host arrives: never the same object as a literal.
    assert display_host("".join(list(host))) == shown
