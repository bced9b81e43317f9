"""How deliveries, stored events and their data series look on a terminal.

Charts are plain text (block characters), built by pure functions so tests
can read them; colour is added only where the stream allows it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from terra_cli.render import (
    STYLES,
    color_enabled,
    info,
    style,
    success,
    terminal_width,
    verdict_code,
    verdict_word,
)
from terra_cli.render.listen import KIND_STYLES
from terra_cli.webhooks.events import Summary, decode_body, human_size

if TYPE_CHECKING:
    from terra_cli.webhooks.forward import Delivery


def delivery(what: str, size: int, records: int | None, result: Delivery) -> None:
    """One stderr line saying what was sent where and what came back.

    A failure gets no Warning line here: the command's own Error/Hint follow,
    so only the facts the error does not carry (latency, the app's answer) show.
    """
    held = f", {records} record{'s' if records != 1 else ''}" if records is not None else ""
    sent = f"{what} ({human_size(size)}{held}) → {result.url}"
    if result.status is None:
        return  # the error that follows says why nothing answered
    line = f"{sent}: {result.status} in {result.latency_ms:.0f} ms"
    if result.ok:
        success(line)
        return
    info(line)
    if result.body:
        snippet = result.body[:300].decode("utf-8", "replace").strip()
        info(f"  the app answered: {snippet}")


def type_list(rows: Sequence[tuple[str, str]]) -> None:
    """The event types, one per line on stdout: name, then what it is."""
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        sys.stdout.write(f"{name.ljust(width)}  {description}\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- charts

_BLOCKS = "▁▂▃▄▅▆▇█"


def _buckets(values: Sequence[float], width: int) -> list[float]:
    """Average `values` into at most `width` buckets, keeping their order."""
    if len(values) <= width:
        return list(values)
    out = []
    for i in range(width):
        lo = i * len(values) // width
        hi = max((i + 1) * len(values) // width, lo + 1)
        chunk = values[lo:hi]
        out.append(sum(chunk) / len(chunk))
    return out


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """A one-line bar chart of `values` scaled between their min and max."""
    if not values:
        return ""
    points = _buckets(values, width)
    lo, hi = min(points), max(points)
    span = hi - lo or 1.0
    return "".join(_BLOCKS[round((v - lo) / span * (len(_BLOCKS) - 1))] for v in points)


def heart_rate_chart(label: str, bpm: Sequence[float], width: int = 60) -> list[str]:
    """A labelled heart-rate sparkline with its range."""
    if not bpm:
        return []
    return [
        f"{label}  {min(bpm):.0f}–{max(bpm):.0f} bpm, {len(bpm)} samples",
        f"  {sparkline(bpm, width)}",
    ]


# Terra's SleepLevel codes (every one is drawn), in chart order from top to bottom.
_STAGES = (
    (1, "awake"),
    (3, "out of bed"),
    (6, "REM"),
    (4, "light"),
    (2, "asleep"),
    (5, "deep"),
    (0, "unknown"),
)
_STAGE_NAMES = dict(_STAGES)


def hypnogram_segments(
    samples: Sequence[tuple[float, int]], end: float | None = None
) -> list[tuple[int, float, float]]:
    """(level, start, seconds) per sample: each level holds until the next sample.

    `samples` are (unix seconds, level), in any order. The last sample lasts until
    `end` (the record's end_time) when that is later, else as long as the one before.
    """
    ordered = sorted(samples)
    out: list[tuple[int, float, float]] = []
    for i, (at, level) in enumerate(ordered):
        if i + 1 < len(ordered):
            until = ordered[i + 1][0]
        elif end is not None and end > at:
            until = end
        else:
            until = at + (out[-1][2] if out else 0.0)
        out.append((level, at, max(0.0, until - at)))
    return out


def _hours(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"{minutes}m"


def hypnogram_columns(segments: Sequence[tuple[int, float, float]], width: int) -> list[int]:
    """The level shown in each of `width` equal slices of the night: the one there longest."""
    if not segments or width <= 0:
        return []
    first = segments[0][1]
    total = sum(d for _, _, d in segments)
    if total <= 0:
        return []
    step = total / width
    columns: list[int] = []
    i = 0
    for col in range(width):
        lo, hi = first + col * step, first + (col + 1) * step
        share: dict[int, float] = {}
        while i < len(segments) and segments[i][1] + segments[i][2] <= lo:
            i += 1
        j = i
        while j < len(segments) and segments[j][1] < hi:
            level, at, dur = segments[j]
            overlap = min(hi, at + dur) - max(lo, at)
            if overlap > 0:
                share[level] = share.get(level, 0.0) + overlap
            j += 1
        columns.append(max(share, key=lambda lv: share[lv]) if share else segments[-1][0])
    return columns


def hypnogram_chart(segments: Sequence[tuple[int, float, float]], width: int = 60) -> list[str]:
    """Sleep stages by duration: one row per level present, time left to right, and totals."""
    columns = hypnogram_columns(segments, width)
    if not columns:
        return []
    spent: dict[int, float] = {}
    for level, _, dur in segments:
        spent[level] = spent.get(level, 0.0) + dur
    rows = []
    for code, name in _STAGES:
        if code not in spent:
            continue
        marks = "".join("█" if lv == code else " " for lv in columns)
        rows.append(f"  {name:>10} │{marks}│ {_hours(spent[code])}")
    others = sorted(set(spent) - set(_STAGE_NAMES))
    for code in others:  # a level Terra may add later: still drawn, by its number
        marks = "".join("█" if lv == code else " " for lv in columns)
        rows.append(f"  {'level ' + str(code):>10} │{marks}│ {_hours(spent[code])}")
    return rows


def series_charts(payload: Any, width: int = 60) -> list[str]:
    """Charts for the series a Terra payload carries: heart rate and sleep stages per record."""
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
        return []
    lines: list[str] = []
    for index, record in enumerate(payload["data"]):
        if not isinstance(record, dict):
            continue
        meta = record.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        start = str(meta.get("start_time") or "")[:16].replace("T", " ")
        title = f"record {index}" + (f" ({start})" if start else "")
        hr = _hr_samples(record)
        if hr:
            lines += heart_rate_chart(f"{title} heart rate", hr, width)
        stages = _hypnogram(record)
        if stages:
            segments = hypnogram_segments(stages, _epoch(meta.get("end_time")))
            total = sum(d for _, _, d in segments)
            lines.append(f"{title} sleep stages, {len(stages)} samples over {_hours(total)}")
            lines += hypnogram_chart(segments, width)
    return lines


def _hr_samples(record: dict[str, Any]) -> list[float]:
    """Heart-rate values from a record (top level or under `heart_data`)."""
    for holder in (record, record.get("heart_data")):
        if not isinstance(holder, dict):
            continue
        hr = holder.get("heart_rate_data")
        detailed = hr.get("detailed") if isinstance(hr, dict) else None
        samples = detailed.get("hr_samples") if isinstance(detailed, dict) else None
        if isinstance(samples, list):
            return [
                float(s["bpm"])
                for s in samples
                if isinstance(s, dict) and isinstance(s.get("bpm"), (int, float))
            ]
    return []


def _epoch(value: Any) -> float | None:
    """An ISO 8601 timestamp as unix seconds, or None."""
    if not isinstance(value, str):
        return None
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return stamp.timestamp()


def _hypnogram(record: dict[str, Any]) -> list[tuple[float, int]]:
    """(unix seconds, level) from a record's hypnogram samples, skipping unreadable ones."""
    durations = record.get("sleep_durations_data")
    samples = durations.get("hypnogram_samples") if isinstance(durations, dict) else None
    if not isinstance(samples, list):
        return []
    out = []
    for sample in samples:
        if not isinstance(sample, dict):
            continue
        level, at = sample.get("level"), _epoch(sample.get("timestamp"))
        if isinstance(level, int) and not isinstance(level, bool) and at is not None:
            out.append((at, level))
    return out


def heading(text: str) -> str:
    """A section heading for stdout views, bold where colour is on."""
    return style(text, "bold", sys.stdout)


# ---------------------------------------------------------------- event log views


def raw_bytes(data: bytes) -> None:
    """Bytes to stdout exactly as stored: no newline added, no decoding."""
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _forward_text(forward: Any) -> str:
    """A log record's `forward` object in a few words."""
    if not isinstance(forward, dict):
        return "-"
    route = f"{forward['route']}: " if forward.get("route") else ""
    if forward.get("status") is None:
        return f"{route}failed ({forward.get('error') or 'unreachable'})"
    return f"{route}{forward['status']} in {float(forward.get('latency_ms') or 0):.0f} ms"


LIST_COLUMNS = [
    "id",
    "received",
    "type",
    "provider",
    "user",
    "verdict",
    "status",
    "forward",
    "size",
    "summary",
]


def _row(record: dict[str, Any], summary: Summary) -> dict[str, str]:
    """One logged event as the list's named text cells."""
    return {
        "id": str(record.get("id", "")),
        "received": str(record.get("received_at", "")).replace("T", " ")[:19],
        "type": summary.type or "?",
        "provider": summary.provider or "-",
        "user": summary.user_id or "-",
        "verdict": str(record.get("verdict", "")),
        "status": str(record.get("status", "")),
        "forward": _forward_text(record.get("forward")),
        "size": human_size(int(record.get("size") or 0)),
        "summary": summary.text,
        "kind": summary.kind,
    }


def event_table(rows: Sequence[tuple[dict[str, Any], Summary]]) -> None:
    """The `events list` view on stdout: aligned columns on a terminal, tab-separated otherwise."""
    cells = [_row(record, summary) for record, summary in rows]
    width = terminal_width(sys.stdout)
    if width is None:
        sys.stdout.write("\t".join(LIST_COLUMNS) + "\n")
        for row in cells:
            short = {**row, "user": row["user"][:8]}
            sys.stdout.write("\t".join(short[col] for col in LIST_COLUMNS) + "\n")
        sys.stdout.flush()
        return
    sys.stdout.write("".join(line + "\n" for line in list_lines(cells, width, _color())))
    sys.stdout.flush()


def _color() -> bool:
    return color_enabled(sys.stdout)


def _local(received: str, with_year: bool) -> str:
    """A log stamp (UTC) in local time: `11-28 10:00:05`, or with the year."""
    try:
        stamp = datetime.fromisoformat(received.replace(" ", "T") + "+00:00").astimezone()
    except ValueError:
        return received
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if with_year else "%m-%d %H:%M:%S")


# Columns of `events list`, in screen order. The first four are on every
# row at every width (the id is never cut, the verdict never moves); the
# others join the first row while the terminal has room and otherwise go,
# with the summary, to an indented row below.
_ALWAYS = ("id", "received", "verdict", "type")
_OPTIONAL = ("provider", "user", "size")
_HEADERS = {
    "id": "ID",
    "received": "RECEIVED",
    "verdict": "VERDICT",
    "type": "TYPE",
    "provider": "PROVIDER",
    "user": "USER",
    "size": "SIZE",
    "summary": "SUMMARY",
}
_SUMMARY_MIN = 32  # narrower than this, the summary gets a row of its own
LIST_INDENT = 4


def list_lines(cells: list[dict[str, str]], width: int, color: bool = False) -> list[str]:
    """The list's screen lines at `width`: a header, then one or two rows per event.

    Nothing is wider than `width`; the event id is always whole.
    """
    with_year = width >= 120
    cells = [{**c, "received": _local(c["received"], with_year)} for c in cells]
    full_user = width >= 160
    for c in cells:
        if not full_user:
            c["user"] = c["user"][:8]

    def col_width(name: str) -> int:
        return max([len(_HEADERS[name])] + [len(c[name]) for c in cells])

    widths = {name: col_width(name) for name in (*_ALWAYS, *_OPTIONAL)}
    shown = list(_ALWAYS)
    used = sum(widths[n] for n in shown) + 2 * (len(shown) - 1)
    for name in _OPTIONAL:
        if used + 2 + widths[name] <= width:
            shown.append(name)
            used += 2 + widths[name]
        else:
            break
    moved = [n for n in _OPTIONAL if n not in shown]
    inline = not moved and width - used - 2 >= _SUMMARY_MIN
    summary_at = used + 2

    def paint(text: str, code: str | None) -> str:
        return f"{code}{text}\x1b[0m" if color and code else text

    def cell(row: dict[str, str], name: str) -> str:
        text = row[name]
        padded = text.rjust(widths[name]) if name == "size" else text.ljust(widths[name])
        if name == "verdict":
            return paint(text, verdict_code(text)) + padded[len(text) :]
        if name == "type":
            return paint(text, KIND_STYLES.get(row["kind"])) + padded[len(text) :]
        if name == "received":
            return paint(padded, STYLES["dim"])
        return padded

    header = "  ".join(
        (_HEADERS[n].rjust(widths[n]) if n == "size" else _HEADERS[n].ljust(widths[n]))
        for n in shown
    )
    if inline:
        header += "  " + _HEADERS["summary"]
    lines = [paint(header.rstrip(), STYLES["bold"])]
    for row in cells:
        first = "  ".join(cell(row, n) for n in shown)
        extra = [row["summary"]]
        if row["status"] and not row["status"].startswith("2"):
            extra.append(f"answered {row['status']}")
        if row["forward"] != "-":
            extra.append(f"forward {row['forward']}")
        if inline:
            room = width - summary_at
            wrapped = _wrap("; ".join(extra), room)
            lines.append(first + "  " + wrapped[0])
            lines += [" " * summary_at + more for more in wrapped[1:]]
            continue
        lines.append(first.rstrip())
        columns = "".join(cell(row, n) + "  " for n in moved)  # aligned like the first row
        lead = LIST_INDENT + len("".join(_pad(row, n, widths) + "  " for n in moved))
        wrapped = _wrap("; ".join(extra), width - lead)
        lines.append(" " * LIST_INDENT + columns + wrapped[0])
        lines += [" " * lead + more for more in wrapped[1:]]
    return lines


def _pad(row: dict[str, str], name: str, widths: dict[str, int]) -> str:
    return row[name].ljust(widths[name])


def _wrap(text: str, width: int) -> list[str]:
    """Words of `text` in lines of at most `width` (a longer word is broken)."""
    import textwrap

    return textwrap.wrap(text, max(10, width), break_on_hyphens=False) or [""]


def pretty_body(body: bytes, headers: Sequence[tuple[str, str]]) -> str:
    """The body for reading: gunzipped when marked gzip, JSON indented, else text."""
    decoded = decode_body(body, headers)
    if decoded is None:
        return f"(encoded body that could not be decoded, {human_size(len(body))})"
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return f"(binary body, {human_size(len(decoded))}; --raw prints the bytes)"
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def event_view(
    record: dict[str, Any],
    summary: Summary,
    body: bytes,
    headers: Sequence[tuple[str, str]],
    with_body: bool = False,
) -> None:
    """The readable `events show` view on stdout: summary and facts, charts, headers, body.

    The body (often thousands of lines) comes only with `with_body`; without
    it a last line says how to get it.
    """
    width = terminal_width(sys.stdout)
    title = f"{record.get('id')}  {summary.type or '?'}  "
    lines = [heading(_hang(title, summary.text, width, words=True))]
    facts = [
        ("received", f"{record.get('received_at')}  {record.get('method')} {record.get('path')}"),
        ("user", _user_text(summary)),
        ("signature", verdict_text(record)),
        ("answered", str(record.get("status"))),
        ("forward", _forward_text(record.get("forward"))),
        ("size", human_size(int(record.get("size") or len(body)))),
    ]
    forward = record.get("forward")
    if isinstance(forward, dict):
        facts[4] = ("forward", f"{forward.get('url')} → {_forward_text(forward)}")
    if summary.user_id and summary.reference_id:
        facts.insert(2, ("reference", summary.reference_id))
    reference = _header(headers, "terra-reference")
    if reference:
        facts.append(("ref", reference))
    trace = _header(headers, "x-terra-trace-id")
    if trace:
        facts.append(("trace id", trace))
    lines += [
        _hang(f"  {name:<10} ", value, width, words=name == "signature") for name, value in facts
    ]
    decoded = decode_body(body, headers)
    if decoded:
        try:
            charts = series_charts(json.loads(decoded), _chart_width(width))
        except ValueError:
            charts = []
        if charts:
            lines += ["", heading("Series")]
            lines += charts
    lines += ["", heading("Headers")]
    lines += [_hang(f"  {name}: ", value, width) for name, value in headers] or ["  (none)"]
    lines.append("")
    if record.get("body") is None and record.get("body_b64") is None:
        lines += [heading("Body"), f"  (not kept: the request was answered {record.get('status')})"]
    elif with_body:
        lines += [heading("Body"), pretty_body(body, headers)]
    else:
        note = (
            f"{human_size(len(body))}, not shown; 'terra events show {record.get('id')} "
            "--body' shows it, --raw prints the stored bytes."
        )
        lines.append(_hang("Body: ", note, width, words=True))
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def verdict_text(record: dict[str, Any]) -> str:
    """A logged verdict (coloured where stdout allows) with its detail when it failed.

    E.g. "stale (in the future: signed 15 min ahead of this clock, tolerance 300 s)".
    """
    verdict = str(record.get("verdict"))
    word = verdict_word(verdict, sys.stdout)
    detail = record.get("verdict_detail")
    if verdict in ("bad", "stale", "unsigned") and isinstance(detail, str) and detail:
        return f"{word} ({detail})"
    return word


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _chart_width(width: int | None) -> int:
    """Chart columns: 60, fewer on a terminal too narrow for them and the labels.

    The widest chart row is a hypnogram's: a 10-column level name and its
    frame on the left, the time spent (`10h05`) on the right.
    """
    return 60 if width is None else max(20, min(60, width - 22))


def _hang(label: str, value: str, width: int | None, words: bool = False) -> str:
    """`label` + `value`, the value wrapped under itself to fit a terminal (not when piped).

    Values such as signatures and ids are split anywhere (never shortened);
    with `words`, text is wrapped between words.
    """
    if width is None or len(label) + len(value) <= width:
        return label + value
    room = max(10, width - len(label))
    if words:
        pieces = _wrap(value, room)
    else:
        pieces = [value[i : i + room] for i in range(0, len(value), room)]
    return label + ("\n" + " " * len(label)).join(pieces)


def _user_text(summary: Summary) -> str:
    """User id and provider (the user's reference_id has a line of its own)."""
    if not summary.user_id:
        return "-"
    text = summary.user_id
    if summary.provider:
        text += f" ({summary.provider})"
    return text
