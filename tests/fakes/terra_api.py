"""A fake Terra API: a real HTTP server on 127.0.0.1 (port 0) in a thread.

It records every request (method, path, query, headers, body) and serves every
endpoint terra calls. Each route answers with Terra-shaped success by default;
tests switch a route's behaviour with `fake.queue(route, reply, ...)` (used
once each, in order) or `fake.always(route, reply)`. Credentials are checked
like Terra does: a wrong or missing `dev-id`/`x-api-key` gets a problem+json 401.

Paths: the REST API lives under `/v2` (`fake.api_url`), the access host under
`/access` (`fake.access_url`), so one server plays both hosts.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEV_ID = "testing-fake-dev-id-7f3a"
API_KEY = "fake-api-key-9b1c2d3e4f5a6b7c8d9e"
WIDGET_URL = "https://widget.tryterra.co/session/344d475f-296a-489a-a88c-54183671dafd"
SESSION_ID = "23dc2540-7139-44c6-8158-f81196e2cf2e"
REFERENCE = "5a3c2540-7139-44c6-8158-f81196e2cf2e"

# Route names -> (method, path).
ROUTES = {
    "widget": ("POST", "/access/api/widget/session"),
    "spec_widget": ("POST", "/access/widget/api/session"),
    "legacy_widget": ("POST", "/v2/auth/generateWidgetSession"),
    "authenticate": ("POST", "/v2/auth/authenticateUser"),
    "deauth": ("DELETE", "/v2/auth/deauthenticateUser"),
    "user_info": ("GET", "/v2/userInfo"),
    "subscriptions": ("GET", "/v2/subscriptions"),
    "integrations": ("GET", "/v2/integrations/detailed"),
    **{
        t: ("GET", f"/v2/{t}")
        for t in ("activity", "body", "daily", "sleep", "nutrition", "menstruation", "athlete")
    },
}


@dataclass(frozen=True)
class Recorded:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def route(self) -> str | None:
        for name, (method, path) in ROUTES.items():
            if (method, path) == (self.method, self.path):
                return name
        return None


@dataclass(frozen=True)
class Reply:
    """A scripted answer: status, body, headers, an optional delay, or a dropped connection."""

    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False
    content_type: str = "application/json"

    @classmethod
    def json(cls, status: int, obj: Any, **headers: str) -> Reply:
        return cls(
            status, json.dumps(obj).encode(), {k.replace("_", "-"): v for k, v in headers.items()}
        )

    @classmethod
    def legacy_error(cls, status: int, message: str) -> Reply:
        """The `{status: "error", message}` shape of the older spec."""
        return cls.json(status, {"status": "error", "message": message})

    @classmethod
    def problem(cls, status: int, title: str, detail: str, instance: str = "/") -> Reply:
        """RFC 9457 problem+json, as the 2026 spec answers errors."""
        body = {"type": "about:blank", "title": title, "instance": instance, "detail": detail}
        return cls(status, json.dumps(body).encode(), {}, content_type="application/problem+json")

    @classmethod
    def rate_limited(cls, retry_after: int | None = None, rule: str = "r2") -> Reply:
        headers = {"X-Terra-RateLimit-Rule": rule}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        return cls(429, json.dumps({"detail": "rate limit exceeded"}).encode(), headers)

    @classmethod
    def html_500(cls) -> Reply:
        page = (
            b"<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head>"
            b"<body><h1>Internal Server Error</h1></body></html>"
        )
        return cls(500, page, {}, content_type="text/html; charset=utf-8")

    @classmethod
    def slow(cls, seconds: float) -> Reply:
        """The route's normal success, after `seconds`."""
        return cls(-1, None, {}, delay=seconds)

    @classmethod
    def dropped(cls) -> Reply:
        """Close the connection without answering."""
        return cls(close=True)

    @classmethod
    def raw(cls, status: int, text: str, content_type: str = "text/plain") -> Reply:
        return cls(status, text.encode(), {}, content_type=content_type)


def make_user(i: int, provider: str = "GARMIN", reference_id: str | None = None) -> dict[str, Any]:
    return {
        "user_id": str(uuid.UUID(int=i + 1)),
        "provider": provider,
        "reference_id": reference_id if reference_id is not None else f"ref-{i}",
        "active": True,
        "scopes": "activity,sleep,daily",
        "last_webhook_update": "2026-11-20T11:00:00Z",
        "created_at": "2026-11-01T09:30:00Z",
    }


class FakeTerra:
    """The server plus its state: recorded requests, scripted replies, users."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.users: list[dict[str, Any]] = [make_user(0), make_user(1, "FITBIT", "alice")]
        self.integrations: list[dict[str, Any]] = [
            {
                "provider": "GARMIN",
                "name": "Garmin",
                "icon": "https://x/g.png",
                "setup": "default",
                "enabled": True,
                "types": {
                    "activity": True,
                    "body": True,
                    "nutrition": False,
                    "daily": True,
                    "sleep": True,
                    "menstruation": False,
                },
            },
            {
                "provider": "OURA",
                "name": "Oura",
                "icon": "https://x/o.png",
                "setup": "default",
                "enabled": False,
                "types": {
                    "activity": True,
                    "body": False,
                    "nutrition": False,
                    "daily": True,
                    "sleep": True,
                    "menstruation": False,
                },
            },
        ]
        self.max_per_page = 500  # Terra's page size cap; lower it to force several pages
        self.dev_id = DEV_ID
        self.api_key = API_KEY
        self._scripts: dict[str, list[Reply]] = {}
        self._always: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------

    def queue(self, route: str, *replies: Reply) -> None:
        """Answer the next requests on `route` with these replies, in order."""
        assert route in ROUTES, route
        with self._lock:
            self._scripts.setdefault(route, []).extend(replies)

    def always(self, route: str, reply: Reply) -> None:
        """Answer every request on `route` with `reply`."""
        assert route in ROUTES, route
        with self._lock:
            self._always[route] = reply

    def calls(self, route: str) -> list[Recorded]:
        return [r for r in self.requests if r.route == route]

    def env(self, **extra: str) -> dict[str, str]:
        """Environment that points terra at this fake with valid credentials, fast retries."""
        env = {
            "TERRA_API_URL": self.api_url,
            "TERRA_ACCESS_URL": self.access_url,
            "TERRA_DEV_ID": self.dev_id,
            "TERRA_API_KEY": self.api_key,
            "TERRA_RETRY_BACKOFF": "0.01",
            "TERRA_TIMEOUT": "5",
            # A proxy configured on the machine must never see the requests to 127.0.0.1.
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
        env.update(extra)
        return env

    @property
    def base(self) -> str:
        assert self._server is not None
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}"

    @property
    def api_url(self) -> str:
        return self.base + "/v2"

    @property
    def access_url(self) -> str:
        return self.base + "/access"

    def _next_reply(self, route: str) -> Reply | None:
        with self._lock:
            script = self._scripts.get(route)
            if script:
                return script.pop(0)
            return self._always.get(route)

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> FakeTerra:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- default behaviour per route -----------------------------------------

    def success(self, route: str, rec: Recorded) -> Reply:
        q = rec.query
        if route in ("widget", "spec_widget", "legacy_widget"):
            return Reply.json(
                200,
                {
                    "session_id": SESSION_ID,
                    "url": WIDGET_URL,
                    "status": "success",
                    "expires_in": 900,
                },
            )
        if route == "integrations":
            return Reply.json(200, {"status": "success", "providers": self.integrations})
        if route == "subscriptions":
            if "page" not in q:
                return Reply.json(200, {"users": self.users})
            page = int(q["page"])
            per_page = min(int(q.get("per_page", "500")), self.max_per_page)
            chunk = self.users[page * per_page : (page + 1) * per_page]
            max_page = max(0, (len(self.users) - 1) // per_page)
            nxt = page + 1 if page < max_page else None
            return Reply.json(200, {"data": {"next": nxt, "max_page": max_page, "results": chunk}})
        if route == "user_info":
            if "user_id" in q:
                for u in self.users:
                    if u["user_id"] == q["user_id"]:
                        return Reply.json(
                            200, {"status": "success", "user": u, "is_authenticated": True}
                        )
                return Reply.legacy_error(404, "User not found")
            matches = [u for u in self.users if u["reference_id"] == q.get("reference_id")]
            return Reply.json(200, matches)
        if route == "deauth":
            if any(u["user_id"] == q.get("user_id") for u in self.users):
                self.users = [u for u in self.users if u["user_id"] != q.get("user_id")]
                return Reply.json(200, {"status": "success"})
            return Reply.legacy_error(404, "User not found")
        if route == "authenticate":
            provider = q.get("resource", "")
            return Reply.json(
                200,
                {
                    "status": "success",
                    "user_id": str(uuid.UUID(int=99)),
                    "auth_url": f"https://auth.example/{provider.lower()}/oauth",
                },
            )
        return self._data(route, rec)

    def _data(self, route: str, rec: Recorded) -> Reply:
        q = rec.query
        user = next((u for u in self.users if u["user_id"] == q.get("user_id")), None)
        if user is None:
            return Reply.legacy_error(404, "User not found")
        if q.get("to_webhook", "true") == "true":
            return Reply.json(
                200,
                {
                    "status": "success",
                    "type": route,
                    "reference": REFERENCE,
                    "trace_id": REFERENCE,
                    "user": user,
                },
                terra_reference=REFERENCE,
            )
        if route == "athlete":
            return Reply.json(
                200,
                {
                    "status": "success",
                    "type": "athlete",
                    "user": user,
                    "athlete": {"first_name": "Ada", "country": "GB"},
                },
            )
        records = [
            {
                "metadata": {
                    "start_time": "2026-11-01T00:00:00+00:00",
                    "end_time": "2026-11-02T00:00:00+00:00",
                    "summary_id": "a1",
                }
            },
            {
                "metadata": {
                    "start_time": "2026-11-02T00:00:00+00:00",
                    "end_time": "2026-11-03T00:00:00+00:00",
                    "summary_id": "a2",
                }
            },
        ]
        return Reply.json(200, {"status": "success", "type": route, "user": user, "data": records})


class _Handler(BaseHTTPRequestHandler):
    owner: FakeTerra
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        rec = Recorded(
            self.command,
            parts.path,
            query,
            {k.lower(): v for k, v in self.headers.items()},
            body,
        )
        fake = self.owner
        with fake._lock:
            fake.requests.append(rec)
        route = rec.route
        if route is None:
            self._send(Reply.problem(404, "not found", f"no route {parts.path}", parts.path))
            return
        reply = fake._next_reply(route)
        if reply is not None and reply.close:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if reply is not None and reply.delay:
            time.sleep(reply.delay)
        authed = rec.headers.get("dev-id") == fake.dev_id and (
            route == "integrations" or rec.headers.get("x-api-key") == fake.api_key
        )
        if reply is None or reply.status == -1:
            if not authed:
                reply = Reply.problem(
                    401, "unauthorized", "dev-id or x-api-key headers are missing", parts.path
                )
            else:
                reply = fake.success(route, rec)
        self._send(reply)

    def _send(self, reply: Reply) -> None:
        body = reply.body or b""
        head = [
            f"HTTP/1.1 {reply.status} {_reason(reply.status)}",
            f"Content-Type: {reply.content_type}",
            f"Content-Length: {len(body)}",
        ]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        try:
            self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            self.wfile.flush()
        except OSError:  # the client gave up (a timeout test): nothing to answer
            self.close_connection = True

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def unused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
