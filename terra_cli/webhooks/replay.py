"""Replay a logged event: the same body bytes and headers, sent again.

By default the signature is made afresh (configured secret, current time)
so a receiver with a 300 s tolerance accepts it; `original` keeps the
recorded header untouched, which is how to test stale-signature handling.
The recorded header names are kept; the delivery gets a fresh
`X-Terra-Trace-Id` (a new delivery, as a dashboard resend is) unless the
caller asks to repeat the recorded one, which plays a retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from terra_cli.errors import InputError
from terra_cli.webhooks.forward import Delivery, deliver
from terra_cli.webhooks.outgoing import TRACE_HEADER, new_trace_id, resigned


def recorded_headers(record: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The headers a log record kept, as (name, value) pairs in their stored order."""
    headers = record.get("headers")
    if not isinstance(headers, Mapping):
        return []
    return [(str(k), str(v)) for k, v in headers.items()]


def fresh_trace(headers: list[tuple[str, str]], trace_id: str) -> list[tuple[str, str]]:
    """`headers` with the trace id set to `trace_id`, under the recorded name when there is one."""
    out: list[tuple[str, str]] = []
    found = False
    for name, value in headers:
        if name.lower() == TRACE_HEADER.lower():
            if not found:
                out.append((name, trace_id))
            found = True
        else:
            out.append((name, value))
    if not found:
        out.append((TRACE_HEADER, trace_id))
    return out


def replay_headers(
    record: Mapping[str, Any],
    body: bytes,
    secret: str | None,
    timestamp: int,
    *,
    same_trace_id: bool = False,
    trace_id: str | None = None,
) -> list[tuple[str, str]]:
    """Recorded headers, re-signed with `secret` at `timestamp` (None keeps the original).

    The trace id is `trace_id` (fresh when None) unless `same_trace_id` keeps the recorded one.
    """
    headers = recorded_headers(record)
    if secret is not None:
        headers = resigned(headers, body, secret, timestamp)
    if not same_trace_id:
        headers = fresh_trace(headers, trace_id or new_trace_id())
    return headers


def replay(
    record: Mapping[str, Any],
    body: bytes,
    url: str,
    secret: str | None,
    timestamp: int,
    timeout: float,
    *,
    same_trace_id: bool = False,
) -> Delivery:
    """Send a logged event again to `url`; `secret` None sends the recorded signature.

    A fresh X-Terra-Trace-Id unless `same_trace_id` repeats the recorded one (a retry).
    """
    if not body and record.get("body") is None and record.get("body_b64") is None:
        raise InputError(
            f"Event {record.get('id')} has no stored body (it was refused with "
            f"{record.get('status')}), so there is nothing to replay.",
            hint="Pick another event from 'terra events list'.",
        )
    method = str(record.get("method") or "POST")
    headers = replay_headers(record, body, secret, timestamp, same_trace_id=same_trace_id)
    return deliver(url, method, headers, body, timeout)
