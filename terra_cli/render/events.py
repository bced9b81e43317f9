"""How deliveries, stored events and their data series look on a terminal.

Charts are plain text (block characters), built by pure functions so tests
can read them; colour is added only where the stream allows it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from terra_cli.render import info, style, success, table, warn
from terra_cli.webhooks.events import Summary, decode_body, human_size

if TYPE_CHECKING:
    from terra_cli.webhooks.forward import Delivery


def delivery(what: str, size: int, records: int | None, result: Delivery) -> None:
    """One stderr line saying what was sent where and what came back."""
    held = f", {records} record{'s' if records != 1 else ''}" if records is not None else ""
    sent = f"{what} ({human_size(size)}{held}) → {result.url}"
    if result.status is None:
        warn(f"{sent}: no answer ({result.error})")
        return
    line = f"{sent}: {result.status} in {result.latency_ms:.0f} ms"
    if result.ok:
        success(line)
        return
    warn(line)
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


# Terra's SleepLevel codes, in chart order from top to bottom.
_STAGES = ((1, "awake"), (6, "REM"), (4, "light"), (5, "deep"))


def hypnogram_chart(levels: Sequence[int], width: int = 60) -> list[str]:
    """Sleep stages as four rows (awake, REM, light, deep), one column per time slice."""
    if not levels:
        return []
    if len(levels) > width:
        step = len(levels) / width
        levels = [levels[int(i * step)] for i in range(width)]
    rows = []
    for code, name in _STAGES:
        marks = "".join("█" if lv == code else " " for lv in levels)
        rows.append(f"  {name:>5} │{marks}")
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
            lines.append(f"{title} sleep stages, {len(stages)} samples")
            lines += hypnogram_chart(stages, width)
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


def _hypnogram(record: dict[str, Any]) -> list[int]:
    """Sleep-stage codes from a record's hypnogram samples."""
    durations = record.get("sleep_durations_data")
    samples = durations.get("hypnogram_samples") if isinstance(durations, dict) else None
    if not isinstance(samples, list):
        return []
    return [
        int(s["level"]) for s in samples if isinstance(s, dict) and isinstance(s.get("level"), int)
    ]


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


def event_table(rows: Sequence[tuple[dict[str, Any], Summary]]) -> None:
    """The `events list` table on stdout: one row per logged event."""
    table(
        [
            {
                "id": str(record.get("id", "")),
                "received": str(record.get("received_at", "")).replace("T", " ")[:19],
                "type": summary.type or "?",
                "provider": summary.provider or "-",
                "user": (summary.user_id or "-")[:8],
                "verdict": str(record.get("verdict", "")),
                "status": str(record.get("status", "")),
                "forward": _forward_text(record.get("forward")),
                "size": human_size(int(record.get("size") or 0)),
                "summary": summary.text,
            }
            for record, summary in rows
        ],
        [
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
        ],
    )


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
    record: dict[str, Any], summary: Summary, body: bytes, headers: Sequence[tuple[str, str]]
) -> None:
    """The readable `events show` view on stdout: facts, headers, body, charts."""
    lines = [heading(f"{record.get('id')}  {summary.type or '?'}  {summary.text}")]
    facts = [
        ("received", f"{record.get('received_at')}  {record.get('method')} {record.get('path')}"),
        ("user", _user_text(summary)),
        ("signature", str(record.get("verdict"))),
        ("answered", str(record.get("status"))),
        ("forward", _forward_text(record.get("forward"))),
        ("size", human_size(int(record.get("size") or len(body)))),
    ]
    forward = record.get("forward")
    if isinstance(forward, dict):
        facts[4] = ("forward", f"{forward.get('url')} → {_forward_text(forward)}")
    lines += [f"  {name:<10} {value}" for name, value in facts]
    lines += ["", heading("Headers")]
    lines += [f"  {name}: {value}" for name, value in headers] or ["  (none)"]
    lines += ["", heading("Body")]
    if record.get("body") is None and record.get("body_b64") is None:
        lines.append(f"  (not kept: the request was answered {record.get('status')})")
    else:
        lines.append(pretty_body(body, headers))
    decoded = decode_body(body, headers)
    if decoded:
        try:
            charts = series_charts(json.loads(decoded))
        except ValueError:
            charts = []
        if charts:
            lines += ["", heading("Series")]
            lines += charts
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _user_text(summary: Summary) -> str:
    """User id, provider and reference on one line."""
    if not summary.user_id:
        return "-"
    text = summary.user_id
    if summary.provider:
        text += f" ({summary.provider})"
    if summary.reference_id:
        text += f", reference {summary.reference_id}"
    return text
