"""Chart data the page draws, pulled out of a webhook body. Pure, never raises.

Per data record: heart rate over time (`heart_rate_data.detailed.hr_samples`),
the sleep hypnogram as segments (`sleep_durations_data.hypnogram_samples`:
each sample lasts until the next one, the last until the record's end), and
steps or calories per interval (Terra's step samples are cumulative, so each
interval is the difference from the sample before; calorie samples are read
the same way when they only grow). Times are unix milliseconds; long series
are thinned so a 30 MB body still draws quickly.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

MAX_POINTS = 2000  # points per line chart sent to the page
MAX_RECORDS = 12  # data records charted per event
SLEEP_LEVELS = {
    0: "unknown",
    1: "awake",
    2: "sleeping",
    3: "out of bed",
    4: "light",
    5: "deep",
    6: "REM",
}


def _ms(value: Any) -> int | None:
    """Unix milliseconds from an ISO 8601 timestamp (a naive one is read as UTC)."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        try:  # Python 3.10 reads at most 6 fractional digits in a fixed layout
            head, _, rest = text.partition(".")
            digits = "".join(c for c in rest if c.isdigit())
            zone = rest[len(digits) :]
            stamp = datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{zone}")
        except ValueError:
            return None
    if stamp.tzinfo is None:
        from datetime import timezone

        stamp = stamp.replace(tzinfo=timezone.utc)
    return int(stamp.timestamp() * 1000)


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _dig(doc: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def thin(points: list[list[float]], limit: int = MAX_POINTS) -> list[list[float]]:
    """At most `limit` points: each kept point is the mean of the bucket it stands for."""
    if len(points) <= limit:
        return points
    out: list[list[float]] = []
    step = len(points) / limit
    for i in range(limit):
        bucket = points[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)]
        out.append(
            [bucket[0][0], round(sum(p[1] for p in bucket) / len(bucket), 2)]
            + ([bucket[-1][2]] if len(bucket[0]) > 2 else [])
        )
    return out


def heart_rate(record: dict[str, Any]) -> list[list[float]]:
    """[[t_ms, bpm], ...] in time order."""
    samples = _dig(record, "heart_rate_data", "detailed", "hr_samples")
    points: list[list[float]] = []
    for sample in samples if isinstance(samples, list) else ():
        if not isinstance(sample, dict):
            continue
        t, bpm = _ms(sample.get("timestamp")), _num(sample.get("bpm"))
        if t is not None and bpm is not None:
            points.append([t, bpm])
    points.sort(key=lambda p: p[0])
    return thin(points)


def hypnogram(record: dict[str, Any]) -> list[list[int]]:
    """[[start_ms, end_ms, level], ...]: each sample lasts until the next one.

    The last sample lasts until the record's `metadata.end_time` when that is
    later, else it is dropped (its length is unknown). Levels outside 0-6 are
    shown as 0 (unknown).
    """
    samples = _dig(record, "sleep_durations_data", "hypnogram_samples")
    marks: list[tuple[int, int]] = []
    for sample in samples if isinstance(samples, list) else ():
        if not isinstance(sample, dict):
            continue
        t = _ms(sample.get("timestamp"))
        level = sample.get("level")
        if t is None or isinstance(level, bool) or not isinstance(level, (int, float)):
            continue
        code = int(level)
        marks.append((t, code if code in SLEEP_LEVELS else 0))
    marks.sort(key=lambda m: m[0])
    end = _ms(_dig(record, "metadata", "end_time"))
    segments: list[list[int]] = []
    for i, (t, level) in enumerate(marks):
        until = marks[i + 1][0] if i + 1 < len(marks) else end
        if until is not None and until > t:
            if segments and segments[-1][2] == level and segments[-1][1] == t:
                segments[-1][1] = until  # a repeated level extends the segment
            else:
                segments.append([t, until, level])
    return segments


def _per_interval(samples: Any, field: str, cumulative: bool | None) -> list[list[float]]:
    """[[start_ms, amount, end_ms], ...] from timestamped samples of `field`."""
    marks: list[tuple[int, float]] = []
    for sample in samples if isinstance(samples, list) else ():
        if not isinstance(sample, dict):
            continue
        t, value = _ms(sample.get("timestamp")), _num(sample.get(field))
        if t is not None and value is not None:
            marks.append((t, value))
    marks.sort(key=lambda m: m[0])
    if len(marks) < 2:
        return [[t, v, t] for t, v in marks]
    if cumulative is None:  # only-growing values are running totals
        cumulative = all(b[1] >= a[1] for a, b in itertools.pairwise(marks))
    out: list[list[float]] = []
    for (t0, v0), (t1, v1) in itertools.pairwise(marks):
        out.append([t0, round(v1 - v0 if cumulative else v1, 2), t1])
    return thin(out)


def steps(record: dict[str, Any]) -> list[list[float]]:
    """Steps taken in each interval between step samples (Terra's are running totals)."""
    samples = _dig(record, "distance_data", "detailed", "step_samples")
    return _per_interval(samples, "steps", cumulative=True)


def calories(record: dict[str, Any]) -> list[list[float]]:
    """Calories in each interval between calorie samples."""
    return _per_interval(_dig(record, "calories_data", "calorie_samples"), "calories", None)


def charts(doc: Any) -> list[dict[str, Any]]:
    """Every chartable series of an event body, one entry per data record that has any."""
    data = doc.get("data") if isinstance(doc, dict) else None
    records = data if isinstance(data, list) else [data] if isinstance(data, dict) else []
    out: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            continue
        found: dict[str, Any] = {
            "record": index,
            "start": _ms(_dig(record, "metadata", "start_time")),
            "end": _ms(_dig(record, "metadata", "end_time")),
        }
        for name, series in (
            ("heart_rate", heart_rate(record)),
            ("hypnogram", hypnogram(record)),
            ("steps", steps(record)),
            ("calories", calories(record)),
        ):
            if series:
                found[name] = series
        if len(found) > 3:
            out.append(found)
        if len(out) >= MAX_RECORDS:
            break
    return out
