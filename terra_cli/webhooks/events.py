"""What flows from the receiver to the screen, and Terra-aware summaries of bodies.

The receiver hands over a `Delivery` (raw bytes and what it answered); the
display side turns it into an `Event` with `build_event`, which calls the pure
`summarize`. `summarize` is also what `terra events list/show` use on logged
records. No body, however odd, can make these functions raise.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Types Terra documents (TERRA-API.md §4), grouped by how they are shown.
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
AUTH_TYPES = frozenset({"auth", "auth_cancelled", "deauth", "user_reauth"})
WARNING_TYPES = frozenset(
    {
        "access_revoked",
        "connection_error",
        "google_no_datasource",
        "permission_change",
        "rate_limit_hit",
        "connexion_error",
    }
)
INFO_TYPES = frozenset(
    {
        "processing",
        "large_request_processing",
        "large_request_sending",
        "healthcheck",
        "s3_payload",
        "s3_upload",
        "lab_report.completed",
        "lab_report.failed",
        "request_processing",
        "request_completed",
    }
)
KNOWN_TYPES = DATA_TYPES | AUTH_TYPES | WARNING_TYPES | INFO_TYPES | {"athlete"}

# A gzip body is decoded for display only, and never past this size (bomb guard).
# The summary holds the decoded bytes and their text at once, so this caps the
# display's share of memory at about twice it: 64 MiB keeps a 1 MB gzip bomb
# (1 GiB of zeros) within the listener's 250 MB goal, and is six times Terra's
# largest chunk (~10 MB).
MAX_DECODED = 64 * 1024 * 1024
# Bodies larger than this are summarised one data record at a time, so a 30 MB
# payload never exists as one tree of Python objects.
STREAM_OVER = 1024 * 1024
_WS = re.compile(r"[ \t\n\r]*")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class Summary:
    """What a body holds, in Terra's terms. `kind` picks the colour on screen."""

    type: str | None
    kind: str  # data, auth, warning, error, info, unknown, invalid
    text: str
    user_id: str | None = None
    provider: str | None = None
    reference_id: str | None = None
    records: int | None = None
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class ForwardInfo:
    """The forward result as logged: where it went, what came back, how long it took."""

    url: str
    status: int | None
    latency_ms: float
    error: str | None
    route: str | None = None  # the route's types (`sleep,daily`); None: the route without types

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "error": self.error,
            "route": self.route,
        }


@dataclass(frozen=True)
class Delivery:
    """One request as the receiver saw and answered it (raw, not yet summarised)."""

    id: str
    received_at: str
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = field(repr=False)
    size: int
    verdict: str
    status: int
    forward: ForwardInfo | None
    retry: bool
    truncated: bool = False  # True when the body was refused (413) and not kept


@dataclass(frozen=True)
class Event:
    """One event as shown on screen and in `--json` NDJSON (every contract field)."""

    id: str
    received_at: str
    method: str
    path: str
    type: str | None
    user_id: str | None
    provider: str | None
    reference_id: str | None
    terra_reference: str | None
    trace_id: str | None
    size: int
    records: int | None
    verdict: str
    status: int
    forward: ForwardInfo | None
    retry: bool
    summary: str
    kind: str = "unknown"
    start: str | None = None
    end: str | None = None
    body: bytes = field(default=b"", repr=False, compare=False)
    content_encoding: str | None = None
    signed_at: int | None = None  # the signature header's timestamp, for the stale advice

    def to_json(self) -> dict[str, Any]:
        """The NDJSON record, in the contract's field order."""
        return {
            "kind": "event",
            "id": self.id,
            "received_at": self.received_at,
            "method": self.method,
            "path": self.path,
            "type": self.type,
            "user_id": self.user_id,
            "provider": self.provider,
            "reference_id": self.reference_id,
            "terra_reference": self.terra_reference,
            "trace_id": self.trace_id,
            "size": self.size,
            "records": self.records,
            "verdict": self.verdict,
            "status": self.status,
            "forward": self.forward.to_json() if self.forward else None,
            "retry": self.retry,
            "summary": self.summary,
        }


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of a header, by case-insensitive name."""
    # dict/tuple first: an isinstance check against the Mapping ABC is slow per event.
    if isinstance(headers, dict):
        items: Iterable[tuple[str, str]] = headers.items()
    elif isinstance(headers, (tuple, list)):
        items = headers
    else:
        items = headers.items() if isinstance(headers, Mapping) else headers
    wanted = name.lower()
    for key, value in items:
        if key.lower() == wanted:
            return value
    return None


def decode_body(body: bytes, headers: Headers) -> bytes | None:
    """The body as the sender meant it: gunzipped when marked gzip; None if undecodable."""
    encoding = (header_value(headers, "content-encoding") or "").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip", "deflate"):
        wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
        try:
            decoder = zlib.decompressobj(wbits)
            out = decoder.decompress(body, MAX_DECODED)
            if decoder.unconsumed_tail:
                return None
            return out + decoder.flush()
        except zlib.error:
            return None
    return None


def summarize(body: bytes, headers: Headers = ()) -> Summary:
    """A Terra-aware summary of a webhook body. Never raises."""
    try:
        return _summarize(body, headers)
    except Exception:  # a summary must never take the display down
        return Summary(None, "invalid", f"could not be summarised ({human_size(len(body))})")


def _summarize(body: bytes, headers: Headers) -> Summary:
    if not body:
        return Summary(None, "invalid", "empty body")
    decoded = decode_body(body, headers)
    if decoded is None:
        enc = header_value(headers, "content-encoding") or "?"
        return Summary(None, "invalid", f"{enc}-encoded body that could not be decoded")
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return Summary(None, "invalid", f"binary body, not UTF-8 ({human_size(len(decoded))})")
    try:
        doc = _scan_event(text) if len(text) > STREAM_OVER else json.loads(text)
    except ValueError:
        return Summary(None, "invalid", f"not JSON ({human_size(len(decoded))})")
    if not isinstance(doc, dict):
        return Summary(None, "invalid", f"JSON {type(doc).__name__}, not an event object")
    return _summarize_event(doc)


def _scan_event(text: str) -> Any:
    """Parse a JSON object like json.loads, but keep only each data record's metadata.

    The summary needs no more than that; the records are parsed one by one
    (`raw_decode`) and dropped, which bounds memory for very large payloads.
    """
    decoder = json.JSONDecoder()

    def ws(i: int) -> int:
        return _WS.match(text, i).end()  # type: ignore[union-attr]

    i = ws(0)
    if text[i : i + 1] != "{":
        return json.loads(text)
    doc: dict[str, Any] = {}
    i = ws(i + 1)
    if text[i : i + 1] == "}":
        i += 1
    else:
        while True:
            if text[i : i + 1] != '"':
                raise ValueError("expected a key")
            key, i = decoder.raw_decode(text, i)
            i = ws(i)
            if text[i : i + 1] != ":":
                raise ValueError("expected ':'")
            i = ws(i + 1)
            if key == "data" and text[i : i + 1] == "[":
                doc[key], i = _scan_records(decoder, text, i, ws)
            else:
                doc[key], i = decoder.raw_decode(text, i)
            i = ws(i)
            if text[i : i + 1] == ",":
                i = ws(i + 1)
                continue
            if text[i : i + 1] == "}":
                i += 1
                break
            raise ValueError("expected ',' or '}'")
    if ws(i) != len(text):
        raise ValueError("extra data")
    return doc


def _scan_records(
    decoder: json.JSONDecoder, text: str, i: int, ws: Any
) -> tuple[list[Any], int]:
    """The `data` array from index `i` (at '['), each record reduced to its metadata."""
    records: list[Any] = []
    i = ws(i + 1)
    if text[i : i + 1] == "]":
        return records, i + 1
    while True:
        item, i = decoder.raw_decode(text, i)
        records.append({"metadata": item.get("metadata")} if isinstance(item, dict) else None)
        del item
        i = ws(i)
        if text[i : i + 1] == ",":
            i = ws(i + 1)
            continue
        if text[i : i + 1] == "]":
            return records, i + 1
        raise ValueError("expected ',' or ']'")


def _summarize_event(doc: dict[str, Any]) -> Summary:
    etype = _str(doc.get("type"))
    user = _dict(doc.get("user"))
    if etype == "user_reauth":
        user = _dict(doc.get("new_user")) or user
    user_id = _str(user.get("user_id"))
    provider = _str(user.get("provider")) or _str(doc.get("provider"))
    reference_id = _str(user.get("reference_id")) or _str(doc.get("reference_id"))
    base: dict[str, Any] = {"user_id": user_id, "provider": provider, "reference_id": reference_id}
    message = _str(doc.get("message"))

    if etype is None:
        keys = ", ".join(sorted(str(k) for k in doc)[:5])
        return Summary(None, "unknown", f"JSON object without a type (keys: {keys})", **base)
    if etype in DATA_TYPES or (etype.startswith("lab_report.") and "data" in doc):
        return _data_summary(etype, doc, base)
    if etype == "athlete":
        athlete = _dict(doc.get("athlete"))
        name = " ".join(
            n for n in (_str(athlete.get("first_name")), _str(athlete.get("last_name"))) if n
        )
        text = f"athlete profile{': ' + name if name else ''}"
        return Summary(etype, "data", text, records=1 if athlete else 0, **base)
    kind, text = _describe(etype, doc, message)
    return Summary(etype, kind, text, **base)


def _describe(etype: str, doc: dict[str, Any], message: str | None) -> tuple[str, str]:
    """The kind and one-line text of a non-data event."""
    status = _str(doc.get("status"))
    if etype == "auth":
        if status == "error":
            reason = _str(doc.get("reason")) or "unknown reason"
            return "error", f"connection failed ({reason}); the user was deleted"
        return "auth", "user connected"
    if etype == "auth_cancelled":
        reason = _str(doc.get("reason")) or "cancelled"
        return "error", f"connection failed ({reason}); the user was deleted"
    if etype == "deauth":
        return "auth", "user disconnected"
    if etype == "user_reauth":
        old = _str(_dict(doc.get("old_user")).get("user_id"))
        new = _str(_dict(doc.get("new_user")).get("user_id"))
        return "auth", f"re-connected: old user {_short(old)} -> new user {_short(new)}"
    if etype == "access_revoked":
        return "warning", "user revoked access at the provider"
    if etype in ("connection_error", "connexion_error"):
        return "warning", "connection degraded (the provider refused Terra's credentials)"
    if etype == "google_no_datasource":
        return "warning", message or "Google Fit user has no data source"
    if etype == "permission_change":
        added = _str(doc.get("scopes_added")) or "none"
        removed = _str(doc.get("scopes_removed")) or "none"
        return "warning", f"scopes added: {added}; removed: {removed}"
    if etype == "rate_limit_hit":
        span = _span_text(_date(doc.get("start_date")), _date(doc.get("end_date")))
        retry = _str(doc.get("retrying_at"))
        return "warning", f"provider rate limit hit for {span}; retrying at {retry or '?'}"
    if etype == "processing":
        after = doc.get("retry_after_seconds")
        tail = f", retry after {after} s" if isinstance(after, (int, float)) else ""
        return "info", f"provider is processing{tail}"
    if etype == "large_request_processing":
        return "info", f"large request accepted (reference {_str(doc.get('reference')) or '?'})"
    if etype == "large_request_sending":
        expected = doc.get("expected_payloads")
        count = expected if isinstance(expected, int) else "?"
        ref = _str(doc.get("reference")) or "?"
        return "info", f"large request sending: {count} payloads expected (reference {ref})"
    if etype == "healthcheck":
        sent = doc.get("sent_webhooks_last_hour")
        trend = doc.get("trend_percentage")
        return "info", (
            f"healthcheck {status or '?'}: {sent if sent is not None else '?'} webhooks "
            f"last hour, trend {trend if trend is not None else '?'}%"
        )
    if etype in ("s3_payload", "s3_upload"):
        url = _str(doc.get("url"))
        where = url.split("?", 1)[0] if url else "?"
        expires = doc.get("expires_in")
        tail = f", link expires in {expires} s" if isinstance(expires, (int, float)) else ""
        return "info", f"payload uploaded: {where}{tail}"
    if etype.startswith("lab_report."):
        outcome = etype.split(".", 1)[1]
        return ("error" if outcome == "failed" else "info"), f"lab report {outcome}"
    if etype in ("request_processing", "request_completed"):
        return "info", message or etype.replace("_", " ")
    text = f"unknown type '{etype}'"
    if message:
        text += f": {message}"
    return "unknown", text


def _data_summary(etype: str, doc: dict[str, Any], base: dict[str, Any]) -> Summary:
    data = doc.get("data")
    records: int | None
    starts: list[str] = []
    ends: list[str] = []
    if isinstance(data, list):
        records = len(data)
        for item in data:
            meta = _dict(_dict(item).get("metadata"))
            s = _date(meta.get("start_time")) or _date(meta.get("date"))
            e = _date(meta.get("end_time")) or s
            if s:
                starts.append(s)
            if e:
                ends.append(e)
    elif isinstance(data, dict):
        records = 1
    else:
        records = 0
    start = min(starts) if starts else None
    end = max(ends) if ends else None
    noun = "record" if records == 1 else "records"
    text = f"{records} {etype.split('.')[0]} {noun}"
    if start:
        text += f", {_span_text(start, end)}"
    return Summary(etype, "data", text, records=records, start=start, end=end, **base)


def build_event(delivery: Delivery, keep_body: bool = False) -> Event:
    """Summarise a delivery for the screen and NDJSON."""
    if delivery.truncated:
        refused = f"body refused: over the size limit ({human_size(delivery.size)})"
        summary = Summary(None, "invalid", refused)
    else:
        summary = summarize(delivery.body, delivery.headers)
    wanted: dict[str, str | None] = dict.fromkeys(
        (
            "terra-reference",
            "x-terra-trace-id",
            "content-encoding",
            "x-terra-signature",
            "terra-signature",
        )
    )
    for name, value in delivery.headers:
        key = name.lower()
        if key in wanted and wanted[key] is None:
            wanted[key] = value
    return Event(
        id=delivery.id,
        received_at=delivery.received_at,
        method=delivery.method,
        path=delivery.path,
        type=summary.type,
        user_id=summary.user_id,
        provider=summary.provider,
        reference_id=summary.reference_id,
        terra_reference=wanted["terra-reference"],
        trace_id=wanted["x-terra-trace-id"],
        size=delivery.size,
        records=summary.records,
        verdict=delivery.verdict,
        status=delivery.status,
        forward=delivery.forward,
        retry=delivery.retry,
        summary=summary.text,
        kind=summary.kind,
        start=summary.start,
        end=summary.end,
        body=delivery.body if keep_body else b"",
        content_encoding=wanted["content-encoding"],
        signed_at=_signed_at(wanted["x-terra-signature"] or wanted["terra-signature"]),
    )


def _signed_at(header: str | None) -> int | None:
    """The `t=` of a signature header, when it is a number."""
    if not header:
        return None
    for part in header.split(","):
        name, _, value = part.partition("=")
        if name.strip() == "t":
            try:
                return int(value.strip())
            except ValueError:
                return None
    return None


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _date(value: Any) -> str | None:
    if isinstance(value, str) and _DATE_RE.match(value):
        return value[:10]
    return None


def _span_text(start: str | None, end: str | None) -> str:
    if not start and not end:
        return "unknown dates"
    if not end or start == end:
        return start or end or ""
    return f"{start or '?'} to {end}"


def _short(user_id: str | None) -> str:
    if not user_id:
        return "?"
    return user_id[:8] if len(user_id) > 8 else user_id


def human_size(n: int) -> str:
    """A byte count for people: 512 B, 8.1 KB, 30.0 MB."""
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"
