"""The case lines at 80 and 200 columns, and the judges on answers made here."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from terra_cli.render.check import case_lines
from terra_cli.webhooks import conformance as cf
from terra_cli.webhooks.forward import Delivery

RUN = cf.Run(run_id="0badc0de", now=datetime(2026, 12, 1, 12, tzinfo=timezone.utc))


def _exchange(label: str, status: int | None, ms: float = 5.0, case: str = "c") -> cf.Exchange:
    probe = cf.Probe(label, b"{}", "ref", "trace")
    answer = Delivery(
        url="http://127.0.0.1:1/", status=status, latency_ms=ms,
        error=None if status is not None else "timeout",
    )  # fmt: skip
    return cf.Exchange(case, probe, answer)


def _result(case: cf.Case, status: cf.Status, detail: str) -> cf.CaseResult:
    return cf.CaseResult(case, cf.Outcome(status, detail), case.describe(RUN, 8.0))


LONG = "sleep → 500, daily → 500, body → 500, +7 more; 12 others 2xx (the app answered slowly)"


@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize("status", ["pass", "fail", "warn"])
def test_every_case_line_fits_the_width(width: int, status: cf.Status) -> None:
    for case in cf.CASES:
        item = _result(case, status, LONG if status != "pass" else "all 200 (max 12 ms)")
        lines = case_lines(item, width)
        assert all(len(line) <= width for line in lines), (case.name, lines)
        assert lines[0].split()[:2] == [status, case.name]
        text = " ".join(" ".join(lines).split())
        assert item.sent in text  # what was sent, whole
        if status == "pass":
            assert all(not line.strip().startswith(("why:", "fix:")) for line in lines)
        else:
            assert any(line.strip().startswith("why:") for line in lines)
            assert any(line.strip().startswith("fix:") for line in lines)


def test_a_pass_line_carries_its_reason_when_it_fits() -> None:
    item = _result(cf.CASES[0], "pass", "all 200 (max 9 ms)")
    wide = case_lines(item, 200)
    assert len(wide) == 1 and cf.CASES[0].why in wide[0]
    narrow = case_lines(item, 80)
    assert cf.CASES[0].why not in " ".join(narrow)
    assert case_lines(item, None) == [wide[0]]  # off a terminal: one line, the reason kept


def test_the_fix_is_given_in_full_when_a_case_fails() -> None:
    case = next(c for c in cf.CASES if c.name == "raw-bytes")
    lines = case_lines(_result(case, "fail", "answered 401"), 80)
    fix = " ".join(line.strip().removeprefix("fix:").strip() for line in lines[-2:])
    assert " ".join(case.fix.split()) in " ".join(fix.split())


def test_numbers_keep_their_units_when_wrapped() -> None:
    case = next(c for c in cf.CASES if c.name == "raw-bytes")
    for width in range(60, 120):
        for line in case_lines(_result(case, "pass", "200 in 7 ms"), width):
            assert not line.strip().startswith("ms")


def test_accepts_wants_every_answer_2xx() -> None:
    j = cf.Judging(8.0)
    assert cf.accepts([_exchange("a", 200), _exchange("b", 204)], j).status == "pass"
    out = cf.accepts([_exchange("a", 200), _exchange("b", 500)], j)
    assert out.status == "fail" and out.detail == "b → 500; 1 other 2xx"
    out = cf.accepts([_exchange("a", None)], j)
    assert out == cf.Outcome("fail", "no answer (timeout)")
    assert cf.accepts([_exchange("a", 302)], j).status == "fail"  # Terra counts 3xx as failed


def test_a_late_right_answer_is_a_warning() -> None:
    out = cf.accepts([_exchange("big", 200, ms=9100)], cf.Judging(8.0))
    assert out.status == "warn" and out.detail == "big: 200 in 9.1 s, later than --timeout 8 s"
    assert out.fix and "background" in out.fix


def test_rejects_prefers_401_or_403() -> None:
    j = cf.Judging(8.0)
    assert cf.rejects([_exchange("a", 401), _exchange("b", 403)], j).status == "pass"
    assert cf.rejects([_exchange("a", 400)], j).status == "warn"
    out = cf.rejects([_exchange("a", 401), _exchange("b", 200)], j)
    assert out == cf.Outcome("fail", "accepted: b → 200")
    assert cf.rejects([_exchange("a", None)], j).status == "fail"


def test_deadline_judges_the_whole_run() -> None:
    history = [_exchange("x", 200, 30, "signed"), _exchange("30 MB", 200, 8500, "big")]
    own = [_exchange("daily", 200, 4, "deadline")]
    out = cf.within_deadline(own, cf.Judging(8.0, [*history, *own]))
    assert out.status == "fail" and "1 of 3 answers over 8 s: big (30 MB) 8.5 s" in out.detail
    out = cf.within_deadline(own, cf.Judging(9.0, [*history, *own]))
    assert out.status == "pass" and "3 within 9 s" in out.detail and "big" in out.detail


def test_select_keeps_the_suite_order() -> None:
    assert [c.name for c in cf.select("deadline,signed")] == ["signed", "deadline"]
    assert cf.select(None) == list(cf.CASES)


def test_probe_headers_follow_the_one_signer() -> None:
    probe = cf.Probe("x", b'{"a":1}', "terra-check-r-x-1", "terra-check-r-trace-x-1",
                     only_header="Terra-Signature")  # fmt: skip
    names = [k.lower() for k, _ in probe.headers("s3cret-value-123", 1_700_000_000)]
    assert "terra-signature" in names and "x-terra-signature" not in names
    assert {"terra-reference", "x-terra-trace-id", "x-terra-ordering-timestamp"} <= set(names)
    unsigned = cf.Probe("x", b"{}", "r", "t", signing="none").headers("s", 1)
    assert not {k.lower() for k, _ in unsigned} & {"terra-signature", "x-terra-signature"}


def test_readme_lists_every_case_and_the_cleanup_reference() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Check your handler", 1)[1].split("\n## ", 1)[0]
    for name in cf.CASE_NAMES:
        assert f"| `{name}` |" in section
    assert "terra-check-<run id>-" in section
    assert "terra check http://localhost:3000/webhooks/terra" in readme  # the CI recipe


def test_the_only_help_names_every_case() -> None:
    from terra_cli.commands.check import _CASES_HELP

    named = _CASES_HELP.split(": ", 1)[1].rstrip(".").split(", ")
    assert tuple(named) == cf.CASE_NAMES
