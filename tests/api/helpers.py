"""Checks shared by the Terra API command tests."""

from __future__ import annotations

from tests.conftest import Result
from tests.fakes.terra_api import FakeTerra


def assert_no_secrets(result: Result, fake: FakeTerra) -> None:
    """No credential value may appear on stdout or stderr."""
    for secret in (fake.dev_id, fake.api_key):
        assert secret not in result.stdout
        assert secret not in result.stderr


def assert_error(result: Result, code: int, *phrases: str) -> None:
    """Exit `code`, nothing on stdout, one `Error:` line and one `Hint:` line with `phrases`."""
    assert result.code == code, (result.code, result.stderr)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.startswith(("Error:", "Hint:"))]
    assert [line.split(":")[0] for line in lines] == ["Error", "Hint"], result.stderr
    assert "Traceback" not in result.stderr
    text = " ".join(lines)
    for phrase in phrases:
        assert phrase in text, (phrase, result.stderr)
