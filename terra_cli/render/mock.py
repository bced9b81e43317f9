"""What `terra mock` shows: the banner, one line per request and per webhook attempt.

Lines go to stderr (stdout stays free); with `--json` every record is one
NDJSON object on stdout instead. Records arrive from the server's threads and
the webhook worker at once, so writing is serialised by one lock.
"""

from __future__ import annotations

import shutil
import sys
import threading
from datetime import datetime
from typing import Any

from terra_cli.render import info, is_terminal, result_ndjson, style, warn

_LOCK = threading.Lock()


def _width() -> int | None:
    """The terminal's width when stderr is one (lines are cut to it), else None."""
    if not is_terminal(sys.stderr):
        return None
    return max(shutil.get_terminal_size((100, 24)).columns, 40)


def _fit(text: str, room: int | None) -> str:
    if room is None or len(text) <= room:
        return text
    return text[: max(room - 1, 1)] + "…"


def banner(
    url: str,
    dev_id: str,
    api_key: str,
    webhook: str | None,
    signed: bool,
    seed: int,
) -> None:
    """Where the mock is and the credentials to use (stderr)."""
    info(style(f"terra mock: Terra's API on {url} (seed {seed})", "bold"))
    info(f"  REST API:   {url}/v2  (or /api/v2)")
    info(f"  Widget:     POST {url}/api/widget/session")
    info(f"  dev-id:     {dev_id}")
    info(f"  x-api-key:  {api_key}")
    if webhook is None:
        info("  Webhooks:   none (--webhook URL sends auth, data, deauth)")
    else:
        info(f"  Webhooks:   {webhook}")
        if signed:
            info("              signed with your signing-secret")
        else:
            info("              unsigned: no signing-secret is configured")
    info(f"  terra CLI:  TERRA_API_URL={url}/v2")
    info(f"              TERRA_ACCESS_URL={url}")
    info("  Stop:       Ctrl-C")


def ready_json(record: dict[str, Any]) -> None:
    """The first NDJSON record with --json."""
    with _LOCK:
        result_ndjson(record)


def record_json(record: dict[str, Any]) -> None:
    """A request or webhook record as one NDJSON line."""
    with _LOCK:
        result_ndjson(record)


def _clock() -> str:
    return datetime.now().strftime("%H:%M:%S")


def request_line(record: dict[str, Any]) -> None:
    """`HH:MM:SS  GET     200  /v2/activity?...  1.2 ms  -> 1 webhook`."""
    status = int(record["status"])
    word = style(str(status), "ok" if status < 400 else "warn", sys.stderr)
    tail = f"  {record['latency_ms']:.1f} ms"
    if record.get("webhooks"):
        n = record["webhooks"]
        tail += f"  -> {n} webhook{'s' if n != 1 else ''}"
    head = f"{_clock()}  {record['method']:<6} {word}  "
    width = _width()
    room = None if width is None else width - len(_clock()) - 2 - 7 - 5 - len(tail)
    with _LOCK:
        info(head + _fit(str(record["path"]), room) + tail)


def webhook_line(record: dict[str, Any]) -> None:
    """One delivery attempt: `HH:MM:SS  webhook auth -> 200  ref 1a2b3c4d  (attempt 1)`."""
    status = record["status"]
    outcome = str(status) if status is not None else str(record["error"])
    ok = status is not None and 200 <= int(status) < 300
    word = style(outcome, "ok" if ok else "warn", sys.stderr)
    text = f"{_clock()}  webhook {record['type']} -> {word}  ref {record['terra_reference'][:8]}"
    if record["attempt"] > 1:
        text += f"  (attempt {record['attempt']})"
    with _LOCK:
        info(text)
        if not ok and record["retry_in"] is not None:
            warn(
                f"{record['type']} not delivered ({outcome}); retrying in {record['retry_in']:g} s."
            )
        elif not ok:
            warn(f"gave up on {record['type']} after {record['attempt']} attempts ({outcome}).")


def stopped(requests: int, delivered: int, failed: int, undelivered: int) -> None:
    """The closing line (stderr)."""
    text = f"Stopped: {requests} request{'s' if requests != 1 else ''} served"
    if delivered or failed or undelivered:
        text += f", {delivered} webhook{'s' if delivered != 1 else ''} delivered"
        if failed:
            text += f", {failed} given up"
        if undelivered:
            text += f", {undelivered} still queued (dropped)"
    with _LOCK:
        info(text + ".")
