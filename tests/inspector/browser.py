"""Debian's chromium driven by Playwright: every request recorded, nothing leaves 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from terra_cli.webhooks import samples

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Route

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch() -> Iterator[Browser]:
    """One headless chromium for a test module (never downloaded: Debian's own)."""
    import os

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A browser tab with what it asked for and what it complained about."""

    context: BrowserContext
    page: Page
    requests: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def check_clean(self) -> None:
        """No console error, no page error, and not one request off this machine."""
        assert not self.errors, self.errors
        assert not self.refused, self.refused
        assert self.requests, "no request was recorded at all"
        for url in self.requests:
            parts = urlsplit(url)
            assert parts.scheme in ("http", "data") and (
                parts.scheme == "data" or parts.hostname == "127.0.0.1"
            ), url


def watch(browser: Browser, viewport: tuple[int, int] = (1400, 900)) -> Watched:
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    watched = Watched(context, page)

    def route(route: Route) -> None:
        url = route.request.url
        watched.requests.append(url)
        if urlsplit(url).hostname != "127.0.0.1":
            watched.refused.append(url)
            route.abort()
            return
        route.continue_()

    context.route("**/*", route)
    page.on(
        "console",
        lambda msg: watched.errors.append(msg.text) if msg.type == "error" else None,
    )
    page.on("pageerror", lambda exc: watched.errors.append(str(exc)))
    return watched


def iso(stamp: datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00")


NIGHT = datetime(2026, 11, 28, 23, 0, tzinfo=timezone.utc)
# (minutes after NIGHT, level): awake 10 min, light 30, deep 20, REM 15, out of bed 5,
# sleeping 10, unknown 10; the night ends at minute 100.
STAGES = [(0, 1), (10, 4), (40, 5), (60, 6), (75, 3), (80, 2), (90, 0)]
NIGHT_END = 100


def sleep_body(user_id: str = "sleeper-0001") -> bytes:
    """A sleep event whose hypnogram has every level, with known durations."""
    doc = samples.build("sleep", NIGHT, 1, samples.SampleOptions(user_id=user_id))
    record = doc["data"][0]
    doc["data"] = [record]
    record["metadata"]["start_time"] = iso(NIGHT)
    record["metadata"]["end_time"] = iso(NIGHT + timedelta(minutes=NIGHT_END))
    record["sleep_durations_data"]["hypnogram_samples"] = [
        {"timestamp": iso(NIGHT + timedelta(minutes=m)), "level": level} for m, level in STAGES
    ]
    record["heart_rate_data"]["detailed"]["hr_samples"] = [
        {"timestamp": iso(NIGHT + timedelta(minutes=m)), "bpm": 50 + m % 7}
        for m in range(NIGHT_END)
    ]
    return samples.encode(doc)


def activity_body(user_id: str = "runner-0001", hr_samples: int = 60) -> bytes:
    """An activity with heart rate, cumulative step samples and calorie samples."""
    start = datetime(2026, 11, 28, 7, 0, tzinfo=timezone.utc)
    doc = samples.build("activity", start, 2, samples.SampleOptions(user_id=user_id))
    record = doc["data"][0]
    doc["data"] = [record]
    record["heart_rate_data"]["detailed"]["hr_samples"] = [
        {
            "timestamp": iso(start + timedelta(seconds=i * 60 / max(1, hr_samples // 60))),
            "bpm": 100 + (i * 7) % 60,
            "timer_duration_seconds": i,
        }
        for i in range(hr_samples)
    ]
    record["distance_data"]["detailed"] = {
        "step_samples": [
            {"timestamp": iso(start + timedelta(minutes=10 * i)), "steps": 1000 * i * i}
            for i in range(7)
        ]
    }
    record["calories_data"]["calorie_samples"] = [
        {"timestamp": iso(start + timedelta(minutes=10 * i)), "calories": 100.0 * i}
        for i in range(7)
    ]
    return samples.encode(doc)


def js(page: Page, script: str, arg: Any = None) -> Any:
    return page.evaluate(script, arg)


def dumps(doc: Any) -> str:
    return json.dumps(doc)
