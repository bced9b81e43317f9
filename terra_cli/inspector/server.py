"""The inspector's HTTP side: its own loopback port, never the webhook port.

The page is served by the receiver's event loop, on a second listening socket
(`terra inspect`: the same loop with this socket alone), so the project has
one HTTP edge: the receiver parses every request, and hands the page's to
`Inspector.handle`, a pure function of method, target, headers and body. The
page's files are answered on the loop; everything that can take time (finding
a 30 MB record, parsing it for charts, a replay, a stream's backlog) on a
worker thread, so a webhook's answer never waits for the page. The live
stream is a connection the loop keeps open and writes to when the feed has
news, at most every STREAM_GAP. It faces 127.0.0.1 only, and every request
passes `security`: Host first, then the token.

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

import json
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from terra_cli.errors import LocalResourceError, TerraError
from terra_cli.inspector import security
from terra_cli.inspector.feed import Feed
from terra_cli.inspector.reasons import verdict_reason
from terra_cli.inspector.series import charts
from terra_cli.webhooks.answers import Reply, Stream
from terra_cli.webhooks.events import decode_body, summarize
from terra_cli.webhooks.replay import recorded_headers
from terra_cli.webhooks.store import new_event_id, record_body, utc_now_iso

if TYPE_CHECKING:
    from terra_cli.webhooks.receiver import Receiver

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
_QUICK = frozenset({"/", "/api/info", *_STATIC})  # answered on the loop itself


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


def for_listen(
    feed: Feed,
    port: int,
    webhook_port: int,
    secret: str | None,
    forward_to: str | None,
    tolerance: float,
) -> Inspector:
    """Bind the page for a `terra listen` run, before the receiver (so nothing can be
    printed before the ready record), never on the webhook's port; `attach` it to the
    receiver before that starts, and it is served by the receiver's loop. Call `point_at` with
    the listener's URL once it is bound: Replay sends there, and the listener judges,
    logs and forwards the replay like any delivery, so it shows as a new event."""
    inspector = Inspector(
        feed,
        InspectorConfig(
            port=port, mode="listen", secret=secret, forward_to=forward_to, tolerance=tolerance
        ),
    )
    inspector.bind(avoid=webhook_port)
    return inspector


class _Bound:
    """The inspector's listening socket, bound before anything is served."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        host, port = sock.getsockname()[:2]
        self.server_address = (str(host), int(port))
        self.server_port = int(port)


def bind(port: int, avoid: int = 0) -> _Bound:
    """Listen on 127.0.0.1:`port`, or the next free port above it (0: any free port);
    never on `avoid` (the webhook port)."""
    last: OSError | None = None
    tries = 1 if port == 0 else PORT_TRIES
    for candidate in range(port, min(port + tries, 65536)):
        if candidate and candidate == avoid:
            continue
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", candidate))
            sock.listen(64)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        return _Bound(sock)
    raise LocalResourceError(
        f"Cannot open the inspector on 127.0.0.1:{port}"
        + (f" or the {tries - 1} ports after it" if tries > 1 else "")
        + f": {getattr(last, 'strerror', None) or last}.",
        hint="Choose another with --inspect-port (0 picks a free one), or --no-inspect.",
    )


class Inspector:
    """The page: bind it, serve it on a receiver's loop (or a loop of its own), stop it.

    Its requests are parsed by the receiver's loop and answered by `handle`, which is
    pure: method, target, headers and body in, a `Reply` or a live `Stream` out.
    """

    max_body = MAX_POST

    def __init__(self, feed: Feed, config: InspectorConfig, token: str | None = None) -> None:
        self.feed = feed
        self.config = config
        self.token = token or security.new_token()
        self._server: _Bound | None = None
        self._loop: Receiver | None = None  # the loop of its own (`terra inspect`)
        self._page: bytes | None = None
        self._details: dict[str, bytes] = {}  # the last few detail answers, by event id
        self._lock = threading.Lock()

    def bind(self, avoid: int = 0) -> None:
        """Take the port (exit 9 when nothing is free; never port `avoid`)."""
        self._server = bind(self.config.port, avoid)

    def attach(self, receiver: Receiver) -> None:
        """Be served by `receiver`'s loop on this socket (before the receiver starts)."""
        assert self._server is not None, "bind() first"
        receiver.add_listener(self._server.sock, self)
        self.feed.on_news = receiver.notify

    def start(self, avoid: int = 0) -> None:
        """Bind, then serve on a loop with this socket alone (`terra inspect`)."""
        from terra_cli.webhooks.receiver import serve_only

        if self._server is None:
            self.bind(avoid)
        assert self._server is not None
        self._loop = serve_only(self._server.sock, self)
        self.feed.on_news = self._loop.notify

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
        if self._loop is not None:
            self._loop.stop(grace=0.2)
            self._loop = None
        if self._server is not None:
            self._server.sock.close()  # closed already when a loop served it

    # -- requests ---------------------------------------------------------------------

    def inline(self, method: str, target: str) -> bool:
        """The page's files and info are quick: answered on the loop; the rest (a record
        found in the log, a 30 MB body, a replay, the stream's backlog) on a worker."""
        return method in ("GET", "HEAD") and target.split("?", 1)[0] in _QUICK

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Reply | Stream:
        """Host check, token check, then the route (`headers` by lower-case name; `body`
        None when it was over MAX_POST and not read)."""
        port = self.port
        if not security.host_ok(headers.get("host"), port):
            return _reply(403, _json({"error": "wrong Host: open the URL terra printed"}))
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        if method == "POST":
            given = headers.get(security.TOKEN_HEADER)
        else:
            given = security.query_token(query)
        if not security.token_ok(given, self.token):
            return _reply(
                403, _json({"error": "missing or wrong token: open the URL terra printed"})
            )
        path = parts.path
        if method == "POST":
            if not security.origin_ok(headers.get("origin"), port):
                return _reply(403, _json({"error": "cross-origin request refused"}))
            if path.startswith("/api/events/") and path.endswith("/replay"):
                answer = self._replay(body, path[len("/api/events/") : -len("/replay")])
                return replace(answer, close=True) if body is None else answer
            return _reply(405, _json({"error": "nothing to POST here"}), allow="GET")
        if method not in ("GET", "HEAD"):
            return _reply(405, _json({"error": "method not allowed"}), allow="GET, POST")
        if path.endswith("/replay"):
            return _reply(405, _json({"error": "replay is a POST with the token"}), allow="POST")
        if path == "/":
            return _reply(200, self._index(), "text/html; charset=utf-8")
        if path in _STATIC:
            name, ctype = _STATIC[path]
            return _reply(200, _static(name), ctype)
        if path == "/api/info":
            return _reply(200, _json(self._info()))
        if path == "/api/stream":
            if method == "HEAD":
                return _reply(200, b"", "text/event-stream; charset=utf-8")
            return self._stream(headers, query)
        if path.startswith("/api/events/") and path.endswith("/body"):
            return self._body(path[len("/api/events/") : -len("/body")])
        if path.startswith("/api/events/"):
            return self._detail(path[len("/api/events/") :])
        return _reply(404, _json({"error": "not found"}))

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

    def _record(self, event_id: str) -> dict[str, Any] | Reply:
        """The event's full record, or the answer saying why there is none."""
        record = self.feed.record(event_id) if event_id.startswith("evt_") else None
        if record is None:
            if self.feed.knows(event_id):
                return _reply(410, _json({"error": "this event's record is no longer kept"}))
            return _reply(404, _json({"error": f"no event {event_id}"}))
        return record

    def _detail(self, event_id: str) -> Reply:
        cached = self._details.get(event_id)
        if cached is not None:  # parsing a 30 MB body again would cost the loop GIL time
            return _reply(200, cached)
        record = self._record(event_id)
        if isinstance(record, Reply):
            return record
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
        return _reply(200, answer)

    def _body(self, event_id: str) -> Reply:
        record = self._record(event_id)
        if isinstance(record, Reply):
            return record
        body = record_body(record)
        decoded = decode_body(body, recorded_headers(record))
        data = decoded if decoded is not None else body
        try:
            data.decode("utf-8")
            ctype = "text/plain; charset=utf-8"
        except UnicodeDecodeError:
            ctype = "application/octet-stream"
        return _reply(200, data, ctype)

    def _stream(self, headers: Mapping[str, str], query: dict[str, list[str]]) -> Stream:
        """Server-sent events: entries after Last-Event-ID (or the backlog), then live."""
        last = headers.get("last-event-id") or (query.get("since") or [""])[0]
        seq = int(last) if last.isdigit() else 0
        return _Live(self.feed, seq)

    def _replay(self, raw: bytes | None, event_id: str) -> Reply:
        from terra_cli.webhooks.forward import DEFAULT_TIMEOUT, check_url
        from terra_cli.webhooks.outgoing import resigned
        from terra_cli.webhooks.replay import replay

        try:
            options = json.loads(b"null" if raw is None else raw or b"{}")
        except ValueError:
            return _reply(400, _json({"error": "the request body is not JSON"}))
        if not isinstance(options, dict):
            return _reply(400, _json({"error": "the request body must be a JSON object"}))
        record = self._record(event_id)
        if isinstance(record, Reply):
            return record
        typed = options.get("to")
        target = typed.strip() if isinstance(typed, str) and typed.strip() else None
        target = target or self.config.default_target
        original = bool(options.get("original"))
        secret = None if original else self.config.secret
        if not original and not secret:
            return _reply(
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
            return _reply(400, _json({"error": exc.message, "hint": exc.hint}))
        new_id = _listener_id(result.body)
        if new_id is None and not self._is_own(url):
            # Sent past any listener: list it here, so the replay shows as an event.
            new_id = self._list_replay(record, url, result, event_id)
        return _reply(
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


def _reply(
    status: int,
    body: bytes,
    ctype: str = "application/json",
    allow: str | None = None,
) -> Reply:
    """An answer with the security headers every answer of the page carries."""
    headers = [*security.SECURITY_HEADERS, ("Content-Type", ctype)]
    if allow:
        headers.append(("Allow", allow))
    return Reply(status, body, headers)


class _Live:
    """One page's live stream: the backlog first, then each new entry, written at most
    once per STREAM_GAP (a lone event at once, a burst in a few large writes), a comment
    every KEEPALIVE when idle; over when the feed closes. Polled by the receiver's loop."""

    def __init__(self, feed: Feed, seq: int) -> None:
        self.headers = [
            *security.SECURITY_HEADERS,
            ("Content-Type", "text/event-stream; charset=utf-8"),
            ("X-Accel-Buffering", "no"),
        ]
        self.feed = feed
        self.ended = False
        feed.watch(+1)
        self._open = True
        batch = feed.after(seq, BACKLOG)  # made on a worker thread, not the loop
        self.seq = batch[-1][0] if batch else seq
        self.first = b"retry: 2000\n\n" + _events(batch)
        now = time.monotonic()
        self.sent_at = now if batch else 0.0
        self.spoke_at = now
        self.due = 0.0

    def poll(self, now: float) -> bytes | None:
        feed = self.feed
        if feed.closed:
            self.ended = True
            return None
        self.due = 0.0
        if feed.seq > self.seq:
            if now - self.sent_at < STREAM_GAP:
                self.due = self.sent_at + STREAM_GAP  # news held back: ask again then
                return None
            batch = feed.after(self.seq, 100_000)
            if batch:
                self.seq = batch[-1][0]
                self.sent_at = self.spoke_at = now
                return _events(batch)
        if now - self.spoke_at >= KEEPALIVE:
            self.spoke_at = now
            return b": keepalive\n\n"
        return None

    def close(self) -> None:
        if self._open:
            self._open = False
            self.feed.watch(-1)


def _events(batch: list[tuple[int, bytes]]) -> bytes:
    out = bytearray()
    for number, data in batch:
        out += b"id: %d\ndata: " % number + data + b"\n\n"
    return bytes(out)
