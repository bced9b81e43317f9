"""`terra check` against real handlers: the correct one passes, each mistake fails its case."""

from __future__ import annotations

import json

import pytest

from terra_cli.webhooks.conformance import CASE_NAMES
from tests.check.conftest import Checker
from tests.check.handlers import MISTAKES, running


def test_a_correct_handler_passes_every_case(checker: Checker) -> None:
    with running() as handler:
        result, report = checker.json(handler.url)
    assert result.code == 0, result.stderr
    assert [c["name"] for c in report["cases"]] == list(CASE_NAMES)
    assert {c["status"] for c in report["cases"]} == {"pass"}, report["cases"]
    assert report["passed"] == len(CASE_NAMES) and report["failed"] == 0
    assert report["url"] == handler.url
    # Every request the report counts reached the handler, and nothing else did.
    assert sum(c["requests"] for c in report["cases"]) == len(handler.seen)
    assert "Error:" not in result.stderr


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_each_mistake_fails_exactly_its_cases(checker: Checker, mistake: str) -> None:
    extra = ("--timeout", "0.5") if mistake == "slow-on-big" else ()
    with running(mistake) as handler:
        result, report = checker.json(handler.url, *extra)
    failed = {c["name"] for c in report["cases"] if c["status"] == "fail"}
    assert failed == MISTAKES[mistake], report["cases"]
    assert result.code == 1
    assert report["failed"] == len(failed)
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and all(name in error[0] for name in failed)
    assert "Hint:" in result.stderr and "--only" in result.stderr
    for case in report["cases"]:
        if case["status"] == "fail":
            assert case["fix"] and case["why"] and case["detail"]


def test_the_slow_handler_is_late_only_on_big(checker: Checker) -> None:
    with running("slow-on-big", slow_seconds=1.0) as handler:
        result, report = checker.json(handler.url, "--timeout", "0.5")
    cases = {c["name"]: c for c in report["cases"]}
    assert result.code == 1
    assert cases["big"]["status"] == "warn"  # the right status, but late
    assert "later than --timeout 0.5 s" in cases["big"]["detail"]
    assert "queue" in cases["big"]["fix"]  # the fix for lateness, not for body size
    assert cases["deadline"]["status"] == "fail"
    assert "over 0.5 s" in cases["deadline"]["detail"] and "big" in cases["deadline"]["detail"]
    assert cases["big"]["slowest_ms"] >= 1000


def test_a_handler_slower_than_the_wait_gets_no_answer(checker: Checker) -> None:
    # wait = max(2 x timeout, timeout + 1) = 1.2 s; the handler takes 2 s.
    with running("slow-on-big", slow_seconds=2.0) as handler:
        result, report = checker.json(handler.url, "--timeout", "0.2", "--only", "big,deadline")
    cases = {c["name"]: c for c in report["cases"]}
    assert result.code == 1
    assert cases["big"]["status"] == "fail" and "no answer (timeout)" in cases["big"]["detail"]
    assert cases["deadline"]["status"] == "fail"


def test_human_report_one_line_per_case_with_fixes(checker: Checker) -> None:
    with running("first-record") as handler:
        result = checker.run(handler.url)
    assert result.code == 1
    lines = result.stdout.splitlines()
    # Off a terminal nothing wraps: one line per case, why/fix under a failure, a summary.
    heads = [line for line in lines if line.split(" ")[0] in ("pass", "fail", "warn")]
    assert [h.split()[1] for h in heads] == list(CASE_NAMES)
    failed = [i for i, line in enumerate(lines) if line.startswith("fail")]
    assert len(failed) == 1 and "empty-data" in lines[failed[0]]
    assert "answered 500" in lines[failed[0]]
    assert lines[failed[0] + 1].strip().startswith("why:")
    assert lines[failed[0] + 2].strip().startswith("fix:")
    assert lines[-1].startswith("16 cases: 15 passed, 1 failed, 0 warned")
    # No colour, no progress redraws off a terminal.
    assert "\x1b" not in result.output and "\r" not in result.stderr
    assert result.stderr.splitlines()[0] == f"Checking {handler.url}: 16 cases, --timeout 8 s"


def test_events_carry_recognisable_references(checker: Checker) -> None:
    with running() as handler:
        result, report = checker.json(handler.url)
    assert result.code == 0
    prefix = f"terra-check-{report['run_id']}-"
    assert report["reference_prefix"] == prefix
    assert handler.seen
    for seen in handler.seen:
        assert seen.headers["terra-reference"].startswith(prefix)
        assert seen.headers["x-terra-trace-id"].startswith(prefix)
        body = json.loads(seen.body)
        user = body.get("user") if isinstance(body, dict) else None
        if isinstance(user, dict):
            assert user["reference_id"] == f"{prefix}user"
    assert prefix in result.stderr  # said on the way in, so the user knows what to clean up
