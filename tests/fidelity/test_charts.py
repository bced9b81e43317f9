"""The sleep chart is drawn by duration, with every level Terra defines."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from terra_cli.render.events import (
    hypnogram_chart,
    hypnogram_columns,
    hypnogram_segments,
    series_charts,
)
from terra_cli.webhooks import samples
from tests.conftest import Home
from tests.listen.conftest import start_listener

START = datetime(2026, 8, 12, 23, 0, tzinfo=timezone(timedelta(hours=2)))
# (level, minutes): three hours of deep sleep and five minutes of REM, among others.
NIGHT = [(1, 10), (4, 40), (5, 180), (6, 5), (4, 60), (6, 25), (1, 5)]
NAMES = {0: "unknown", 1: "awake", 2: "asleep", 3: "out of bed", 4: "light", 5: "deep", 6: "REM"}


def _record(night: list[tuple[int, int]], start: datetime = START) -> dict[str, Any]:
    samples_, at = [], start
    for level, minutes in night:
        samples_.append({"timestamp": at.isoformat(), "level": level})
        at += timedelta(minutes=minutes)
    return {
        "metadata": {"start_time": start.isoformat(), "end_time": at.isoformat()},
        "sleep_durations_data": {"hypnogram_samples": samples_},
    }


def _rows(lines: list[str]) -> dict[str, str]:
    """Chart rows by stage name: the marks between the bars."""
    return {line.split("│")[0].strip(): line.split("│")[1] for line in lines if "│" in line}


def test_each_sample_lasts_until_the_next_and_the_last_until_the_end() -> None:
    record = _record(NIGHT)
    stamps = [
        datetime.fromisoformat(s["timestamp"]).timestamp()
        for s in record["sleep_durations_data"]["hypnogram_samples"]
    ]
    end = datetime.fromisoformat(record["metadata"]["end_time"]).timestamp()
    segments = hypnogram_segments(list(zip(stamps, [lv for lv, _ in NIGHT], strict=True)), end)
    assert [(level, seconds) for level, _, seconds in segments] == [
        (level, minutes * 60.0) for level, minutes in NIGHT
    ]
    assert [at for _, at, _ in segments] == stamps


@pytest.mark.parametrize("width", [40, 60, 117])
def test_columns_are_proportional_to_time_in_each_stage(width: int) -> None:
    lines = series_charts({"type": "sleep", "data": [_record(NIGHT)]}, width=width)
    rows = _rows(lines)
    total = sum(m for _, m in NIGHT)
    for level in {lv for lv, _ in NIGHT}:
        minutes = sum(m for lv, m in NIGHT if lv == level)
        drawn = rows[NAMES[level]].count("█")
        assert abs(drawn - minutes / total * width) <= 1.5, (NAMES[level], drawn, minutes)
    assert all(len(marks) == width for marks in rows.values())
    assert any("over 5h25" in line for line in lines)


def test_every_level_is_drawn_including_unknown_asleep_and_out_of_bed() -> None:
    # A provider without stage data: awake / asleep / out of bed / unknown only.
    night = [(3, 15), (1, 20), (2, 300), (0, 30), (2, 60), (3, 10)]
    rows = _rows(series_charts({"type": "sleep", "data": [_record(night)]}, width=87))
    assert set(rows) == {"out of bed", "awake", "asleep", "unknown"}
    assert rows["asleep"].count("█") == pytest.approx(360 / 435 * 87, abs=1.5)
    assert all(rows[NAMES[lv]].count("█") >= 1 for lv, _ in night)


def test_each_column_shows_the_level_held_longest_in_its_slice() -> None:
    segments = [(1, 0.0, 10.0), (5, 10.0, 50.0), (6, 60.0, 40.0)]
    assert hypnogram_columns(segments, 4) == [5, 5, 6, 6]
    assert hypnogram_columns(segments, 10) == [1, 5, 5, 5, 5, 5, 6, 6, 6, 6]
    assert hypnogram_chart([], 10) == [] and hypnogram_columns(segments, 0) == []


def test_sample_sleep_chart_agrees_with_its_own_durations() -> None:
    record = samples.build("sleep", START, seed=11)["data"][0]
    data = record["sleep_durations_data"]
    rows = _rows(series_charts({"data": [record]}, width=100))
    in_bed = data["other"]["duration_in_bed_seconds"]
    deep = data["asleep"]["duration_deep_sleep_state_seconds"]
    assert rows["deep"].count("█") == pytest.approx(deep / in_bed * 100, abs=1.5)


def test_events_show_draws_the_sleep_chart_by_duration(home: Home) -> None:
    listener = start_listener(home, "--max-events", "1")
    body = json.dumps({"type": "sleep", "data": [_record(NIGHT)]}).encode()
    assert listener.post(body).status == 200
    _code, out, _err = listener.finish()
    event_id = json.loads(out.splitlines()[1])["id"]
    shown = home.run("events", "show", event_id)
    assert shown.code == 0, shown.stderr
    rows = _rows(shown.stdout.splitlines())
    assert rows["deep"].count("█") > rows["REM"].count("█") * 5
    assert "3h00" in next(line for line in shown.stdout.splitlines() if "deep │" in line)
