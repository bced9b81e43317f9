"""An SQLite index beside the event log, so `events list/show` never read all of it.

The JSON Lines day files stay the record; `events/index.sqlite3` is a cache of
where each event is: id, received_at, type, user_id, provider, verdict, status,
and the day file, byte offset and length of its line. Per day file it also
remembers how many bytes are indexed (always up to a line end), the file's
inode and, once a reader has seen it whole, its mtime.

Two writers keep it in step, both idempotent (one row per file and offset):
- `IndexWriter`, in `terra listen`: the event log hands it each line's place
  after the line is written; a background thread commits rows in batches, so
  the receiver's answer never waits on SQLite. The type, user id and provider
  come from the live view's summary, which `terra listen` makes anyway (the
  body is parsed again only when that summary did not come). If the writer
  falls behind or fails, rows are simply missing: the next reader catches up.
- `EventIndex.sync`, before every query: each day file's bytes beyond what is
  indexed are read and indexed; a file that shrank, was replaced or changed
  without growing is indexed again from the start; rows of removed files go.
A missing, corrupt or older-schema index is rebuilt from the JSON Lines files.
A line found at an indexed offset is checked against its id before it is used,
so a stale index never gives a wrong answer.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite3

INDEX_NAME = "index.sqlite3"
SCHEMA_VERSION = 1
BUSY_MS = 5000  # how long the listener's writer waits for another's transaction
READER_BUSY_MS = 1000  # how long a query waits before it reads the day files instead
SYNC_COMMIT_BYTES = 64 * 1024 * 1024  # a catch-up commits (and lets others in) this often
CATCH_UP_NOTICE = 64 * 1024 * 1024  # a catch-up this long is announced (on_catch_up)
WRITER_BACKLOG = 2_000  # rows waiting for the writer thread, at most; beyond: left to sync
WRITER_BATCH = 2_000
FACTS_KEPT = 5_000  # facts waiting for their rows, at most
WRITER_PAUSE = 0.2  # seconds rows gather (and the live view summarises them) before a batch
# Records the writer thread may hold while it catches up: small ones up to this many
# bytes in all; any other line is read back from the day file (the page cache has it).
HOLD_LINE = 64 * 1024
HOLD_BYTES = 1024 * 1024  # small: a stalled writer must not grow a listener by much

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    file TEXT NOT NULL,
    offset INTEGER NOT NULL,
    length INTEGER NOT NULL,
    id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    type TEXT,
    user_id TEXT,
    provider TEXT,
    verdict TEXT,
    status INTEGER,
    PRIMARY KEY (file, offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_id ON events (id);
CREATE INDEX IF NOT EXISTS events_time ON events (received_at);
CREATE INDEX IF NOT EXISTS events_type ON events (type, received_at);
CREATE TABLE IF NOT EXISTS files (
    name TEXT PRIMARY KEY,
    indexed INTEGER NOT NULL,
    ino INTEGER,
    mtime_ns INTEGER
);
"""

_INSERT = (
    "INSERT OR IGNORE INTO events (file, offset, length, id, received_at, type, user_id, "
    "provider, verdict, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

Row = tuple[str, int, int, str, str, str | None, str | None, str | None, str | None, int | None]


@dataclass(frozen=True)
class Place:
    """Where one event's line is: day file name, byte offset and length (newline excluded)."""

    id: str
    file: str
    offset: int
    length: int


class IndexUnavailable(Exception):
    """The index cannot be used now (busy, an unwritable folder): read the files instead."""


class IndexBusy(IndexUnavailable):
    """Another process held the index for longer than BUSY_MS: not damage, just wait."""


def _busy(exc: BaseException) -> bool:
    """A lock timeout, as opposed to a damaged file."""
    import sqlite3

    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


Facts = tuple["str | None", "str | None", "str | None"]  # type, user id, provider


def row_for(file: str, offset: int, length: int, record: dict[str, Any]) -> Row | None:
    """The index row of one log record (None when the record has no usable id)."""
    return row_from(file, offset, length, record, None)


def row_from(
    file: str, offset: int, length: int, record: dict[str, Any], found: Facts | None
) -> Row | None:
    """The index row of one log record, with its facts when already known."""
    rid = record.get("id")
    received = record.get("received_at")
    if not isinstance(rid, str) or not isinstance(received, str):
        return None
    event_type, user_id, provider = found if found is not None else facts(record)
    status = record.get("status")
    verdict = record.get("verdict")
    return (
        file,
        offset,
        length,
        rid,
        received,
        event_type.lower() if event_type else None,
        user_id,
        provider,
        verdict if isinstance(verdict, str) else None,
        status if isinstance(status, int) else None,
    )


def facts(record: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """A record's event type, user id and provider, as `summarize` reads them.

    The common case (a plain JSON text body) is read directly, at a fraction of
    a full summary's cost; anything else (gzip, base64, very large) goes
    through `summarize` itself, so both always agree.
    """
    body = record.get("body")
    headers = record.get("headers")
    encoded = isinstance(headers, dict) and headers.get("content-encoding") not in (
        None,
        "",
        "identity",
    )
    from terra_cli.webhooks.events import STREAM_OVER

    if isinstance(body, str) and not encoded and 0 < len(body) <= STREAM_OVER:
        try:
            doc = json.loads(body)
        except ValueError:
            return None, None, None
        if not isinstance(doc, dict):
            return None, None, None
        user = doc.get("user")
        user = user if isinstance(user, dict) else {}
        event_type = _text(doc.get("type"))
        if event_type == "user_reauth" and isinstance(doc.get("new_user"), dict):
            user = doc["new_user"] or user
        provider = _text(user.get("provider")) or _text(doc.get("provider"))
        return event_type, _text(user.get("user_id")), provider
    from terra_cli.webhooks.events import summarize
    from terra_cli.webhooks.replay import recorded_headers
    from terra_cli.webhooks.store import record_body

    summary = summarize(record_body(record), recorded_headers(record))
    return summary.type, summary.user_id, summary.provider


def _text(value: Any) -> str | None:
    """A JSON string or number as text (None otherwise), as summaries read ids."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _connect(path: Path, busy_ms: int) -> sqlite3.Connection:
    import sqlite3

    conn = sqlite3.connect(path, timeout=busy_ms / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(busy_ms)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _discard(path: Path) -> None:
    """Remove an index and its WAL files (a cache: the day files hold everything)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _open(path: Path, busy_ms: int = BUSY_MS) -> sqlite3.Connection:
    """A connection to a usable index at `path`: created, or discarded and recreated
    when corrupt or of another schema."""
    import sqlite3

    for attempt in (1, 2):
        conn: sqlite3.Connection | None = None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            os.close(fd)
            conn = _connect(path, busy_ms)
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema {version}")
            if version == 0:
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            else:
                conn.execute("SELECT 1 FROM events LIMIT 1").fetchall()
                conn.execute("SELECT 1 FROM files LIMIT 1").fetchall()
            return conn
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            if _busy(exc):
                raise IndexBusy(str(exc)) from None
            if attempt == 2:
                raise IndexUnavailable(str(path)) from None
            _discard(path)
        except OSError as exc:
            if conn is not None:
                conn.close()
            raise IndexUnavailable(str(exc)) from None
    raise IndexUnavailable(str(path))  # pragma: no cover - the loop returns or raises


_FileRow = tuple[int, "int | None", "int | None"]  # indexed bytes, inode, mtime_ns


def _stale(row: _FileRow | None, st: os.stat_result) -> bool:
    """Does this day file hold anything the index does not (or other than it knows)?"""
    return row is None or (_start(row, st) == 0 and row[0] != 0) or st.st_size > row[0]


def _start(row: _FileRow | None, st: os.stat_result) -> int:
    """Where indexing this file must resume: 0 when it is new, replaced, shrunk, or
    rewritten at the same size; else the end of what is indexed."""
    if row is None:
        return 0
    indexed, ino, mtime = row
    if (ino is not None and ino != st.st_ino) or st.st_size < indexed:
        return 0
    if st.st_size == indexed and mtime is not None and mtime != st.st_mtime_ns:
        return 0
    return indexed


class EventIndex:
    """The query side: catch up with the day files, then answer from SQLite."""

    def __init__(self, root: Path, on_catch_up: Callable[[int], None] | None = None) -> None:
        self.root = root
        self.path = root / INDEX_NAME
        self.on_catch_up = on_catch_up  # told once how many bytes a long catch-up reads
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> EventIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = _open(self.path, READER_BUSY_MS)
        return self._conn

    def rebuild(self) -> None:
        """Throw the index away and index every day file again."""
        self.close()
        _discard(self.path)
        self.sync()

    def sync(self) -> None:
        """Bring the index in step with the day files (see the module docstring).

        A corrupt index found on the way is discarded and rebuilt once.
        """
        import sqlite3

        try:
            self._sync()
        except sqlite3.DatabaseError as exc:
            self.close()
            if _busy(exc):
                raise IndexBusy(str(exc)) from None
            _discard(self.path)
            try:
                self._sync()
            except sqlite3.DatabaseError as exc:
                raise IndexUnavailable(str(exc)) from None
        except OSError as exc:
            raise IndexUnavailable(str(exc)) from None

    def _sync(self) -> None:
        conn = self.conn
        known = self._files()
        present: dict[str, os.stat_result] = {}
        for path in sorted(self.root.glob("*.jsonl")):
            with contextlib.suppress(FileNotFoundError):
                present[path.name] = path.stat()
        work = {name: st for name, st in present.items() if _stale(known.get(name), st)}
        if work and self.on_catch_up is not None:
            behind = sum(st.st_size - _start(known.get(name), st) for name, st in work.items())
            if behind >= CATCH_UP_NOTICE:
                self.on_catch_up(behind)
        for name, st in work.items():
            # Decided again under the write lock: another process may have just done it.
            conn.execute("BEGIN IMMEDIATE")
            fresh = self._files(name).get(name)
            start = _start(fresh, st)
            if start == 0 and (fresh is None or fresh[0] != 0 or fresh[1] != st.st_ino):
                conn.execute("DELETE FROM events WHERE file = ?", (name,))
                conn.execute(
                    "INSERT OR REPLACE INTO files (name, indexed, ino, mtime_ns) "
                    "VALUES (?, 0, ?, NULL)",
                    (name, st.st_ino),
                )
            conn.execute("COMMIT")
            end = self._index_tail(self.root / name, start) if st.st_size > start else start
            if end == st.st_size:
                # Whole and unchanged since: the mtime tells a later rewrite of equal size.
                conn.execute(
                    "UPDATE files SET mtime_ns = ? WHERE name = ? AND indexed = ?",
                    (st.st_mtime_ns, name, st.st_size),
                )
        gone = [name for name in known if name not in present]
        if gone:
            self.forget(gone)

    def _files(self, name: str | None = None) -> dict[str, _FileRow]:
        """What the index knows of each day file (or of one): indexed bytes, inode, mtime."""
        sql = "SELECT name, indexed, ino, mtime_ns FROM files"
        rows = (
            self.conn.execute(sql + " WHERE name = ?", (name,)) if name else self.conn.execute(sql)
        )
        return {row[0]: (row[1], row[2], row[3]) for row in rows}

    def _index_tail(self, path: Path, start: int) -> int:
        """Index the complete lines of `path` from byte `start` (a line start) on;
        where the indexed part now ends."""
        name = path.name
        with path.open("rb") as f:
            f.seek(start)
            offset = start
            rows: list[Row] = []
            pending = 0
            for line in f:
                if not line.endswith(b"\n"):
                    break  # a line still being written: the next sync takes it
                length = len(line) - 1
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None
                if isinstance(record, dict):
                    row = row_for(name, offset, length, record)
                    if row is not None:
                        rows.append(row)
                offset += len(line)
                pending += len(line)
                if pending >= SYNC_COMMIT_BYTES:
                    self._commit(name, rows, offset)
                    rows, pending = [], 0
            self._commit(name, rows, offset)
        return offset

    def _commit(self, name: str, rows: Sequence[Row], indexed: int) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, rows)
        conn.execute(
            "UPDATE files SET indexed = MAX(indexed, ?), mtime_ns = NULL WHERE name = ?",
            (indexed, name),
        )
        conn.execute("COMMIT")

    def forget(self, names: Sequence[str]) -> None:
        """Drop what is indexed of these day files (removed, or to be indexed afresh)."""
        import sqlite3

        try:
            conn = self.conn
            conn.execute("BEGIN IMMEDIATE")
            for name in names:
                conn.execute("DELETE FROM events WHERE file = ?", (name,))
                conn.execute("DELETE FROM files WHERE name = ?", (name,))
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise (IndexBusy if _busy(exc) else IndexUnavailable)(str(exc)) from None

    def query(
        self,
        *,
        limit: int,
        event_type: str | None = None,
        user_id: str | None = None,
        verdict: str | None = None,
        since: str | None = None,
    ) -> list[Place]:
        """The newest events matching every filter given, newest first."""
        where: list[str] = []
        args: list[Any] = []
        for column, value in (("type", event_type), ("user_id", user_id), ("verdict", verdict)):
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("received_at >= ?")
            args.append(since)
        sql = "SELECT id, file, offset, length FROM events"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY received_at DESC, file DESC, offset DESC LIMIT ?"
        args.append(limit)
        return [Place(*row) for row in self._rows(sql, args)]

    def _rows(self, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
        """Run a query; a database error (a damaged index) is IndexUnavailable."""
        import sqlite3

        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise (IndexBusy if _busy(exc) else IndexUnavailable)(str(exc)) from None

    def lookup(self, prefixes: Sequence[str], limit: int = 2) -> list[Place]:
        """Events whose id starts with any of `prefixes` (distinct ids, at most `limit`)."""
        found: dict[str, Place] = {}
        for prefix in prefixes:
            rows = self._rows(
                "SELECT id, file, offset, length FROM events WHERE id >= ? AND id < ? "
                "ORDER BY id LIMIT ?",
                (prefix, prefix + "\U0010ffff", limit + 1),
            )
            for row in rows:
                found.setdefault(row[0], Place(*row))
        return list(found.values())[: limit + 1]


def read_at(root: Path, place: Place) -> dict[str, Any] | None:
    """The record at an indexed place, or None when the file there no longer holds it."""
    try:
        with (root / place.file).open("rb") as f:
            f.seek(place.offset)
            line = f.read(place.length + 1)
    except OSError:
        return None
    if len(line) != place.length + 1 or not line.endswith(b"\n"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("id") != place.id:
        return None
    return record


# file, inode, offset, length, the record (or, when not held, only its small fields),
# and the bytes held with it (0 for such a stub)
_Item = tuple[str, int, int, int, "dict[str, Any]", int]
_SMALL_FIELDS = ("id", "received_at", "verdict", "status")


class IndexWriter:
    """Keeps the index in step as `terra listen` writes: rows go in from a thread.

    `add` never blocks and never raises: when the thread is behind by
    WRITER_BACKLOG rows, or the index cannot be written, the row is dropped
    and the next `EventIndex.sync` reads it from the day file instead.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / INDEX_NAME
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._queued = 0  # rows waiting in the queue...
        self._held = 0  # ...and the bytes of the records held with them
        # Type, user id and provider by event id, from the live view's summary (which
        # `terra listen` makes anyway): with them a row costs no second parse.
        self._facts: dict[str, Facts] = {}
        self.broken = False
        self.dropped = 0

    def add(self, file: str, ino: int, offset: int, length: int, record: dict[str, Any]) -> None:
        """Queue one written line's place and record for the index (a few microseconds)."""
        if self.broken:
            return
        if self._thread is None:
            self._start()
        with self._lock:
            if self._queued >= WRITER_BACKLOG:
                self.dropped += 1
                return
            self._queued += 1
            keep = length <= HOLD_LINE and self._held + length <= HOLD_BYTES
            if keep:
                self._held += length
        if keep:
            self._queue.put((file, ino, offset, length, record, length))
        else:
            stub = {k: record.get(k) for k in _SMALL_FIELDS}
            self._queue.put((file, ino, offset, length, stub, 0))

    def note(self, event_id: str, found: Facts) -> None:
        """The facts of an event the writer will index (or has: then they are dropped)."""
        facts = self._facts
        if len(facts) >= FACTS_KEPT:  # only when rows stopped coming: start afresh
            facts.clear()
        facts[event_id] = found

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="terra-index", daemon=True)
                self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued (for up to `timeout` seconds) and stop the thread."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        thread.join(timeout)
        self._thread = None

    def _read_back(self, file: str, offset: int, length: int) -> dict[str, Any] | None:
        """A record the queue did not hold, read from its day file."""
        try:
            with (self.root / file).open("rb") as f:
                f.seek(offset)
                record = json.loads(f.read(length))
        except (OSError, ValueError):
            return None
        return record if isinstance(record, dict) else None

    def _batches(self) -> Iterator[list[_Item]]:
        while True:
            item = self._queue.get()
            if item is None:
                return
            # Let a burst gather: one wake-up and one commit per batch keeps this thread
            # from competing with the receiver for the interpreter on every event.
            time.sleep(WRITER_PAUSE)
            batch = [item]
            while len(batch) < WRITER_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    yield batch
                    return
                batch.append(nxt)
            yield batch

    def _run(self) -> None:
        import sqlite3

        conn: sqlite3.Connection | None = None
        ino = -1
        for batch in self._batches():
            if self.broken:
                continue
            try:
                # The index may have been discarded and rebuilt by a reader meanwhile.
                current = os.stat(self.path).st_ino if self.path.exists() else -1
                if conn is None or current != ino:
                    if conn is not None:
                        conn.close()
                    conn = _open(self.path)
                    # A cache: an OS crash may cost the last rows, never an event (the
                    # next sync reads them from the day file), so no fsync here.
                    conn.execute("PRAGMA synchronous = OFF")
                    ino = os.stat(self.path).st_ino
                self._write(conn, batch)
            except (sqlite3.Error, IndexUnavailable, OSError) as exc:
                # Busy: these rows wait for the next sync and later batches go on.
                # Anything else: stop indexing; readers catch up from the day files.
                busy = isinstance(exc, IndexBusy) or _busy(exc)
                if conn is not None:
                    with contextlib.suppress(sqlite3.Error):
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        if not busy:
                            conn.close()
                    conn = conn if busy else None
                self.broken = self.broken or not busy
            finally:
                self._done(batch)
        if conn is not None:
            conn.close()

    def _done(self, batch: list[_Item]) -> None:
        """The batch left the queue: its rows and held bytes no longer count."""
        held = sum(item[5] for item in batch)
        with self._lock:
            self._held -= held
            self._queued -= len(batch)

    def _write(self, conn: sqlite3.Connection, batch: list[_Item]) -> None:
        rows = []
        facts = self._facts
        for file, _ino, offset, length, record, held in batch:
            rid = record.get("id")
            found = facts.pop(rid, None) if isinstance(rid, str) else None
            if found is not None:
                row = row_from(file, offset, length, record, found)
            else:
                full = record if held else self._read_back(file, offset, length)
                row = row_for(file, offset, length, full) if full is not None else None
            if row is not None:
                rows.append(row)
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_INSERT, rows)
        spans: dict[tuple[str, int], list[tuple[int, int]]] = {}
        for file, file_ino, offset, length, _record, _held in batch:
            spans.setdefault((file, file_ino), []).append((offset, offset + length + 1))
        for (file, file_ino), lines in spans.items():
            conn.execute(
                "INSERT OR IGNORE INTO files (name, indexed, ino, mtime_ns) VALUES (?, 0, ?, NULL)",
                (file, file_ino),
            )
            row = conn.execute("SELECT indexed, ino FROM files WHERE name = ?", (file,)).fetchone()
            if row is None or row[1] != file_ino:
                continue  # another file by that name now: the next sync sorts it out
            # `indexed` moves on only over contiguous lines: a gap (another writer, a
            # dropped row) stops it, and the next sync reads from there.
            indexed = start = row[0]
            for begin, end in sorted(lines):
                if begin > indexed:
                    break
                indexed = max(indexed, end)
            if indexed != start:
                conn.execute(
                    "UPDATE files SET indexed = ?, mtime_ns = NULL WHERE name = ?",
                    (indexed, file),
                )
        conn.execute("COMMIT")
