"""How the Terra API commands look: widget notices, QR codes, tables, the doctor report.

Results go to stdout (through the helpers in `terra_cli.render`), notices to
stderr. segno, the QR encoder, is imported here and nowhere else.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from terra_cli.render import color_enabled, info, result, style, table, warn

if TYPE_CHECKING:
    from terra_cli.api import RetryNotice

# A light module is drawn with the terminal's foreground colour; two rows per line.
_HALF = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
_QR_COLOURS = "\x1b[97;40m"  # bright white on black: right on dark and light themes alike
_RESET = "\x1b[0m"
QR_BORDER = 4


def retry_notice(notice: RetryNotice) -> None:
    """Tell the user the client is waiting before another try (stderr)."""
    warn(
        f"{notice.reason}; retrying in {notice.wait:g} s "
        f"(try {notice.attempt + 1} of {notice.retries + 1})."
    )


def qr_lines(text: str, border: int = QR_BORDER) -> list[str]:
    """`text` as a QR code (error correction M) in half-block characters, light modules filled."""
    import segno

    code = segno.make(text, error="m", boost_error=False, micro=False)
    rows = [[not dark for dark in row] for row in code.matrix_iter(scale=1, border=border)]
    if len(rows) % 2:
        rows.append([True] * len(rows[0]))
    return [
        "".join(_HALF[(top, bottom)] for top, bottom in zip(upper, lower, strict=False))
        for upper, lower in zip(rows[0::2], rows[1::2], strict=False)
    ]


def qr(text: str) -> None:
    """Draw a scannable QR code of `text` on stderr."""
    colour = color_enabled(sys.stderr)
    for line in qr_lines(text):
        sys.stderr.write(f"{_QR_COLOURS}{line}{_RESET}\n" if colour else line + "\n")
    sys.stderr.flush()


def legacy_widget_used(status: int, legacy_path: str) -> None:
    """Say that the new widget endpoint was missing and the legacy one answered."""
    warn(
        f"The widget endpoint answered {status}; used the legacy {legacy_path} "
        "instead (Terra is retiring it)."
    )


def widget_created(
    *,
    reference_id: str | None,
    providers: str | None,
    expires_local: str | None,
    expires_in: int | None,
) -> None:
    """The session's details on stderr; the URL itself is the result on stdout."""
    info(f"Reference: {reference_id or '(none)'}")
    info(f"Providers: {providers or '(as selected in the dashboard)'}")
    if expires_local and expires_in is not None:
        info(f"Expires:   {expires_local} local time (in {_duration(expires_in)})")


def _duration(seconds: int) -> str:
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def integrations_table(providers: list[dict[str, Any]]) -> None:
    """Provider, name, enabled, data types: a table on stdout."""
    rows = [
        {
            "provider": _cell(p.get("provider")),
            "name": _cell(p.get("name")),
            "enabled": _cell(p.get("enabled")),
            "types": ",".join(p.get("types") or []) or "-",
        }
        for p in providers
    ]
    table(rows, ["provider", "name", "enabled", "types"])


USER_COLUMNS = ["user_id", "provider", "reference_id", "active", "last_webhook_update"]


def users_table(users: list[dict[str, Any]]) -> None:
    """One user a row, on stdout."""
    table([{c: _cell(u.get(c)) for c in USER_COLUMNS} for u in users], USER_COLUMNS)


def user_detail(user: dict[str, Any], is_authenticated: object) -> None:
    """Every field of one user, one `field value` row each, on stdout."""
    fields = dict(user)
    fields["is_authenticated"] = is_authenticated
    table([{"field": k, "value": _cell(v)} for k, v in fields.items()], ["field", "value"])


def records_table(records: list[dict[str, Any]]) -> None:
    """Data records by their metadata (start, end, id), on stdout."""
    rows = []
    for i, record in enumerate(records, 1):
        meta = record.get("metadata") if isinstance(record.get("metadata"), dict) else {}
        assert isinstance(meta, dict)
        rows.append(
            {
                "#": str(i),
                "start_time": _cell(meta.get("start_time")),
                "end_time": _cell(meta.get("end_time")),
                "summary_id": _cell(meta.get("summary_id")),
            }
        )
    table(rows, ["#", "start_time", "end_time", "summary_id"])


def fields_table(obj: dict[str, Any]) -> None:
    """A flat object (such as an athlete profile) as `field value` rows on stdout."""
    table([{"field": k, "value": _cell(v)} for k, v in obj.items()], ["field", "value"])


_MARKS = {"ok": ("ok", "ok"), "warn": ("warn", "warn"), "fail": ("fail", "error")}


def doctor_report(checks: list[dict[str, Any]]) -> None:
    """One line per check (`[ok]`, `[warn]`, `[fail]`), and its fix under each problem."""
    width = max((len(c["name"]) for c in checks), default=0)
    for check in checks:
        word, colour = _MARKS[check["status"]]
        mark = style(f"[{word}]", colour, sys.stdout)
        pad = " " * (4 - len(word))
        result(f"{mark}{pad} {check['name']:<{width}}  {check['detail']}")
        if check.get("hint") and check["status"] != "ok":
            result(f"       {' ' * width}  fix: {check['hint']}")
