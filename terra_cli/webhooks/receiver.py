"""The local webhook receiver: read raw bytes, verify, save, forward, answer.

An HTTP/1.1 server on one event-loop thread (non-blocking sockets and a
selector): many connections at once, keep-alive, and no thread hand-offs per
request, which under load costs a thread-per-connection server about half
its throughput in Python. For every POST, on any path: read the body as bytes
(never past `max_body`), judge the signature, forward when a forwarder is set
(in a worker thread, so a slow app never stalls other senders), append the
record to the event log, and only then answer, in a single write with Nagle
off. Just before the answer the `Delivery` goes to `emit`, which must not
block (a queue put): the receiver never prints, and a slow screen cannot hold
an acknowledgement back. A client silent for `idle_timeout`, or slower than
`request_timeout` to send one request, is answered 408 and dropped.

`GET /healthz` answers JSON, any other GET a short plain-text status page.

The same loop serves the inspector page on a second listening socket
(`add_listener`), parsed by this same code: its requests go to an `App`
(webhooks.answers), answered on the loop when quick and on a worker thread
otherwise, and its live stream is a connection the loop keeps open and writes
to when the app signals news. A request on the webhook socket is always a
webhook; the page is never served there. `serve_only` runs the loop with the
page's socket alone (`terra inspect`).
"""

from __future__ import annotations

import collections
import contextlib
import json
import queue
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from terra_cli.errors import LocalResourceError, TerraError
from terra_cli.webhooks.answers import Reply
from terra_cli.webhooks.events import Delivery, ForwardInfo, human_size
from terra_cli.webhooks.headers import HOP_BY_HOP
from terra_cli.webhooks.signature import DEFAULT_TOLERANCE, HEADER_NAMES, Verdict, check
from terra_cli.webhooks.store import EventStore, new_event_id, record_from, utc_now_iso

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from terra_cli.webhooks.answers import App, Stream

MIB = 1024 * 1024
DEFAULT_MAX_BODY = 100 * MIB
DEFAULT_PATH = "/consumeTerraWebhook"
MAX_HEAD = 64 * 1024  # request line and headers together
# File descriptors kept free for everything but client connections (the event
# log, forwarding sockets, the tunnel agent's pipes): connections are capped at
# the process's descriptor limit minus this, so a flood of connections can make
# senders wait in the kernel's backlog but can never make the log unwritable.
FD_RESERVE = 64
# Trace ids remembered to mark retries: the most recent deliveries only, so a
# listener left running all day keeps a fixed amount of memory (~1.5 MB).
RETRY_WINDOW = 10_000
MAX_HEADERS = 100
_REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    410: "Gone",
    411: "Length Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    505: "HTTP Version Not Supported",
}


@dataclass(frozen=True)
class ForwardOutcome:
    """What the user's app answered to a forwarded request (status None: unreachable)."""

    url: str
    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    latency_ms: float
    error: str | None
    hint: str | None = None  # the likely cause when the app could not be reached
    route: str | None = None  # the route's types (`sleep,daily`); None: the route without types


class Forwarder(Protocol):
    """Sends one request on to the user's app and reports what came back."""

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> ForwardOutcome | None:
        """None: no route takes this event, so the receiver answers it itself."""
        ...


@dataclass(frozen=True)
class ReceiverConfig:
    """How the receiver listens and judges requests."""

    host: str = "127.0.0.1"
    port: int = 8080
    path: str = DEFAULT_PATH
    secret: str | None = None
    tolerance: float = DEFAULT_TOLERANCE
    strict: bool = False
    max_body: int = DEFAULT_MAX_BODY
    idle_timeout: float = 10.0  # longest silence from a client while reading a request
    request_timeout: float = 60.0  # longest time to receive one whole body


@dataclass
class Stats:
    """Counters shared by the handler threads (read them under `lock`)."""

    started_at: str
    events: int = 0
    by_verdict: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, verdict: str) -> None:
        with self.lock:
            self.events += 1
            self.by_verdict[verdict] = self.by_verdict.get(verdict, 0) + 1

    def drop(self) -> None:
        with self.lock:
            self.dropped += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "since": self.started_at,
                "events": self.events,
                "by_verdict": dict(self.by_verdict),
                "dropped": self.dropped,
            }


@dataclass
class _Request:
    """One parsed request: head fields, then the body once it is complete."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    lower: dict[str, str]
    keep_alive: bool
    received: float
    body: bytes = b""
    size: int = 0
    refused: bool = False


class _BadRequest(Exception):
    """A request that cannot be understood: answered with `status` and closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Receiver:
    """The HTTP server behind `terra listen`. Start it, read `port`, stop it."""

    def __init__(
        self,
        config: ReceiverConfig,
        store: EventStore | None,
        emit: Callable[[Delivery], None],
        forwarder: Forwarder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.emit = emit
        self.forwarder = forwarder
        self.clock = clock
        self.stats = Stats(started_at=utc_now_iso(clock()))
        self.failure: TerraError | None = None
        self.failed = threading.Event()
        self._seen_traces: set[str] = set()
        self._seen_order: collections.deque[str] = collections.deque()
        self._seen_lock = threading.Lock()
        self._loop: _Loop | None = None
        self._thread: threading.Thread | None = None
        self._extra: list[tuple[socket.socket, App]] = []

    # -- lifecycle ---------------------------------------------------------

    def add_listener(self, sock: socket.socket, app: App) -> None:
        """Serve `app` on a second bound, listening socket of the same loop (call before
        `start`). Requests there are parsed like webhooks and answered by `app` only."""
        assert self._loop is None, "add listeners before start()"
        sock.setblocking(False)
        self._extra.append((sock, app))

    def start(self, webhooks: bool = True) -> None:
        """Bind and listen (port 0 picks a free port), then serve in a background thread.
        `webhooks=False`: serve only the sockets given to `add_listener`."""
        listeners: list[tuple[socket.socket, App | None]] = []
        if webhooks:
            listeners.append((_bind(self.config.host, self.config.port), None))
        listeners.extend(self._extra)
        self._loop = _Loop(self, listeners)
        self._thread = threading.Thread(target=self._loop.run, name="terra-receiver", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        """An app has news for its streams: wake the loop (at most one wake pending)."""
        loop = self._loop
        if loop is not None:
            loop.notify()

    @property
    def port(self) -> int:
        """The port actually bound (the real one when 0 was asked for)."""
        assert self._loop is not None, "start() first"
        return self._loop.port

    @property
    def url(self) -> str:
        """The local webhook URL, with the configured path."""
        return f"http://{display_host(self.config.host)}:{self.port}{self.config.path}"

    def stop(self, grace: float = 1.0) -> None:
        """Stop accepting, give requests in flight `grace` seconds to finish, close all."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None or not thread.is_alive():
            return
        loop.request_stop(grace)
        thread.join(timeout=grace + 1.0)

    def fail(self, error: TerraError) -> None:
        """Record a fatal problem (the log cannot be written) for the command to act on."""
        if self.failure is None:
            self.failure = error
        self.failed.set()

    # -- per request -----------------------------------------------------------

    def is_retry(self, trace_id: str | None) -> bool:
        """True when this `x-terra-trace-id` came with one of the last RETRY_WINDOW
        deliveries of this session."""
        if not trace_id:
            return False
        with self._seen_lock:
            if trace_id in self._seen_traces:
                return True
            self._seen_traces.add(trace_id)
            self._seen_order.append(trace_id)
            if len(self._seen_order) > RETRY_WINDOW:
                self._seen_traces.discard(self._seen_order.popleft())
            return False

    def deliver(self, req: _Request) -> tuple[bytes, bool]:
        """Judge, forward, log and emit one POST; the response bytes and whether to close.

        Runs on the loop thread, or on a worker thread when forwarding.
        """
        config = self.config
        event_id = new_event_id()
        forward: ForwardInfo | None = None
        passthrough: list[tuple[str, str]] | None = None
        if req.refused:
            # The body was refused unread, so there is no signature to check it against.
            verdict = Verdict.UNCHECKED
            detail: str | None = "the body was refused unread, so it was not checked"
            status = 413
            reply = _json(
                {"error": f"body over the limit of {human_size(config.max_body)}", "id": event_id}
            )
        else:
            # x-terra-signature first: Terra's current name wins when both are sent.
            header = next((req.lower[n] for n in HEADER_NAMES if n in req.lower), None)
            judged = check(header, req.body, config.secret, req.received, config.tolerance)
            verdict, detail = judged.verdict, judged.detail
            if config.strict and verdict.failed:
                status = 401
                reply = _json(
                    {
                        "error": f"signature check failed ({verdict.value})",
                        "id": event_id,
                        "verdict": verdict.value,
                    }
                )
            else:
                outcome = (
                    self.forwarder.forward(req.method, req.target, list(req.headers), req.body)
                    if self.forwarder is not None
                    else None
                )
                if outcome is not None:
                    forward = ForwardInfo(
                        outcome.url,
                        outcome.status,
                        outcome.latency_ms,
                        outcome.error,
                        outcome.route,
                    )
                if outcome is None:
                    status = 200
                    reply = (
                        f'{{"received": true, "id": "{event_id}", "verdict": "{verdict.value}"}}\n'
                    ).encode()
                elif outcome.status is None:
                    status = 502
                    reply = _json(
                        {
                            "error": f"your app at {outcome.url} could not be reached",
                            "detail": outcome.error,
                            "hint": outcome.hint
                            or "start the app, or check the --forward-to URL",
                            "id": event_id,
                        }
                    )
                else:
                    status, reply = outcome.status, outcome.body
                    passthrough = [
                        (n, v)
                        for n, v in outcome.headers
                        if n.lower() not in HOP_BY_HOP and n.lower() != "content-length"
                    ]
        delivery = Delivery(
            id=event_id,
            received_at=utc_now_iso(req.received),
            method=req.method,
            path=req.target,
            headers=req.headers,
            body=req.body,
            size=req.size,
            verdict=verdict.value,
            status=status,
            forward=forward,
            retry=self.is_retry(req.lower.get("x-terra-trace-id")),
            truncated=req.refused,
            verdict_detail=detail,
        )
        if self.store is not None:
            try:
                self.store.append(record_from(delivery))
            except TerraError as exc:
                self.fail(exc)
                return _response(500, _json({"error": "the event could not be saved"}), True), True
        # Queued for the screen before the answer goes out (a put never blocks), so
        # the display order is the order in which senders got their answers.
        self.stats.count(verdict.value)
        self.emit(delivery)
        close = req.refused or not req.keep_alive
        if passthrough is not None:
            return _response(status, reply, close, None, passthrough), close
        return _response(status, reply, close), close

    def answer_get(self, req: _Request) -> bytes:
        """The status page, the health JSON, or 404."""
        head_only = req.method == "HEAD"
        close = not req.keep_alive
        path = req.target.split("?", 1)[0]
        if path == "/healthz":
            return _response(200, _json(self.health()), close, head_only=head_only)
        if path in ("/", self.config.path):
            page = self.status_page().encode()
            return _response(200, page, close, "text/plain; charset=utf-8", head_only=head_only)
        text = b"Not found. Webhooks are POSTed here; GET / shows the status.\n"
        return _response(404, text, close, "text/plain; charset=utf-8", head_only=head_only)

    def status_page(self) -> str:
        snap = self.stats.snapshot()
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(snap["by_verdict"].items()))
        return (
            "terra listen is running\n"
            f"since:        {snap['since']}\n"
            f"events:       {snap['events']}{' (' + verdicts + ')' if verdicts else ''}\n"
            f"webhook URL:  {self.url}\n"
            f"signatures:   {'checked' if self.config.secret else 'not checked (no secret)'}\n"
        )

    def health(self) -> dict[str, Any]:
        snap = self.stats.snapshot()
        snap.update(
            status="ok",
            url=self.url,
            signing_secret=bool(self.config.secret),
            strict=self.config.strict,
        )
        return snap


def display_host(host: str) -> str:
    """The host as it goes into a URL people can open."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - naming the wildcard, not binding to it
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    if ":" in host:
        return f"[{host}]"
    return host


def _bind(host: str, port: int) -> socket.socket:
    """A listening, non-blocking socket; every failure to bind is exit 9."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(256)
        sock.setblocking(False)
    except socket.gaierror:
        sock.close()
        raise LocalResourceError(
            f"Cannot listen on host '{host}': no such address.",
            hint="Use --host 127.0.0.1 (the default) or another address of this machine.",
        ) from None
    except OSError as exc:
        sock.close()
        import errno

        if exc.errno == errno.EADDRINUSE:
            raise LocalResourceError(
                f"Port {port} on {host} is already in use.",
                hint="Stop the program using it, or choose another with --port "
                "(--port 0 picks a free one).",
            ) from None
        raise LocalResourceError(
            f"Cannot listen on {host}:{port}: {exc.strerror or exc}.",
            hint="Choose another address or port with --host / --port "
            "(ports below 1024 need extra rights).",
        ) from None
    return sock


def serve_only(sock: socket.socket, app: App) -> Receiver:
    """The loop with one app's socket and no webhook socket (`terra inspect`)."""
    receiver = Receiver(ReceiverConfig(), None, lambda _delivery: None)
    receiver.add_listener(sock, app)
    receiver.start(webhooks=False)
    return receiver


# Connection states.
_HEAD, _BODY, _CHUNKED, _BUSY, _DRAIN, _STREAM = range(6)


class _Listen:
    """A listening socket and the app that answers on it (None: webhooks)."""

    __slots__ = ("app", "sock")

    def __init__(self, sock: socket.socket, app: App | None) -> None:
        self.sock = sock
        self.app = app


class _Conn:
    """One client connection and where it is in its current request."""

    __slots__ = (
        "active",
        "app",
        "body",
        "buf",
        "chunk_total",
        "chunks",
        "close_after",
        "drain_left",
        "got",
        "limit",
        "out",
        "req",
        "shut",
        "sock",
        "started",
        "state",
        "stream",
        "wants_write",
    )

    def __init__(self, sock: socket.socket, now: float, app: App | None, limit: int) -> None:
        self.sock = sock
        self.app = app  # None: a webhook connection
        self.limit = limit  # the largest POST body read
        self.stream: Stream | None = None
        self.buf = bytearray()
        self.out = bytearray()
        self.state = _HEAD
        self.req: _Request | None = None
        self.body: bytearray | None = None
        self.got = 0
        self.chunks: list[bytes] = []
        self.chunk_total = 0
        self.close_after = False
        self.drain_left = 0
        self.active = now  # last time bytes moved
        self.started = now  # when the current request began
        self.wants_write = False
        self.shut = False  # our side half-closed (after a 413)

    @property
    def mid_request(self) -> bool:
        """True once any byte of a request has arrived and its answer has not gone out."""
        return self.state != _HEAD or bool(self.buf)


class _Loop:
    """The event loop: accept, read, parse, answer; timeouts; a clean stop."""

    def __init__(
        self, receiver: Receiver, listeners: list[tuple[socket.socket, App | None]]
    ) -> None:
        self.receiver = receiver
        self.config = receiver.config
        self.listeners = [_Listen(sock, app) for sock, app in listeners]
        self.port = int(listeners[0][0].getsockname()[1])
        self.selector = selectors.DefaultSelector()
        for listen in self.listeners:
            self.selector.register(listen.sock, selectors.EVENT_READ, listen)
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.selector.register(self.wake_r, selectors.EVENT_READ, "wake")
        self.conns: dict[int, _Conn] = {}
        # Answers made on worker threads (the request, for an app's), for the loop to send.
        self.done: queue.SimpleQueue[
            tuple[_Conn, Future[tuple[bytes, bool]], _Request | None]
        ] = queue.SimpleQueue()
        self.pool: ThreadPoolExecutor | None = None
        self.stop_at: float | None = None
        self.next_sweep = 0.0
        self.max_conns = _connection_cap()
        self.accepting = True  # False while at the cap (or out of descriptors)
        self.streams: set[_Conn] = set()  # live streams open (apps only)
        self.news = False  # an app signalled news its streams have not been asked for
        self.due = 0.0  # when a stream with news held back (its pace) wants asking again

    # -- driving ----------------------------------------------------------------

    def request_stop(self, grace: float) -> None:
        self.stop_at = time.monotonic() + grace
        self._wake()

    def notify(self) -> None:
        """From any thread: an app has news; its streams are asked on the next turn."""
        if not self.news:
            self.news = True
            self._wake()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self.wake_w.send(b"x")

    def run(self) -> None:
        try:
            while True:
                if self.stop_at is not None and self._stopping_done():
                    break
                wait = 0.05
                if self.due and self.streams:
                    wait = min(wait, max(0.0, self.due - time.monotonic()))
                for key, events in self.selector.select(wait):
                    data = key.data
                    if type(data) is _Conn:
                        if events & selectors.EVENT_WRITE:
                            self._flush(data)
                        if events & selectors.EVENT_READ and data.sock.fileno() >= 0:
                            self._read(data)
                    elif data == "wake":
                        with contextlib.suppress(OSError):
                            self.wake_r.recv(4096)
                    else:
                        self._accept(data)
                self._finish_forwards()
                now = time.monotonic()
                if self.streams and (self.news or 0 < self.due <= now):
                    self._pump_streams(now)
                if now >= self.next_sweep:
                    self.next_sweep = now + 0.05
                    self._sweep(now)
        finally:
            self._close_all()

    def _stopping_done(self) -> bool:
        """While stopping: accept no more, drop idle connections; done when none is busy."""
        for listen in self.listeners:
            if self.accepting:
                self.selector.unregister(listen.sock)
            listen.sock.close()
        self.listeners = []
        for conn in list(self.conns.values()):
            if conn.state == _STREAM or (not conn.mid_request and not conn.out):
                self._close(conn)
        assert self.stop_at is not None
        return not self.conns or time.monotonic() >= self.stop_at

    def _accept(self, listen: _Listen) -> None:
        app = listen.app
        limit = self.config.max_body if app is None else app.max_body
        for _ in range(64):
            if len(self.conns) >= self.max_conns:
                self._pause_accepting()
                return
            try:
                sock, _addr = listen.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # Out of descriptors (EMFILE/ENFILE) or a transient error: stop asking
                # until the sweep, or the listener stays readable and the loop spins.
                self._pause_accepting()
                return
            sock.setblocking(False)
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(sock, time.monotonic(), app, limit)
            self.conns[sock.fileno()] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)

    def _pause_accepting(self) -> None:
        """Leave new connections in the kernel's backlog for now."""
        if self.accepting and self.listeners:
            for listen in self.listeners:
                self.selector.unregister(listen.sock)
            self.accepting = False

    def _resume_accepting(self) -> None:
        waiting = not self.accepting and self.listeners and self.stop_at is None
        if waiting and len(self.conns) < self.max_conns:
            for listen in self.listeners:
                self.selector.register(listen.sock, selectors.EVENT_READ, listen)
            self.accepting = True

    # -- reading and parsing ------------------------------------------------------

    def _read(self, conn: _Conn) -> None:
        try:
            if conn.state == _BODY and conn.body is not None:
                view = memoryview(conn.body)[conn.got :]
                n = conn.sock.recv_into(view, min(len(view), 4 * MIB))
                view.release()
                if n:
                    conn.got += n
            else:
                data = conn.sock.recv(256 * 1024)
                n = len(data)
                if conn.state == _HEAD and not conn.buf:
                    conn.started = time.monotonic()  # a new request begins
                if conn.state == _DRAIN:
                    conn.drain_left -= n
                    if n == 0 or conn.drain_left <= 0:
                        self._close(conn)
                    return
                if conn.state == _STREAM:  # a live stream reads nothing more
                    if n == 0:
                        self._close(conn)
                    return
                conn.buf += data
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn, mid=conn.mid_request)
            return
        if not n:  # the client closed its side
            self._drop(conn, mid=conn.mid_request)
            return
        conn.active = time.monotonic()
        self._advance(conn)

    def _advance(self, conn: _Conn) -> None:
        """Handle every complete request in the buffer (pipelining), in order."""
        while True:
            try:
                if conn.state == _HEAD and not self._parse_head(conn):
                    return
                if conn.state == _BODY:
                    assert conn.body is not None
                    if conn.got < len(conn.body):
                        return
                    body, conn.body = bytes(conn.body), None
                    self._dispatch(conn, body)
                elif conn.state == _CHUNKED:
                    body_or_none = self._parse_chunks(conn)
                    if body_or_none is None:
                        return
                    self._dispatch(conn, body_or_none)
                if conn.state in (_BUSY, _DRAIN, _STREAM) or conn.close_after:
                    return
            except _BadRequest as bad:
                if conn.app is None:
                    self.receiver.stats.drop()
                self._send(conn, _response(bad.status, _json({"error": bad.message}), True), True)
                return

    def _parse_head(self, conn: _Conn) -> bool:
        buf = conn.buf
        while buf[:2] == b"\r\n":  # stray CRLF between requests is allowed
            del buf[:2]
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                raise _BadRequest(431, "request head too large")
            return False
        if end > MAX_HEAD:
            raise _BadRequest(431, "request head too large")
        head = bytes(buf[:end]).decode("latin-1")
        del buf[: end + 4]
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise _BadRequest(505 if version.startswith("HTTP/") else 400, "unsupported version")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:  # obsolete line folding
                name, value = headers[-1]
                headers[-1] = (name, f"{value} {line.strip()}")
                continue
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise _BadRequest(400, "malformed header line")
            headers.append((name, value.strip()))
        if len(headers) > MAX_HEADERS:
            raise _BadRequest(431, "too many headers")
        lower: dict[str, str] = {}
        for name, value in headers:
            lower.setdefault(name.lower(), value)
        tokens = {t.strip().lower() for t in lower.get("connection", "").split(",")}
        keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
        req = _Request(
            method, target, tuple(headers), lower, keep_alive, self.receiver.clock()
        )
        conn.req = req
        encoding = lower.get("transfer-encoding", "").strip().lower()
        if encoding and encoding != "identity":
            if encoding != "chunked":
                raise _BadRequest(400, f"unsupported Transfer-Encoding: {encoding}")
            conn.state, conn.chunks, conn.chunk_total = _CHUNKED, [], 0
            return True
        raw_length = lower.get("content-length")
        if raw_length is None:
            self._dispatch(conn, b"")
            return True
        lengths = {v.strip() for v in raw_length.split(",")}
        if len(lengths) != 1 or not next(iter(lengths)).isdigit():
            raise _BadRequest(400, "invalid Content-Length")
        length = int(next(iter(lengths)))
        if method == "POST" and length > conn.limit:
            req.refused, req.size = True, length
            self._dispatch(conn, b"")
            return True
        if lower.get("expect", "").lower() == "100-continue" and len(buf) < length:
            self._send(conn, b"HTTP/1.1 100 Continue\r\n\r\n", False)
        body = bytearray(length)
        take = min(len(buf), length)
        body[:take] = buf[:take]
        del buf[:take]
        conn.body, conn.got, conn.state = body, take, _BODY
        return True

    def _parse_chunks(self, conn: _Conn) -> bytes | None:
        """Decode chunked framing from the buffer; the body once the last chunk arrived."""
        buf = conn.buf
        while True:
            line_end = buf.find(b"\r\n")
            if line_end < 0:
                if len(buf) > 4096:
                    raise _BadRequest(400, "malformed chunked body")
                return None
            try:
                size = int(bytes(buf[:line_end]).split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "malformed chunk size") from None
            if size < 0:
                raise _BadRequest(400, "malformed chunk size")
            if size == 0:
                rest = line_end + 2
                if buf[rest : rest + 2] == b"\r\n":
                    del buf[: rest + 2]
                else:
                    trailers_end = buf.find(b"\r\n\r\n", rest)
                    if trailers_end < 0:
                        return None
                    del buf[: trailers_end + 4]
                body = b"".join(conn.chunks)
                conn.chunks = []
                return body
            if conn.chunk_total + size > conn.limit:
                assert conn.req is not None
                conn.req.refused = True
                conn.req.size = 4 * conn.limit  # unknown: drain up to the cap
                conn.chunks = []
                return b""
            if len(buf) < line_end + 2 + size + 2:
                return None
            start = line_end + 2
            conn.chunks.append(bytes(buf[start : start + size]))
            conn.chunk_total += size
            del buf[: start + size + 2]

    # -- answering -------------------------------------------------------------------

    def _dispatch(self, conn: _Conn, body: bytes) -> None:
        req = conn.req
        assert req is not None
        conn.req = None
        conn.state = _HEAD
        req.body = body
        if not req.refused:
            req.size = len(body)
        if conn.app is not None:
            self._dispatch_app(conn, conn.app, req)
            return
        receiver = self.receiver
        if req.method == "POST":
            if receiver.forwarder is not None and not req.refused:
                # Forwarding may take seconds: a worker does it; the connection sleeps.
                conn.state = _BUSY
                self.selector.unregister(conn.sock)
                conn.wants_write = False
                if self.pool is None:
                    from concurrent.futures import ThreadPoolExecutor

                    self.pool = ThreadPoolExecutor(16, thread_name_prefix="terra-forward")
                future = self.pool.submit(receiver.deliver, req)
                future.add_done_callback(lambda f: self._forward_done(conn, f))
                return
            response, close = receiver.deliver(req)
            if req.refused:
                self._start_drain(conn, req.size)
            self._send(conn, response, close)
        elif req.method in ("GET", "HEAD"):
            self._send(conn, receiver.answer_get(req), not req.keep_alive)
        else:
            text = b"Only POST (webhooks) and GET (status) are served.\n"
            response = _response(
                405, text, True, "text/plain; charset=utf-8", [("Allow", "GET, HEAD, POST")]
            )
            self._send(conn, response, True)

    def _dispatch_app(self, conn: _Conn, app: App, req: _Request) -> None:
        """A request on an app's socket: answered on the loop when the app says it is
        quick, otherwise on a worker thread (as forwarding is), the connection asleep."""
        if app.inline(req.method, req.target):
            try:
                response, close = self._app_answer(conn, app, req)
            except Exception:  # a page bug must not take the receiver down
                response, close = _response(500, _json({"error": "the page failed"}), True), True
            self._answered_app(conn, req, response, close)
            return
        conn.state = _BUSY
        self.selector.unregister(conn.sock)
        conn.wants_write = False
        if self.pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self.pool = ThreadPoolExecutor(16, thread_name_prefix="terra-forward")
        future = self.pool.submit(self._app_answer, conn, app, req)
        future.add_done_callback(lambda f: self._forward_done(conn, f, req))

    def _app_answer(self, conn: _Conn, app: App, req: _Request) -> tuple[bytes, bool]:
        """The app's answer as bytes (on the loop or a worker). A stream is left on
        `conn.stream` for the loop to take up; the connection is not touched here."""
        body = None if req.refused else req.body
        answer = app.handle(req.method, req.target, req.lower, body)
        if isinstance(answer, Reply):
            close = answer.close or req.refused or not req.keep_alive
            head_only = req.method == "HEAD"
            return _response(
                answer.status, answer.body, close, None, answer.headers, head_only
            ), close
        conn.stream = answer
        lines = ["HTTP/1.1 200 OK"] + [f"{n}: {v}" for n, v in answer.headers]
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        return head + answer.first, False

    def _answered_app(self, conn: _Conn, req: _Request, response: bytes, close: bool) -> None:
        """On the loop: send an app's answer; a stream stays open, a refused body drains."""
        if conn.stream is not None:
            conn.state = _STREAM
            conn.buf.clear()
            self.streams.add(conn)
        elif req.refused:
            self._start_drain(conn, req.size)
        self._send(conn, response, close)

    def _pump_streams(self, now: float) -> None:
        """Ask every open stream for news and send it (they keep their own pace)."""
        self.news = False
        self.due = 0.0
        for conn in list(self.streams):
            stream = conn.stream
            if stream is None or conn.sock.fileno() < 0:
                self.streams.discard(conn)
                continue
            try:
                data = stream.poll(now)
            except Exception:  # a page's bug must not take the loop down
                data, stream.ended = None, True
            if stream.ended:
                self._close(conn)
                continue
            if data:
                self._send(conn, data, False)
            if stream.due and (not self.due or stream.due < self.due):
                self.due = stream.due

    def _forward_done(
        self, conn: _Conn, future: Future[tuple[bytes, bool]], req: _Request | None = None
    ) -> None:
        """Called on the worker thread: hand the result to the loop and wake it."""
        self.done.put((conn, future, req))
        self._wake()

    def _finish_forwards(self) -> None:
        while True:
            try:
                conn, future, req = self.done.get_nowait()
            except queue.Empty:
                return
            if conn.sock.fileno() < 0:
                if conn.stream is not None:
                    conn.stream.close()
                    conn.stream = None
                continue
            conn.state = _HEAD
            self.selector.register(conn.sock, selectors.EVENT_READ, conn)
            try:
                response, close = future.result()
            except Exception:  # a forwarder (or page) bug must not take the receiver down
                failed = "forwarding failed" if req is None else "the page failed"
                response = _response(502 if req is None else 500, _json({"error": failed}), True)
                close = True
            if req is not None:
                self._answered_app(conn, req, response, close)
            else:
                self._send(conn, response, close)
            if not close and conn.sock.fileno() >= 0:
                self._advance(conn)

    def _send(self, conn: _Conn, data: bytes, close: bool) -> None:
        conn.out += data
        conn.close_after = conn.close_after or close
        self._flush(conn)

    def _flush(self, conn: _Conn) -> None:
        if conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._close(conn)
                return
            if sent:
                del conn.out[:sent]
                conn.active = time.monotonic()
        if conn.out:
            if not conn.wants_write:
                conn.wants_write = True
                self.selector.modify(conn.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
            return
        if conn.wants_write:
            conn.wants_write = False
            self.selector.modify(conn.sock, selectors.EVENT_READ, conn)
        if conn.state == _DRAIN:
            if not conn.shut:
                conn.shut = True
                with contextlib.suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_WR)
            if conn.drain_left <= 0:
                self._close(conn)
        elif conn.close_after:
            self._close(conn)

    def _start_drain(self, conn: _Conn, size: int) -> None:
        """After a 413: once the answer is out, half-close, then read and drop what the
        client still sends (so it reads the answer, not a reset), up to the announced
        size or five seconds."""
        conn.state = _DRAIN
        conn.drain_left = min(size, 4 * self.config.max_body + MIB) - len(conn.buf)
        conn.buf.clear()
        conn.started = time.monotonic()

    # -- timeouts and closing -----------------------------------------------------------

    def _sweep(self, now: float) -> None:
        self._resume_accepting()
        idle, whole = self.config.idle_timeout, self.config.request_timeout
        if self.streams:
            self._pump_streams(now)
        for conn in list(self.conns.values()):
            if conn.state == _BUSY:
                continue
            if conn.state == _STREAM:
                if conn.out and now - conn.active > idle:  # the page stopped reading
                    self._close(conn)
                continue
            if conn.state == _DRAIN:
                if now - conn.started > 5.0:
                    self._close(conn)
                continue
            silent = now - conn.active > idle
            if conn.out:
                if silent:
                    self._close(conn)
            elif conn.mid_request:
                if silent or now - conn.started > whole:
                    self._drop(conn, mid=True, answer=True)
            elif silent:
                self._close(conn)

    def _drop(self, conn: _Conn, mid: bool, answer: bool = False) -> None:
        """Give up on a connection; a request cut short counts as dropped (and gets 408)."""
        if mid and conn.app is None:
            self.receiver.stats.drop()
        if answer:
            with contextlib.suppress(OSError):
                conn.sock.send(
                    _response(408, _json({"error": "request not received in time"}), True)
                )
        self._close(conn)

    def _close(self, conn: _Conn) -> None:
        fd = conn.sock.fileno()
        if fd < 0:
            return
        self.conns.pop(fd, None)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(conn.sock)
        conn.sock.close()
        if conn.stream is not None:
            self.streams.discard(conn)
            conn.stream.close()
            conn.stream = None

    def _close_all(self) -> None:
        for conn in list(self.conns.values()):
            self._close(conn)
        for listen in self.listeners:
            listen.sock.close()
        self.listeners = []
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        self.selector.close()
        self.wake_r.close()
        self.wake_w.close()


def _connection_cap() -> int:
    """How many client connections may be open at once: the descriptor limit less
    FD_RESERVE (and never fewer than 16)."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # no resource module (Windows)
        return 4096
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return 65536
    return max(16, int(soft) - FD_RESERVE)


def _response(
    status: int,
    body: bytes,
    close: bool,
    content_type: str | None = "application/json",
    headers: list[tuple[str, str]] | None = None,
    head_only: bool = False,
) -> bytes:
    """Status line, headers and body as one block of bytes, sent in one write."""
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}".rstrip()]
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    if content_type and not any(n.lower() == "content-type" for n, _ in headers or []):
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
    return head if head_only else head + body


def _json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode() + b"\n"
