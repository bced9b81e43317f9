"""Check and normalise what the user types before anything is sent to Terra (exit 3).

Provider slugs, language codes, reference ids and the date ranges of data
reads. Pure functions: no I/O, no clock except through the `today` argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from terra_cli.errors import InputError

#: Terra refuses a data read spanning more than this many days (rate-limit rule r1).
MAX_SPAN_DAYS = 1825

_SLUG_RE = re.compile(r"^[A-Z0-9][A-Z0-9_]{0,63}$")
_LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
_RELATIVE_RE = re.compile(r"^(\d{1,5})([dw])$")
_UNIX_RE = re.compile(r"^\d{9,10}$")


def provider(text: str, flag: str = "PROVIDER") -> str:
    """One provider slug, upper-case (`fitbit` -> `FITBIT`)."""
    slug = text.strip().upper().replace("-", "_")
    if not _SLUG_RE.match(slug):
        raise InputError(
            f"'{text}' is not a provider name.",
            hint=f"Give {flag} as a provider slug such as FITBIT or GARMIN; "
            "'terra integrations' lists yours.",
        )
    return slug


def providers(text: str) -> str:
    """`fitbit, oura` -> `FITBIT,OURA`: the comma-separated upper-case string Terra expects."""
    parts = [p for p in re.split(r"[,\s]+", text) if p]
    if not parts:
        raise InputError(
            "--providers is empty.",
            hint="Give a comma-separated list such as --providers FITBIT,OURA, or leave it out.",
        )
    out: list[str] = []
    for part in parts:
        slug = provider(part, "--providers")
        if slug not in out:
            out.append(slug)
    return ",".join(out)


def language(text: str) -> str:
    """A language code such as `en` or `pt-BR`."""
    value = text.strip()
    if not _LANGUAGE_RE.match(value):
        raise InputError(
            f"'{text}' is not a language code.",
            hint="Give --language as a code such as en, de or pt-BR.",
        )
    return value


def reference(text: str, flag: str = "--ref") -> str:
    """A reference id: any printable text up to 255 characters."""
    value = text.strip()
    if not value or len(value) > 255 or not value.isprintable():
        raise InputError(
            f"{flag} must be 1 to 255 printable characters.",
            hint=f"Give {flag} as your own id for the user, e.g. {flag} user_123.",
        )
    return value


@dataclass(frozen=True)
class Day:
    """A parsed date: the value to send to Terra and the calendar day it stands for."""

    wire: str
    day: date
    moment: datetime | None = None


def parse_date(text: str, flag: str, today: date) -> Day:
    """`YYYY-MM-DD`, unix seconds, `today`, `yesterday`, or `Nd` / `Nw` ago."""
    value = text.strip().lower()
    hint = (
        f"Give {flag} as YYYY-MM-DD, unix seconds, 'today', 'yesterday', or a relative "
        "age such as 7d or 2w."
    )
    if value in ("today", "now"):
        return Day(today.isoformat(), today)
    if value == "yesterday":
        day = today - timedelta(days=1)
        return Day(day.isoformat(), day)
    m = _RELATIVE_RE.match(value)
    if m:
        days = int(m.group(1)) * (7 if m.group(2) == "w" else 1)
        try:
            day = today - timedelta(days=days)
        except OverflowError:
            raise InputError(f"{flag} {text!r} reaches too far back.", hint=hint) from None
        return Day(day.isoformat(), day)
    if _UNIX_RE.match(value):
        moment = datetime.fromtimestamp(int(value), tz=timezone.utc)
        return Day(value, moment.date(), moment)
    if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        raise InputError(f"{flag} {text!r} is not a date terra understands.", hint=hint)
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{flag} {text!r} is not a real date.", hint=hint) from None
    return Day(parsed.isoformat(), parsed)


def date_range(start: str, end: str | None, today: date) -> tuple[Day, Day | None]:
    """Parse and check a data range: end not before start, at most 1,825 days in all."""
    first = parse_date(start, "--start", today)
    last = parse_date(end, "--end", today) if end is not None else None
    if last is not None:
        if first.moment and last.moment:
            before = last.moment < first.moment
        else:
            before = last.day < first.day
        if before:
            raise InputError(
                f"--end {end} is before --start {start}.",
                hint="Swap them, or give an --end on or after --start.",
            )
    until = last.day if last is not None else max(today, first.day)
    span = (until - first.day).days
    if span > MAX_SPAN_DAYS:
        raise InputError(
            f"The range {first.day.isoformat()} to {until.isoformat()} spans {span} days; "
            f"Terra allows at most {MAX_SPAN_DAYS:,} in one request.",
            hint="Use a later --start or an earlier --end, and split the range into "
            "several requests.",
        )
    return first, last
