"""How the Terra API commands look: widget notices, QR codes, tables, the doctor report.

Results go to stdout (through the helpers in `terra_cli.render`), notices to
stderr. segno, the QR encoder, is imported here and nowhere else.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from terra_cli.render import color_enabled, info, warn

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
