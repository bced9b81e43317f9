"""`terra inspect`: the inspector page over the saved event log, without listening."""

from __future__ import annotations

import signal
import threading
import time
from typing import Annotated

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.lifecycle import SignalFlag, hangup_ignored


def register(app: typer.Typer) -> None:
    app.command("inspect")(inspect)


def inspect(
    ctx: typer.Context,
    port: Annotated[
        int,
        typer.Option(
            "--port",
            envvar="TERRA_INSPECT_PORT",
            help="Port on 127.0.0.1 (the next free one when taken; 0 picks any).",
            min=0,
            max=65535,
        ),
    ] = 4041,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            metavar="URL",
            help="Where Replay sends unless a URL is typed in the page "
            "(default: terra listen on port 8080).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Open the inspector page over the saved events (Ctrl-C stops it); the URL on stdout."""
    from terra_cli.inspector.feed import MAX_ENTRIES, Feed
    from terra_cli.inspector.server import Inspector, InspectorConfig
    from terra_cli.webhooks.store import EventStore
    from terra_cli.webhooks.trigger import DEFAULT_TARGET

    settings = load_settings(ctx)
    store = EventStore.default()
    feed = Feed(store.root, max_entries=MAX_ENTRIES)
    feed.load_log()
    inspector = Inspector(
        feed,
        InspectorConfig(
            port=port,
            mode="log",
            secret=settings.get("signing-secret"),
            default_target=to or DEFAULT_TARGET,
        ),
    )
    inspector.start()
    follower = threading.Thread(target=feed.follow, name="terra-inspect-follow", daemon=True)
    follower.start()
    stop = SignalFlag()
    signal.signal(signal.SIGINT, stop.handler)
    signal.signal(signal.SIGTERM, stop.handler)
    if hasattr(signal, "SIGHUP") and not hangup_ignored():
        signal.signal(signal.SIGHUP, stop.handler)
    render.info("terra inspect: the saved events in a local page")
    render.info(f"  Event log:   {store.root}")
    render.info(f"  Inspector:   {inspector.url}")
    render.info("  Stop:        Ctrl-C")
    render.result(inspector.url)
    try:
        while not stop.raised:
            time.sleep(0.1)
    finally:
        inspector.stop()
