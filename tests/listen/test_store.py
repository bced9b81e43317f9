"""The event log: append, read back newest first, find by id or prefix."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest

from terra_cli.errors import ExitCode, InputError
from terra_cli.settings import data_dir
from terra_cli.webhooks.events import Delivery, ForwardInfo
from terra_cli.webhooks.store import EventStore, record_body, record_from, utc_now_iso


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
