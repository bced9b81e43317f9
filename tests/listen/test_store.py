"""The event log: append, read back newest first, find by id or prefix."""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from terra_cli.errors import ExitCode, InputError, LocalResourceError
from terra_cli.settings import data_dir
from terra_cli.webhooks.events import Delivery, ForwardInfo
from terra_cli.webhooks.store import (
    EventStore,
    new_event_id,
    record_body,
    record_from,
    utc_now_iso,
)


def rec(rid: str, day: str = "2026-11-28", **kw: Any) -> dict[str, Any]:
    return {"id": rid, "received_at": f"{day}T10:00:00.000Z", "body": "{}", **kw}


def test_append_writes_one_line_per_record_in_the_day_file(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    store.append(rec("evt_a"))
    store.append(rec("evt_b"))
    store.append(rec("evt_c", day="2026-11-29"))
    first = (tmp_path / "events" / "2026-11-28.jsonl").read_bytes()
    assert first.count(b"\n") == 2 and first.endswith(b"\n")
    assert [r["id"] for r in store.iter_records()] == ["evt_c", "evt_b", "evt_a"]
    assert [r["id"] for r in store.iter_records(newest_first=False)] == ["evt_a", "evt_b", "evt_c"]


def test_a_second_writer_appends_and_never_overwrites(tmp_path: Path) -> None:
    """A second `terra listen` on the same UTC day opens the same file: append only."""
    first = EventStore(tmp_path / "events")
    first.append(rec("evt_first_run_a"))
    first.append(rec("evt_first_run_b"))
    first.close()
    path = first.path_for("2026-11-28")
    before = path.read_bytes()
    second = EventStore(tmp_path / "events")
    second.append(rec("evt_second_run"))
    # Both open at once (a listener and a concurrent writer): each line lands at the end.
    third = EventStore(tmp_path / "events")
    third.append(rec("evt_third"))
    second.append(rec("evt_second_again"))
    second.close()
    third.close()
    after = path.read_bytes()
    assert after.startswith(before)
    assert [r["id"] for r in second.iter_records(newest_first=False)] == [
        "evt_first_run_a",
        "evt_first_run_b",
        "evt_second_run",
        "evt_third",
        "evt_second_again",
    ]
    assert after.count(b"\n") == 5 and after.endswith(b"\n")


@pytest.mark.parametrize("taken", ["7 bytes", "all but the newline"])
def test_a_short_write_is_completed_not_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, taken: str
) -> None:
    """On a nearly full disk writev may take only part of a line: the rest follows."""
    store = EventStore(tmp_path / "events")
    store.append(rec("evt_before"))
    real_write = os.write

    def short_writev(fd: int, buffers: list[bytes]) -> int:
        line = b"".join(buffers)
        return real_write(fd, line[:7] if taken == "7 bytes" else line[:-1])

    writes: list[int] = []

    def counting_write(fd: int, data: Any) -> int:
        n = real_write(fd, bytes(data)[:5])  # and then 5 at a time
        writes.append(n)
        return n

    with monkeypatch.context() as patched:
        patched.setattr(os, "writev", short_writev)
        patched.setattr(os, "write", counting_write)
        store.append(rec("evt_short", body='{"x": 1}'))
    store.append(rec("evt_after"))
    assert writes
    lines = store.path_for("2026-11-28").read_bytes().splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["evt_before", "evt_short", "evt_after"]
    assert json.loads(lines[1]) == rec("evt_short", body='{"x": 1}')


def test_a_day_file_that_cannot_be_opened_is_a_local_resource_error(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    blocked = store.path_for("2026-11-28")
    blocked.mkdir(parents=True)  # a folder where the day file should be (works as root too)
    with pytest.raises(LocalResourceError) as info:
        store.append(rec("evt_a"))
    assert info.value.message == f"Cannot open the event log {blocked}: Is a directory."
    assert info.value.exit_code == ExitCode.LOCAL
    assert "--no-save" in (info.value.hint or "")


def test_a_failed_write_names_the_file_and_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore(tmp_path / "events")
    store.append(rec("evt_a"))

    def full(fd: int, buffers: list[bytes]) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "writev", full)
    with pytest.raises(LocalResourceError) as info:
        store.append(rec("evt_b"))
    path = store.path_for("2026-11-28")
    assert info.value.message == f"Cannot write the event log {path}: No space left on device."
    assert "Free some space" in (info.value.hint or "")


def test_files_are_private(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "events")
    store.append(rec("evt_a"))
    assert stat.S_IMODE((tmp_path / "events").stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path_for("2026-11-28").stat().st_mode) == 0o600


def test_default_root_follows_terra_data_dir() -> None:
    assert EventStore.default().root == data_dir() / "events"


def test_broken_lines_are_skipped(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append(rec("evt_a"))
    with store.path_for("2026-11-28").open("ab") as fh:
        fh.write(b'{"id": "evt_half\n[1,2]\n')
    store.append(rec("evt_b"))
    assert [r["id"] for r in store.iter_records()] == ["evt_b", "evt_a"]


def test_find_by_id_prefix_and_short_prefix(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    for rid in ("evt_abc123", "evt_abd456", "evt_ffff00"):
        store.append(rec(rid))
    assert store.find("evt_abc123")["id"] == "evt_abc123"
    assert store.find("evt_abd")["id"] == "evt_abd456"
    assert store.find("ff")["id"] == "evt_ffff00"  # the evt_ prefix may be left out


@pytest.mark.parametrize(("wanted", "message"), [("ab", "matches 2 events"), ("zz", "No event")])
def test_find_fails_as_input_error(tmp_path: Path, wanted: str, message: str) -> None:
    store = EventStore(tmp_path)
    store.append(rec("evt_abc123"))
    store.append(rec("evt_abd456"))
    with pytest.raises(InputError) as info:
        store.find(wanted)
    assert message in info.value.message
    assert info.value.exit_code == ExitCode.INPUT
    assert "terra events list" in (info.value.hint or "")


def test_find_in_an_empty_or_missing_log(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        EventStore(tmp_path / "nothing").find("evt_x")


def _delivery(body: bytes, **kw: Any) -> Delivery:
    base: dict[str, Any] = {
        "id": "evt_1",
        "received_at": utc_now_iso(1_790_000_000.5),
        "method": "POST",
        "path": "/h",
        "headers": (("Content-Type", "application/json"), ("X-Dup", "a"), ("x-dup", "b")),
        "body": body,
        "size": len(body),
        "verdict": "ok",
        "status": 200,
        "forward": None,
        "retry": False,
    }
    base.update(kw)
    return Delivery(**base)


def test_record_fields_and_round_trip(tmp_path: Path) -> None:
    body = '{"type":"sleep","name":"Zoë ☾"}'.encode()
    record = record_from(_delivery(body))
    assert list(record) == [
        "id", "received_at", "method", "path", "headers", "body", "size", "verdict", "status",
        "forward", "verdict_detail",  # the last one added by issue 11
    ]  # fmt: skip
    assert record["received_at"] == "2026-09-21T14:13:20.500Z"
    assert record["headers"] == {"content-type": "application/json", "x-dup": "a, b"}
    store = EventStore(tmp_path)
    store.append(record)
    [back] = store.iter_records()
    assert record_body(back) == body
    raw = store.files()[0].read_bytes()
    assert json.loads(raw)["body"] == body.decode()


def test_binary_bodies_round_trip_as_base64(tmp_path: Path) -> None:
    body = bytes(range(256))
    record = record_from(_delivery(body))
    assert "body" not in record and record["body_b64"]
    store = EventStore(tmp_path)
    store.append(record)
    assert record_body(next(store.iter_records())) == body


def test_refused_bodies_have_null_body_and_forward_is_logged() -> None:
    fwd = ForwardInfo("http://127.0.0.1:1/h", None, 3.0, "connection refused")
    record = record_from(_delivery(b"", size=999, truncated=True, status=413, forward=fwd))
    assert record["body"] is None and record["size"] == 999 and record["status"] == 413
    assert record_body(record) == b""
    assert record["forward"] == {
        "url": "http://127.0.0.1:1/h", "status": None, "latency_ms": 3.0,
        "error": "connection refused", "route": None,
    }  # fmt: skip


def test_received_at_is_right_whichever_way_the_clock_moves() -> None:
    # The formatted second is cached: a clock stepped back (NTP) must not reuse it.
    for now in (1_790_000_001.25, 1_790_000_001.999, 1_790_000_000.5, 1_790_003_600.0, 1e9):
        expected = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        assert utc_now_iso(now) == f"{expected}.{round(now % 1 * 1000) % 1000:03d}Z"
    assert utc_now_iso(1_790_000_000.5) == "2026-09-21T14:13:20.500Z"


def test_an_unreadable_day_file_names_the_file_and_the_cause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EventStore(tmp_path / "events")
    store.append(rec("evt_a"))
    path = store.path_for("2026-11-28")

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # root reads any file: inject it
    with pytest.raises(LocalResourceError) as info:
        list(store.iter_records())
    assert info.value.message == f"Cannot read the event log {path}: Permission denied."


def test_event_ids_are_evt_and_16_random_hex_digits() -> None:
    ids = [new_event_id() for _ in range(64)]
    assert all(re.fullmatch(r"evt_[0-9a-f]{16}", i) for i in ids)
    assert len(set(ids)) == 64
    # All 64 bits are random: some id has its top bit set (fails with odds of 2**-64).
    assert any(int(i[4], 16) >= 8 for i in ids)


def test_milliseconds_are_cut_not_rounded_into_the_next_second() -> None:
    assert utc_now_iso(1_790_000_000.9996) == "2026-09-21T14:13:20.999Z"
    assert utc_now_iso(1_790_000_000.0004) == "2026-09-21T14:13:20.000Z"


def test_find_skips_records_without_an_id(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append(rec("evt_abc123"))
    store.append({"received_at": "2026-11-28T11:00:00.000Z", "id": 7})  # hand-edited line
    store.append({"received_at": "2026-11-28T12:00:00.000Z", "body": "{}"})
    assert store.find("evt_abc123")["id"] == "evt_abc123"
    assert store.find("abc")["id"] == "evt_abc123"
