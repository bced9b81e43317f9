"""What the inspector page lists, and where each event's full record is found.

A `Feed` holds the newest events for the list (LIVE_ENTRIES for a listen run,
MAX_ENTRIES over the saved log), each as a compact tuple of its list fields
(a few hundred bytes), numbered in arrival order so the live stream can resume
where a page left off; the JSON is made when a page first asks for an entry.
Full records (headers, body) are not kept in memory when there is an event
log: they are found there by id when the page asks for one (`find_in_log`:
a backward byte search, fast on a large log). Without a log (`listen
--no-save`) and for replays sent elsewhere, records are kept in memory up to
MEMORY_BYTES, oldest dropped first.
"""

from __future__ import annotations

import collections
import contextlib
import json
import mmap
import os
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from terra_cli.webhooks.events import Delivery, Event, ForwardInfo, build_event
from terra_cli.webhooks.replay import recorded_headers
from terra_cli.webhooks.store import EventStore, record_body, record_from

MAX_ENTRIES = 10_000  # listed by `terra inspect` over the saved log
# Listed by a listen run for a page opened later (a page already open keeps what it
# was sent): a fixed ~1.5 MB however long the run, all older events are in the log.
LIVE_ENTRIES = 2_000
MEMORY_BYTES = 64 * 1024 * 1024


# The list fields of an event: the NDJSON event record's, plus what the page filters and
# marks on. Entries are kept as tuples in this order; `seq` is added when sent.
LIST_FIELDS = (
    "id",
    "received_at",
    "method",
    "path",
    "type",
    "user_id",
    "provider",
    "reference_id",
    "terra_reference",
    "trace_id",
    "size",
    "records",
    "verdict",
    "status",
    "forward",
    "retry",
    "summary",
    "kind",
    "start",
    "end",
    "source",
    "replay_of",
)


def list_entry(event: Event, source: str, replay_of: str | None = None) -> tuple[Any, ...]:
    """One event's list fields, in LIST_FIELDS order."""
    forward = event.forward
    return (
        event.id,
        event.received_at,
        event.method,
        event.path,
        event.type,
        event.user_id,
        event.provider,
        event.reference_id,
        event.terra_reference,
        event.trace_id,
        event.size,
        event.records,
        event.verdict,
        event.status,
        forward.to_json() if forward is not None else None,
        event.retry,
        event.summary,
        event.kind,
        event.start,
        event.end,
        source,
        replay_of,
    )


def delivery_from_record(record: dict[str, Any], retry: bool = False) -> Delivery:
    """A logged record as the receiver's `Delivery`, so it is summarised the same way."""
    forward = record.get("forward")
    info = None
    if isinstance(forward, dict) and isinstance(forward.get("url"), str):
        status = forward.get("status")
        latency = forward.get("latency_ms")
        info = ForwardInfo(
            forward["url"],
            status if isinstance(status, int) else None,
            float(latency) if isinstance(latency, (int, float)) else 0.0,
            forward.get("error") if isinstance(forward.get("error"), str) else None,
        )
    truncated = record.get("body") is None and record.get("body_b64") is None
    body = record_body(record)
    size = record.get("size")
    status = record.get("status")
    return Delivery(
        id=str(record.get("id") or ""),
        received_at=str(record.get("received_at") or ""),
        method=str(record.get("method") or "POST"),
        path=str(record.get("path") or "/"),
        headers=tuple(recorded_headers(record)),
        body=body,
        size=size if isinstance(size, int) else len(body),
        verdict=str(record.get("verdict") or "unchecked"),
        status=status if isinstance(status, int) else 0,
        forward=info,
        retry=retry,
        truncated=truncated,
    )


def find_in_log(root: Path, event_id: str) -> dict[str, Any] | None:
    """The logged record with exactly this id, searched from the newest line back.

    Each line starts `{"id":"evt_…"`; inside a record every other quote is
    escaped, so the pattern at a line start can only be a record's own id.
    """
    pattern = b'{"id":' + json.dumps(event_id).encode()
    try:
        paths = sorted((p for p in root.glob("*.jsonl") if p.is_file()), reverse=True)
    except OSError:
        return None
    for path in paths:
        try:
            with open(path, "rb") as handle:
                if os.fstat(handle.fileno()).st_size == 0:
                    continue
                with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    pos = mm.rfind(pattern)
                    while pos > 0 and mm[pos - 1] != 0x0A:
                        pos = mm.rfind(pattern, 0, pos)
                    if pos < 0:
                        continue
                    end = mm.find(b"\n", pos)
                    line = mm[pos : end if end >= 0 else len(mm)]
        except (OSError, ValueError):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            return record
    return None


def _lines_backward(path: Path) -> Generator[tuple[int, bytes], None, None]:
    """The complete lines of a file, newest first, with their offsets (read lazily)."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            end = size
            if mm[end - 1] != 0x0A:  # a line still being written: not complete yet
                end = mm.rfind(b"\n") + 1
            while end > 0:
                start = mm.rfind(b"\n", 0, end - 1) + 1
                line = mm[start : end - 1]
                if line.strip():
                    yield start, line
                end = start


def _complete_size(path: Path) -> int:
    """The size of a file up to and including its last newline."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            return 0
        handle.seek(max(0, size - 1))
        if handle.read(1) == b"\n":
            return size
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.rfind(b"\n") + 1


@dataclass
class _Kept:
    record: dict[str, Any]
    size: int


class Feed:
    """The events the page can list, and a condition the live streams wait on."""

    def __init__(self, store_root: Path | None, max_entries: int = LIVE_ENTRIES) -> None:
        self.store_root = store_root
        self.max_entries = max_entries
        self.seq = 0
        # [seq, id, the LIST_FIELDS values until a page asks, then their JSON bytes]
        self._entries: collections.deque[list[Any]] = collections.deque()
        self._watched = 0  # live streams open
        self._ids: dict[str, int] = {}
        self._kept: collections.OrderedDict[str, _Kept] = collections.OrderedDict()
        self._kept_bytes = 0
        self._pending_replays: dict[str, str] = {}  # signature header -> replayed event id
        self._traces: set[str] = set()
        self._ends: dict[Path, int] = {}  # how far each day file was read (terra inspect)
        self.changed = threading.Condition(threading.Lock())
        self.closed = False
        # Called (from the adding thread) when a stream is open and there is news: wakes
        # the loop that serves the streams.
        self.on_news: Callable[[], None] | None = None

    # -- adding ------------------------------------------------------------------------

    def observe(self, delivery: Delivery, event: Event) -> None:
        """A listen run's event, from the display thread (never the receiver's loop)."""
        with contextlib.suppress(Exception):  # the page is extra: it must never stop the display
            self._observe(delivery, event)

    def _observe(self, delivery: Delivery, event: Event) -> None:
        replay_of = None
        if self._pending_replays:
            for name, value in delivery.headers:
                if name.lower() in ("terra-signature", "x-terra-signature"):
                    replay_of = self._pending_replays.pop(value, None)
                    break
        if self.store_root is None:
            self.keep(record_from(delivery))
        self.add(list_entry(event, "listen", replay_of))

    def add(self, entry: tuple[Any, ...]) -> int:
        """Number one list entry (LIST_FIELDS values) and wake the live streams; the oldest
        falls off past the cap. The JSON is made when a page first asks for the entry, so a
        run nobody watches pays only for an append."""
        event_id = entry[0]
        with self.changed:
            self.seq += 1
            self._entries.append([self.seq, event_id, entry])
            self._ids[event_id] = self.seq
            if len(self._entries) > self.max_entries:
                number, old, _entry = self._entries.popleft()
                if self._ids.get(old) == number:
                    del self._ids[old]
            if self._watched:
                self.changed.notify_all()
                if self.on_news is not None:
                    self.on_news()
            return self.seq

    def keep(self, record: dict[str, Any]) -> None:
        """Hold a full record in memory (no log to find it in), within MEMORY_BYTES."""
        size = len(record.get("body") or record.get("body_b64") or "") + 1024
        with self.changed:
            self._kept[str(record.get("id"))] = _Kept(record, size)
            self._kept_bytes += size
            while self._kept_bytes > MEMORY_BYTES and len(self._kept) > 1:
                _id, old = self._kept.popitem(last=False)
                self._kept_bytes -= old.size

    def expect_replay(self, signature: str, event_id: str) -> None:
        """Mark the delivery that will arrive with this signature as a replay of `event_id`."""
        with self.changed:
            self._pending_replays[signature] = event_id
            while len(self._pending_replays) > 100:
                self._pending_replays.pop(next(iter(self._pending_replays)))

    def close(self) -> None:
        """End every live stream."""
        with self.changed:
            self.closed = True
            self.changed.notify_all()
            if self.on_news is not None:
                self.on_news()

    # -- reading -----------------------------------------------------------------------

    def after(self, seq: int, limit: int) -> list[tuple[int, bytes]]:
        """Up to the newest `limit` entries numbered above `seq`, oldest first, as JSON."""
        with self.changed:
            out: list[tuple[int, bytes]] = []
            for entry in reversed(self._entries):
                if entry[0] <= seq or len(out) >= limit:
                    break
                data = entry[2]
                if not isinstance(data, bytes):
                    doc = dict(zip(LIST_FIELDS, data, strict=True))
                    doc["seq"] = entry[0]
                    data = entry[2] = json.dumps(doc, separators=(",", ":")).encode()
                out.append((entry[0], data))
        out.reverse()
        return out

    def watch(self, delta: int) -> None:
        """Count live streams (+1 when one opens, -1 when it ends): only then are they woken."""
        with self.changed:
            self._watched += delta

    def knows(self, event_id: str) -> bool:
        with self.changed:
            return event_id in self._ids or event_id in self._kept

    def record(self, event_id: str) -> dict[str, Any] | None:
        """The full record of a listed event: kept in memory, else from the log."""
        with self.changed:
            kept = self._kept.get(event_id)
        if kept is not None:
            return kept.record
        if self.store_root is None:
            return None
        return find_in_log(self.store_root, event_id)

    # -- the saved log (terra inspect) ---------------------------------------------------

    def load_log(self, limit: int | None = None) -> None:
        """List the newest `limit` logged events, oldest first, retries marked; then
        remember where each day file ends, for `follow`."""
        if self.store_root is None:
            return
        limit = self.max_entries if limit is None else limit
        for path in EventStore(self.store_root).files():
            with contextlib.suppress(OSError):
                self._ends[path] = _complete_size(path)
        found: list[dict[str, Any]] = []
        for path in sorted(EventStore(self.store_root).files(), reverse=True):
            with contextlib.suppress(OSError, ValueError):
                lines = _lines_backward(path)
                for _offset, line in lines:
                    with contextlib.suppress(ValueError):
                        record = json.loads(line)
                        if isinstance(record, dict) and isinstance(record.get("id"), str):
                            found.append(record)
                    if len(found) >= limit:
                        lines.close()
                        break
            if len(found) >= limit:
                break
        for record in reversed(found):
            self.add_record(record, "log")

    def follow(self, interval: float = 0.5) -> None:
        """List lines other programs append to the log (a `terra listen` elsewhere) until
        `close`. Runs in its own thread."""
        if self.store_root is None:
            return
        store = EventStore(self.store_root)
        while True:
            with self.changed:
                if self.closed:
                    return
                self.changed.wait(interval)
                if self.closed:
                    return
            for path in store.files():
                with contextlib.suppress(OSError):
                    self._read_new(path)

    def _read_new(self, path: Path) -> None:
        start = self._ends.get(path, 0)
        if os.stat(path).st_size <= start:
            return
        with open(path, "rb") as handle:
            handle.seek(start)
            chunk = handle.read()
        end = chunk.rfind(b"\n") + 1
        if end <= 0:
            return
        self._ends[path] = start + end
        for line in chunk[:end].splitlines():
            with contextlib.suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict) and isinstance(record.get("id"), str):
                    self.add_record(record, "log")

    def add_record(self, record: dict[str, Any], source: str, replay_of: str | None = None) -> int:
        """List one logged (or replay) record, summarised as the listener would."""
        trace = None
        headers = record.get("headers")
        if isinstance(headers, dict):
            value = headers.get("x-terra-trace-id")
            trace = value if isinstance(value, str) and value else None
        retry = trace is not None and trace in self._traces
        if trace is not None:
            self._traces.add(trace)
        event = build_event(delivery_from_record(record, retry))
        return self.add(list_entry(event, source, replay_of))
