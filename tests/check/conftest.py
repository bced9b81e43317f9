"""Fixtures for `terra check`: a runner with a small `big` payload unless told otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.check.handlers import SECRET
from tests.conftest import Home, Result

SMALL_BIG = {"TERRA_CHECK_BIG_MB": "1"}


class Checker:
    """Runs the installed `terra check` against a URL with the handlers' secret."""

    def __init__(self, home: Home) -> None:
        self.home = home

    def run(self, url: str, *args: str, env: dict[str, str] | None = None, **kw: Any) -> Result:
        full = {"TERRA_SIGNING_SECRET": SECRET, **SMALL_BIG, **(env or {})}
        return self.home.run("check", url, *args, env=full, **kw)

    def json(self, url: str, *args: str, **kw: Any) -> tuple[Result, dict[str, Any]]:
        result = self.run(url, "--json", *args, **kw)
        return result, json.loads(result.stdout)


@pytest.fixture
def checker(home: Home) -> Checker:
    return Checker(home)
