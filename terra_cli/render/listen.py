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
import stat
import sys
import textwrap
from collections.abc import Mapping
from datetime import datetime

from terra_cli.render import (
    STYLES,
    VERDICT_WIDTH,
    color_enabled,
    info,
    is_terminal,
    result_ndjson,
    terminal_width,
    verdict_code,
    verdict_word,
    warn,
    wrap,
)
from terra_cli.webhooks.events import KNOWN_TYPES, Event, decode_body, human_size

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
FULL_LIMIT = 8000  # characters of pretty JSON shown by --full before cutting

# The live line's columns. Widths come from everything Terra sends, so the
# columns line up whatever arrives: the longest type (large_request_processing)
# and provider slug (FREESTYLELIBRE, HEALTH_CONNECT); a longer, unknown name is
# the only thing cut, with an ellipsis.
TIME_WIDTH = 8
TYPE_WIDTH = max(len(name) for name in KNOWN_TYPES)
PROVIDER_WIDTH = 14
SIZE_WIDTH = 8  # "100.0 KB"
SHORT_ID = 8
FULL_ID = 36  # a uuid
FULL_USER_FROM = 220  # from this many columns the whole user id fits beside the rest
INDENT = TIME_WIDTH + 1  # continuation rows start under the verdict


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


Cell = tuple[str, str | None]  # visible text, ANSI code


def _user_width(width: int | None) -> int:
    return FULL_ID if width is None or width >= FULL_USER_FROM else SHORT_ID


def _head(event: Event, width: int | None) -> list[Cell]:
    """The fixed columns: time, verdict, type, provider, user id, size (always aligned)."""
    user_w = _user_width(width)
    user = event.user_id or "-"
    if len(user) > user_w:
        user = user[:user_w]  # a prefix, like a short git hash; the full id is in events show
    return [
        (_clock(event.received_at), STYLES["dim"]),
        (f"{event.verdict or '-':<{VERDICT_WIDTH}}", verdict_code(event.verdict)),
        (f"{_fit(event.type or '?', TYPE_WIDTH):<{TYPE_WIDTH}}", KIND_STYLES.get(event.kind)),
        (f"{_fit(event.provider or '-', PROVIDER_WIDTH):<{PROVIDER_WIDTH}}", None),
        (f"{user:<{user_w}}", None),
        (f"{human_size(event.size):>{SIZE_WIDTH}}", STYLES["dim"]),
    ]


WRAPS, KEEP, OPTIONAL = "wraps", "keep", "optional"


def _flow(event: Event) -> list[tuple[str, str | None, str]]:
    """The parts after the columns, in order: (text, ANSI code, how it may move).

    `wraps` (the summary) may take several rows; `keep` moves whole to the
    next row; `optional` (the user's reference_id, also in `events show`)
    shows only where it fits on a row already there.
    """
    parts: list[tuple[str, str | None, str]] = []
    note = verdict_note(event)
    if note:
        parts.append((f"({note})", verdict_code(event.verdict), KEEP))
    if event.terra_reference:
        parts.append((f"ref:{event.terra_reference}", STYLES["bold"], KEEP))
    if event.summary:
        parts.append((event.summary, None, WRAPS))
    if event.forward is not None:
        fwd = event.forward
        route = f"{fwd.route}: " if fwd.route else ""  # which typed route took it
        if fwd.status is None:
            parts.append(
                (f"-> {route}failed ({fwd.error or 'unreachable'})", STYLES["error"], KEEP)
            )
        else:
            code = STYLES["ok"] if 200 <= fwd.status < 300 else STYLES["error"]
            parts.append((f"-> {route}{fwd.status} in {fwd.latency_ms:.0f} ms", code, KEEP))
    elif not 200 <= event.status < 300:
        parts.append((f"answered {event.status}", STYLES["error"], KEEP))
    if event.retry:
        parts.append(("(retry)", STYLES["warn"], KEEP))
    if event.reference_id:
        parts.append((f"reference_id={event.reference_id}", None, OPTIONAL))
    return parts


def verdict_note(event: Event) -> str:
    """Why a stale verdict is stale, in a word or two: "in the future" or "too old"."""
    if event.verdict != "stale" or not event.verdict_detail:
        return ""
    reason = event.verdict_detail.partition(":")[0]
    return reason if reason in ("in the future", "too old") else ""


def event_rows(event: Event, width: int | None = None, color: bool = False) -> list[str]:
    """An event as screen rows: the aligned columns, then what it holds.

    Columns (time, verdict, type, provider, user id, size) sit at the same
    place on every event. The rest (the terra-reference as `ref:`, the
    summary, the forward result, the user's reference_id) follows on the same
    row while it fits, and continues on rows indented under the verdict:
    nothing that fits is cut, and no row is wider than `width`. A summary
    longer than a row wraps; the reference_id is left out where it would need
    a row of its own. With no width (not a terminal) it is one line, never
    wrapped.
    """
    head = _head(event, width)
    rows: list[list[Cell]] = [head]
    used = sum(len(t) for t, _ in head) + len(head) - 1
    room = None if width is None else max(10, width - INDENT)
    for text, code, how in _flow(event):
        if width is None or room is None or used + 1 + len(text) <= width:
            rows[-1].append((text, code))
            used += 1 + len(text)
            continue
        if how == OPTIONAL:
            continue
        if len(text) <= room:
            pieces = [text]
        elif how == WRAPS:
            pieces = textwrap.wrap(text, room, break_on_hyphens=False)[:3] or [text]
            pieces = [_fit(piece, room) for piece in pieces]
        else:
            pieces = [_fit(text, room)]
        for piece in pieces:
            rows.append([(" " * (INDENT - 1), None), (piece, code)])
            used = INDENT + len(piece)
    return [" ".join(_paint(t, c, color) for t, c in row) for row in rows]


def event_line(event: Event, width: int | None = None, color: bool = False) -> str:
    """The event's rows joined by newlines (one line when `width` is None)."""
    return "\n".join(event_rows(event, width, color))


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

    def __call__(self, events: list[Event]) -> None:
        width = terminal_width(sys.stdout)  # None when piped: one line per event, unwrapped
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


def ready_json(
    url: str,
    public_url: str | None,
    host: str,
    port: int,
    path: str,
    inspect_url: str | None = None,
) -> None:
    """The first NDJSON record: where to send events, and where the inspector page is."""
    result_ndjson(
        {
            "kind": "ready",
            "url": url,
            "public_url": public_url,
            "host": host,
            "port": port,
            "path": path,
            "inspect_url": inspect_url,
        }
    )


def banner(
    url: str,
    public_url: str | None,
    secret_set: bool,
    strict: bool,
    log_dir: str | None,
    forward_to: str | None = None,
    inspect_url: str | None = None,
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
    if inspect_url:
        info(f"  Inspector:   {inspect_url}")
    info("  Stop:        Ctrl-C")


def failure_advice(verdict: str, event_id: str, detail: str | None = None) -> str:
    """What a failed verdict means and what to check, in a few plain sentences.

    `detail` is the signature check's reason (`signature.check`), e.g.
    "in the future: signed 15 min ahead of this clock, tolerance 300 s".
    """
    if verdict == "unsigned":
        return (
            f"{event_id} came with no signature header at all (neither X-Terra-Signature nor "
            "terra-signature). Terra signs every delivery, so is the sender Terra? If it is "
            "your own test or tool, it needs the signing secret to sign ('terra trigger' "
            "signs with the configured one); 'terra listen' without a signing secret only "
            "marks events unchecked."
        )
    if verdict == "stale":
        if detail and detail.startswith("in the future"):
            return (
                f"{event_id} is {detail}. That is clock skew: check this machine's clock "
                "(and the sender's), e.g. that NTP is on."
            )
        why = detail or "signed with a timestamp outside --tolerance"
        return (
            f"{event_id} is {why}. A replay with --original-signature keeps the old "
            "timestamp (replay without it to sign afresh); otherwise check this machine's "
            "clock."
        )
    return (
        f"{event_id} has a signature that does not match the body. Check that the signing "
        "secret is the one of this destination in Terra's dashboard ('terra config set "
        "signing-secret'), and that nothing between Terra and here changes the body."
    )


def first_failure(event: Event) -> None:
    """A loud one-time warning the first time a signature check fails, wrapped to the width."""
    note = verdict_note(event)
    why = f"{event.verdict}, {note}" if note else event.verdict
    warn(
        f"signature check failed ({why}). "
        + failure_advice(event.verdict, event.id, event.verdict_detail),
        fit=True,
    )


def unknown_types(names: list[str], known: list[str], flag: str = "--events") -> None:
    warn(
        f"unknown event type(s) for {flag}: {', '.join(names)}. Known: {', '.join(known)}.",
        fit=True,
    )


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
        counts = (
            ", ".join(f"{n} {verdict_word(v, sys.stderr)}" for v, n in sorted(by_verdict.items()))
            or "none"
        )
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
        if reason == "stopped" and is_terminal(sys.stderr):
            sys.stderr.write("\n")  # the terminal echoed ^C where the cursor was
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


def large_requests(requests: list[tuple[str, int, int]]) -> None:
    """Closing lines on stderr: for each announced large request, how many of N arrived."""
    with contextlib.suppress(OSError, ValueError):
        for reference, arrived, expected in requests:
            state = "all arrived" if arrived >= expected else f"{expected - arrived} missing"
            line = f"Large request {reference}: {arrived} of {expected} payloads arrived ({state})."
            info(wrap(line, terminal_width(sys.stderr), indent=2))


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
