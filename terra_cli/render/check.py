"""How `terra check` looks: progress on stderr while it runs, one line per case after.

Each case line says pass/fail/warn, what was sent, what came back and why it
matters; a failed or warned case adds its fix. `case_lines` is pure, so its
layout can be tested at 80 and 200 columns. On a terminal lines wrap under
their text column; elsewhere (CI logs, pipes) each stays one line.
"""

from __future__ import annotations

import re
import shutil
import sys
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from terra_cli.render import color_enabled, console, info, is_terminal, result, style

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

    from terra_cli.webhooks.conformance import Case, CaseResult, Run

_COLOURS = {"pass": "ok", "fail": "error", "warn": "warn"}
_NAME_WIDTH = max(len("activity-type-zero"), 12)


_UNIT = re.compile(r"(\d) (ms|s|MB|KB)\b")
_KEEP = "\u00a0"  # a space that wrapping must not break ("12 ms" stays whole)


def _wrap(text: str, first: str, rest: str, width: int | None) -> list[str]:
    """`first + text`, wrapped to `width` with `rest` before each continuation line."""
    if width is None:
        return [first + text]
    room = max(width - len(first), 20)
    kept = _UNIT.sub(rf"\1{_KEEP}\2", text)
    pieces = textwrap.wrap(kept, room, break_on_hyphens=False) or [""]
    lines = [first + pieces[0]] + [rest + p for p in pieces[1:]]
    return [line.replace(_KEEP, " ") for line in lines]


def case_lines(item: CaseResult, width: int | None = None) -> list[str]:
    """The plain-text lines for one case (no colour), fitting `width` when given."""
    head = f"{item.status:<4} {item.case.name:<{_NAME_WIDTH}} "
    pad = " " * len(head)
    said = f"{item.sent} → {item.outcome.detail}"
    if item.status == "pass":
        why = f" · {item.case.why}"
        # The reason rides along when it fits (always in a log); a pass needs no more.
        if width is None or len(head) + len(said) + len(why) <= width:
            said += why
        return _wrap(said, head, pad, width)
    lines = _wrap(said, head, pad, width)
    lines += _wrap(item.why, pad + "why: ", pad + "     ", width)
    lines += _wrap(item.fix, pad + "fix: ", pad + "     ", width)
    return lines


def _width() -> int | None:
    """The width to wrap to: the terminal's (or COLUMNS) on a terminal, else no wrapping."""
    if not is_terminal(sys.stdout):
        return None
    return max(shutil.get_terminal_size((100, 24)).columns, 40)


def report(results: Sequence[CaseResult], seconds: float) -> None:
    """Every case line, then one summary line, on stdout."""
    width = _width()
    for item in results:
        lines = case_lines(item, width)
        word = style(item.status, _COLOURS[item.status], sys.stdout)
        lines[0] = word + lines[0][len(item.status) :]
        for line in lines:
            result(line)
    passed = sum(1 for r in results if r.status == "pass")
    failed = sum(1 for r in results if r.status == "fail")
    warned = sum(1 for r in results if r.status == "warn")
    requests = sum(len(r.exchanges) for r in results)
    result(
        f"{len(results)} case{'s' if len(results) != 1 else ''}: {passed} passed, "
        f"{failed} failed, {warned} warned · {requests} requests in {seconds:.1f} s"
    )


def started(url: str, run: Run, count: int, timeout: float) -> None:
    """The opening line on stderr: where, how many cases, and the references to look for."""
    info(f"Checking {url}: {count} case{'s' if count != 1 else ''}, --timeout {timeout:g} s")
    info(f"Events carry references starting {run.prefix}- (for cleanup)")


class Progress:
    """Where a run is, for the progress display; does nothing off a terminal."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.failed = 0
        self.bar: Bar | None = None
        self.task: TaskID | None = None

    def start(self, case: Case, index: int) -> None:
        """A case begins: show its name (and how many failed so far)."""
        if self.bar is not None and self.task is not None:
            failed = f" · {self.failed} failed" if self.failed else ""
            self.bar.update(self.task, completed=index, description=f"{case.name}{failed}")

    def done(self, item: CaseResult) -> None:
        """A case ended: count it."""
        if item.status == "fail":
            self.failed += 1
        if self.bar is not None and self.task is not None:
            self.bar.advance(self.task)


@contextmanager
def progress(total: int) -> Iterator[Progress]:
    """A transient progress bar on stderr while the cases run, on a terminal only."""
    state = Progress(total)
    if not color_enabled(sys.stderr):
        yield state
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.progress import Progress as Bar

    with Bar(
        SpinnerColumn(),
        TextColumn("checking [bold]{task.description}"),
        BarColumn(bar_width=20),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console(),
        transient=True,
    ) as bar:
        state.bar = bar
        state.task = bar.add_task("", total=total)
        yield state
