"""The inspector's HTTP side: its own loopback port, its own thread, never the webhook port.

It runs on a stdlib threading server in background threads, apart from the
receiver's event loop, so the receiver's hot path is untouched: the page's
work (finding a 30 MB record, parsing it for charts, holding live streams
open) never waits in the loop that answers Terra. It faces 127.0.0.1 only,
and every request passes `security`: Host first, then the token.

Routes (all need the token: `?token=` on GETs, the `X-Inspect-Token` header
on POSTs):
  GET  /                          the page
  GET  /app.js, /app.css          the page's script and style
  GET  /api/info                  what this inspector serves (listen or log)
  GET  /api/events/ID             one event: summary, verdict reason, headers, charts
  GET  /api/events/ID/body        the body bytes (decoded when gzip), fetched on demand
  GET  /api/stream                server-sent events: the backlog, then each new event
  POST /api/events/ID/replay      send the event again, `{"to": URL|null, "original": bool}`
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from terra_cli.errors import LocalResourceError, TerraError
from terra_cli.inspector import security
from terra_cli.inspector.feed import Feed
from terra_cli.inspector.reasons import verdict_reason
from terra_cli.inspector.series import charts
from terra_cli.webhooks.events import decode_body, summarize
from terra_cli.webhooks.replay import recorded_headers
from terra_cli.webhooks.store import new_event_id, record_body, utc_now_iso

DEFAULT_PORT = 4041
PORT_TRIES = 20  # 4041, 4042, ... when the asked port is taken
BACKLOG = 2000  # events a newly opened page receives before the live ones
KEEPALIVE = 15.0  # seconds between comments on an idle stream
# A stream writes at most once per STREAM_GAP: a lone event goes out at once, a burst in
# a few large writes, so a page open during a flood costs the listener few wake-ups.
STREAM_GAP = 0.1
MAX_POST = 64 * 1024
DETAILS_KEPT = 8
_STATIC = {
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/app.css": ("app.css", "text/css; charset=utf-8"),
}
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    410: "Gone",
    413: "Content Too Large",
}


@dataclass(frozen=True)
class InspectorConfig:
    """What the page serves and where its Replay button sends."""

    port: int = DEFAULT_PORT
    mode: str = "listen"  # listen: a live run; log: `terra inspect` over the saved log
    secret: str | None = None  # signs replays afresh
    default_target: str | None = None  # where Replay sends when no URL is typed
    own_url: str | None = None  # this listener's webhook URL: replays to it come back live
    forward_to: str | None = None
    tolerance: float = 300


def start_for_listen(
    feed: Feed,
    port: int,
    webhook_port: int,
    secret: str | None,
    forward_to: str | None,
    tolerance: float,
) -> Inspector:
    """Start the page for a `terra listen` run, before the receiver (so nothing can be
    printed before the ready record), never on the webhook's port. Call `point_at` with
    the listener's URL once it is bound: Replay sends there, and the listener judges,
    logs and forwards the replay like any delivery, so it shows as a new event."""
    inspector = Inspector(
        feed,
        InspectorConfig(
            port=port, mode="listen", secret=secret, forward_to=forward_to, tolerance=tolerance
        ),
    )
    inspector.start(avoid=webhook_port)
    return inspector


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    app: Inspector

    def server_bind(self) -> None:
        # HTTPServer.server_bind asks DNS for the host's full name: not needed on loopback,
        # and slow on a machine without a resolver.
        import socketserver

        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", int(self.server_address[1])


def bind(port: int, avoid: int = 0) -> _Server:
    """Listen on 127.0.0.1:`port`, or the next free port above it (0: any free port);
    never on `avoid` (the webhook port)."""
    last: OSError | None = None
    tries = 1 if port == 0 else PORT_TRIES
    for candidate in range(port, min(port + tries, 65536)):
        if candidate and candidate == avoid:
            continue
        try:
            return _Server(("127.0.0.1", candidate), _Handler)
        except OSError as exc:
            last = exc
    raise LocalResourceError(
        f"Cannot open the inspector on 127.0.0.1:{port}"
        + (f" or the {tries - 1} ports after it" if tries > 1 else "")
        + f": {getattr(last, 'strerror', None) or last}.",
        hint="Choose another with --inspect-port (0 picks a free one), or --no-inspect.",
    )


class Inspector:
    """The page's server: start it, read `url`, stop it."""

    def __init__(self, feed: Feed, config: InspectorConfig, token: str | None = None) -> None:
        self.feed = feed
        self.config = config
        self.token = token or security.new_token()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._page: bytes | None = None
        self._details: dict[str, bytes] = {}  # the last few detail answers, by event id
        self._lock = threading.Lock()

    def start(self, avoid: int = 0) -> None:
        """Bind (exit 9 when nothing is free; never port `avoid`) and serve in a thread."""
        self._server = bind(self.config.port, avoid)
        self._server.app = self
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="terra-inspector",
            daemon=True,
        )
        self._thread.start()

    def point_at(self, listener_url: str) -> None:
        """Make Replay send to this listener unless a URL is typed."""
        self.config = replace(self.config, default_target=listener_url, own_url=listener_url)

    def use_secret(self, secret: str | None) -> None:
        """Sign replays with `secret` from now on (a `--register` run's destination secret)."""
        self.config = replace(self.config, secret=secret)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return self._server.server_port

    @property
    def url(self) -> str:
        """The page's address, token included: treat it like a password."""
        return f"http://127.0.0.1:{self.port}/?token={self.token}"

    def stop(self) -> None:
        """End the live streams and stop serving."""
        self.feed.close()
        server = self._server
        if server is not None:
            server.shutdown()
            server.server_close()

    # -- requests ---------------------------------------------------------------------

    def handle(self, req: _Handler, method: str) -> None:
        """Host check, token check, then the route."""
        port = self.port
        if not security.host_ok(req.headers.get("Host"), port):
            req.reply(403, _json({"error": "wrong Host: open the URL terra printed"}))
            return
        parts = urlsplit(req.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        if method == "POST":
            given = req.headers.get(security.TOKEN_HEADER)
        else:
            given = security.query_token(query)
        if not security.token_ok(given, self.token):
            req.reply(403, _json({"error": "missing or wrong token: open the URL terra printed"}))
            return
        path = parts.path
        if method == "POST":
            if not security.origin_ok(req.headers.get("Origin"), port):
                req.reply(403, _json({"error": "cross-origin request refused"}))
                return
            if path.startswith("/api/events/") and path.endswith("/replay"):
                self._replay(req, path[len("/api/events/") : -len("/replay")])
                return
            req.reply(405, _json({"error": "nothing to POST here"}), allow="GET")
            return
        if method not in ("GET", "HEAD"):
            req.reply(405, _json({"error": "method not allowed"}), allow="GET, POST")
            return
        if path.endswith("/replay"):
            req.reply(405, _json({"error": "replay is a POST with the token"}), allow="POST")
        elif path == "/":
            req.reply(200, self._index(), "text/html; charset=utf-8")
        elif path in _STATIC:
            name, ctype = _STATIC[path]
            req.reply(200, _static(name), ctype)
        elif path == "/api/info":
            req.reply(200, _json(self._info()))
        elif path == "/api/stream":
            if method == "HEAD":
                req.reply(200, b"", "text/event-stream; charset=utf-8")
            else:
                self._stream(req, query)
        elif path.startswith("/api/events/") and path.endswith("/body"):
            self._body(req, path[len("/api/events/") : -len("/body")])
        elif path.startswith("/api/events/"):
            self._detail(req, path[len("/api/events/") :])
        else:
            req.reply(404, _json({"error": "not found"}))

    def _index(self) -> bytes:
        if self._page is None:
            self._page = _static("index.html").replace(b"{{TOKEN}}", self.token.encode())
        return self._page

    def _info(self) -> dict[str, Any]:
        config = self.config
        return {
            "mode": config.mode,
            "default_target": config.default_target,
            "forward_to": config.forward_to,
            "signs_replays": bool(config.secret),
            "log": str(self.feed.store_root) if self.feed.store_root else None,
        }

    def _record(self, req: _Handler, event_id: str) -> dict[str, Any] | None:
        record = self.feed.record(event_id) if event_id.startswith("evt_") else None
        if record is None:
            if self.feed.knows(event_id):
                req.reply(410, _json({"error": "this event's record is no longer kept"}))
            else:
                req.reply(404, _json({"error": f"no event {event_id}"}))
        return record

    def _detail(self, req: _Handler, event_id: str) -> None:
        cached = self._details.get(event_id)
        if cached is not None:  # parsing a 30 MB body again would cost the loop GIL time
            req.reply(200, cached)
            return
        record = self._record(req, event_id)
        if record is None:
            return
        body = record_body(record)
        headers = recorded_headers(record)
        decoded = decode_body(body, headers) if body else None
        found: list[dict[str, Any]] = []
        body_kind = "none"
        if decoded:
            try:
                text = decoded.decode("utf-8")
                body_kind = "text"
                doc = json.loads(text)
                body_kind = "json"
                found = charts(doc)
                del doc
            except (UnicodeDecodeError, ValueError, RecursionError):
                body_kind = "binary" if body_kind == "none" else body_kind
        summary = summarize(body, headers)
        answer = _json(
            {
                "id": record.get("id"),
                "received_at": record.get("received_at"),
                "method": record.get("method"),
                "path": record.get("path"),
                "headers": headers,
                "verdict": record.get("verdict"),
                "verdict_reason": verdict_reason(record, self.config.tolerance),
                "status": record.get("status"),
                "forward": record.get("forward"),
                "size": record.get("size", len(body)),
                "body_size": len(decoded) if decoded is not None else len(body),
                "body_kind": body_kind,
                "stored_encoding": "base64" if "body_b64" in record else "text",
                "replay_of": record.get("replay_of"),
                "summary": {
                    "type": summary.type,
                    "kind": summary.kind,
                    "text": summary.text,
                    "user_id": summary.user_id,
                    "provider": summary.provider,
                    "reference_id": summary.reference_id,
                    "records": summary.records,
                    "start": summary.start,
                    "end": summary.end,
                },
                "charts": found,
            }
        )
        with self._lock:
            self._details[event_id] = answer
            while len(self._details) > DETAILS_KEPT:
                self._details.pop(next(iter(self._details)))
        req.reply(200, answer)

    def _body(self, req: _Handler, event_id: str) -> None:
        record = self._record(req, event_id)
        if record is None:
            return
        body = record_body(record)
        decoded = decode_body(body, recorded_headers(record))
        data = decoded if decoded is not None else body
        try:
            data.decode("utf-8")
            ctype = "text/plain; charset=utf-8"
        except UnicodeDecodeError:
            ctype = "application/octet-stream"
        req.reply(200, data, ctype)

    def _stream(self, req: _Handler, query: dict[str, list[str]]) -> None:
        """Server-sent events: entries after Last-Event-ID (or the backlog), then live."""
        last = req.headers.get("Last-Event-ID") or (query.get("since") or [""])[0]
        seq = int(last) if last.isdigit() else 0
        feed = self.feed
        req.start_stream()
        feed.watch(+1)
        try:
            req.send_chunk(b"retry: 2000\n\n")
            limit = BACKLOG
            sent_at = 0.0
            while True:
                pause = sent_at + STREAM_GAP - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                batch = feed.after(seq, limit)
                limit = 100_000
                if batch:
                    out = bytearray()
                    for number, data in batch:
                        out += b"id: %d\ndata: " % number + data + b"\n\n"
                    seq = batch[-1][0]
                    req.send_chunk(bytes(out))
                    sent_at = time.monotonic()
                    continue
                with feed.changed:
                    if feed.closed:
                        return
                    if feed.seq <= seq:
                        feed.changed.wait(KEEPALIVE)
                    idle = feed.seq <= seq and not feed.closed
                if idle:
                    req.send_chunk(b": keepalive\n\n")
        except OSError:  # the page went away
            return
        finally:
            feed.watch(-1)

    def _replay(self, req: _Handler, event_id: str) -> None:
        from terra_cli.webhooks.forward import DEFAULT_TIMEOUT, check_url
        from terra_cli.webhooks.outgoing import resigned
        from terra_cli.webhooks.replay import replay

        try:
            options = json.loads(req.read_body() or b"{}")
        except ValueError:
            req.reply(400, _json({"error": "the request body is not JSON"}))
            return
        if not isinstance(options, dict):
            req.reply(400, _json({"error": "the request body must be a JSON object"}))
            return
        record = self._record(req, event_id)
        if record is None:
            return
        typed = options.get("to")
        target = typed.strip() if isinstance(typed, str) and typed.strip() else None
        target = target or self.config.default_target
        original = bool(options.get("original"))
        secret = None if original else self.config.secret
        if not original and not secret:
            req.reply(
                400,
                _json(
                    {
                        "error": "No signing-secret is configured, so the replay cannot be "
                        "signed afresh.",
                        "hint": "Run 'terra config set signing-secret', or tick "
                        "'original signature' to send the recorded header.",
                    }
                ),
            )
            return
        try:
            if target is None:
                raise TerraError("No replay target.", hint="Type the URL to send it to.")
            url = check_url(target)
            body = record_body(record)
            timestamp = int(time.time())
            if secret is not None:
                for name, value in resigned(recorded_headers(record), body, secret, timestamp):
                    if name.lower() in ("terra-signature", "x-terra-signature"):
                        self.feed.expect_replay(value, event_id)
                        break
            result = replay(record, body, url, secret, timestamp, DEFAULT_TIMEOUT)
        except TerraError as exc:
            req.reply(400, _json({"error": exc.message, "hint": exc.hint}))
            return
        new_id = _listener_id(result.body)
        if new_id is None and not self._is_own(url):
            # Sent past any listener: list it here, so the replay shows as an event.
            new_id = self._list_replay(record, url, result, event_id)
        req.reply(
            200,
            _json(
                {
                    "url": result.url,
                    "status": result.status,
                    "latency_ms": round(result.latency_ms, 1),
                    "error": result.error,
                    "detail": result.detail,
                    "hint": result.hint,
                    "resigned": secret is not None,
                    "new_id": new_id,
                }
            ),
        )

    def _is_own(self, url: str) -> bool:
        own = self.config.own_url
        return own is not None and urlsplit(url).netloc == urlsplit(own).netloc

    def _list_replay(self, record: dict[str, Any], url: str, result: Any, of: str) -> str:
        copy = dict(record)
        copy.update(
            id=new_event_id(),
            received_at=utc_now_iso(time.time()),
            verdict="sent",
            status=result.status or 0,
            forward={
                "url": url,
                "status": result.status,
                "latency_ms": round(result.latency_ms, 1),
                "error": result.error,
            },
            replay_of=of,
        )
        self.feed.keep(copy)
        self.feed.add_record(copy, "replay", replay_of=of)
        return str(copy["id"])


def _listener_id(body: bytes) -> str | None:
    """The event id in a terra listener's answer (`{"received": true, "id": ...}`)."""
    if not body or len(body) > 4096:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if isinstance(doc, dict) and doc.get("received") is True:
        event_id = doc.get("id")
        if isinstance(event_id, str) and event_id.startswith("evt_"):
            return event_id
    return None


_cache: dict[str, bytes] = {}


def _static(name: str) -> bytes:
    """A file of the page, shipped as package data."""
    data = _cache.get(name)
    if data is None:
        data = resources.files("terra_cli.inspector").joinpath("static").joinpath(name).read_bytes()
        _cache[name] = data
    return data


def _json(doc: Any) -> bytes:
    return json.dumps(doc).encode() + b"\n"


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the Inspector; writes each answer in one piece."""

    server: _Server
    _body: bytes | None = None
    protocol_version = "HTTP/1.1"
    server_version = "terra-inspect"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 30  # an idle keep-alive connection is closed after this

    def handle_one_request(self) -> None:
        self._body = None  # a new request on a kept-alive connection
        super().handle_one_request()

    def do_GET(self) -> None:
        self.server.app.handle(self, "GET")

    def do_HEAD(self) -> None:
        self.server.app.handle(self, "HEAD")

    def do_POST(self) -> None:
        self.server.app.handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.app.handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.app.handle(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.app.handle(self, "PATCH")

    def do_OPTIONS(self) -> None:
        self.server.app.handle(self, "OPTIONS")

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a request line holds the token."""

    def read_body(self) -> bytes:
        """The request body (read once; a body over MAX_POST is not read, and the
        connection closes after the answer)."""
        if self._body is not None:
            return self._body
        length = self.headers.get("Content-Length") or "0"
        size = int(length) if length.isdigit() else 0
        if size > MAX_POST:
            self.close_connection = True
            self._body = b"null"
        else:
            self._body = self.rfile.read(size) if size else b""
        return self._body

    def _head(self, status: int, extra: list[tuple[str, str]]) -> bytes:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}".rstrip()]
        lines += [f"{n}: {v}" for n, v in security.SECURITY_HEADERS]
        lines += [f"{n}: {v}" for n, v in extra]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")

    def reply(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        allow: str | None = None,
    ) -> None:
        if self.command == "POST" and status >= 400:
            with contextlib.suppress(OSError, ValueError):
                self.read_body()  # so the next request on the connection starts clean
        extra = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
        if allow:
            extra.append(("Allow", allow))
        if self.close_connection:
            extra.append(("Connection", "close"))
        head = self._head(status, extra)
        payload = head if self.command == "HEAD" else head + body if len(body) < 65536 else None
        with contextlib.suppress(OSError):
            if payload is not None:
                self.wfile.write(payload)
            else:
                self.wfile.write(head)
                self.wfile.write(memoryview(body))

    def start_stream(self) -> None:
        self.close_connection = True
        head = self._head(
            200,
            [
                ("Content-Type", "text/event-stream; charset=utf-8"),
                ("X-Accel-Buffering", "no"),
                ("Connection", "close"),
            ],
        )
        self.wfile.write(head)

    def send_chunk(self, data: bytes) -> None:
        self.wfile.write(data)
