"""The feed: records found in the log by id, the saved log listed, memory bounded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from terra_cli.inspector import feed as feed_module
from terra_cli.inspector.feed import Feed, find_in_log
from terra_cli.inspector.reasons import verdict_reason
from terra_cli.webhooks.store import EventStore


def _record(i: int, body: str, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": f"evt_{i:016x}",
        "received_at": f"2026-11-2{i % 3}T10:00:00.000Z",
        "method": "POST",
        "path": "/consumeTerraWebhook",
        "headers": {"content-type": "application/json", "x-terra-trace-id": f"tr-{i % 4}"},
        "body": body,
        "size": len(body),
        "verdict": "unchecked",
        "status": 200,
        "forward": None,
    }
    record.update(extra)
    return record


def test_find_in_log_matches_only_a_records_own_id(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    target = "evt_00000000000000aa"
    # A body that quotes the id as text must not be taken for the record.
    decoy = json.dumps({"type": "x", "note": '{"id":"' + target + '"'})
    store.append(_record(1, decoy))
    store.append(_record(0xAA, '{"type":"sleep"}'))
    store.append(_record(2, "{}"))
    store.close()
    found = find_in_log(tmp_path, target)
    assert found is not None and found["body"] == '{"type":"sleep"}'
    assert find_in_log(tmp_path, "evt_ffffffffffffffff") is None
    assert find_in_log(tmp_path / "missing", target) is None


def test_load_log_lists_the_newest_oldest_first_with_retries(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    for i in range(12):
        store.append(_record(i, json.dumps({"type": "healthcheck", "status": "success"})))
    store.close()
    (tmp_path / "2026-11-20.jsonl").open("a").write('not json\n{"partial": ')
    feed = Feed(tmp_path, max_entries=10)
    feed.load_log()
    listed = [json.loads(data) for _seq, data in feed.after(0, 100)]
    assert len(listed) == 10
    assert [e["seq"] for e in listed] == list(range(1, 11))
    # Oldest first by day file, then by line.
    stamps = [e["received_at"] for e in listed]
    assert stamps == sorted(stamps)
    # Trace ids repeat every 4 events: the repeats are retries.
    assert any(e["retry"] for e in listed) and not listed[0]["retry"]


def test_kept_records_stay_within_the_memory_cap(monkeypatch: Any) -> None:
    monkeypatch.setattr(feed_module, "MEMORY_BYTES", 10_000)
    feed = Feed(None)
    for i in range(20):
        record = _record(i, "x" * 3000)
        feed.keep(record)
        feed.add_record(record, "listen")
    assert feed.record("evt_0000000000000013") is not None  # the newest
    assert feed.record("evt_0000000000000000") is None  # dropped
    assert feed.knows("evt_0000000000000000")  # still listed


def test_the_list_keeps_at_most_max_entries() -> None:
    feed = Feed(None, max_entries=5)
    for i in range(8):
        feed.add_record(_record(i, "{}"), "log")
    assert [seq for seq, _ in feed.after(0, 100)] == [4, 5, 6, 7, 8]
    assert not feed.knows("evt_0000000000000000")


def test_verdict_reasons_name_the_cause() -> None:
    signed = {"terra-signature": "t=1796162400,v1=abc"}
    base: dict[str, Any] = {"received_at": "2026-12-01T22:00:10.000Z"}
    assert "matches" in verdict_reason({**base, "verdict": "ok", "headers": signed})
    assert "signed 10 s before" in verdict_reason({**base, "verdict": "ok", "headers": signed})
    assert "No v1 signature" in verdict_reason({**base, "verdict": "bad", "headers": signed})
    assert "no t=" in verdict_reason(
        {**base, "verdict": "bad", "headers": {"terra-signature": "junk"}}
    )
    future = {"x-terra-signature": "t=1796163000,v1=abc"}
    assert "in the future" in verdict_reason({**base, "verdict": "stale", "headers": future})
    old = {"terra-signature": "t=1796100000,v1=abc"}
    assert "62410 s old" in verdict_reason({**base, "verdict": "stale", "headers": old})
    assert "No terra-signature" in verdict_reason({**base, "verdict": "unsigned", "headers": {}})
    assert "413" in verdict_reason({**base, "verdict": "unchecked", "status": 413})
    assert "No signing secret" in verdict_reason({**base, "verdict": "unchecked", "status": 200})
