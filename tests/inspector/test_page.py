"""The page in a real browser: live list, filters, detail with headers, tree and charts,
replay, a 30 MB body; no console errors and no request off 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Home
from tests.inspector.browser import (
    NIGHT_END,
    STAGES,
    Watched,
    activity_body,
    launch,
    sleep_body,
    watch,
)
from tests.inspector.conftest import Page, sample_body, send
from tests.listen.conftest import start_listener

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROWS = "#rows tr"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Watched]:
    watched = watch(browser)
    yield watched
    watched.context.close()


def opened(tab: Watched, page: Page) -> None:
    tab.page.goto(page.url)
    tab.page.wait_for_selector("#conn.live")


def test_events_appear_live_without_a_reload(tab: Watched, page: Page) -> None:
    opened(tab, page)
    assert tab.page.locator(ROWS).count() == 0
    assert tab.page.is_visible("#empty")
    tab.page.evaluate("window.__sameDocument = true")
    for i, kind in enumerate(("activity", "sleep", "daily")):
        send(page.webhook_port, sample_body(kind, seed=i))
        tab.page.wait_for_function(
            f"() => document.querySelectorAll('#rows tr').length === {i + 1}"
        )
    assert tab.page.evaluate("window.__sameDocument") is True  # no reload happened
    types = tab.page.locator("#rows tr td.c-type").all_inner_texts()
    assert types == ["daily", "sleep", "activity"]  # newest first
    assert tab.page.locator("#rows tr .badge").first.inner_text() == "ok"
    assert "3 events" in tab.page.inner_text("#count")
    assert not tab.page.is_visible("#empty")
    tab.check_clean()


def test_filters_by_type_verdict_provider_and_user(tab: Watched, page: Page) -> None:
    send(page.webhook_port, activity_body(user_id="alice-1111"))
    send(page.webhook_port, sleep_body(user_id="bob-2222"))
    send(page.webhook_port, sample_body("daily", seed=5, user_id="carol-3333"), secret=None)
    opened(tab, page)
    tab.page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 3")

    def types() -> list[str]:
        return sorted(tab.page.locator("#rows tr td.c-type").all_inner_texts())

    tab.page.select_option("#f-type", "sleep")
    assert types() == ["sleep"]
    tab.page.select_option("#f-type", "")
    tab.page.select_option("#f-verdict", "unsigned")
    assert types() == ["daily"]
    tab.page.click("#f-clear")
    assert len(types()) == 3
    providers = tab.page.locator("#f-provider option").all_inner_texts()[1:]
    assert len(providers) >= 1
    tab.page.select_option("#f-provider", providers[0])
    shown = tab.page.locator("#rows tr td.c-prov").all_inner_texts()
    assert shown and set(shown) == {providers[0]}
    tab.page.click("#f-clear")
    tab.page.fill("#f-user", "bob-")
    assert types() == ["sleep"]
    # A live event that does not match the filter stays hidden; one that matches shows.
    send(page.webhook_port, activity_body(user_id="alice-4444"))
    send(page.webhook_port, sleep_body(user_id="bob-5555"))
    tab.page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 2")
    assert types() == ["sleep", "sleep"]
    assert "5 events" in tab.page.inner_text("#count")
    tab.check_clean()


def test_a_sleep_event_in_detail(tab: Watched, page: Page) -> None:
    send(page.webhook_port, sleep_body())
    opened(tab, page)
    tab.page.click("#rows tr")
    tab.page.wait_for_selector("#detail-pane h2")
    pane = tab.page.locator("#detail-pane")
    assert pane.locator("h2").inner_text() == "sleep"
    text = pane.inner_text()
    assert "sleeper-0001" in text
    # The verdict with its reason.
    assert pane.locator(".badge").first.inner_text() == "ok"
    assert "matches the body under the signing secret" in text
    assert "Not forwarded." in text
    # Headers, as received.
    headers = dict(
        zip(
            pane.locator("table.headers td:first-child").all_inner_texts(),
            pane.locator("table.headers td:last-child").all_inner_texts(),
            strict=True,
        )
    )
    assert headers["x-terra-signature"].startswith("t=")
    assert headers["terra-reference"] == "ref-test"
    # The hypnogram: every level drawn, each segment as long as the time to the next sample.
    rects = tab.page.evaluate(
        """() => [...document.querySelectorAll('.chart-sleep rect.seg')].map(
            r => [Number(r.dataset.level), r.getBBox().width, r.getBBox().x])"""
    )
    assert sorted(r[0] for r in rects) == sorted(level for _, level in STAGES)
    bounds = [m for m, _ in STAGES] + [NIGHT_END]
    minutes = {level: bounds[i + 1] - bounds[i] for i, (_, level) in enumerate(STAGES)}
    per_minute = rects[0][1] / minutes[rects[0][0]]
    for level, width, _x in rects:
        assert width == pytest.approx(minutes[level] * per_minute, rel=0.02), level
    legend = tab.page.inner_text(".chart-sleep .legend")
    for name in ("awake", "out of bed", "REM", "light", "sleeping", "deep", "unknown"):
        assert name in legend
    assert "light 30 min" in legend and "deep 20 min" in legend
    assert tab.page.locator(".chart-hr polyline").count() == 1
    # The body: a small one opens at once as a tree; nodes open on demand.
    tab.page.wait_for_selector("#tree")
    assert tab.page.locator("#tree .node").count() < 12  # only the top level is built
    tab.page.click("#tree .row:has-text('data') .tog")
    tab.page.click("#tree .row:has-text('[0]') .tog")
    assert tab.page.locator("#tree .k:has-text('sleep_durations_data')").count() == 1
    tab.page.click("#tab-raw")
    assert '"hypnogram_samples"' in tab.page.inner_text("#raw")
    tab.check_clean()


def test_activity_charts_heart_rate_steps_and_calories(tab: Watched, page: Page) -> None:
    send(page.webhook_port, activity_body())
    opened(tab, page)
    tab.page.click("#rows tr")
    tab.page.wait_for_selector(".chart-steps")
    points = tab.page.get_attribute(".chart-hr polyline", "points") or ""
    assert len(points.split()) == 60
    # Cumulative steps 0, 1000, 4000, 9000... become 1000, 3000, 5000... per interval.
    heights = tab.page.evaluate(
        "() => [...document.querySelectorAll('.chart-steps rect.bar')].map(r => r.getBBox().height)"
    )
    assert len(heights) == 6
    unit = heights[0]
    assert heights == pytest.approx([unit * k for k in (1, 3, 5, 7, 9, 11)], rel=0.02)
    assert tab.page.locator(".chart-cal rect.bar").count() == 6
    tab.check_clean()


def test_replay_shows_as_a_new_event(tab: Watched, page: Page) -> None:
    send(page.webhook_port, sample_body("activity", seed=9))
    opened(tab, page)
    tab.page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 1")
    tab.page.click("#rows tr")
    tab.page.click("#replay-btn")
    tab.page.wait_for_selector("#replay-result.ok")
    tab.page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 2")
    result = tab.page.inner_text("#replay-result")
    assert "answered 200" in result and "signed afresh" in result
    newest = tab.page.locator("#rows tr").first
    assert "replay" in newest.inner_text()
    assert newest.locator(".badge").inner_text() == "ok"  # re-signed, so it verifies
    # The result links to the new event, which knows what it replays.
    first_id = tab.page.locator("#rows tr").last.get_attribute("data-id")
    tab.page.click("#replay-result a")
    tab.page.wait_for_selector("#detail-pane dd a")
    assert tab.page.inner_text("#detail-pane dd a") == first_id
    assert newest.get_attribute("class") == "sel"
    tab.check_clean()


def test_replay_to_a_typed_url(tab: Watched, page: Page, home: Home) -> None:
    second = start_listener(home, "--no-inspect")  # a stand-in for the user's app
    try:
        send(page.webhook_port, sample_body("daily", seed=3))
        opened(tab, page)
        tab.page.click("#rows tr")
        target = second.ready["url"]
        tab.page.fill("#replay-to", target)
        tab.page.click("#replay-btn")
        tab.page.wait_for_selector("#replay-result.ok")
        assert target in tab.page.inner_text("#replay-result")
    finally:
        second.proc.terminate()
        second.finish()
    tab.check_clean()


def test_a_30_mb_body_stays_usable(tab: Watched, page: Page) -> None:
    body = activity_body(hr_samples=330_000)
    assert len(body) > 30_000_000
    reply = send(page.webhook_port, body)
    assert reply.status == 200
    opened(tab, page)
    tab.page.click("#rows tr")
    tab.page.wait_for_selector(".chart-hr polyline", timeout=30_000)
    summary = tab.page.inner_text("#body > summary")
    assert "MB of JSON" in summary and "loaded when opened" in summary
    # Not fetched until asked for.
    assert not any("/body" in url for url in tab.requests)
    tab.page.click("#body > summary")
    tab.page.wait_for_selector("#tree", timeout=60_000)
    tab.page.click("#tree .row:has-text('data') .tog")
    tab.page.click("#tree .row:has-text('[0]') .tog")
    tab.page.click("#tree .row:has-text('heart_rate_data') .tog")
    tab.page.click("#tree .row:has-text('detailed') .tog")
    tab.page.click("#tree .row:has-text('hr_samples') .tog")
    # 330,000 samples: the first 200 drawn, the rest on request.
    assert tab.page.locator("#tree .more-kids").last.inner_text().startswith("show 200 more")
    started = time.monotonic()
    tab.page.click("#tab-raw")
    assert "Show all" in tab.page.inner_text("#detail-pane")
    assert time.monotonic() - started >= 0  # the page still answers clicks
    assert len(tab.page.inner_text("#raw")) <= 300_000
    tab.check_clean()


def test_terra_inspect_shows_the_saved_log(tab: Watched, home: Home) -> None:
    from tests.inspector.test_inspect_cli import fill_log, inspect

    home.env["TERRA_SIGNING_SECRET"] = "whsec_inspect_0123456789abcdef"
    fill_log(home)
    running = inspect(home)
    try:
        tab.page.goto(running.url)
        tab.page.wait_for_selector("#conn.live")
        tab.page.wait_for_function("() => document.querySelectorAll('#rows tr').length === 3")
        assert tab.page.inner_text("#mode") == "the saved event log"
        tab.page.click("#rows tr:has-text('sleep')")
        tab.page.wait_for_selector(".chart-sleep rect.seg")
        assert "matches the body" in tab.page.inner_text("#verdict-reason")
        placeholder = tab.page.get_attribute("#replay-to", "placeholder") or ""
        assert "127.0.0.1:8080" in placeholder  # as `terra events replay` defaults
    finally:
        running.stop()
    tab.check_clean()
