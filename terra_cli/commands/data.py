"""`terra data TYPE`: ask Terra for a user's data, to your webhook or on stdout."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.errors import InputError, RemoteError, UsageError

#: Kept literal so `terra --help` need not import the API client; a test keeps it in step.
TYPES_HELP = "One of: activity, body, daily, sleep, nutrition, menstruation, athlete."

#: Answers of the older API that carry no data and no reference (tolerated, reported).
_LEGACY = ("no_data", "processing", "rate_limit")


def register(app: typer.Typer) -> None:
    app.command("data")(data)


def data(
    ctx: typer.Context,
    data_type: Annotated[str, typer.Argument(metavar="TYPE", help=TYPES_HELP)],
    user_id: Annotated[str, typer.Option("--user-id", help="Terra user id.", show_default=False)],
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="First day (required, except for athlete): YYYY-MM-DD, unix seconds, "
            "today, yesterday, or an age such as 7d or 2w.",
            show_default=False,
        ),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--end", help="Last day, same forms (default: now).", show_default=False),
    ] = None,
    samples: Annotated[
        bool, typer.Option("--samples/--no-samples", help="Include sample-level series.")
    ] = False,
    to_webhook: Annotated[
        bool,
        typer.Option(
            "--to-webhook/--no-to-webhook",
            help="Deliver to your webhook destination (print the terra-reference), "
            "or return the data here.",
        ),
    ] = True,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Request TYPE data for a user; with --to-webhook (default) print the terra-reference."""
    from datetime import date

    from terra_cli import inputs
    from terra_cli.api import DATA_TYPES, DATED_TYPES, DataRequest
    from terra_cli.commands.remote import client

    kind = data_type.strip().lower()
    if kind not in DATA_TYPES:
        raise InputError(
            f"Unknown data type '{data_type}'.",
            hint=f"Use one of: {', '.join(DATA_TYPES)}.",
        )
    uid = user_id.strip()
    if not uid or any(c.isspace() for c in uid):
        raise InputError(
            f"{user_id!r} is not a Terra user id.", hint="Copy the user_id from 'terra users list'."
        )
    first: inputs.Day | None = None
    last: inputs.Day | None = None
    if kind in DATED_TYPES:
        if start is None:
            raise UsageError(
                f"'{kind}' needs --start.",
                hint=f"Run 'terra data {kind} --user-id ID --start 7d' (see --help for forms).",
            )
        first, last = inputs.date_range(start, end, date.today())
    elif start is not None or end is not None:
        raise InputError("athlete takes no dates.", hint="Leave out --start and --end.")
    request = DataRequest(
        data_type=kind,
        user_id=uid,
        start=first.wire if first else None,
        end=last.wire if last else None,
        to_webhook=to_webhook,
        with_samples=samples,
    )
    settings = load_settings(ctx)
    with client(settings) as terra, render.progress(f"Asking Terra for {kind} data"):
        reply = terra.data(request)
    body: Any = reply.body
    legacy = body.get("type") if isinstance(body, dict) else None
    if to_webhook and not reply.reference and legacy not in _LEGACY:
        raise RemoteError(
            f"Terra accepted the {kind} request but gave no terra-reference.",
            hint="Watch 'terra listen' for the deliveries, or use --no-to-webhook.",
        )
    if json_out:
        if to_webhook and isinstance(body, dict) and reply.reference:
            body = {**body, "reference": reply.reference}
        render.result_json(body)
    if legacy in _LEGACY:
        _legacy_notice(body)
        return
    if to_webhook:
        _acknowledged(kind, uid, body, reply.reference, json_out)
    elif not json_out:
        _show(kind, uid, body)


def _legacy_notice(body: dict[str, Any]) -> None:
    message = body.get("message") or "no details"
    if body.get("type") == "no_data":
        render.info(f"Terra has no data for that range ({message}).")
    elif body.get("type") == "processing":
        after = body.get("retry_after_seconds")
        wait = f" in {after} s" if after is not None else " later"
        render.warn(f"Terra is still fetching from the provider ({message}); try again{wait}.")
    else:
        render.warn(f"The provider's rate limit was hit ({message}); Terra retries by itself.")


def _acknowledged(kind: str, uid: str, body: Any, reference: str | None, json_out: bool) -> None:
    if json_out or not reference:
        return
    render.info(
        f"Terra accepted the {kind} request for {uid}; the deliveries carry "
        f"terra-reference {reference} (watch them with 'terra listen')."
    )
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, str) and message:
        render.info(f"Terra: {message}")
    render.result(reference)


def _show(kind: str, uid: str, body: Any) -> None:
    from terra_cli.render import api as render_api

    if not isinstance(body, dict):
        raise RemoteError(
            f"Terra's {kind} answer is not an object.", hint="Run again with --json to see it."
        )
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    provider = user.get("provider", "?") if isinstance(user, dict) else "?"
    if kind == "athlete":
        athlete = body.get("athlete")
        render_api.fields_table(athlete if isinstance(athlete, dict) else {})
        render.info(f"Athlete profile of {uid} ({provider}).")
        return
    records = [r for r in body.get("data") or [] if isinstance(r, dict)]
    render_api.records_table(records)
    render.info(
        f"{len(records)} {kind} record{'s' if len(records) != 1 else ''} for {uid} "
        f"({provider}); --json prints them in full."
    )
