"""The mock's pure parts: retry schedule, date and boolean parsing, redirect URLs."""

from __future__ import annotations

from datetime import date

import pytest

from terra_cli.errors import InputError
from terra_cli.mock.auth import _with_query
from terra_cli.mock.data import BadInput, parse_date
from terra_cli.mock.scheduler import DEFAULT_RETRY_DELAYS, RETRY_ENV, retry_delays


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", DEFAULT_RETRY_DELAYS), ("0.5, 1,2", (0.5, 1.0, 2.0)), ("none", ()), ("0", (0.0,))],
)
def test_retry_schedule_from_the_environment(text: str, expected: tuple[float, ...]) -> None:
    assert retry_delays({RETRY_ENV: text}) == expected


@pytest.mark.parametrize("text", ["soon", "1,-1", "1,,x"])
def test_a_bad_retry_schedule_is_an_input_error(text: str) -> None:
    with pytest.raises(InputError) as caught:
        retry_delays({RETRY_ENV: text})
    assert RETRY_ENV in caught.value.message and caught.value.hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-07-01", date(2026, 7, 1)),
        ("1782864000", date(2026, 7, 1)),
        (" 2026-07-01 ", date(2026, 7, 1)),
    ],
)
def test_dates_as_terra_takes_them(text: str, expected: date) -> None:
    assert parse_date(text, "start_date") == expected


@pytest.mark.parametrize(
    "text", ["2026-7-1", "20260701", "178286400", "17828640000", "2026-07-01T00:00:00"]
)
def test_other_date_forms_are_rejected(text: str) -> None:
    with pytest.raises(BadInput, match="invalid start_date"):
        parse_date(text, "start_date")


def test_redirects_keep_the_app_s_query() -> None:
    url = _with_query("https://app.example/ok?a=1#top", user_id="u 1", reference_id=None)
    assert url == "https://app.example/ok?a=1&user_id=u+1#top"
