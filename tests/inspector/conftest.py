"""Helpers for the inspector tests: a `terra listen` with its page, raw HTTP, the stream."""

from __future__ import annotations

import http.client
import json
import signal
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from terra_cli.inspector.security import TOKEN_HEADER
from terra_cli.webhooks import samples
from terra_cli.webhooks.outgoing import event_headers
from tests.conftest import Home
from tests.listen.conftest import Listener, Reply, post, start_listener

SECRET = "whsec_inspect_0123456789abcdef"


def request(
    port: int,
    method: str,
    path: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    host: str | None = None,
) -> Reply:
    """One request to 127.0.0.1:`port` with exactly the Host given (default: the right one)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host if host is not None else f"127.0.0.1:{port}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def read_stream(
    port: int, token: str, count: int, timeout: float = 10, since: int = 0
) -> list[dict[str, Any]]:
    """The first `count` events the live stream sends (after `since`)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    try:
        conn.request("GET", f"/api/stream?token={token}&since={since}")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.getheader("Content-Type", "").startswith("text/event-stream")
        while len(found) < count and time.monotonic() < deadline:
            try:
                line = resp.fp.readline()
            except TimeoutError:  # nothing more within the timeout
                break
            if not line:
                break
            if line.startswith(b"data: "):
                found.append(json.loads(line[6:]))
    finally:
        conn.close()
    return found


def sample_body(kind: str, seed: int = 0, user_id: str | None = None) -> bytes:
    options = samples.SampleOptions(user_id=user_id) if user_id else None
    return samples.encode(samples.build(kind, datetime.now(timezone.utc), seed, options))


def send(port: int, body: bytes, secret: str | None = SECRET) -> Reply:
    """POST a delivery signed as Terra signs it (unsigned when `secret` is None)."""
    headers = event_headers(body, secret, int(time.time()), "ref-test")
    return post(port, body, dict(headers))


@dataclass
class Page:
    """A running `terra listen` and the address of its inspector page."""

    listener: Listener
    url: str

    @property
    def port(self) -> int:
        return int(urlsplit(self.url).port or 0)

    @property
    def token(self) -> str:
        return parse_qs(urlsplit(self.url).query)["token"][0]

    @property
    def webhook_port(self) -> int:
        return self.listener.port

    def get(self, path: str, **kw: Any) -> Reply:
        sep = "&" if "?" in path else "?"
        return request(self.port, "GET", f"{path}{sep}token={self.token}", **kw)

    def request_replay(self, event_id: str, to: str | None = None) -> Any:
        """The page's Replay button: a POST with the token in its header."""
        headers = {TOKEN_HEADER: self.token, "Content-Type": "application/json"}
        body = json.dumps({"to": to}).encode()
        reply = request(self.port, "POST", f"/api/events/{event_id}/replay", headers, body)
        assert reply.status == 200, reply.body
        return reply.json()

    def stop(self) -> tuple[int, str, str]:
        self.listener.proc.send_signal(signal.SIGTERM)
        return self.listener.finish()


def open_page(home: Home, *args: str) -> Page:
    listener = start_listener(home, *args)
    url = listener.ready["inspect_url"]
    assert url, listener.ready
    return Page(listener, url)


@pytest.fixture
def page(home: Home) -> Iterator[Page]:
    """`terra listen --no-tunnel --port 0 --json` with a signing secret and its inspector."""
    home.env["TERRA_SIGNING_SECRET"] = SECRET
    opened = open_page(home)
    yield opened
    if opened.listener.proc.poll() is None:
        opened.stop()
