"""Replay a logged event: the same body bytes and headers, sent again.

By default the signature is made afresh (configured secret, current time)
so a receiver with a 300 s tolerance accepts it; `original` keeps the
recorded header untouched, which is how to test stale-signature handling.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from terra_cli.errors import InputError
from terra_cli.webhooks.forward import Delivery, deliver
from terra_cli.webhooks.outgoing import resigned


def recorded_headers(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headers a log record kept, as (name, value) pairs in their stored order."""
    headers = record.get("headers")
    if not isinstance(headers, Mapping):
        return []
    return [(str(k), str(v)) for k, v in headers.items()]


def replay_headers(
    record: Mapping[str, Any], body: bytes, secret: str | None, timestamp: int
) -> list[tuple[str, str]]:
    """Recorded headers, re-signed with `secret` at `timestamp` (None keeps the original)."""
    headers = recorded_headers(record)
    if secret is None:
        return headers
    return resigned(headers, body, secret, timestamp)


def replay(
    record: Mapping[str, Any],
    body: bytes,
    url: str,
    secret: str | None,
    timestamp: int,
    timeout: float,
) -> Delivery:
    """Send a logged event again to `url`; `secret` None sends the recorded signature."""
    if not body and record.get("body") is None and record.get("body_b64") is None:
        raise InputError(
            f"Event {record.get('id')} has no stored body (it was refused with "
            f"{record.get('status')}), so there is nothing to replay.",
            hint="Pick another event from 'terra events list'.",
        )
    method = str(record.get("method") or "POST")
    return deliver(url, method, replay_headers(record, body, secret, timestamp), body, timeout)
