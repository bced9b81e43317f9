"""Webhook handlers like the ones developers write, each able to carry one known mistake.

A real HTTP server on 127.0.0.1:0 (stdlib ThreadingHTTPServer) that verifies
Terra's signature as TERRA-API.md §5 documents (written here with hmac, not
with terra_cli's signer), dedupes on the trace id and processes events by
type. Each mistake flips one of those steps into the bug Terra's guidance
for integrators warns about; the answer's status code is where it shows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from terra_cli.webhooks.samples import EVENT_TYPES

SECRET = "whsec_check_0123456789abcdef"

DATA_TYPES = frozenset(
    {
        "activity",
        "body",
        "daily",
        "sleep",
        "nutrition",
        "menstruation",
        "planned_workout",
        "hormone",
        "health_observation",
    }
)
INFORMATIONAL = frozenset(
    {
        "healthcheck",
        "processing",
        "large_request_processing",
        "large_request_sending",
        "rate_limit_hit",
    }
)

# Each mistake, and the cases of `terra check` it must fail (and no others).
MISTAKES: dict[str, set[str]] = {
    "reserialised-json": {"raw-bytes"},  # verifies json.dumps(json.loads(body))
    "only-x-terra-signature": {"header-names"},  # reads one header name
    "only-terra-signature": {"header-names"},
    "no-mac-check": {"bad-signature"},  # checks the header's presence and time only
    "unsigned-accepted": {"missing-signature"},  # verifies only when a header is there
    "no-time-check": {"stale"},
    "no-verification": {"bad-signature", "missing-signature", "stale"},
    "throws-on-unknown-type": {"unknown-type"},
    "throws-on-informational": {"informational", "chunks", "unknown-type"},
    "athlete-data-array": {"athlete-shape"},
    "falsy-activity-type": {"activity-type-zero"},
    "first-record": {"empty-data"},  # data[0]
    "user-required": {"missing-user"},
    "dedupe-on-reference": {"retry", "chunks"},  # a unique constraint on terra-reference
    "refuses-retry": {"retry"},  # 409 for a trace id it has seen
    "slow-on-big": {"deadline"},  # sleeps past --timeout on big bodies
}


@dataclass
class Seen:
    """One request the handler got, and what it answered."""

    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Handler:
    """A running handler: its mistake, what it has seen, and where it listens."""

    mistake: str | None = None
    secret: str = SECRET
    slow_seconds: float = 1.0
    big_bytes: int = 512 * 1024
    port: int = 0
    seen: list[Seen] = field(default_factory=list)
    traces: set[str] = field(default_factory=set)
    references: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/terra"

    # ------------------------------------------------------------ verification

    def _signature(self, headers: dict[str, str]) -> str | None:
        if self.mistake == "only-x-terra-signature":
            return headers.get("x-terra-signature")
        if self.mistake == "only-terra-signature":
            return headers.get("terra-signature")
        return headers.get("x-terra-signature") or headers.get("terra-signature")

    def _verified(self, headers: dict[str, str], body: bytes) -> bool:
        if self.mistake == "no-verification":
            return True
        header = self._signature(headers)
        if header is None:
            return self.mistake == "unsigned-accepted"
        parts = [p.strip().split("=", 1) for p in header.split(",") if "=" in p]
        stamp = next((v for k, v in parts if k == "t"), None)
        macs = [v for k, v in parts if k == "v1"]
        if stamp is None or not stamp.isdigit() or not macs:
            return False
        signed = body
        if self.mistake == "reserialised-json":
            signed = json.dumps(json.loads(body), ensure_ascii=False).encode()
        expected = hmac.new(
            self.secret.encode(), stamp.encode() + b"." + signed, hashlib.sha256
        ).hexdigest()
        if self.mistake != "no-mac-check" and not any(
            hmac.compare_digest(expected, m) for m in macs
        ):
            return False
        return self.mistake == "no-time-check" or abs(time.time() - int(stamp)) <= 300

    # ------------------------------------------------------------ processing

    def _process(self, event: dict[str, Any]) -> int:
        kind = event["type"]
        known = set(EVENT_TYPES)
        if self.mistake == "throws-on-informational":
            known -= INFORMATIONAL
        if kind not in known and self.mistake in (
            "throws-on-unknown-type",
            "throws-on-informational",
        ):
            raise KeyError(kind)  # HANDLERS[kind](event)
        if kind == "athlete":
            if self.mistake == "athlete-data-array":
                for record in event["data"]:  # as if athlete were a data type
                    _ = record
                return 200
            _ = event.get("athlete", {}).get("first_name")
            return 200
        if kind in DATA_TYPES:
            if self.mistake == "user-required":
                _ = event["user"]["user_id"]
            else:
                _ = (event.get("user") or {}).get("user_id")
            records = event["data"]
            if self.mistake == "first-record":
                _ = records[0]  # "the newest record"
            for record in records:
                meta = record.get("metadata", {})
                if (
                    kind == "activity"
                    and self.mistake == "falsy-activity-type"
                    and not meta.get("type")
                ):
                    return 422  # "activity type is required"
        return 200

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        """The status this handler gives one delivery."""
        if not self._verified(headers, body):
            return 401
        trace = headers.get("x-terra-trace-id", "")
        reference = headers.get("terra-reference", "")
        with self.lock:
            if self.mistake == "dedupe-on-reference":
                if reference in self.references:
                    return 409  # duplicate key value violates unique constraint
                self.references.add(reference)
            elif trace in self.traces:
                return 409 if self.mistake == "refuses-retry" else 200
            self.traces.add(trace)
        if self.mistake == "slow-on-big" and len(body) > self.big_bytes:
            time.sleep(self.slow_seconds)
        try:
            return self._process(json.loads(body))
        except (KeyError, IndexError, TypeError, ValueError):
            return 500


def _http(state: Handler) -> type[BaseHTTPRequestHandler]:
    class Http(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status = state.answer(headers, body)
            state.seen.append(Seen(headers, body, status))
            answer = b'{"ok":true}' if status < 300 else b'{"error":"x"}'
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(answer)}\r\n\r\n".encode()
                    + answer
                )

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    return Http


@contextmanager
def running(mistake: str | None = None, **kw: Any) -> Iterator[Handler]:
    """A handler on 127.0.0.1:0 for the duration of the block."""
    state = Handler(mistake=mistake, **kw)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _http(state))
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
