"""The event log: append-only JSON Lines files, one per UTC day.

`<data dir>/events/YYYY-MM-DD.jsonl`, one object per request: `id`,
`received_at`, `method`, `path`, `headers`, `body` (the exact text when the
bytes are UTF-8) or `body_b64`, `verdict`, `status`, `forward`, plus `size`.
`append` writes each record with one `write` on an O_APPEND descriptor and
returns only once the bytes are in the file, so an acknowledged request is
never missing from the log, even when terra is killed right after.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from terra_cli.errors import InputError, LocalResourceError
from terra_cli.settings import data_dir, ensure_private_dir
from terra_cli.webhooks.events import Delivery

if TYPE_CHECKING:
    from terra_cli.webhooks.index import IndexWriter

ID_PREFIX = "evt_"


# Ids need to be unique, not secret: a generator seeded once from the OS costs
# no system call per request.
_ids = random.Random(secrets.randbits(128))  # noqa: S311 - uniqueness, not secrecy


def new_event_id() -> str:
    """A short random id such as `evt_3f9a0c2b7d41e856`."""
    return f"{ID_PREFIX}{_ids.getrandbits(64):016x}"


_second: tuple[int, str] = (-1, "")


def utc_now_iso(now: float) -> str:
    """ISO 8601 UTC with milliseconds and a Z: `2026-11-28T10:15:00.123Z`."""
    global _second
    whole = int(now)
    cached = _second
    if cached[0] != whole:
        cached = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
        _second = cached
    return f"{cached[1]}.{int((now - whole) * 1000):03d}Z"


def default_root() -> Path:
    """Where the event log lives: `events/` under the data directory."""
    return data_dir() / "events"


def record_from(delivery: Delivery) -> dict[str, Any]:
    """The log record of a delivery, in the contract's field order."""
    headers: dict[str, str] = {}
    for name, value in delivery.headers:
        key = name.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    record: dict[str, Any] = {
        "id": delivery.id,
        "received_at": delivery.received_at,
        "method": delivery.method,
        "path": delivery.path,
        "headers": headers,
    }
    if delivery.truncated:
        record["body"] = None
    else:
        try:
            record["body"] = delivery.body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_b64"] = base64.b64encode(delivery.body).decode("ascii")
    record["size"] = delivery.size
    record["verdict"] = delivery.verdict
    record["status"] = delivery.status
    record["forward"] = delivery.forward.to_json() if delivery.forward else None
    record["verdict_detail"] = delivery.verdict_detail  # ours, after the contract's fields
    return record


def record_body(record: dict[str, Any]) -> bytes:
    """The exact body bytes a record holds (empty when none was kept, e.g. a 413)."""
    body = record.get("body")
    if isinstance(body, str):
        return body.encode("utf-8")
    encoded = record.get("body_b64")
    if isinstance(encoded, str):
        return base64.b64decode(encoded)
    return b""


# The index beside the log is kept in step by the writer unless this is False
# (benchmarks/event_log.py turns it off to measure the receiver without it).
INDEX_WRITES = True


class EventStore:
    """The append-only event log under `root` (normally `<data dir>/events`)."""

    def __init__(self, root: Path, index: bool | None = None) -> None:
        self.root = root
        self._lock = threading.Lock()  # guards opening day files
        self._fds: dict[str, int] = {}
        self._inodes: dict[str, int] = {}
        self._write_lock = threading.Lock()
        self._index_writes = INDEX_WRITES if index is None else index
        self._indexer: IndexWriter | None = None
        # Told how many bytes a query must index first, when that takes a while.
        self.on_catch_up: Callable[[int], None] | None = None

    @classmethod
    def default(cls) -> EventStore:
        """The store in the user's data directory (`TERRA_DATA_DIR` moves it)."""
        return cls(default_root())

    def path_for(self, day: str) -> Path:
        """The file that holds one UTC day, `YYYY-MM-DD.jsonl`."""
        return self.root / f"{day}.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        """Write one record as a line; the bytes are in the file when this returns.

        Each line goes out in one `writev` on an O_APPEND descriptor. The lock
        is not needed for atomicity; it serialises writers, which measured
        cheaper under load than threads queueing in the kernel.
        """
        received = record.get("received_at")
        day = received[:10] if isinstance(received, str) and len(received) >= 10 else None
        day = day or datetime.now(timezone.utc).strftime("%Y-%m-%d")
        # No `+ "\n"` on a str that may be 30 MB: the newline goes in the same writev.
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        fd = self._fds.get(day)
        if fd is None:
            fd = self._open(day)
        try:
            with self._write_lock:
                written = os.writev(fd, [line, b"\n"])
                if written < len(line) + 1:  # only on a full disk or a huge record
                    rest = memoryview(line + b"\n")[written:]
                    while rest:
                        rest = rest[os.write(fd, rest) :]
                indexer = self._indexer
                if indexer is not None:
                    # O_APPEND leaves the position at the end of what was just written.
                    end = os.lseek(fd, 0, os.SEEK_CUR)
                    indexer.add(
                        f"{day}.jsonl", self._inodes[day], end - len(line) - 1, len(line), record
                    )
        except OSError as exc:
            raise LocalResourceError(
                f"Cannot write the event log {self.path_for(day)}: {exc.strerror or exc}.",
                hint="Free some space or fix the folder's permissions, set TERRA_DATA_DIR "
                "elsewhere, or run 'terra listen --no-save'.",
            ) from None

    def _open(self, day: str) -> int:
        with self._lock:
            fd = self._fds.get(day)
            if fd is not None:
                return fd
            try:
                ensure_private_dir(self.root)
            except LocalResourceError as exc:
                raise LocalResourceError(
                    exc.message,
                    hint="Fix the folder's permissions, set TERRA_DATA_DIR elsewhere, "
                    "or run 'terra listen --no-save'.",
                ) from None
            path = self.path_for(day)
            try:
                flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
                fd = os.open(path, flags, 0o600)
            except OSError as exc:
                raise LocalResourceError(
                    f"Cannot open the event log {path}: {exc.strerror or exc}.",
                    hint="Fix the folder's permissions, set TERRA_DATA_DIR elsewhere, "
                    "or run 'terra listen --no-save'.",
                ) from None
            # Earlier days stay open until close(): a thread may still be writing to one.
            self._inodes[day] = os.fstat(fd).st_ino
            if self._index_writes and self._indexer is None:
                from terra_cli.webhooks.index import IndexWriter

                self._indexer = IndexWriter(self.root)
            self._fds[day] = fd
            return fd

    def note_facts(
        self, event_id: str, event_type: str | None, user_id: str | None, provider: str | None
    ) -> None:
        """What the live view's summary found in an event, so the index writer need not
        parse the body again (it does when this never comes)."""
        indexer = self._indexer
        if indexer is not None:
            indexer.note(event_id, (event_type, user_id, provider))

    def close(self) -> None:
        """Release the open files (appending again reopens them) and let the index
        writer finish what it has queued."""
        with self._lock:
            fds, self._fds = self._fds, {}
            indexer, self._indexer = self._indexer, None
        for fd in fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        if indexer is not None:
            indexer.close()

    def files(self) -> list[Path]:
        """The day files, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob("*.jsonl") if p.is_file())

    def iter_records(self, newest_first: bool = True) -> Iterator[dict[str, Any]]:
        """Every readable record; a line that is not a JSON object is skipped."""
        files = self.files()
        if newest_first:
            files.reverse()
        for path in files:
            try:
                lines = path.read_bytes().splitlines()
            except OSError as exc:
                raise LocalResourceError(
                    f"Cannot read the event log {path}: {exc.strerror or exc}.",
                    hint="Check the file's permissions, or set TERRA_DATA_DIR.",
                ) from None
            if newest_first:
                lines.reverse()
            for line in lines:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record

    def select(
        self,
        limit: int,
        event_type: str | None = None,
        user_id: str | None = None,
        verdict: str | None = None,
        since: str | None = None,
    ) -> list[dict[str, Any]]:
        """The newest records matching every filter given (type compared case-blind).

        Answered from the index after it caught up with the day files; read from
        the files themselves only when the index cannot be used.
        """
        wanted = event_type.strip().lower() if event_type else None
        if not self.root.is_dir():
            return []
        from terra_cli.webhooks.index import IndexBusy, IndexUnavailable

        for rebuild in (False, True):
            try:
                return self._select_indexed(wanted, user_id, verdict, since, limit, rebuild)
            except IndexBusy:
                break  # held by another process: read the files, keep the index
            except IndexUnavailable:
                continue
        return self._scan(limit, wanted, user_id, verdict, since)

    def _select_indexed(
        self,
        wanted: str | None,
        user_id: str | None,
        verdict: str | None,
        since: str | None,
        limit: int,
        rebuild: bool,
    ) -> list[dict[str, Any]]:
        from terra_cli.webhooks.index import EventIndex, IndexUnavailable, read_at

        with EventIndex(self.root, self.on_catch_up) as index:
            if rebuild:
                index.rebuild()  # the last try found the index damaged
            for _attempt in range(3):
                index.sync()
                places = index.query(
                    limit=limit,
                    event_type=wanted,
                    user_id=user_id,
                    verdict=verdict,
                    since=since,
                )
                records = [read_at(self.root, p) for p in places]
                stale = {p.file for p, r in zip(places, records, strict=True) if r is None}
                if not stale:
                    return [r for r in records if r is not None]
                index.forget(sorted(stale))  # indexed again from the start by sync
        raise IndexUnavailable("indexed places keep missing")

    def _scan(
        self,
        limit: int,
        wanted: str | None,
        user_id: str | None,
        verdict: str | None,
        since: str | None,
    ) -> list[dict[str, Any]]:
        """`select` the slow way, reading every file (when the index cannot be used)."""
        from terra_cli.webhooks.events import summarize
        from terra_cli.webhooks.replay import recorded_headers

        picked: list[dict[str, Any]] = []
        for record in self.iter_records(newest_first=True):
            if verdict is not None and record.get("verdict") != verdict:
                continue
            if since is not None and str(record.get("received_at", "")) < since:
                continue
            if wanted is not None or user_id is not None:
                summary = summarize(record_body(record), recorded_headers(record))
                if wanted is not None and (summary.type or "").lower() != wanted:
                    continue
                if user_id is not None and summary.user_id != user_id:
                    continue
            picked.append(record)
            if len(picked) >= limit:
                break
        return picked

    def prune(self, files: list[Path]) -> list[Path]:
        """Remove these day files (and their index rows); the ones actually removed."""
        removed: list[Path] = []
        for path in files:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise LocalResourceError(
                    f"Cannot remove {path}: {exc.strerror or exc}.",
                    hint="Check the folder's permissions, or set TERRA_DATA_DIR.",
                ) from None
            removed.append(path)
        if removed:
            from terra_cli.webhooks.index import INDEX_NAME, EventIndex, IndexUnavailable

            if (self.root / INDEX_NAME).exists():
                # A cache: should this fail, the next sync drops the rows anyway.
                with contextlib.suppress(IndexUnavailable), EventIndex(self.root) as index:
                    index.forget([p.name for p in removed])
        return removed

    def find(self, event_id_or_unique_prefix: str) -> dict[str, Any]:
        """The record with this id, or the only one whose id starts with the prefix."""
        wanted = event_id_or_unique_prefix.strip()
        if not wanted:
            raise InputError("No event id given.", hint="Run 'terra events list' to see ids.")
        prefixes = [wanted] if wanted.startswith(ID_PREFIX) else [wanted, ID_PREFIX + wanted]
        if self.root.is_dir():
            from terra_cli.webhooks.index import IndexBusy, IndexUnavailable

            for rebuild in (False, True):
                try:
                    return self._find_indexed(wanted, prefixes, rebuild)
                except IndexBusy:
                    break  # held by another process: read the files, keep the index
                except IndexUnavailable:
                    continue
        return self._find_scan(wanted, prefixes)

    def _find_indexed(self, wanted: str, prefixes: list[str], rebuild: bool) -> dict[str, Any]:
        from terra_cli.webhooks.index import EventIndex, IndexUnavailable, read_at

        with EventIndex(self.root, self.on_catch_up) as index:
            if rebuild:
                index.rebuild()  # the last try found the index damaged
            for _attempt in range(3):
                index.sync()
                places = index.lookup(prefixes)
                exact = [p for p in places if p.id == wanted]
                chosen = exact or places
                if len(chosen) > 1:
                    _ambiguous(wanted, len(chosen))
                if not chosen:
                    _not_found(wanted)
                record = read_at(self.root, chosen[0])
                if record is not None:
                    return record
                index.forget([chosen[0].file])  # it moved: index that file afresh
        raise IndexUnavailable("indexed places keep missing")

    def _find_scan(self, wanted: str, prefixes: list[str]) -> dict[str, Any]:
        """`find` the slow way, reading every file (when the index cannot be used)."""
        matches: dict[str, dict[str, Any]] = {}
        for record in self.iter_records():
            rid = record.get("id")
            if not isinstance(rid, str):
                continue
            if rid == wanted:
                return record
            if any(rid.startswith(p) for p in prefixes):
                matches.setdefault(rid, record)
        if len(matches) == 1:
            return next(iter(matches.values()))
        if not matches:
            _not_found(wanted)
        _ambiguous(wanted, len(matches))
        raise AssertionError("unreachable")  # pragma: no cover


def _not_found(wanted: str) -> NoReturn:
    raise InputError(
        f"No event '{wanted}' in the event log.",
        hint="Run 'terra events list' to see the ids in the log.",
    )


def _ambiguous(wanted: str, count: int) -> NoReturn:
    raise InputError(
        f"'{wanted}' matches {count if count < 3 else 'several'} events.",
        hint="Give more characters of the id; 'terra events list' shows them.",
    )
