"""`terra trigger`: send a realistic, signed sample event to a listener or your app."""

from __future__ import annotations

import dataclasses
import secrets
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.commands.options import SHELL_HISTORY_WARNING, SecretOption
from terra_cli.errors import AuthError, UsageError
from terra_cli.render import events as show
from terra_cli.webhooks import samples
from terra_cli.webhooks.forward import (
    DEFAULT_TIMEOUT,
    Delivery,
    check_url,
    raise_for_delivery,
)
from terra_cli.webhooks.outgoing import new_trace_id
from terra_cli.webhooks.trigger import (
    DEFAULT_TARGET,
    Outgoing,
    check_trace_id,
    compose,
    parse_header_option,
    send,
)

_SIGNING_HINT = (
    "Run 'terra config set signing-secret' (any value works for local testing; use the "
    "dashboard's secret to match a real destination), set TERRA_SIGNING_SECRET, "
    "or pass --unsigned."
)


def register(app: typer.Typer) -> None:
    """Add `terra trigger` to the root app."""
    app.command("trigger")(trigger)


def trigger(
    ctx: typer.Context,
    event_type: Annotated[
        str | None,
        typer.Argument(
            metavar="TYPE",
            help="Event type to send (see --list). Optional with --file.",
            show_default=False,
        ),
    ] = None,
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="URL", help="Where to send it: a listener or your app's webhook URL."
        ),
    ] = DEFAULT_TARGET,
    user_id: Annotated[
        str | None,
        typer.Option("--user-id", metavar="ID", help="Terra user id to put in the event."),
    ] = None,
    reference_id: Annotated[
        str | None,
        typer.Option("--reference-id", metavar="REF", help="Your reference id for the user."),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option("--provider", metavar="NAME", help="Provider slug, e.g. GARMIN, OURA."),
    ] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="PATH=VALUE",
            help="Change one field (dotted path, list items by index; VALUE parsed as JSON "
            "when it parses, else a string). Repeatable.",
        ),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", metavar="PAYLOAD.json", help="Send your own JSON payload."),
    ] = None,
    secret: SecretOption = None,
    unsigned: Annotated[
        bool, typer.Option("--unsigned", help="Send without signature headers.")
    ] = False,
    no_samples: Annotated[
        bool, typer.Option("--no-samples", help="Leave out sample series (heart rate, stages).")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Seconds to wait for the answer.", min=0.1
        ),
    ] = DEFAULT_TIMEOUT,
    trace_id: Annotated[
        str | None,
        typer.Option(
            "--trace-id",
            metavar="ID",
            help="X-Terra-Trace-Id to send (default: a fresh one). Repeat an earlier "
            "delivery's id to play a retry.",
            show_default=False,
        ),
    ] = None,
    header_options: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            metavar="'NAME: VALUE'",
            help="Add a header, or replace one of the same name. Repeatable.",
            show_default=False,
        ),
    ] = None,
    print_only: Annotated[
        bool,
        typer.Option(
            "--print",
            help="Write the payload (the exact bytes that would be sent) to stdout and send "
            "nothing.",
        ),
    ] = False,
    list_types: Annotated[bool, typer.Option("--list", help="List the event types.")] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the delivery result as JSON on stdout.")
    ] = False,
) -> None:
    """Send a realistic, Terra-shaped sample event, signed like Terra signs."""
    if list_types:
        _list(json_out)
        return
    if secret is not None and unsigned:
        raise UsageError(
            "--secret and --unsigned cannot be used together.",
            hint="Pass one of them: --unsigned sends no signature at all.",
        )
    if print_only and json_out:
        raise UsageError(
            "--print and --json cannot be used together.",
            hint="--print writes the JSON payload itself; --json reports a delivery.",
        )
    extra = [parse_header_option(h) for h in header_options or ()]
    trace = check_trace_id(trace_id) if trace_id is not None else new_trace_id()
    # A --header naming the trace id wins over --trace-id, so report what is sent.
    trace = next((v for n, v in extra if n.lower() == "x-terra-trace-id"), trace)
    url = check_url(to)
    options = samples.SampleOptions(
        user_id=user_id, reference_id=reference_id, provider=provider, samples=not no_samples
    )
    now = datetime.now(timezone.utc)
    event = compose(event_type, now, secrets.randbits(32), options, assignments or (), file)
    if print_only:
        show.raw_bytes(event.body)
        return
    named = next((v for n, v in extra if n.lower() == "terra-reference"), None)
    if named is not None:  # a --header naming the reference is what is sent and reported
        event = dataclasses.replace(event, reference=named)

    if secret is not None:
        render.warn(SHELL_HISTORY_WARNING)
    settings = load_settings(ctx, signing_secret=secret)
    key = None
    if not unsigned:
        key = settings.get("signing-secret")
        if not key:
            raise AuthError(
                f"No signing-secret is configured (profile '{settings.profile}'), so the "
                "event cannot be signed.",
                hint=_SIGNING_HINT,
            )
    result = send(event, url, key, int(time.time()), timeout, trace_id=trace, extra=extra)
    _report(event, result, key is not None, json_out, timeout, trace)


def _list(json_out: bool) -> None:
    """Print the event types, as lines or a JSON array."""
    rows = [(t.name, t.description) for t in samples.EVENT_TYPES.values()]
    if json_out:
        render.result_json([{"type": n, "description": d} for n, d in rows])
    else:
        show.type_list(rows)


def _report(
    event: Outgoing, result: Delivery, signed: bool, json_out: bool, timeout: float, trace: str
) -> None:
    """Show the delivery, print the result, and raise for anything but a 2xx."""
    label = event.type or "payload"
    show.delivery(label, len(event.body), event.records, result)
    if json_out:
        render.result_json(
            {
                "type": event.type,
                "url": result.url,
                "status": result.status,
                "latency_ms": round(result.latency_ms, 1),
                "error": result.error,
                "terra_reference": event.reference,
                "trace_id": trace,
                "signed": signed,
                "size": len(event.body),
                "records": event.records,
                "response_body": result.body.decode("utf-8", "replace"),
            }
        )
    elif result.status is not None:
        render.result(event.reference)
    raise_for_delivery(
        result,
        timeout,
        listener_url=DEFAULT_TARGET,
        retry_advice="re-send it with the same command once fixed (add --json to see the "
        "answer body).",
    )
