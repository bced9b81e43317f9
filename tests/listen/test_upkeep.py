"""Event log upkeep: `terra events prune` and `event-log-days` applied by `terra listen`."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.fakes.terminal import Terminal
from tests.listen.conftest import start_listener
from tests.listen.test_index import _ids, _write_day


def _days(home: Home) -> list[str]:
    return sorted(p.stem for p in (home.data_dir / "events").glob("*.jsonl"))


def _ago(days: int) -> datetime:
    return datetime.now(timezone.utc) - timedelta(days=days)


@pytest.fixture
def old_log(home: Home) -> list[str]:
    """Day files from today, 5, 31 and 40 days ago (one event each)."""
    made = []
    for n, age in enumerate((0, 5, 31, 40)):
        _write_day(home, _ago(age), f"evt_{n:016x}")
        made.append(f"{_ago(age):%Y-%m-%d}")
    assert _ids(home)  # the index knows every file before the prune
    return sorted(made)


def test_prune_without_a_terminal_needs_yes(home: Home, old_log: list[str]) -> None:
    r = home.run("events", "prune")
    assert r.code == 3
    assert "--yes" in r.stderr and "Hint:" in r.stderr
    assert _days(home) == old_log  # nothing removed


def test_prune_yes_removes_days_older_than_event_log_days(home: Home, old_log: list[str]) -> None:
    r = home.run("events", "prune", "--yes")
    assert r.code == 0, r.stderr
    assert "Removed 2 day files" in r.stderr
    assert _days(home) == old_log[2:]  # 40 and 31 days ago went; 5 days and today stay
    assert _ids(home) == ["evt_0000000000000000", "evt_0000000000000001"]
    again = home.run("events", "prune", "--yes")
    assert again.code == 0 and "Nothing to prune" in again.stderr


def test_prune_older_than(home: Home, old_log: list[str]) -> None:
    r = home.run("events", "prune", "--older-than", "2d", "--yes")
    assert r.code == 0, r.stderr
    assert _days(home) == old_log[3:]  # only today's file is left
    assert _ids(home) == ["evt_0000000000000000"]
    bad = home.run("events", "prune", "--older-than", "soon", "--yes")
    assert bad.code == 3 and "--older-than" in bad.stderr


@pytest.mark.parametrize(("answer", "code"), [("n", 7), ("y", 0)])
def test_prune_asks_on_a_terminal(home: Home, old_log: list[str], answer: str, code: int) -> None:
    env = dict(home.env, NO_COLOR="1")
    term = Terminal(["events", "prune", "--older-than", "30d"], env)
    term.expect("Remove 2 day files")
    term.expect("[y/N]: ")
    term.send(answer)
    assert term.wait() == code, term.output
    assert _days(home) == (old_log if answer == "n" else old_log[2:])


def test_listen_removes_old_days_when_it_starts_and_says_so(home: Home, old_log: list[str]) -> None:
    listener = start_listener(home, "--timeout", "0.2")
    code, _, err = listener.finish()
    assert code == 0
    assert "Event log: removed 2 day files older than 30 days" in err
    assert _days(home) == old_log[2:]


def test_event_log_days_setting(home: Home, old_log: list[str]) -> None:
    assert home.run("config", "set", "event-log-days", "3").code == 0
    listener = start_listener(home, "--timeout", "0.2")
    assert listener.finish()[0] == 0
    assert _days(home) == old_log[3:]


def test_event_log_days_zero_keeps_everything(home: Home, old_log: list[str]) -> None:
    listener = start_listener(home, "--timeout", "0.2", env={"TERRA_EVENT_LOG_DAYS": "0"})
    code, _, err = listener.finish()
    assert code == 0 and "removed" not in err
    assert _days(home) == old_log
    r = home.run("events", "prune", "--yes", env={"TERRA_EVENT_LOG_DAYS": "0"})
    assert r.code == 3 and "--older-than" in r.stderr


def test_a_bad_event_log_days_is_exit_3(home: Home) -> None:
    r = home.run("config", "set", "event-log-days", "a month")
    assert r.code == 3 and "whole number" in r.stderr
    r = home.run("listen", "--no-tunnel", "--port", "0", env={"TERRA_EVENT_LOG_DAYS": "-1"})
    assert r.code == 3 and "event-log-days" in r.stderr


def test_files_that_are_not_day_files_are_never_pruned(home: Home) -> None:
    root = home.data_dir / "events"
    root.mkdir(parents=True)
    keep = root / "notes.jsonl"
    keep.write_text(json.dumps({"id": "x"}) + "\n")
    _write_day(home, _ago(90), "evt_00000000000000aa")
    r = home.run("events", "prune", "--yes")
    assert r.code == 0
    assert Path(keep).exists() and _days(home) == ["notes"]
