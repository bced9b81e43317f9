"""What `terra listen` shows: the banner, one line per event, NDJSON, the summary.

Event lines are the command's result and go to stdout (colour only when
stdout allows it); the banner, warnings and the closing summary go to stderr.
`event_line` is pure so its layout can be tested at a fixed width.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import stat
import sys
from collections.abc import Mapping
from datetime import datetime

from terra_cli.render import STYLES, color_enabled, info, is_terminal, result_ndjson, warn
from terra_cli.webhooks.events import Event, decode_body, human_size

_RESET = "\x1b[0m"
KIND_STYLES = {
    "data": "\x1b[36m",  # cyan
    "auth": "\x1b[32m",  # green
    "warning": "\x1b[33m",  # yellow
    "error": "\x1b[31m",  # red
    "info": "\x1b[34m",  # blue
    "unknown": "\x1b[35m",  # magenta
    "invalid": "\x1b[31m",
}
VERDICT_TEXT = {
    "ok": "✓ signed",
    "unchecked": "unchecked",
    "bad": "✗ BAD SIGNATURE",
    "stale": "✗ STALE SIGNATURE",
    "unsigned": "✗ UNSIGNED",
}
FULL_LIMIT = 8000  # characters of pretty JSON shown by --full before cutting


def _paint(text: str, code: str | None, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color and code else text


def _clock(received_at: str) -> str:
    """`HH:MM:SS` in local time, from the ISO UTC stamp."""
    try:
        stamp = datetime.fromisoformat(received_at.replace("Z", "+00:00"))
        return stamp.astimezone().strftime("%H:%M:%S")
    except ValueError:
        return received_at[11:19]


def _fit(text: str, width: int) -> str:
    if width <= 0:
        return ""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def _visible(parts: list[tuple[str, str | None]]) -> int:
    """The width of parts joined by single spaces."""
    return sum(len(text) for text, _ in parts) + len(parts) - 1


def event_line(event: Event, width: int | None = None, color: bool = False) -> str:
    """One line: time, type, provider, user, reference, size, what it holds, verdict, forward.

    With `width`, the description is shortened so the whole line fits.
    """
    verdict_code = (
        STYLES["ok"]
        if event.verdict == "ok"
        else STYLES["dim"]
        if event.verdict == "unchecked"
        else STYLES["error"]
    )
    head: list[tuple[str, str | None]] = [
        (_clock(event.received_at), STYLES["dim"]),
        (f"{(event.type or '?'):<16}", KIND_STYLES.get(event.kind)),
        (f"{(event.provider or '-'):<7}", None),
        (f"{(event.user_id[:8] if event.user_id else '-'):<8}", None),
        (human_size(event.size), STYLES["dim"]),
    ]
    if event.reference_id:
        head.insert(4, ("ref:" + _fit(event.reference_id, 20), None))
    verdict_text = VERDICT_TEXT.get(event.verdict, event.verdict)
    tail: list[tuple[str, str | None]] = [(verdict_text, verdict_code)]
    if event.forward is not None:
        fwd = event.forward
        if fwd.status is None:
            tail.append((f"-> failed ({fwd.error or 'unreachable'})", STYLES["error"]))
        else:
            code = STYLES["ok"] if 200 <= fwd.status < 300 else STYLES["error"]
            tail.append((f"-> {fwd.status} in {fwd.latency_ms:.0f} ms", code))
    elif not 200 <= event.status < 300:
        tail.append((f"answered {event.status}", STYLES["error"]))
    if event.retry:
        tail.append(("(retry)", STYLES["warn"]))
    description = event.summary
    if width is not None:
        # Narrow screens lose the reference, then the size, before the verdict.
        for optional in (4, 4):
            if _visible(head + tail) <= width - 12 or len(head) <= 4:
                break
            del head[optional]
        description = _fit(description, width - _visible(head + tail) - 1)
    parts = [*head, (description, None), *tail] if description else [*head, *tail]
    return " ".join(_paint(text, code, color) for text, code in parts)


def full_body(event: Event, limit: int = FULL_LIMIT) -> str:
    """The body as pretty JSON (or text), cut after `limit` characters with a note."""
    decoded = decode_body(event.body, _encoding_headers(event))
    if decoded is None:
        return "(encoded body that could not be decoded)"
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return f"(binary body, {human_size(len(decoded))}; 'terra events show {event.id}' has it)"
    with contextlib.suppress(ValueError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    if len(text) > limit:
        rest = len(text) - limit
        text = (
            text[:limit]
            + f"\n… cut: {rest} more characters; 'terra events show {event.id}' shows it all"
        )
    return text


def _encoding_headers(event: Event) -> Mapping[str, str]:
    return {"content-encoding": event.content_encoding} if event.content_encoding else {}


class EventPrinter:
    """Writes event lines (and `--full` bodies) to stdout, sized to the terminal."""

    def __init__(self, full: bool = False) -> None:
        self.full = full
        self.color = color_enabled(sys.stdout)
        self.fit = is_terminal(sys.stdout) or bool(os.environ.get("COLUMNS"))

    def __call__(self, events: list[Event]) -> None:
        width = shutil.get_terminal_size().columns if self.fit else None
        out: list[str] = []
        for event in events:
            out.append(event_line(event, width, self.color) + "\n")
            if self.full and event.body:
                out.append(full_body(event) + "\n")
        sys.stdout.write("".join(out))
        sys.stdout.flush()


def events_json(events: list[Event]) -> None:
    """NDJSON event records on stdout, one per line, flushed at once (one write)."""
    sys.stdout.write(
        "".join(
            json.dumps(e.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n"
            for e in events
        )
    )
    sys.stdout.flush()


def ready_json(url: str, public_url: str | None, host: str, port: int, path: str) -> None:
    """The first NDJSON record: where to send events."""
    result_ndjson(
        {
            "kind": "ready",
            "url": url,
            "public_url": public_url,
            "host": host,
            "port": port,
            "path": path,
        }
    )


def banner(
    url: str,
    public_url: str | None,
    secret_set: bool,
    strict: bool,
    log_dir: str | None,
    forward_to: str | None = None,
    registered: str | None = None,
) -> None:
    """Where to send webhooks and how this run judges them (stderr).

    `registered` names the environment when `--register` made Terra deliver here.
    """
    color = color_enabled(sys.stderr)
    info(_paint("terra listen: receiving Terra webhooks", STYLES["bold"], color))
    info(f"  Local URL:   {url}")
    if public_url:
        info(f"  Public URL:  {_paint(public_url, STYLES['bold'], color)}")
        if registered:
            info(f"               Terra delivers here (environment {registered}, --register)")
        else:
            info(
                "               in Terra's dashboard: Connections -> Destinations -> Webhook: "
                "paste it and save"
            )
    else:
        info("  Public URL:  none (--no-tunnel)")
    if secret_set:
        mode = "failed checks answered 401 (--strict)" if strict else "failed checks flagged"
        info(f"  Signatures:  checked with the signing secret; {mode}")
    else:
        info(
            "  Signatures:  "
            + _paint("not checked", STYLES["warn"], color)
            + " (no signing secret: run 'terra config set signing-secret')"
        )
    if forward_to:
        info(f"  Forward to:  {forward_to}")
    info(f"  Event log:   {log_dir if log_dir else 'off (--no-save)'}")
    info("  Stop:        Ctrl-C")


def first_failure(event: Event) -> None:
    """A loud one-time warning the first time a signature check fails."""
    warn(
        f"signature check failed ({event.verdict}) for {event.id}. Check that the signing "
        "secret matches the destination's in Terra's dashboard "
        "('terra config set signing-secret')."
    )


def unknown_types(names: list[str], known: list[str]) -> None:
    warn(f"unknown event type(s) for --events: {', '.join(names)}. Known: {', '.join(known)}.")


def summary(
    events: int,
    by_verdict: Mapping[str, int],
    elapsed: float,
    dropped: int,
    log_dir: str | None,
    reason: str,
    unshown: int = 0,
) -> None:
    """The closing lines on stderr: events by verdict, and where the log is."""
    with contextlib.suppress(OSError, ValueError):
        counts = ", ".join(f"{n} {v}" for v, n in sorted(by_verdict.items())) or "none"
        why = {
            "max-events": "reached --max-events",
            "timeout": "reached --timeout",
            "stdout-closed": "stdout closed",
            "failure": "failed",
            "tunnel-failed": "the ngrok tunnel failed",
            "stopped": "interrupted",
            "parent-gone": "the shell or program that started it is gone",
        }.get(reason, "stopped")
        noun = "event" if events == 1 else "events"
        info(f"Stopped ({why}) after {elapsed:.1f} s: {events} {noun} ({counts}).")
        if dropped:
            info(f"{dropped} request(s) dropped: the client was too slow or went away.")
        if unshown:
            info(
                f"{unshown} event(s) not shown: the display fell too far behind "
                "(stdout not read); all are in the event log."
            )
        if log_dir and events:
            info(f"Event log: {log_dir}")


def stdout_closed() -> bool:
    """True when stdout is a pipe or socket whose reader has gone (`| head -1`)."""
    try:
        fd = sys.stdout.fileno()
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return True
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)) or not hasattr(select, "poll"):
        return False  # a terminal or file, or no poll() (Windows): writes will tell
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR/POLLHUP are always reported
    return any(ev & (select.POLLERR | select.POLLHUP) for _, ev in poller.poll(0))

