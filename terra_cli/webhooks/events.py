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
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
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
    start: str | None = None  # first day covered (local date of the first start_time)
    end: str | None = None  # last day covered (end_time is exclusive)
    expected_payloads: int | None = None  # large_request_sending: N chunks to come...
    large_reference: str | None = None  # ...for this reference


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
    verdict_detail: str | None = None  # why the verdict is what it is ("in the future: ...")


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
    verdict_detail: str | None = None
    chunk: int | None = None  # k of a large request's N data payloads (see ChunkCounter)
    chunks: int | None = None  # N, as announced by large_request_sending
    large_reference: str | None = None  # the reference a large_request_sending announces

    def to_json(self) -> dict[str, Any]:
        """The NDJSON record: the contract's fields in its order, then our additions."""
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
            "verdict_detail": self.verdict_detail,
            "span": {"start": self.start, "end": self.end} if self.start else None,
            "chunk": {"index": self.chunk, "of": self.chunks} if self.chunk else None,
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


def _scan_records(decoder: json.JSONDecoder, text: str, i: int, ws: Any) -> tuple[list[Any], int]:
    """The `data` array from index `i` (at '['), each record reduced to its metadata."""
    records: list[Any] = []
    i = ws(i + 1)
    if text[i : i + 1] == "]":
        return records, i + 1
    while True:
        item, i = decoder.raw_decode(text, i)
        records.append(_dated_part(item))
        del item
        i = ws(i)
        if text[i : i + 1] == ",":
            i = ws(i + 1)
            continue
        if text[i : i + 1] == "]":
            return records, i + 1
        raise ValueError("expected ',' or ']'")


def _dated_part(item: Any) -> Any:
    """The parts of a data record a summary reads (its dates), the rest dropped."""
    if not isinstance(item, dict):
        return None
    kept = {k: item[k] for k in ("metadata", "timestamp", "planned_date") if k in item}
    details = item.get("details")
    if isinstance(details, dict):
        kept["details"] = {"metadata": details.get("metadata")}
    return kept


def _summarize_event(doc: dict[str, Any]) -> Summary:
    etype = _str(doc.get("type"))
    user = _dict(doc.get("user"))
    if etype == "user_reauth":
        user = _dict(doc.get("new_user")) or user
    user_id = _str(user.get("user_id"))
    provider = _str(user.get("provider")) or _str(doc.get("provider"))
    reference_id = _str(user.get("reference_id")) or _str(doc.get("reference_id"))
    if etype is not None and etype.startswith("lab_report."):
        # Report-scoped: no user; the reference id sits in `data`.
        reference_id = _str(_dict(doc.get("data")).get("reference_id")) or reference_id
    base: dict[str, Any] = {"user_id": user_id, "provider": provider, "reference_id": reference_id}
    message = _str(doc.get("message"))

    if etype is None:
        keys = ", ".join(sorted(str(k) for k in doc)[:5])
        return Summary(None, "unknown", f"JSON object without a type (keys: {keys})", **base)
    if etype.startswith("lab_report."):
        return _lab_report_summary(etype, doc, base)
    if etype in DATA_TYPES:
        return _data_summary(etype, doc, base)
    if etype == "athlete":
        athlete = _dict(doc.get("athlete"))
        name = " ".join(
            n for n in (_str(athlete.get("first_name")), _str(athlete.get("last_name"))) if n
        )
        text = f"athlete profile{': ' + name if name else ''}"
        return Summary(etype, "data", text, records=1 if athlete else 0, **base)
    kind, text = _describe(etype, doc, message)
    if etype == "large_request_sending":
        expected = doc.get("expected_payloads")
        if isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
            base["expected_payloads"] = expected
        base["large_reference"] = _str(doc.get("reference"))
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
    if etype in ("request_processing", "request_completed"):
        return "info", message or etype.replace("_", " ")
    text = f"unknown type '{etype}'"
    if message:
        text += f": {message}"
    return "unknown", text


# An end_time exactly at a midnight: the record's last day is the one before it.
_MIDNIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]00:00(:00(\.0*)?)?(Z|[+-]\d{2}:?\d{2})?$")


def record_span(record: Any) -> tuple[str | None, str | None]:
    """The first and last local day a data record covers; `end_time` is exclusive.

    A record ending exactly at a midnight after its start covers the days up to
    that midnight, so a day-scoped record (daily, body, nutrition, menstruation:
    00:00 to the next 00:00) such as Terra's day 2026-07-01 is one day.
    Hormone samples carry a `timestamp`, planned workouts a `planned_date`.
    """
    item = _dict(record)
    meta = _dict(item.get("metadata"))
    start = _date(meta.get("start_time")) or _date(meta.get("date"))
    end_text = meta.get("end_time")
    end = _date(end_text)
    if start and end and end > start and isinstance(end_text, str) and _MIDNIGHT.match(end_text):
        end = _previous_day(end)
    if start is None:
        planned = _dict(_dict(item.get("details")).get("metadata"))
        start = (
            _date(item.get("timestamp"))
            or _date(item.get("planned_date"))
            or _date(planned.get("planned_date"))
        )
    return start, (end or start)


def _previous_day(day: str) -> str:
    try:
        return (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    except ValueError:
        return day


def _data_summary(etype: str, doc: dict[str, Any], base: dict[str, Any]) -> Summary:
    data = doc.get("data")
    records: int | None
    starts: list[str] = []
    ends: list[str] = []
    if isinstance(data, list):
        records = len(data)
        for item in data:
            s, e = record_span(item)
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
    text = f"{records} {etype} {noun}"
    if start:
        text += f", {_span_text(start, end)}"
    return Summary(etype, "data", text, records=records, start=start, end=end, **base)


def _lab_report_summary(etype: str, doc: dict[str, Any], base: dict[str, Any]) -> Summary:
    """`lab_report.completed` as a report with results; `.failed` as a failure, never data."""
    data = _dict(doc.get("data"))
    session = _str(data.get("session_id"))
    on = f" (session {session})" if session else ""
    if etype == "lab_report.failed":
        error = _dict(data.get("error"))
        code = _str(error.get("code")) or "no error code"
        message = _str(error.get("message"))
        retriable = error.get("retriable")
        text = f"lab report failed: {code}"
        if message:
            text += f": {message}"
        if isinstance(retriable, bool):
            text += "; retriable" if retriable else "; not retriable"
        return Summary(etype, "error", text + on, **base)
    if etype != "lab_report.completed":
        return Summary(etype, "unknown", f"unknown type '{etype}'", **base)
    results = data.get("results")
    count = data.get("results_count")
    if not isinstance(count, int) or isinstance(count, bool):
        count = len(results) if isinstance(results, list) else 0
    day = _date(data.get("report_date"))
    text = f"lab report completed: {count} result{'' if count == 1 else 's'}"
    if day:
        text += f", report date {day}"
    return Summary(etype, "data", text + on, records=count, start=day, end=day, **base)


def build_event(delivery: Delivery, keep_body: bool = False) -> Event:
    """Summarise a delivery for the screen and NDJSON."""
    if delivery.truncated:
        refused = f"body refused: over the size limit ({human_size(delivery.size)})"
        summary = Summary(None, "invalid", refused)
    else:
        summary = summarize(delivery.body, delivery.headers)
    wanted: dict[str, str | None] = dict.fromkeys(
        ("terra-reference", "x-terra-trace-id", "content-encoding")
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
        verdict_detail=delivery.verdict_detail,
        chunks=summary.expected_payloads,
        large_reference=summary.large_reference,
    )


# Events that carry a large request's data: the ones counted as its chunks.
CHUNK_TYPES = DATA_TYPES | {"athlete", "s3_payload", "s3_upload"}


@dataclass
class LargeRequest:
    """One announced large request: how many payloads were promised and have come."""

    reference: str
    expected: int
    arrived: int = 0


class ChunkCounter:
    """Counts each large request's data payloads against the number announced.

    `large_request_sending` announces N payloads for a reference; every later
    data event whose `terra-reference` is that reference is chunk k of N. A
    retry (a repeated trace id) shows the k it had and is not counted twice.
    Not thread-safe: one display thread feeds it. Memory stays bounded.
    """

    LIMIT = 10_000  # announced requests remembered, oldest forgotten first

    def __init__(self) -> None:
        self.requests: dict[str, LargeRequest] = {}
        self._by_trace: dict[str, int] = {}

    def observe(self, event: Event) -> Event:
        """The event, with `chunk`/`chunks` set and the summary saying "chunk k of N"."""
        if event.type == "large_request_sending":
            ref = event.large_reference or event.terra_reference
            if ref and event.chunks is not None and ref not in self.requests:
                self.requests[ref] = LargeRequest(ref, event.chunks)
                while len(self.requests) > self.LIMIT:
                    del self.requests[next(iter(self.requests))]
            return event
        ref = event.terra_reference
        if event.type not in CHUNK_TYPES or not ref or ref not in self.requests:
            return event
        request = self.requests[ref]
        key = f"{ref} {event.trace_id}" if event.trace_id else None
        if key is not None and key in self._by_trace:
            k = self._by_trace[key]
        else:
            request.arrived += 1
            k = request.arrived
            if key is not None:
                self._by_trace[key] = k
                while len(self._by_trace) > self.LIMIT * 10:
                    del self._by_trace[next(iter(self._by_trace))]
        return replace(
            event,
            chunk=k,
            chunks=request.expected,
            summary=f"chunk {k} of {request.expected}: {event.summary}",
        )

    def report(self) -> list[LargeRequest]:
        """Every announced large request, in announcement order."""
        return list(self.requests.values())


def chunk_of(
    logged: Iterable[Mapping[str, Any]], record: Mapping[str, Any], limit: int = 2_000
) -> tuple[int, int] | None:
    """(k, N) when a logged data event is chunk k of a large request announced as N.

    `logged` is the event log newest first. Only a delivery whose trace id has
    Terra's chunk shape (`<id>:chunk:<n>`) is looked up, so other events cost
    nothing. The records older than `record` are read back to the
    `large_request_sending` that announced its terra-reference, counting the data
    events that share it (a repeated trace id once), but never more than `limit`
    records: the answer is None when there is no announcement.
    """
    headers = record.get("headers")
    if not isinstance(headers, Mapping):
        return None
    ref = header_value(headers, "terra-reference")
    mine = header_value(headers, "x-terra-trace-id")
    if not ref or not mine or ":chunk:" not in mine:
        return None
    wanted = record.get("id")
    found = False
    earlier = {mine}  # a retry of this chunk is this chunk
    count = read = 0
    for other in logged:
        if not found:
            found = other.get("id") == wanted
            continue
        read += 1
        if read > limit:
            return None
        other_headers = other.get("headers")
        if not isinstance(other_headers, Mapping):
            continue
        if header_value(other_headers, "terra-reference") != ref:
            continue
        body = other.get("body")
        summary = summarize(body.encode("utf-8") if isinstance(body, str) else b"", other_headers)
        if summary.type == "large_request_sending":
            if summary.expected_payloads is None:
                return None
            return count + 1, summary.expected_payloads
        if summary.type in CHUNK_TYPES:
            trace = header_value(other_headers, "x-terra-trace-id")
            if trace is None or trace not in earlier:
                count += 1
            if trace is not None:
                earlier.add(trace)
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
