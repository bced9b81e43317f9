"""Everything that reaches the terminal, and the rules for it.

stdout carries results only; every notice goes to stderr. Colour and spinners
appear only on a terminal, never with NO_COLOR or TERM=dumb, and FORCE_COLOR
turns them on. rich is imported lazily, and only inside this package, so that
plain and piped output (and `terra --version`) stay fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from terra_cli.errors import TerraError

_RESET = "\x1b[0m"
STYLES = {
    "error": "\x1b[1;31m",
    "warn": "\x1b[1;33m",
    "hint": "\x1b[36m",
    "ok": "\x1b[32m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}

# One vocabulary of signature verdicts for every view (live line, summary,
# events list, events show): the word itself, coloured the same way everywhere.
VERDICTS = ("ok", "bad", "stale", "unsigned", "unchecked")
VERDICT_STYLES = {
    "ok": "ok",
    "bad": "error",
    "stale": "error",
    "unsigned": "error",
    "unchecked": "warn",
}
VERDICT_WIDTH = max(len(v) for v in VERDICTS)


def verdict_code(verdict: str) -> str | None:
    """The ANSI code for a verdict word (None for an unknown word)."""
    name = VERDICT_STYLES.get(verdict)
    return STYLES[name] if name else None


def verdict_word(verdict: str, stream: IO[str] | None = None, pad: int = 0) -> str:
    """The verdict as shown everywhere, padded to `pad` outside the colour codes."""
    text = verdict or "-"
    padding = " " * max(0, pad - len(text))
    code = verdict_code(text)
    if code is None or not color_enabled(stream):
        return text + padding
    return f"{code}{text}{_RESET}{padding}"


def color_enabled(stream: IO[str] | None = None) -> bool:
    """Colour for this stream? NO_COLOR wins, then FORCE_COLOR, then TERM=dumb, then a TTY."""
    if "NO_COLOR" in os.environ:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    if os.environ.get("TERM") == "dumb":
        return False
    return is_terminal(stream if stream is not None else sys.stderr)


def is_terminal(stream: IO[str] | None) -> bool:
    """True when the stream is an interactive terminal."""
    try:
        return stream is not None and stream.isatty()
    except (ValueError, AttributeError):
        return False


def stdin_is_terminal() -> bool:
    return is_terminal(sys.stdin)


def style(text: str, name: str, stream: IO[str] | None = None) -> str:
    """Wrap text in an ANSI style when colour is on for the stream."""
    if not color_enabled(stream):
        return text
    return f"{STYLES[name]}{text}{_RESET}"


def _err_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def terminal_width(stream: IO[str] | None = None) -> int | None:
    """The stream's terminal width, or None when it is not a terminal (never wrap then)."""
    stream = stream if stream is not None else sys.stderr
    if not is_terminal(stream):
        return None
    import shutil

    return max(20, shutil.get_terminal_size().columns)


def wrap(text: str, width: int | None, indent: int = 0, first: int = 0) -> str:
    """`text` wrapped to `width` (continuation lines indented); unchanged when width is None.

    `first` is how many columns a prefix (such as `Warning: `) already takes
    on the first line.
    """
    if width is None:
        return text
    import textwrap

    lines = textwrap.wrap(
        text,
        width=max(10, width),
        initial_indent=" " * first,
        subsequent_indent=" " * indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    if not lines:
        return text
    lines[0] = lines[0][first:]
    return "\n".join(lines)


def error(message: str, hint: str | None = None) -> None:
    """The contract's two lines: `Error: ...` and `Hint: ...`, on stderr, never wrapped."""
    _err_line(f"{style('Error:', 'error')} {message}")
    if hint:
        _err_line(f"{style('Hint:', 'hint')} {hint}")


def warn(message: str, fit: bool = False) -> None:
    """`Warning: ...` on stderr; with `fit`, wrapped to a terminal's width (never when piped)."""
    if fit:
        message = wrap(message, terminal_width(sys.stderr), indent=2, first=len("Warning: "))
    _err_line(f"{style('Warning:', 'warn')} {message}")


def info(message: str) -> None:
    _err_line(message)


def success(message: str) -> None:
    _err_line(f"{style('✓', 'ok')} {message}")


def result(text: str) -> None:
    """A result line on stdout (a URL, a value)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def result_json(obj: Any) -> None:
    """One JSON document on stdout, no ANSI codes."""
    import json

    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def result_ndjson(obj: Any) -> None:
    """One NDJSON line on stdout, flushed at once."""
    import json

    sys.stdout.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def console(stderr: bool = True) -> Console:
    """A rich Console that follows the colour rules, for tables and live displays."""
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    color = color_enabled(stream)
    return Console(
        file=stream,
        force_terminal=color,
        no_color=not color,
        color_system="auto" if color else None,
        highlight=False,
        soft_wrap=not is_terminal(stream),
    )


@contextmanager
def progress(message: str) -> Iterator[None]:
    """A spinner on a colour terminal; one plain line on stderr otherwise."""
    if not color_enabled(sys.stderr):
        _err_line(f"{message}…")
        yield
        return
    with console().status(message):
        yield


def new_line() -> None:
    """End the current terminal line (after a prompt or an echoed ^C); nothing when piped."""
    if is_terminal(sys.stderr):
        _err_line("")


def _interrupted() -> TerraError:
    from terra_cli.errors import Interrupted

    return Interrupted(
        "Interrupted at the prompt (Ctrl-C); nothing was changed.",
        hint="Run the command again when ready.",
    )


def prompt_hidden(label: str) -> str:
    """Ask for a secret on the terminal without echoing it (the prompt goes to stderr)."""
    import getpass

    try:
        return getpass.getpass(f"{label}: ", stream=sys.stderr)
    except KeyboardInterrupt:
        raise _interrupted() from None


def prompt_line(label: str) -> str:
    """Ask for a visible value on the terminal (the prompt goes to stderr)."""
    sys.stderr.write(f"{label}: ")
    sys.stderr.flush()
    try:
        return sys.stdin.readline().rstrip("\r\n")
    except KeyboardInterrupt:
        raise _interrupted() from None


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal; only 'y' or 'yes' means yes."""
    answer = prompt_line(f"{question} [y/N]")
    return answer.strip().lower() in {"y", "yes"}


def table(rows: list[dict[str, str]], columns: list[str], title: str | None = None) -> None:
    """A table on stdout: rich on a terminal, tab-separated plain text otherwise."""
    if is_terminal(sys.stdout):
        from rich.table import Table

        t = Table(title=title, header_style="bold")
        for col in columns:
            t.add_column(col)
        for row in rows:
            t.add_row(*(row.get(col, "") for col in columns))
        console(stderr=False).print(t)
        return
    sys.stdout.write("\t".join(columns) + "\n")
    for row in rows:
        sys.stdout.write("\t".join(row.get(col, "") for col in columns) + "\n")
    sys.stdout.flush()
