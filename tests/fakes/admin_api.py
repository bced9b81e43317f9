"""A fake of Terra's Admin API (v3) on 127.0.0.1:0, following its published spec.

What it serves, under `/api/v3/admin`:
- the RFC 8628 device flow: `POST /auth/device` and `POST /auth/token` (form
  bodies, the OAuth error envelope). Each poll takes the next word of
  `poll_script` (`authorization_pending`, `slow_down`, `expired_token`,
  `access_denied`, `approve`) and, once the script is used up, answers
  `authorization_pending` until the code is approved (`approve(user_code)`, or
  a GET of the verification URL it hands out, `/cli/verify?code=...`).
  A poll sooner than the interval since the last one is `slow_down` when
  `enforce_interval` is on, and the interval then grows by 5 s, as RFC 8628 says.
- tokens with scopes and an optional audience (`dev_ids`), `GET /me`,
  `DELETE /tokens/self`; `GET /environments`, `GET /environments/{dev_id}`;
- destinations: list (paged), create (a signing secret in the 201 only),
  patch, delete (204; `dry_run=true` previews);
- webhook-events: a keyset-paged list with `outcome`, `since`, `limit`,
  `cursor`; one event; its stored payload (`payloads:read`).
- problem+json errors with `code` (401 unauthorized, 403 scope_missing naming
  the scope, 404 dev_id_not_found, 409 idempotency_key_reuse); Idempotency-Key
  replays the stored answer for the same key and body.
`deliver(dev_id, payload)` plays Terra: it signs the payload with each active
destination's secret, POSTs it there, and records the outcome as an event.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from terra_cli.webhooks.outgoing import event_headers

PREFIX = "/api/v3/admin"
ADMIN_SCOPES = frozenset(
    {
        "account:read",
        "account:write",
        "destinations:read",
        "destinations:write",
        "events:read",
        "events:write",
        "payloads:read",
        "connections:read",
        "keys:read",
        "tokens:admin",
    }
)
DATA_SCOPES = frozenset({"data:read", "users:read"})  # data-plane names: refused


@dataclass
class Token:
    value: str
    scopes: list[str]
    dev_ids: list[str] | None = None
    token_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    name: str = "terra-cli on test-host"
    revoked: bool = False


@dataclass
class Device:
    device_code: str
    user_code: str
    client_id: str
    scopes: list[str]
    dev_ids: list[str] | None
    interval: float
    approved: bool = False
    denied: bool = False
    last_poll: float | None = None
    polls: list[str] = field(default_factory=list)


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    query: dict[str, str]


class FakeAdmin:
    """The fake's state and its server; start() binds 127.0.0.1:0."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, Token] = {}
        self.devices: dict[str, Device] = {}
        self.environments: dict[str, dict[str, Any]] = {}
        self.destinations: dict[str, list[dict[str, Any]]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.payloads: dict[tuple[str, str], Any] = {}
        self.idempotency: dict[tuple[str, str, str], tuple[str, int, Any]] = {}
        self.seen: list[Seen] = []
        self.poll_script: list[str] = []
        self.interval: float | None = 1  # None: leave `interval` out of the device answer
        self.expires_in = 900
        self.enforce_interval = False
        self.grant_scopes: list[str] | None = None  # what approval grants (default: asked)
        self.max_page = 100  # the largest page it serves, whatever `limit` asks
        # Statuses to answer first, one per request, as problem+json echoing the token
        # (a careless server): 503 and 429 carry Retry-After: 0.
        self.fail_next: list[int] = []
        self._next_id = 1937255512398764032
        self.server: ThreadingHTTPServer | None = None
        self.port = 0

    # -- set-up helpers ------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIX}"

    def add_environment(self, dev_id: str, name: str, billable: bool = False) -> None:
        self.environments[dev_id] = {
            "dev_id": dev_id,
            "name": name,
            "label": name.lower(),
            "active": True,
            "billable": billable,
            "profile": {"dev_id": dev_id, "name": name, "billable": billable},
        }
        self.destinations.setdefault(dev_id, [])
        self.events.setdefault(dev_id, [])

    def mint(self, scopes: list[str], dev_ids: list[str] | None = None) -> str:
        value = "terra_at_" + secrets.token_urlsafe(24)
        self.tokens[value] = Token(value, list(scopes), dev_ids)
        return value

    def add_destination(self, dev_id: str, url: str, active: bool = True) -> dict[str, Any]:
        """A destination someone else made (the dashboard, a teammate)."""
        with self.lock:
            return self._new_destination(dev_id, {"url": url, "active": active})

    def approve(self, user_code: str) -> bool:
        with self.lock:
            for device in self.devices.values():
                if device.user_code == user_code:
                    device.approved = True
                    return True
        return False

    def deny(self, user_code: str) -> None:
        with self.lock:
            for device in self.devices.values():
                if device.user_code == user_code:
                    device.denied = True

    def requests(self, method: str, contains: str = "") -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.method == method and contains in s.path]

    def _new_destination(self, dev_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        item = {
            "id": str(self._next_id),
            "type": body.get("type") or "webhook",
            "url": body["url"],
            "active": bool(body.get("active", True)),
            "event_types": body.get("event_types"),
            "signing_secret": secrets.token_hex(24),
        }
        self.destinations.setdefault(dev_id, []).append(item)
        return item

    # -- playing Terra -----------------------------------------------------------

    def deliver(self, dev_id: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        """Sign and POST `payload` to every active destination; record each delivery."""
        body = json.dumps(payload).encode()
        with self.lock:
            targets = [dict(d) for d in self.destinations.get(dev_id, []) if d["active"]]
        out = []
        for dest in targets:
            headers = event_headers(
                body, dest["signing_secret"], int(time.time()), str(uuid.uuid4())
            )
            started = time.monotonic()
            status = 0
            try:
                parts = urlsplit(dest["url"])
                conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
                try:
                    conn.request("POST", parts.path or "/", body=body, headers=dict(headers))
                    status = conn.getresponse().status
                finally:
                    conn.close()
            except OSError:
                status = 0
            event = self.record_event(
                dev_id, payload, http_status=status, elapsed=time.monotonic() - started
            )
            out.append({"destination": dest["id"], "status": status, "event": event})
        return out

    def record_event(
        self,
        dev_id: str,
        payload: dict[str, Any],
        *,
        http_status: int,
        elapsed: float = 0.1,
        sent_at: str | None = None,
    ) -> dict[str, Any]:
        """Add one delivery to the record, with its stored payload."""
        event_id = str(uuid.uuid4())
        user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
        record = {
            "event_id": event_id,
            "sent_at": sent_at
            or time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{len(self.seen) % 1000:03d}Z",
            "data_type": payload.get("type"),
            "provider": str((user or {}).get("provider") or "").lower() or None,
            "destination_type": "webhook",
            "http_status": http_status,
            "response_time_ms": int(elapsed * 1000),
            "bytes": len(json.dumps(payload)),
            "connection_id": "1937251889234671616",
        }
        with self.lock:
            self.events.setdefault(dev_id, []).append(record)
            self.payloads[(dev_id, event_id)] = payload
        return record

    # -- the server ----------------------------------------------------------------

    def start(self) -> FakeAdmin:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                seen = Seen(
                    self.command,
                    parts.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    raw,
                    query,
                )
                with fake.lock:
                    fake.seen.append(seen)
                    failing = fake.fail_next.pop(0) if fake.fail_next else None
                extra: list[tuple[str, str]] = []
                if failing is not None:
                    echoed = seen.headers.get("authorization", "")
                    status, body, ctype = _problem(
                        failing,
                        "service_unavailable" if failing >= 500 else "rate_limited",
                        f"try again later (you sent {echoed})",
                    )
                    if failing in (429, 503):
                        extra.append(("Retry-After", "0"))
                else:
                    status, body, ctype = fake.route(seen)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", ctype)
                self.send_header("Cache-Control", "no-store")
                for name, value in extra:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    # -- routing -------------------------------------------------------------------

    def route(self, req: Seen) -> tuple[int, Any, str]:
        path = req.path
        if path == "/cli/verify":  # the dashboard page the user opens
            ok = self.approve(req.query.get("code", ""))
            return (200 if ok else 404), {"approved": ok}, "application/json"
        if not path.startswith(PREFIX):
            return _problem(404, "not_found", "no such route")
        path = path[len(PREFIX) :]
        if path == "/auth/device" and req.method == "POST":
            return self._device(req)
        if path == "/auth/token" and req.method == "POST":
            return self._token(req)
        token = self._auth(req)
        if isinstance(token, tuple):
            return token
        if path == "/me" and req.method == "GET":
            return 200, self._me(token), "application/json"
        if path == "/tokens/self" and req.method == "DELETE":
            token.revoked = True
            return 204, None, ""
        if path == "/environments" and req.method == "GET":
            missing = _need(token, "account:read")
            if missing:
                return missing
            envs = [
                e
                for e in self.environments.values()
                if token.dev_ids is None or e["dev_id"] in token.dev_ids
            ]
            return self._paged(envs, req.query)
        words = [unquote(w) for w in path.strip("/").split("/")]
        if len(words) < 2 or words[0] != "environments":
            return _problem(404, "not_found", "no such route")
        dev_id = words[1]
        if dev_id not in self.environments or (
            token.dev_ids is not None and dev_id not in token.dev_ids
        ):
            return _problem(404, "dev_id_not_found", "dev-id not found")
        rest = words[2:]
        if not rest and req.method == "GET":
            return _need(token, "account:read") or (
                200,
                self.environments[dev_id],
                "application/json",
            )
        if rest[:2] == ["unified-api", "destinations"]:
            return self._destinations(req, token, dev_id, rest[2:])
        if rest[:1] == ["webhook-events"]:
            return self._events(req, token, dev_id, rest[1:])
        return _problem(404, "not_found", "no such route")

    def _auth(self, req: Seen) -> Token | tuple[int, Any, str]:
        header = req.headers.get("authorization", "")
        value = header[7:] if header.startswith("Bearer ") else ""
        token = self.tokens.get(value)
        if token is None or token.revoked:
            return _problem(
                401,
                "unauthorized",
                "unknown access token",
                "Obtain a new one via the device flow or your dashboard.",
            )
        return token

    def _me(self, token: Token) -> dict[str, Any]:
        user = None
        if "account:read" in token.scopes:
            user = {"user_id": "usr_8f2a1c", "email": "dev@example.test", "name": "Dev Example"}
        return {
            "token_id": token.token_id,
            "kind": "admin",
            "customer_id": "cus_9f3k2m",
            "scopes": token.scopes,
            "dev_ids": token.dev_ids,
            "name": token.name,
            "created_via": "device",
            "expires_at": "2099-01-01T00:00:00Z",
            "grant_anchor_at": "2026-01-01T00:00:00Z",
            "last_used_at": None,
            "user": user,
            "staff": False,
        }

    # -- device flow ---------------------------------------------------------------

    def _device(self, req: Seen) -> tuple[int, Any, str]:
        form = {k: v[-1] for k, v in parse_qs(req.body.decode()).items()}
        if not form.get("client_id"):
            return _oauth(400, "invalid_request", "client_id is required")
        scopes = form.get("scope", "account:read account:write").split()
        bad = [s for s in scopes if s not in ADMIN_SCOPES]
        if bad:
            return _oauth(
                400, "invalid_scope", f"not grantable on the admin plane: {' '.join(bad)}"
            )
        dev_ids = form.get("requested_dev_ids", "").split() or None
        if dev_ids and "account:read" in scopes:
            return _oauth(
                400, "invalid_scope", "account-level scopes cannot be combined with an audience"
            )
        device = Device(
            device_code=secrets.token_urlsafe(32),
            user_code=f"TERRA-{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}",
            client_id=form["client_id"],
            scopes=scopes,
            dev_ids=dev_ids,
            interval=self.interval if self.interval is not None else 5,
        )
        with self.lock:
            self.devices[device.device_code] = device
        uri = f"http://127.0.0.1:{self.port}/cli/verify"
        body: dict[str, Any] = {
            "device_code": device.device_code,
            "user_code": device.user_code,
            "verification_uri": uri,
            "verification_uri_complete": f"{uri}?code={device.user_code}",
            "expires_in": self.expires_in,
        }
        if self.interval is not None:
            body["interval"] = self.interval
        return 200, body, "application/json"

    def _token(self, req: Seen) -> tuple[int, Any, str]:
        form = {k: v[-1] for k, v in parse_qs(req.body.decode()).items()}
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code":
            return _oauth(400, "unsupported_grant_type", "grant_type must be the device code grant")
        with self.lock:
            device = self.devices.get(form.get("device_code", ""))
            if device is None or device.client_id != form.get("client_id"):
                return _oauth(400, "invalid_grant", "unknown device_code for this client")
            now = time.monotonic()
            too_soon = (
                self.enforce_interval
                and device.last_poll is not None
                and now - device.last_poll < device.interval
            )
            device.last_poll = now
            word = self.poll_script.pop(0) if self.poll_script else None
            if too_soon and word is None:
                word = "slow_down"
            if word == "approve":
                device.approved = True
                word = None
            if word is None:
                if device.denied:
                    word = "access_denied"
                elif not device.approved:
                    word = "authorization_pending"
            if word == "slow_down":
                device.interval += 5
            device.polls.append(word or "token")
            if word is not None:
                return _oauth(400, word, word.replace("_", " "))
            del self.devices[device.device_code]
        granted = self.grant_scopes if self.grant_scopes is not None else device.scopes
        value = self.mint(granted, device.dev_ids)
        return (
            200,
            {
                "access_token": value,
                "token_type": "Bearer",
                "expires_in": 2592000,
                "scope": " ".join(granted),
                "token_id": self.tokens[value].token_id,
            },
            "application/json",
        )

    # -- destinations ------------------------------------------------------------------

    def _destinations(
        self, req: Seen, token: Token, dev_id: str, rest: list[str]
    ) -> tuple[int, Any, str]:
        if not rest and req.method == "GET":
            missing = _need(token, "destinations:read")
            if missing:
                return missing
            with self.lock:
                items = [_summary(d) for d in self.destinations[dev_id]]
            return self._paged(items, req.query)
        missing = _need(token, "destinations:write")
        if missing:
            return missing
        if not rest and req.method == "POST":
            return self._idempotent(req, token, lambda: self._create(req, dev_id))
        if len(rest) == 1 and req.method in ("DELETE", "PATCH"):
            with self.lock:
                found = [d for d in self.destinations[dev_id] if d["id"] == rest[0]]
                if not found:
                    return _problem(404, "not_found", "destination not found")
                dest = found[0]
                if req.method == "PATCH":
                    body = json.loads(req.body or b"{}")
                    if "url" in body:
                        return _problem(400, "validation_failed", "url cannot be changed")
                    for key in ("active", "event_types"):
                        if key in body:
                            dest[key] = body[key]
                    return 200, _summary(dest), "application/json"
                if req.query.get("dry_run") == "true":
                    preview = {"id": dest["id"], "type": dest["type"], "url": dest["url"]}
                    return (
                        200,
                        {"dry_run": True, "would": "delete", "preview": preview},
                        "application/json",
                    )
                self.destinations[dev_id].remove(dest)
            return 204, None, ""
        return _problem(404, "not_found", "no such route")

    def _create(self, req: Seen, dev_id: str) -> tuple[int, Any, str]:
        try:
            body = json.loads(req.body)
        except ValueError:
            return _problem(400, "validation_failed", "body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            return _problem(400, "validation_failed", "url is required", errors=["url: required"])
        with self.lock:
            item = self._new_destination(dev_id, body)
        return 201, dict(item), "application/json"

    def _idempotent(self, req: Seen, token: Token, make: Any) -> tuple[int, Any, str]:
        key = req.headers.get("idempotency-key")
        if not key:
            result: tuple[int, Any, str] = make()
            return result
        slot = (token.value, req.path, key)
        digest = hashlib.sha256(req.body).hexdigest()
        with self.lock:
            stored = self.idempotency.get(slot)
        if stored is not None:
            if stored[0] != digest:
                return _problem(
                    409, "idempotency_key_reuse", "Idempotency-Key reused with a different body"
                )
            return stored[1], stored[2], "application/json"
        status, body, ctype = make()
        if 200 <= status < 300:
            with self.lock:
                self.idempotency[slot] = (digest, status, body)
        return status, body, ctype

    # -- delivery record -------------------------------------------------------------------

    def _events(
        self, req: Seen, token: Token, dev_id: str, rest: list[str]
    ) -> tuple[int, Any, str]:
        if req.method != "GET":
            return _problem(404, "not_found", "no such route")
        if len(rest) == 2 and rest[1] == "payload":
            missing = _need(token, "payloads:read")
            if missing:
                return missing
            with self.lock:
                payload = self.payloads.get((dev_id, rest[0]))
            if payload is None:
                return _problem(404, "not_found", "payload not found")
            return 200, payload, "application/json"
        missing = _need(token, "events:read")
        if missing:
            return missing
        with self.lock:
            rows = sorted(
                self.events[dev_id], key=lambda e: (e["sent_at"], e["event_id"]), reverse=True
            )
        if len(rest) == 1:
            found = [e for e in rows if e["event_id"] == rest[0]]
            return (
                (200, found[0], "application/json")
                if found
                else _problem(404, "not_found", "event not found")
            )
        outcome = req.query.get("outcome")
        if outcome not in (None, "delivered", "failed"):
            return _problem(400, "validation_failed", "outcome must be delivered or failed")
        if outcome == "failed":
            rows = [e for e in rows if not 200 <= e["http_status"] < 300]
        elif outcome == "delivered":
            rows = [e for e in rows if 200 <= e["http_status"] < 300]
        since = req.query.get("since")
        if since:
            rows = [e for e in rows if e["sent_at"] >= since]
        return self._paged(rows, req.query)

    def _paged(self, items: list[dict[str, Any]], query: dict[str, str]) -> tuple[int, Any, str]:
        """A keyset-style page: the cursor is an opaque offset."""
        try:
            limit = min(int(query.get("limit") or 2), self.max_page)
        except ValueError:
            return _problem(400, "validation_failed", "limit must be an integer")
        start = 0
        if query.get("cursor"):
            try:
                start = int(base64.urlsafe_b64decode(query["cursor"].encode()).decode())
            except (ValueError, UnicodeDecodeError):
                return _problem(400, "validation_failed", "bad cursor")
        page = items[start : start + limit]
        more = start + limit < len(items)
        cursor = base64.urlsafe_b64encode(str(start + limit).encode()).decode() if more else None
        return 200, {"data": page, "has_more": more, "next_cursor": cursor}, "application/json"


def _summary(dest: dict[str, Any]) -> dict[str, Any]:
    """A listed destination: never its secret."""
    return {k: v for k, v in dest.items() if k != "signing_secret"}


def _need(token: Token, scope: str) -> tuple[int, Any, str] | None:
    if scope in token.scopes:
        return None
    return _problem(
        403,
        "scope_missing",
        f"token is missing the required scope: {scope}",
        f"Request a new token that includes {scope} (device flow or dashboard) "
        "and approve the additional scope.",
    )


def _problem(
    status: int,
    code: str,
    detail: str,
    remediation: str | None = None,
    errors: list[str] | None = None,
) -> tuple[int, Any, str]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": code.replace("_", " "),
        "detail": detail,
        "code": code,
    }
    if remediation:
        body["remediation"] = remediation
    if errors:
        body["errors"] = errors
    return status, body, "application/problem+json"


def _oauth(status: int, error: str, description: str) -> tuple[int, Any, str]:
    return status, {"error": error, "error_description": description}, "application/json"


@contextlib.contextmanager
def running() -> Iterator[FakeAdmin]:
    fake = FakeAdmin().start()
    try:
        yield fake
    finally:
        fake.stop()
