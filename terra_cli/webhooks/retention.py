"""How long the event log keeps its day files, and the moments `--since` names.

A day file is "older than AGE" only when every event it can hold is: the end
of its UTC day is at least AGE before now. So `--older-than 30d` never touches
today's file, and `event-log-days 30` keeps the last thirty whole days.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from terra_cli.errors import InputError

_AGE_RE = re.compile(r"^(\d{1,6})\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DAY_FILE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.jsonl$")


def parse_age(text: str, flag: str) -> timedelta:
    """`90m`, `12h`, `7d`, `2w` (a bare number is days) to a timedelta; else exit 3."""
    value = text.strip().lower()
    if value.isdigit():
        value += "d"
    m = _AGE_RE.match(value)
    if not m:
        raise InputError(
            f"{flag} {text!r} is not an age terra understands.",
            hint=f"Give {flag} as a number and a unit: 90m, 12h, 7d or 2w.",
        )
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def parse_since(text: str, now: datetime) -> str:
    """`--since`: an age (2h, 7d), a date (UTC midnight) or an ISO time, as the
    `received_at` text it compares with (`2026-11-28T10:15:00.000Z`)."""
    value = text.strip()
    hint = "Give --since as an age (30m, 2h, 7d, 2w), a date (2026-11-28) or a time "
    hint += "(2026-11-28T10:00:00Z)."
    moment: datetime
    if _AGE_RE.match(value.lower()):
        moment = now - parse_age(value, "--since")
    else:
        try:
            if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                moment = datetime.combine(date.fromisoformat(value), datetime.min.time())
            else:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputError(
                f"--since {text!r} is not a time terra understands.", hint=hint
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def day_of(path: Path) -> date | None:
    """The UTC day a `YYYY-MM-DD.jsonl` file holds (None for any other file)."""
    m = _DAY_FILE_RE.match(path.name)
    if not m:
        return None
    try:
        return date.fromisoformat(m.group(1))
    except ValueError:
        return None


def old_day_files(files: list[Path], age: timedelta, now: datetime) -> list[Path]:
    """The day files whose whole day ended at least `age` before `now`."""
    cutoff = now - age
    old: list[Path] = []
    for path in files:
        day = day_of(path)
        if day is None:
            continue
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc)
        if day_end <= cutoff:
            old.append(path)
    return old


def keep_days(raw: str | None) -> int:
    """The `event-log-days` setting as a number (30 when unset; 0 keeps everything)."""
    if raw is None:
        return 30
    value = raw.strip()
    if not value.isdigit():
        raise InputError(
            f"event-log-days must be a whole number of days, got '{raw}'.",
            hint="Run 'terra config set event-log-days 30' (0 keeps everything).",
        )
    return int(value)
