"""Chart data from bodies: the hypnogram by duration, per-interval steps, thinning."""

from __future__ import annotations

from typing import Any

from terra_cli.inspector import series


def _sleep(samples: list[tuple[str, Any]], end: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "metadata": {"start_time": "2026-11-28T23:00:00+00:00"},
        "sleep_durations_data": {
            "hypnogram_samples": [{"timestamp": t, "level": level} for t, level in samples]
        },
    }
    if end is not None:
        record["metadata"]["end_time"] = end
    return record


MIN = 60_000


def test_segments_by_duration_for_every_level() -> None:
    record = _sleep(
        [
            ("2026-11-28T23:00:00.000000+00:00", 1),
            ("2026-11-28T23:10:00.000000+00:00", 4),
            ("2026-11-28T23:40:00.000000+00:00", 5),
            ("2026-11-29T00:00:00.000000+00:00", 6),
            ("2026-11-29T00:15:00.000000+00:00", 3),
            ("2026-11-29T00:20:00.000000+00:00", 2),
            ("2026-11-29T00:30:00.000000+00:00", 0),
        ],
        "2026-11-29T00:40:00.000000+00:00",
    )
    lengths = [(level, (end - start) // MIN) for start, end, level in series.hypnogram(record)]
    assert lengths == [(1, 10), (4, 30), (5, 20), (6, 15), (3, 5), (2, 10), (0, 10)]


def test_repeated_levels_merge_and_unknown_codes_are_unknown() -> None:
    record = _sleep(
        [
            ("2026-11-28T23:00:00Z", 4),
            ("2026-11-28T23:05:00Z", 4),
            ("2026-11-28T23:10:00Z", 9),  # not a Terra level
            ("2026-11-28T23:20:00Z", "deep"),  # not a number: skipped
        ],
        None,  # no end: the last sample's length is unknown, so it is not drawn
    )
    lengths = [(level, (end - start) // MIN) for start, end, level in series.hypnogram(record)]
    assert lengths == [(4, 10)]


def test_cumulative_steps_become_steps_per_interval() -> None:
    record = {
        "distance_data": {
            "detailed": {
                "step_samples": [
                    {"timestamp": f"2026-11-28T07:{m:02d}:00Z", "steps": s}
                    for m, s in ((0, 0), (10, 1200), (20, 1200), (30, 4000))
                ]
            }
        }
    }
    assert [p[1] for p in series.steps(record)] == [1200, 0, 2800]
    assert [(p[2] - p[0]) // MIN for p in series.steps(record)] == [10, 10, 10]


def test_calorie_samples_that_do_not_only_grow_are_per_interval_already() -> None:
    samples = [
        {"timestamp": f"2026-11-28T07:{m:02d}:00Z", "calories": c}
        for m, c in ((0, 5.0), (10, 9.0), (20, 4.0))
    ]
    record = {"calories_data": {"calorie_samples": samples}}
    assert [p[1] for p in series.calories(record)] == [9.0, 4.0]


def test_long_series_are_thinned_to_bucket_means() -> None:
    points = [[float(i), float(i % 2)] for i in range(10_000)]
    thinned = series.thin(points, 100)
    assert len(thinned) == 100
    assert all(p[1] == 0.5 for p in thinned)
    assert thinned[0][0] == 0.0


def test_charts_of_a_body_never_raise_on_odd_shapes() -> None:
    odd: list[Any] = [None, [], {"data": "x"}, {"data": [1, None, {"heart_rate_data": 5}]}, {}]
    for doc in odd:
        assert series.charts(doc) == []
    hr = {
        "heart_rate_data": {
            "detailed": {
                "hr_samples": [
                    {"timestamp": "2026-11-28T07:00:00Z", "bpm": 80},
                    {"timestamp": "bad", "bpm": 90},
                    {"timestamp": "2026-11-28T07:01:00Z", "bpm": True},
                ]
            }
        }
    }
    [found] = series.charts({"data": [hr]})
    assert found["heart_rate"] == [[series._ms("2026-11-28T07:00:00Z"), 80.0]]
