"""Pure checks of user input: providers, languages, dates and Terra's span limit."""

from __future__ import annotations

from datetime import date

import pytest

from terra_cli import inputs
from terra_cli.errors import InputError

TODAY = date(2026, 11, 28)


@pytest.mark.parametrize(
    ("text", "wire", "day"),
    [
        ("2026-11-01", "2026-11-01", date(2026, 11, 1)),
        ("today", "2026-11-28", TODAY),
        ("Yesterday", "2026-11-27", date(2026, 11, 27)),
        ("7d", "2026-11-21", date(2026, 11, 21)),
        ("2w", "2026-11-14", date(2026, 11, 14)),
        ("0d", "2026-11-28", TODAY),
        ("1764288000", "1764288000", date(2025, 11, 28)),
    ],
)
def test_parse_date_forms(text: str, wire: str, day: date) -> None:
    parsed = inputs.parse_date(text, "--start", TODAY)
    assert (parsed.wire, parsed.day) == (wire, day)


@pytest.mark.parametrize(
    "text",
    ["2026-02-30", "2026-13-01", "26-11-01", "soon", "7 days", "-7d", "123", "99999999999", ""],
)
def test_parse_date_rejects(text: str) -> None:
    with pytest.raises(InputError) as info:
        inputs.parse_date(text, "--start", TODAY)
    assert info.value.exit_code == 3
    assert "--start" in info.value.message and "YYYY-MM-DD" in (info.value.hint or "")


def test_span_of_exactly_1825_days_is_allowed() -> None:
    first, last = inputs.date_range("2020-01-01", "2024-12-30", TODAY)
    assert last is not None and (last.day - first.day).days == 1825


def test_span_over_1825_days_is_refused() -> None:
    with pytest.raises(InputError) as info:
        inputs.date_range("2020-01-01", "2024-12-31", TODAY)
    assert "spans 1826 days" in info.value.message and "1,825" in info.value.message


def test_open_ended_span_counts_to_today() -> None:
    inputs.date_range("1825d", None, TODAY)
    with pytest.raises(InputError):
        inputs.date_range("1826d", None, TODAY)


def test_end_before_start_is_refused() -> None:
    with pytest.raises(InputError, match="before --start"):
        inputs.date_range("2026-11-02", "2026-11-01", TODAY)
    with pytest.raises(InputError, match="before --start"):
        inputs.date_range("1764288000", "1764287999", TODAY)


def test_same_day_unix_moments_in_order_are_allowed() -> None:
    first, last = inputs.date_range("1764288000", "1764291600", TODAY)
    assert (first.wire, last and last.wire) == ("1764288000", "1764291600")


def test_providers_are_normalised() -> None:
    assert inputs.providers("fitbit, Oura garmin,FITBIT") == "FITBIT,OURA,GARMIN"
    assert inputs.provider("google-fit") == "GOOGLE_FIT"
    with pytest.raises(InputError):
        inputs.providers("fit.bit")


@pytest.mark.parametrize("code", ["en", "de", "pt-BR", "zh_Hans"])
def test_language_codes(code: str) -> None:
    assert inputs.language(code) == code


@pytest.mark.parametrize("code", ["e", "english!", "en-", "12"])
def test_bad_language_codes(code: str) -> None:
    with pytest.raises(InputError):
        inputs.language(code)
