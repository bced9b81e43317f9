"""`terra listen`, `events list` and `events show` on real terminals of 80 and 200 columns."""

from __future__ import annotations

import json
import re

import pytest

from terra_cli.render.listen import PROVIDER_WIDTH, TYPE_WIDTH
from tests.conftest import Home
from tests.listen.conftest import start_plain_listener
from tests.terminal.pty_run import PtyProcess, PtyResult

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SECRET = "whsec_terminal_views_0123456789abcdef"
ENV = {"TERRA_SIGNING_SECRET": SECRET}
VERDICT_COL = 9
USER_COL = VERDICT_COL + 10 + TYPE_WIDTH + 1 + PROVIDER_WIDTH + 1
HEAD = re.compile(r"^\d\d:\d\d:\d\d ")
SENT = [
    ("auth", "--provider", "WITHINGS"),
    ("permission_change",),
    ("large_request_processing", "--provider", "FREESTYLELIBRE"),
    ("activity", "--provider", "GOOGLE", "--reference-id", "customer-2026-0042@example.com"),
    ("large_request_sending",),
    ("sleep",),
    ("daily", "--unsigned"),
]


def plain(result: PtyResult) -> list[str]:
    return [ANSI.sub("", line) for line in result.lines]


def listen_on_a_terminal(home: Home, width: int) -> tuple[list[str], list[str], list[str]]:
    """Run `terra listen` on a terminal, send it SENT, stop it with Ctrl-C."""
    term = PtyProcess(("listen", "--no-tunnel", "--port", "0"), {**home.env, **ENV}, cols=width)
    shown = term.read_until("Stop:")
    url = re.search(r"Local URL:\s+(\S+)", ANSI.sub("", shown))
    assert url, shown
    refs = []
    for args in SENT:
        r = home.run("trigger", *args, "--to", url.group(1), env=ENV)
        assert r.code == 0, r.stderr
        refs.append(r.stdout.strip())
    term.read_until("daily")
    term.read_until("records", timeout=5)
    term.write(b"\x03")
    result = term.finish()
    assert result.code == 0
    lines = plain(result)
    return lines, [line for line in lines if HEAD.match(line)], refs


@pytest.mark.parametrize("width", [80, 200])
def test_listen_fits_the_terminal_and_lines_up(home: Home, width: int) -> None:
    lines, heads, refs = listen_on_a_terminal(home, width)
    # Only the test's own long temporary path (one unbreakable word) may be wider.
    wide = [x for x in lines if len(x) > width and str(home.data_dir) not in x]
    assert not wide
    assert len(heads) == len(SENT)
    verdicts = [line[VERDICT_COL:].split()[0] for line in heads]
    assert verdicts == ["ok"] * 6 + ["unsigned"]
    assert all(line[USER_COL - 1] == " " and line[USER_COL] != " " for line in heads)
    assert [line[VERDICT_COL + 10 :].split()[1] for line in heads][:3] == [
        "WITHINGS",
        "GOOGLE",
        "FREESTYLELIBRE",
    ]
    text = "\n".join(lines)
    for ref in refs:  # every trigger's terra-reference, whole, matchable by eye
        assert f"ref:{ref}" in text
    # The warning is wrapped to the width and says what an unsigned delivery means.
    warning = text[text.index("Warning: signature check failed (unsigned)") :]
    assert "no signature header" in " ".join(warning.split())
    # Ctrl-C: the terminal echoed ^C; the summary starts on a line of its own.
    stop = next(i for i, line in enumerate(lines) if "Stopped (" in line)
    assert lines[stop].startswith("Stopped (interrupted)")
    assert "1 unsigned" in lines[stop] and "6 ok" in lines[stop]
    # The announced large request's closing count is wrapped to the width too.
    closing = " ".join(text[text.index("Large request ") :].split())
    assert re.match(r"Large request \S+: 0 of \d+ payloads arrived \(\d+ missing\)\.", closing)


def test_a_pipe_gets_the_warning_unwrapped(home: Home) -> None:
    listener, _ = start_plain_listener(home, "--max-events", "1", env={**ENV, "COLUMNS": "80"})
    listener.post(b'{"type": "auth", "user": {"user_id": "u-1"}}')
    code, _out, err = listener.finish()
    assert code == 1
    [warning] = [line for line in err.splitlines() if line.startswith("Warning:")]
    assert "is the sender Terra?" in warning and len(warning) > 80


@pytest.fixture
def logged(home: Home) -> list[dict[str, object]]:
    """The log a listen run left after SENT arrived."""
    listen_on_a_terminal(home, 120)
    r = home.run("events", "list", "--json")
    return list(json.loads(r.stdout))


@pytest.mark.parametrize("width", [80, 100, 120, 200])
def test_events_list_shows_whole_ids_at_every_width(
    home: Home, logged: list[dict[str, object]], width: int
) -> None:
    term = PtyProcess(("events", "list"), home.env, cols=width)
    result = term.finish()
    assert result.code == 0
    lines = [line for line in plain(result) if line]
    assert all(len(line) <= width for line in lines), [x for x in lines if len(x) > width]
    assert lines[0].split()[:4] == ["ID", "RECEIVED", "VERDICT", "TYPE"]
    rows = [line for line in lines if line.startswith("evt_")]
    assert [row.split()[0] for row in rows] == [str(r["id"]) for r in logged]
    column = lines[0].index("VERDICT")
    assert [row[column:].split()[0] for row in rows] == [str(r["verdict"]) for r in logged]
    if width >= 200:  # every column on the id's row, the whole user id too
        summary = lines[0].index("SUMMARY")
        assert "USER" in lines[0] and "FREESTYLELIBRE" in "\n".join(rows)
        more = [line for line in lines[1:] if not line.startswith("evt_")]
        assert all(line[:summary].strip() == "" for line in more)  # a long summary wraps
    else:  # the other columns go to an indented row under the id
        assert all(line.startswith("    ") for line in lines[1:] if not line.startswith("evt_"))


@pytest.mark.parametrize("width", [80, 200])
def test_events_show_puts_summary_and_charts_before_headers(
    home: Home, logged: list[dict[str, object]], width: int
) -> None:
    sleep = next(r for r in logged if '"type": "sleep"' in str(r["body"]))
    result = PtyProcess(("events", "show", str(sleep["id"])), home.env, cols=width).finish()
    assert result.code == 0
    lines = [line for line in plain(result) if line]
    assert all(len(line) <= width for line in lines), [x for x in lines if len(x) > width]
    assert lines[0].startswith(f"{sleep['id']}  sleep  2 sleep records")
    order = [lines.index(name) for name in ("Series", "Headers")]
    signature = next(i for i, line in enumerate(lines) if line.startswith("  signature"))
    assert signature < order[0] < order[1]
    assert lines[signature].split() == ["signature", "ok"]
    assert any(line.startswith("  ref ") for line in lines[:signature + 6])
    note = next(i for i, line in enumerate(lines) if line.startswith("Body: "))
    assert note > order[1] and "--body' shows it" in " ".join(" ".join(lines[note:]).split())
    assert not any('"type": "sleep"' in line for line in lines)
    with_body = PtyProcess(("events", "show", str(sleep["id"]), "--body"), home.env, cols=width)
    body = [line for line in plain(with_body.finish()) if line]
    assert body.index("Headers") < body.index("Body") and '  "type": "sleep",' in body
