"""Helpers for the trigger, forwarding and event-log tests."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from terra_cli.webhooks.store import EventStore

SECRET = "whsec_test_0123456789abcdef"


def independent_verify(header: str, body: bytes, secret: str) -> tuple[int, bool]:
    """Terra's documented check, written here from TERRA-API.md §5 (not our module).

    Returns the header's timestamp and whether any v1 matches HMAC-SHA256 of
    `t + "." + body` under the secret.
    """
    parts = dict(p.strip().split("=", 1) for p in header.split(","))
    v1s = [p.split("=", 1)[1].strip() for p in header.split(",") if p.strip().startswith("v1=")]
    t = parts["t"]
    mac = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return int(t), any(hmac.compare_digest(mac, v) for v in v1s)


def independent_sign(body: bytes, secret: str = SECRET, t: int | None = None) -> str:
    """A `terra-signature` value made here with hmac/hashlib, as TERRA-API.md §5 documents."""
    stamp = str(int(time.time()) if t is None else t)
    mac = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={mac}"


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port that is bound but not listening: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def log_event(data_dir: Path, body: bytes, event_id: str = "evt_00000000000000aa") -> str:
    """Put one received event in a user's event log, as `terra listen` writes it."""
    store = EventStore(data_dir / "events")
    store.append(
        {
            "id": event_id,
            "received_at": "2026-11-28T10:15:00.000Z",
            "method": "POST",
            "path": "/consumeTerraWebhook",
            "headers": {"content-type": "application/json"},
            "body": body.decode(),
            "size": len(body),
            "verdict": "unchecked",
            "status": 200,
            "forward": None,
        }
    )
    store.close()
    return event_id
