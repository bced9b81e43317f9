"""What the ngrok tunnel shows: a spinner while it starts, download progress, restarts.

Everything here goes to stderr, except the NDJSON `tunnel` record that tells
machines (with `--json`) that the public URL changed after a restart.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from terra_cli.render import (
    color_enabled,
    console,
    info,
    result_ndjson,
    style,
    success,
    warn,
)

if TYPE_CHECKING:
    from terra_cli.tunnel import TunnelStatus

DASHBOARD_STEP = "In Terra's dashboard: Connections -> Destinations -> Webhook: paste it and save."


def _mb(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def download_text(received: int, total: int | None) -> str:
    """`Downloading ngrok: 42% (5.0 of 12.0 MB)`, or just the size when the total is unknown."""
    if total:
        pct = min(100, received * 100 // total)
        return f"Downloading ngrok: {pct}% ({_mb(received)} of {_mb(total)})"
    return f"Downloading ngrok: {_mb(received)}"


class TunnelView:
    """Renders tunnel status reports; called from the tunnel's supervisor thread."""

    def __init__(self, path: str, json_mode: bool = False) -> None:
        self.path = path
        self.json_mode = json_mode
        self._lock = threading.Lock()
        self._status: Any = None  # rich Status while the spinner runs
        self._console: Any = None
        self._last_step = -1

    def webhook_url(self, public_url: str) -> str:
        """The URL to paste in Terra's dashboard: the public URL plus the webhook path."""
        return public_url.rstrip("/") + self.path

    @contextmanager
    def starting(self) -> Iterator[None]:
        """A spinner on a colour terminal while the agent starts; one plain line otherwise."""
        if not color_enabled(sys.stderr):
            info("Starting the ngrok tunnel…")
            yield
            return
        self._console = console()
        with self._console.status("Starting the ngrok tunnel…") as status:
            self._status = status
            try:
                yield
            finally:
                with self._lock:
                    self._status = None

    def _say(self, text: str) -> None:
        """A line on stderr that does not tear the spinner."""
        with self._lock:
            if self._status is not None:
                self._console.print(text, markup=False, highlight=False)
                return
        info(text)

    def __call__(self, status: TunnelStatus) -> None:
        from terra_cli import tunnel as t

        if isinstance(status, t.Downloading):
            self._say(f"ngrok is not installed; downloading it to {status.path} (first run only)…")
        elif isinstance(status, t.DownloadProgress):
            self._progress(status.received, status.total)
        elif isinstance(status, t.Downloaded):
            self._say(f"ngrok installed at {status.path}")
        elif isinstance(status, t.Starting):
            if self._status is not None:
                self._status.update("Starting the ngrok tunnel…")
        elif isinstance(status, t.Online):
            if status.restarted:
                self._restored(status.public_url, status.changed)
        elif isinstance(status, t.Lost):
            warn(f"The ngrok tunnel is down: {status.reason}. Restarting it…")
        elif isinstance(status, t.Retrying):
            info(
                f"  restart {status.attempt} of {status.attempts} "
                f"in {status.delay:.1f} s ({status.reason})"
            )
        elif isinstance(status, t.Failed):
            warn("The ngrok tunnel could not be restarted; stopping.")

    def _progress(self, received: int, total: int | None) -> None:
        text = download_text(received, total)
        with self._lock:
            if self._status is not None:
                self._status.update(text)
                return
        # Plain output: a line at each quarter, so logs stay short.
        step = (received * 4 // total) if total else (received // 5_000_000)
        if step != self._last_step:
            self._last_step = step
            info(text)

    def _restored(self, public_url: str, changed: bool) -> None:
        webhook = self.webhook_url(public_url)
        if changed:
            loud = style(webhook, "warn")
            warn("The tunnel is back with a NEW public URL. The old one no longer works.")
            info(f"  New webhook URL: {loud}")
            info(f"  {DASHBOARD_STEP}")
        else:
            success(f"The tunnel is back at the same URL: {webhook}")
        if self.json_mode:
            result_ndjson(
                {"kind": "tunnel", "public_url": webhook, "changed": changed, "status": "online"}
            )
