"""Fixtures for the Terra API commands: a running fake Terra API per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.terra_api import FakeTerra


@pytest.fixture
def terra_api() -> Iterator[FakeTerra]:
    """A fake Terra API on 127.0.0.1, stopped after the test."""
    fake = FakeTerra().start()
    try:
        yield fake
    finally:
        fake.stop()
