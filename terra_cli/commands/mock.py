"""`terra mock`: a local stand-in for Terra's API and widget, playing the webhooks that follow."""

from __future__ import annotations

import signal
import time
from typing import Annotated

import typer

from terra_cli.commands import load_settings
from terra_cli.lifecycle import ParentWatch, SignalFlag, hangup_ignored
from terra_cli.render import mock as show
from terra_cli.settings import Settings, mask


def register(app: typer.Typer) -> None:
    """Add `terra mock` to the root app."""
    app.command("mock")(mock)


def _credential(flag: str | None, settings: Settings, name: str, default: str) -> tuple[str, str]:
    """The value to require and how to show it: the flag, the configured one, else the default."""
    if flag:
        return flag, flag
    configured = settings.lookup(name)
    if configured.value:
        where = "TERRA_" + name.upper().replace("-", "_") if configured.source == "env" else None
        label = f"your configured {name}" + (f" ({where})" if where else "")
        if name == "dev-id":
            label += f": {mask(configured.value)}"
        return configured.value, label
    return default, default


def mock(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option(help="Local port (0 picks a free one).", min=0, max=65535)
    ] = 8181,
    host: Annotated[str, typer.Option(help="Local address to listen on.")] = "127.0.0.1",
    webhook: Annotated[
        str | None,
        typer.Option(
            "--webhook",
            metavar="URL",
            help="Where to send the webhooks (auth, data, deauth), e.g. a 'terra listen' URL "
            "or your app's.",
            show_default=False,
        ),
    ] = None,
    dev_id: Annotated[
        str | None,
        typer.Option(
            "--dev-id",
            metavar="ID",
            help="dev-id to require (default: the configured one, else mock-dev).",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            metavar="KEY",
            help="x-api-key to require (default: the configured one, else mock-key).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(help="Seed for user ids and data: the same seed, the same data.")
    ] = 0,
    json_out: Annotated[
        bool, typer.Option("--json", help="NDJSON on stdout: a ready record, then one per request.")
    ] = False,
) -> None:
    """Serve Terra's REST API and widget locally, for your app's tests and CI."""
    from terra_cli.mock.run import MockRun
    from terra_cli.mock.scheduler import retry_delays
    from terra_cli.mock.service import DEFAULT_API_KEY, DEFAULT_DEV_ID, MockConfig
    from terra_cli.webhooks.forward import check_url

    parent = ParentWatch()
    settings = load_settings(ctx)
    target = check_url(webhook, "--webhook") if webhook else None
    delays = retry_delays()
    required_dev, dev_label = _credential(dev_id, settings, "dev-id", DEFAULT_DEV_ID)
    required_key, key_label = _credential(api_key, settings, "api-key", DEFAULT_API_KEY)
    secret = settings.get("signing-secret")
    run = MockRun(
        MockConfig(required_dev, required_key, target, seed),
        host,
        port,
        secret,
        delays,
        on_request=lambda r: (show.record_json if json_out else show.request_line)(r.json()),
        on_delivery=lambda r: (show.record_json if json_out else show.webhook_line)(r.json()),
    )
    stop = SignalFlag()
    _install_signal_handlers(stop)
    run.start()
    if json_out:
        show.ready_json(
            {
                "kind": "ready",
                "url": run.url,
                "port": run.port,
                "dev_id": required_dev if dev_label == required_dev else mask(required_dev),
                "api_url": f"{run.url}/v2",
                "access_url": run.url,
                "webhook": target,
                "seed": seed,
            }
        )
    else:
        show.banner(run.url, dev_label, key_label, target, secret is not None, seed)
    try:
        while not stop.raised and not parent.gone():
            time.sleep(0.1)
    finally:
        summary = run.close()
    show.stopped(summary.requests, summary.delivered, summary.given_up, summary.undelivered)


def _install_signal_handlers(stop: SignalFlag) -> None:
    """SIGINT / SIGTERM (and a lost terminal's SIGHUP) end the run with exit 0."""
    signal.signal(signal.SIGINT, stop.handler)
    signal.signal(signal.SIGTERM, stop.handler)
    if hasattr(signal, "SIGHUP") and not hangup_ignored():
        signal.signal(signal.SIGHUP, stop.handler)
