"""`terra events pull`: Terra's own delivery record into the local event log.

Terra keeps about 14 days of deliveries (`webhook-events`: when, what type,
which provider, what the destination answered) and, separately, the bodies it
delivered (`payloads:read`). Each delivery becomes one event-log record marked
`source: terra`, with Terra's row under `terra`, the stored body when the token
may read it, `status` = what the destination answered and `verdict`
`unchecked` (terra did not receive it), so `events list/show/replay` work on
what Terra tried to send while nothing was listening. A delivery already
pulled is not written twice: its local id is derived from Terra's event id.
This never asks Terra to resend: a resend cannot be aimed at one destination.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from terra_cli.admin_api import GONE, AdminClient
from terra_cli.errors import InputError
from terra_cli.webhooks.store import ID_PREFIX, EventStore

OUTCOMES = ("failed", "delivered")
PAGE_SIZE = 100
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def local_id(event_id: str) -> str:
    """The event-log id of one Terra delivery: stable, so a second pull finds it."""
    return ID_PREFIX + hashlib.sha256(f"terra:{event_id}".encode()).hexdigest()[:16]


def parse_since(text: str, now: datetime | None = None) -> str:
    """`--since`: an age (`30m`, `6h`, `2d`), a date or an ISO 8601 time; ISO UTC for Terra."""
    now = now or datetime.now(timezone.utc)
    value = text.strip()
    age = _AGE.match(value.lower())
    if age:
        when = now - timedelta(**{_UNITS[age.group(2)]: float(age.group(1))})
    else:
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"--since '{text}' is neither an age nor a date.",
                hint="Give an age such as 6h or 2d, a date such as 2026-11-28, or an ISO "
                "8601 time such as 2026-11-28T10:15:00Z.",
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_outcome(outcome: str | None) -> str | None:
    if outcome is None:
        return None
    value = outcome.strip().lower()
    if value not in OUTCOMES:
        raise InputError(
            f"--outcome '{outcome}' is not one of {', '.join(OUTCOMES)}.",
            hint="Use --outcome failed or --outcome delivered.",
        )
    return value


@dataclass
class Pulled:
    """What a pull did: the records written, and how many were skipped and why."""

    written: list[dict[str, Any]] = field(default_factory=list)
    already: int = 0
    without_payload: int = 0
    payloads_readable: bool = True


def pull(
    client: AdminClient,
    dev_id: str,
    store: EventStore,
    *,
    outcome: str | None = None,
    since: str | None = None,
    limit: int = 50,
    on_progress: Callable[[int], None] | None = None,
) -> Pulled:
    """Read up to `limit` deliveries (newest first) and their payloads into `store`."""
    scopes = client.me().get("scopes")
    result = Pulled(payloads_readable=isinstance(scopes, list) and "payloads:read" in scopes)
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    seen_cursors: set[str] = set()
    while len(rows) < limit:
        page, cursor = client.webhook_events(
            dev_id,
            outcome=outcome,
            since=since,
            limit=min(PAGE_SIZE, limit - len(rows)),
            cursor=cursor,
        )
        rows.extend(r for r in page if isinstance(r.get("event_id"), str))
        if not cursor or cursor in seen_cursors or not page:
            break
        seen_cursors.add(cursor)
    rows = rows[:limit]
    existing = _existing_ids(store, {_day(r) for r in rows})
    for row in rows:
        rid = local_id(row["event_id"])
        if rid in existing:
            result.already += 1
            continue
        payload: Any = GONE
        if result.payloads_readable:
            payload = client.payload(dev_id, row["event_id"])
        record = _record(rid, row, None if payload is GONE else payload)
        if record.get("body") is None:
            result.without_payload += 1
        store.append(record)
        existing.add(rid)
        result.written.append(record)
        if on_progress is not None:
            on_progress(len(result.written))
    return result


def _day(row: dict[str, Any]) -> str:
    sent = row.get("sent_at")
    return sent[:10] if isinstance(sent, str) and len(sent) >= 10 else ""


def _existing_ids(store: EventStore, days: set[str]) -> set[str]:
    """Ids of pulled records in the day files these deliveries belong to (not the whole log)."""
    found: set[str] = set()
    for day in days:
        path = store.path_for(day) if day else None
        if path is None or not path.is_file():
            continue
        for line in path.read_bytes().splitlines():
            if b'"source":"terra"' not in line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("id"), str):
                found.add(record["id"])
    return found


def _received_at(row: dict[str, Any]) -> str:
    sent = row.get("sent_at")
    if isinstance(sent, str):
        try:
            when = datetime.fromisoformat(sent.replace("Z", "+00:00"))
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            when = when.astimezone(timezone.utc)
            return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
        except ValueError:
            pass
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _record(rid: str, row: dict[str, Any], payload: Any) -> dict[str, Any]:
    """The event-log record of one delivery, in the log's field order, marked as Terra's."""
    body = None
    if payload is not None:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    size = len(body.encode()) if body is not None else row.get("bytes")
    status = row.get("http_status")
    return {
        "id": rid,
        "received_at": _received_at(row),
        "method": "POST",
        "path": "/",
        "headers": {"content-type": "application/json"},
        "body": body,
        "size": size if isinstance(size, int) else 0,
        "verdict": "unchecked",
        "status": status if isinstance(status, int) else None,
        "forward": None,
        "source": "terra",
        "terra": {k: row.get(k) for k in row},
    }
