"""`terra events`: list, inspect and replay what `terra listen` logged."""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated

import typer

from terra_cli import render
from terra_cli.commands import SuggestingGroup, load_settings
from terra_cli.errors import AuthError, CanceledError, InputError
from terra_cli.render import events as show
from terra_cli.webhooks.events import CHUNK_TYPES, chunk_of, human_size, summarize
from terra_cli.webhooks.forward import DEFAULT_TIMEOUT, check_url, raise_for_delivery
from terra_cli.webhooks.replay import recorded_headers, replay
from terra_cli.webhooks.store import EventStore, record_body
from terra_cli.webhooks.trigger import DEFAULT_TARGET

events_app = typer.Typer(
    cls=SuggestingGroup,
    help="List, inspect and replay the events 'terra listen' saved.",
    no_args_is_help=True,
)

IdArg = Annotated[
    str,
    typer.Argument(metavar="ID", help="Event id (or a unique prefix) from 'terra events list'."),
]


def register(app: typer.Typer) -> None:
    """Add the `terra events` group to the root app."""
    app.add_typer(events_app, name="events")


@events_app.command("list")
def list_(
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", help="Show at most N events.", min=1)
    ] = 20,
    event_type: Annotated[
        str | None,
        typer.Option(
            "--type",
            metavar="TYPE",
            help="Only events of this type (e.g. activity).",
            show_default=False,
        ),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option(
            "--user", metavar="ID", help="Only events for this user id.", show_default=False
        ),
    ] = None,
    verdict: Annotated[
        str | None,
        typer.Option(
            "--verdict",
            metavar="V",
            help="Only events with this signature verdict: ok, bad, stale, unsigned, unchecked.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only events received since: an age (2h, 7d), a date or an ISO time.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="A JSON array of event-log objects, newest first.")
    ] = False,
) -> None:
    """The newest events in the log."""
    from datetime import datetime, timezone

    from terra_cli.webhooks.retention import parse_since

    wanted = event_type.strip().lower() if event_type else None
    verdict_value = _verdict(verdict) if verdict is not None else None
    after = parse_since(since, datetime.now(timezone.utc)) if since is not None else None
    store = _store()
    records = store.select(
        limit,
        event_type=wanted,
        user_id=user.strip() if user else None,
        verdict=verdict_value,
        since=after,
    )
    if json_out:
        render.result_json(records)
        return
    if not records:
        filters = [
            f"{name} {value}"
            for name, value in (
                ("of type", wanted and f"'{wanted}'"),
                ("for user", user and f"'{user}'"),
                ("with verdict", verdict_value),
                ("since", after),
            )
            if value
        ]
        where = f" {', '.join(filters)}" if filters else ""
        render.info(
            f"No events{where} in {store.root}. Run 'terra listen --no-tunnel' and, in "
            "another terminal, 'terra trigger activity'."
        )
        return
    picked = [(r, summarize(record_body(r), recorded_headers(r))) for r in records]
    show.event_table(picked)


def _store() -> EventStore:
    """The event log, announcing on stderr a long first indexing (an old, big log)."""
    store = EventStore.default()
    store.on_catch_up = lambda size: render.info(
        f"Indexing {human_size(size)} of the event log (once; later queries are instant)…"
    )
    return store


def _verdict(raw: str) -> str:
    """A signature verdict name, else exit 3 listing them."""
    from terra_cli.webhooks.signature import Verdict

    value = raw.strip().lower()
    names = [v.value for v in Verdict]
    if value not in names:
        raise InputError(
            f"Unknown verdict '{raw}'.",
            hint=f"Use one of: {', '.join(names)} (e.g. --verdict bad).",
        )
    return value


@events_app.command("prune")
def prune(
    ctx: typer.Context,
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="AGE",
            help="Remove day files whose whole day is older than AGE (e.g. 7d, 2w); "
            "default: the event-log-days setting (30).",
            show_default=False,
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Remove old day files from the event log."""
    from datetime import datetime, timedelta, timezone

    from terra_cli.webhooks.retention import keep_days, old_day_files, parse_age

    if older_than is not None:
        age = parse_age(older_than, "--older-than")
        label = older_than.strip()
    else:
        days = keep_days(load_settings(ctx).get("event-log-days"))
        if days == 0:
            raise InputError(
                "event-log-days is 0 (keep everything), so there is no default age to prune.",
                hint="Give one: terra events prune --older-than 30d",
            )
        age, label = timedelta(days=days), f"{days}d (event-log-days)"
    store = EventStore.default()
    old = old_day_files(store.files(), age, datetime.now(timezone.utc))
    if not old:
        render.info(f"Nothing to prune: no day file in {store.root} is older than {label}.")
        return
    size = sum(p.stat().st_size for p in old if p.exists())
    what = (
        f"{len(old)} day file{'s' if len(old) != 1 else ''} ({old[0].stem}"
        f"{' to ' + old[-1].stem if len(old) > 1 else ''}, {human_size(size)})"
    )
    if not yes:
        if not render.stdin_is_terminal():
            raise InputError(
                f"Not removing {what}: confirmation is needed and stdin is not a terminal.",
                hint="Add --yes to confirm: terra events prune --yes",
            )
        if not render.confirm(f"Remove {what} from {store.root}?"):
            raise CanceledError(
                "Nothing removed.", hint="Run 'terra events prune --yes' to skip the question."
            )
    removed = store.prune(old)
    render.info(
        f"Removed {len(removed)} day file{'s' if len(removed) != 1 else ''} ({human_size(size)})."
    )


@events_app.command("show")
def show_(
    event_id: IdArg,
    raw: Annotated[
        bool, typer.Option("--raw", help="Print the stored body bytes exactly, nothing else.")
    ] = False,
    with_body: Annotated[
        bool, typer.Option("--body", help="Also show the body, pretty-printed, at the end.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print the log record as JSON.")] = False,
) -> None:
    """One event: summary, charts of its series and headers; the body with --body."""
    store = _store()
    record = store.find(event_id)
    body = record_body(record)
    if raw:
        show.raw_bytes(body)
        return
    if json_out:
        render.result_json(record)
        return
    headers = recorded_headers(record)
    summary = summarize(body, headers)
    if summary.type in CHUNK_TYPES:
        chunk = chunk_of(store.iter_records(newest_first=True), record)
        if chunk is not None:
            summary = dataclasses.replace(
                summary, text=f"chunk {chunk[0]} of {chunk[1]}: {summary.text}"
            )
    show.event_view(record, summary, body, headers, with_body=with_body)


@events_app.command("replay")
def replay_(
    ctx: typer.Context,
    event_id: IdArg,
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="URL", help="Where to send it: a listener or your app's webhook URL."
        ),
    ] = DEFAULT_TARGET,
    original_signature: Annotated[
        bool,
        typer.Option(
            "--original-signature",
            help="Keep the recorded signature header instead of signing afresh.",
        ),
    ] = False,
    same_trace_id: Annotated[
        bool,
        typer.Option(
            "--same-trace-id",
            help="Repeat the recorded X-Terra-Trace-Id (plays a retry); default: a fresh one.",
        ),
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Seconds to wait for the answer.", min=0.1
        ),
    ] = DEFAULT_TIMEOUT,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the delivery result as JSON on stdout.")
    ] = False,
) -> None:
    """Send a logged event again: same bytes and headers, a fresh signature by default."""
    url = check_url(to)
    record = _store().find(event_id)
    body = record_body(record)
    secret = None
    if not original_signature:
        settings = load_settings(ctx)
        secret = settings.get("signing-secret")
        if not secret:
            raise AuthError(
                f"No signing-secret is configured (profile '{settings.profile}'), so the "
                "replay cannot be signed afresh.",
                hint="Run 'terra config set signing-secret' or set TERRA_SIGNING_SECRET, "
                "or pass --original-signature to send the recorded header.",
            )
    result = replay(
        record, body, url, secret, int(time.time()), timeout, same_trace_id=same_trace_id
    )
    summary = summarize(body, recorded_headers(record))
    show.delivery(f"replay of {record.get('id')}", len(body), summary.records, result)
    if json_out:
        render.result_json(
            {
                "id": record.get("id"),
                "type": summary.type,
                "url": result.url,
                "status": result.status,
                "latency_ms": round(result.latency_ms, 1),
                "error": result.error,
                "resigned": secret is not None,
                "size": len(body),
                "response_body": result.body.decode("utf-8", "replace"),
            }
        )
    raise_for_delivery(
        result, timeout, listener_url=DEFAULT_TARGET, retry_advice="replay it again once fixed."
    )


@events_app.command("pull")
def pull_(
    ctx: typer.Context,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="DEV_ID",
            help="The Terra environment (default: the profile's dev-id).",
            show_default=False,
        ),
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            "--outcome",
            metavar="failed|delivered",
            help="Only deliveries that failed, or only those that were delivered.",
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            metavar="WHEN",
            help="Only deliveries since WHEN: an age (6h, 2d), a date or an ISO 8601 time.",
            show_default=False,
        ),
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", metavar="N", help="Pull at most N deliveries.", min=1)
    ] = 50,
    json_out: Annotated[
        bool, typer.Option("--json", help="A JSON array of the records pulled, newest first.")
    ] = False,
) -> None:
    """Copy Terra's record of deliveries (and their bodies) into the local event log.

    Events Terra tried to send while nothing was listening can then be read with
    'terra events show' and replayed locally with 'terra events replay'. Nothing is
    resent by Terra.
    """
    from terra_cli.commands.admin import admin_client
    from terra_cli.errors import InputError
    from terra_cli.render import admin as show_admin
    from terra_cli.settings import mask
    from terra_cli.webhooks.pull import check_outcome, parse_since, pull

    settings = load_settings(ctx)
    wanted = check_outcome(outcome)
    after = parse_since(since) if since else None
    dev_id = env or settings.get("dev-id")
    if not dev_id:
        raise InputError(
            "events pull needs to know which Terra environment (dev-id) to read.",
            hint="Pass --env DEV_ID, or run 'terra config set dev-id'.",
        )
    store = EventStore.default()
    with admin_client(settings) as client:
        try:
            result = pull(client, dev_id, store, outcome=wanted, since=after, limit=limit)
        finally:
            store.close()
    if json_out:
        render.result_json(result.written)
    else:
        for record in result.written:
            render.result(str(record["id"]))
    what = f"{wanted} " if wanted else ""
    show_admin.notice(
        f"Pulled {len(result.written)} {what}deliver{'y' if len(result.written) == 1 else 'ies'} "
        f"from Terra (environment {mask(dev_id)}) into {store.root}"
        + (f"; {result.already} were already in the log" if result.already else "")
        + "."
    )
    if not result.payloads_readable and result.written:
        show_admin.caution(
            "The admin token lacks payloads:read, so only the delivery records came, not the "
            "bodies; run 'terra login --scope payloads:read' to pull them too."
        )
    elif result.without_payload:
        show_admin.caution(
            f"{result.without_payload} deliveries had no stored body any more "
            "(Terra keeps bodies about 14 days)."
        )
    if result.written:
        render.info("See them with 'terra events list'; replay one with 'terra events replay ID'.")
