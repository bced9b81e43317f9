"""The event log's SQLite index: kept in step by `terra listen`, caught up, rebuilt.

Every test drives the installed CLI; day files are written by a real listener,
or by hand in the documented JSON Lines format where a test needs other days.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.conftest import Home
from tests.listen.conftest import post, start_listener
from tests.trigger.conftest import SECRET, independent_sign

ENV = {"TERRA_SIGNING_SECRET": SECRET}


def _body(event_type: str, user: str = "u-1", n: int = 0) -> bytes:
    doc = {"type": event_type, "user": {"user_id": user, "provider": "OURA"}, "data": [], "n": n}
    return json.dumps(doc).encode()


def _send(port: int, event_type: str, user: str = "u-1", signed: bool = True, n: int = 0) -> str:
    body = _body(event_type, user, n)
    headers = {"terra-signature": independent_sign(body)} if signed else {}
    reply = post(port, body, headers)
    assert reply.status == 200
    return str(reply.json()["id"])


def _list(home: Home, *args: str) -> list[dict[str, Any]]:
    r = home.run("events", "list", "--json", *args)
    assert r.code == 0, r.stderr
    return list(json.loads(r.stdout))


def _ids(home: Home, *args: str) -> list[str]:
    return [r["id"] for r in _list(home, "--limit", "100000", *args)]


def _indexed(home: Home) -> int:
    with sqlite3.connect(home.data_dir / "events" / "index.sqlite3") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def _record(rid: str, when: datetime, event_type: str = "sleep", user: str = "u-9") -> str:
    body = _body(event_type, user).decode()
    return json.dumps(
        {
            "id": rid,
            "received_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "method": "POST",
            "path": "/consumeTerraWebhook",
            "headers": {"content-type": "application/json"},
            "body": body,
            "size": len(body),
            "verdict": "unchecked",
            "status": 200,
            "forward": None,
        }
    )


def _write_day(home: Home, when: datetime, *ids: str, event_type: str = "sleep") -> Path:
    root = home.data_dir / "events"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"{when:%Y-%m-%d}.jsonl"
    with path.open("a") as f:
        for rid in ids:
            f.write(_record(rid, when, event_type) + "\n")
    return path


def _run_listener(home: Home, count: int) -> list[str]:
    listener = start_listener(home, "--max-events", str(count), env=ENV)
    kinds = ["activity", "sleep", "daily"]
    ids = [_send(listener.port, kinds[i % 3], f"user-{i % 2}", n=i) for i in range(count)]
    code, _, err = listener.finish()
    assert code == 0, err
    return ids


def test_the_listener_indexes_what_it_writes(home: Home) -> None:
    ids = _run_listener(home, 6)
    assert _indexed(home) == 6  # written by the listener's index thread, before any query
    assert _ids(home) == ids[::-1]  # newest first


def test_kill_9_mid_load_then_list_shows_every_acknowledged_event(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    acknowledged: list[str] = []
    stop = threading.Event()

    def load() -> None:
        i = 0
        while not stop.is_set():
            try:
                acknowledged.append(_send(listener.port, "activity", n=i))
            except (OSError, AssertionError):
                return  # the listener is gone: this request was never acknowledged
            i += 1

    senders = [threading.Thread(target=load) for _ in range(4)]
    for t in senders:
        t.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(listener.proc.pid, signal.SIGKILL)
    stop.set()
    for t in senders:
        t.join(10)
    listener.proc.communicate(timeout=10)
    assert len(acknowledged) >= 300
    listed = set(_ids(home))
    assert set(acknowledged) <= listed
    assert _indexed(home) == len(listed)  # the tail the listener had not indexed is in now
    one = acknowledged[len(acknowledged) // 2]
    shown = home.run("events", "show", one, "--json")
    assert shown.code == 0 and json.loads(shown.stdout)["id"] == one


def test_a_deleted_index_is_rebuilt(home: Home) -> None:
    ids = _run_listener(home, 4)
    index = home.data_dir / "events" / "index.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    assert _ids(home) == ids[::-1]
    assert index.exists() and _indexed(home) == 4


def test_a_corrupt_index_is_rebuilt(home: Home) -> None:
    ids = _run_listener(home, 4)
    index = home.data_dir / "events" / "index.sqlite3"
    for suffix in ("-wal", "-shm"):
        Path(f"{index}{suffix}").unlink(missing_ok=True)
    index.write_bytes(b"this is not a database at all" * 100)
    assert _ids(home) == ids[::-1]
    shown = home.run("events", "show", ids[0][4:12], "--json")  # a prefix without evt_
    assert shown.code == 0, shown.stderr
    assert json.loads(shown.stdout)["id"] == ids[0]
    assert _indexed(home) == 4


def test_a_rewritten_day_file_is_indexed_again_never_answered_from_stale_rows(
    home: Home,
) -> None:
    now = datetime.now(timezone.utc)
    path = _write_day(home, now, "evt_aaaa000000000001", "evt_aaaa000000000002")
    assert _ids(home) == ["evt_aaaa000000000002", "evt_aaaa000000000001"]
    # Replaced by a file of the same size with other ids (an editor, a restore).
    path.write_text(
        _record("evt_bbbb000000000001", now) + "\n" + _record("evt_bbbb000000000002", now) + "\n"
    )
    assert set(_ids(home)) == {"evt_bbbb000000000001", "evt_bbbb000000000002"}
    gone = home.run("events", "show", "evt_aaaa000000000001")
    assert gone.code == 3 and "No event" in gone.stderr
    # Cut short: the rows beyond the end must go too.
    path.write_text(_record("evt_cccc000000000001", now) + "\n")
    assert _ids(home) == ["evt_cccc000000000001"]


def test_a_line_still_being_written_is_not_indexed_until_complete(home: Home) -> None:
    now = datetime.now(timezone.utc)
    path = _write_day(home, now, "evt_dddd000000000001")
    half = _record("evt_dddd000000000002", now)
    with path.open("a") as f:
        f.write(half[:40])
    assert _ids(home) == ["evt_dddd000000000001"]
    with path.open("a") as f:
        f.write(half[40:] + "\n")
    assert _ids(home) == ["evt_dddd000000000002", "evt_dddd000000000001"]


def test_filters_type_user_verdict_since_and_limit(home: Home) -> None:
    listener = start_listener(home, "--max-events", "5", env=ENV)
    a = _send(listener.port, "activity", "alice")
    s1 = _send(listener.port, "sleep", "bob")
    s2 = _send(listener.port, "Sleep", "alice")
    u = _send(listener.port, "daily", "alice", signed=False)
    d = _send(listener.port, "daily", "bob")
    code, _, err = listener.finish()
    assert code == 1, err  # one unsigned event with a secret set: a failed verdict
    old = datetime.now(timezone.utc) - timedelta(days=3)
    _write_day(home, old, "evt_0000000000000001", event_type="sleep")
    assert _ids(home, "--type", "sleep") == [s2, s1, "evt_0000000000000001"]
    assert _ids(home, "--type", "SLEEP", "--since", "2d") == [s2, s1]
    assert _ids(home, "--user", "alice") == [u, s2, a]
    assert _ids(home, "--verdict", "unsigned") == [u]
    assert _ids(home, "--verdict", "ok", "--user", "bob") == [d, s1]
    assert _ids(home, "--since", f"{old:%Y-%m-%d}") == [d, u, s2, s1, a, "evt_0000000000000001"]
    assert [r["id"] for r in _list(home, "--limit", "2")] == [d, u]
    empty = home.run("events", "list", "--type", "body")
    assert empty.code == 0 and "No events of type 'body'" in empty.stderr


def test_bad_filter_values_are_exit_3(home: Home) -> None:
    r = home.run("events", "list", "--verdict", "great")
    assert r.code == 3 and "Unknown verdict 'great'" in r.stderr and "unsigned" in r.stderr
    r = home.run("events", "list", "--since", "last tuesday")
    assert r.code == 3 and "--since" in r.stderr and "Hint:" in r.stderr


def test_show_prefix_ambiguous_and_missing(home: Home) -> None:
    now = datetime.now(timezone.utc)
    _write_day(home, now, "evt_abcd000000000001", "evt_abcd000000000002", "evt_ef00000000000003")
    r = home.run("events", "show", "abcd")
    assert r.code == 3 and "matches 2 events" in r.stderr
    r = home.run("events", "show", "evt_ef", "--json")
    assert r.code == 0 and json.loads(r.stdout)["id"] == "evt_ef00000000000003"
    r = home.run("events", "show", "evt_ffff")
    assert r.code == 3 and "No event 'evt_ffff'" in r.stderr


def test_no_event_log_yet_creates_nothing(home: Home) -> None:
    r = home.run("events", "list")
    assert r.code == 0 and "No events" in r.stderr
    assert not (home.data_dir / "events").exists()


def test_an_index_held_by_another_process_is_read_around_and_kept(home: Home) -> None:
    ids = _run_listener(home, 3)
    index = home.data_dir / "events" / "index.sqlite3"
    inode = index.stat().st_ino
    later = datetime.now(timezone.utc) + timedelta(seconds=2)  # the newest event
    _write_day(home, later, "evt_eeee000000000001")  # not indexed yet: only the files have it
    holder = sqlite3.connect(index, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # another process mid-transaction, for longer
        listed = _ids(home)
        shown = home.run("events", "show", "evt_eeee", "--json")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert set(listed) == {*ids, "evt_eeee000000000001"}
    assert shown.code == 0 and json.loads(shown.stdout)["id"] == "evt_eeee000000000001"
    assert index.stat().st_ino == inode  # busy is not damage: the index was kept
    assert _ids(home)[0] == "evt_eeee000000000001" and _indexed(home) == 4


def test_the_writer_reads_what_no_summary_told_it_small_and_big(tmp_path: Path) -> None:
    """Without a live view (no facts noted) the writer parses held small records and
    reads big ones back from the day file; with facts it uses them."""
    from terra_cli.webhooks.index import HOLD_LINE, EventIndex
    from terra_cli.webhooks.store import EventStore

    store = EventStore(tmp_path / "events")
    now = datetime.now(timezone.utc)
    small = json.loads(_record("evt_1000000000000001", now, "sleep", "u-small"))
    big = json.loads(_record("evt_1000000000000002", now, "daily", "u-big"))
    doc = json.loads(big["body"])
    doc["data"] = [{"pad": "x" * (HOLD_LINE * 2)}]
    big["body"] = json.dumps(doc)
    noted = json.loads(_record("evt_1000000000000003", now, "body", "u-noted"))
    store.append(small)  # opens the day file and starts the writer
    store.note_facts("evt_1000000000000003", "body", "u-from-summary", "GARMIN")  # before
    store.append(big)
    store.append(noted)
    store.close()
    with sqlite3.connect(tmp_path / "events" / "index.sqlite3") as conn:
        rows = conn.execute("SELECT id, type, user_id, provider FROM events ORDER BY id").fetchall()
    assert rows == [
        ("evt_1000000000000001", "sleep", "u-small", "OURA"),
        ("evt_1000000000000002", "daily", "u-big", "OURA"),
        ("evt_1000000000000003", "body", "u-from-summary", "GARMIN"),
    ]
    with EventIndex(tmp_path / "events") as index:
        index.sync()  # nothing left to catch up: the writer marked the file indexed
        assert [p.id for p in index.query(limit=5, event_type="daily")] == [big["id"]]
