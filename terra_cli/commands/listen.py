"""`terra listen`: receive Terra webhooks locally, judge signatures, log and show them."""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Annotated, cast

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.errors import ExitCode, InputError
from terra_cli.inspector.feed import Feed
from terra_cli.lifecycle import ParentWatch, hangup_ignored
from terra_cli.render import listen as show
from terra_cli.settings import Settings
from terra_cli.webhooks.events import KNOWN_TYPES, Event
from terra_cli.webhooks.forward import (
    DEFAULT_TIMEOUT,
    ErrorKind,
    describe,
    failure_hint,
)
from terra_cli.webhooks.receiver import DEFAULT_PATH, MIB, ReceiverConfig
from terra_cli.webhooks.routes import RouteForwarder, parse_routes
from terra_cli.webhooks.session import ListenSession
from terra_cli.webhooks.signature import Verdict
from terra_cli.webhooks.store import EventStore

if TYPE_CHECKING:
    from terra_cli.inspector.server import Inspector
    from terra_cli.tunnel import Authtoken, TunnelSession
    from terra_cli.webhooks.registration import Registration


def register(app: typer.Typer) -> None:
    app.command("listen")(listen)


def listen(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option(help="Local port (0 picks a free one).", min=0, max=65535)
    ] = 8080,
    host: Annotated[str, typer.Option(help="Local address to listen on.")] = "127.0.0.1",
    path: Annotated[
        str, typer.Option(help="Webhook path shown in the URLs (POST on any path is accepted).")
    ] = DEFAULT_PATH,
    no_tunnel: Annotated[
        bool, typer.Option("--no-tunnel", help="Listen locally only; open no ngrok tunnel.")
    ] = False,
    domain: Annotated[
        str | None, typer.Option(help="Reserved ngrok domain for the tunnel.", show_default=False)
    ] = None,
    region: Annotated[
        str | None, typer.Option(help="ngrok region code (us, eu, ap...).", show_default=False)
    ] = None,
    events: Annotated[
        str | None,
        typer.Option(
            help="Show only these event types (comma-separated); all are still logged.",
            show_default=False,
        ),
    ] = None,
    full: Annotated[bool, typer.Option("--full", help="Show each body as pretty JSON.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="NDJSON on stdout.")] = False,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not write the event log.")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="Answer 401 to every failed signature check.")
    ] = False,
    tolerance: Annotated[
        float, typer.Option(help="Seconds a signature timestamp may be off.", min=0)
    ] = 300,
    max_body: Annotated[
        float, typer.Option(help="Largest body accepted, in MiB (413 beyond).", min=0.001)
    ] = 100,
    forward_to: Annotated[
        list[str] | None,
        typer.Option(
            "--forward-to",
            metavar="[TYPES=]URL",
            help="Also send each event, byte-exact, to your app at URL; the sender gets "
            "the app's status back (502 when it cannot be reached). Repeat with TYPES= "
            "(e.g. sleep,daily=URL) to route by type: the first match wins, else the "
            "URL without types.",
            show_default=False,
        ),
    ] = None,
    exclude: Annotated[
        str | None,
        typer.Option(
            "--exclude",
            metavar="TYPES",
            help="Hide these event types (comma-separated) from the live view; still logged.",
            show_default=False,
        ),
    ] = None,
    forward_timeout: Annotated[
        float,
        typer.Option(
            "--forward-timeout",
            metavar="SECONDS",
            help="Seconds to wait for your app (Terra waits about 8).",
            min=0.1,
        ),
    ] = DEFAULT_TIMEOUT,
    max_events: Annotated[
        int | None,
        typer.Option(help="Stop after N requests (exit 1 if any failed its check).", min=1),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(help="Stop this many seconds after ready.", min=0.001, show_default=False),
    ] = None,
    inspect_port: Annotated[
        int,
        typer.Option(
            "--inspect-port",
            envvar="TERRA_INSPECT_PORT",
            help="Port of the inspector page on 127.0.0.1 (the next free one when taken; "
            "0 picks any).",
            min=0,
            max=65535,
        ),
    ] = 4041,
    no_inspect: Annotated[
        bool, typer.Option("--no-inspect", help="Serve no inspector page.")
    ] = False,
    register: Annotated[
        bool,
        typer.Option(
            "--register",
            help="Make Terra deliver to the public URL: reuse or create a webhook destination "
            "in the environment (deleted again on stop) and check signatures with its secret.",
        ),
    ] = False,
    env: Annotated[
        str | None,
        typer.Option(
            "--env",
            metavar="DEV_ID",
            help="With --register: the Terra environment (default: the profile's dev-id).",
            show_default=False,
        ),
    ] = None,
    keep_destination: Annotated[
        bool,
        typer.Option(
            "--keep-destination",
            help="With --register: leave the destination in Terra on stop "
            "(the default for a reserved domain).",
        ),
    ] = False,
    delete_destination: Annotated[
        bool,
        typer.Option(
            "--delete-destination",
            help="With --register: delete the destination on stop, even one kept for a "
            "reserved domain (only ones terra created).",
        ),
    ] = False,
    cleanup: Annotated[
        bool,
        typer.Option(
            "--cleanup",
            help="Delete the destinations an earlier --register run left behind, then exit.",
        ),
    ] = False,
) -> None:
    """Receive Terra webhooks: a local URL (and a public one), each event shown live."""
    parent = ParentWatch()
    settings = load_settings(ctx, ngrok_domain=domain, ngrok_region=region)
    if cleanup:
        from terra_cli.commands import listen_register

        listen_register.cleanup(settings)
        return
    registration: Registration | None = None
    env_name: str | None = None
    session_ref: list[ListenSession] = []
    if register:
        from terra_cli.commands import listen_register

        registration, env_name = listen_register.prepare(
            settings, env, keep_destination, delete_destination, no_tunnel, session_ref
        )
    token = None if no_tunnel else _require_authtoken(settings)
    types = _parse_types(events)
    excluded = _parse_types(exclude, "--exclude")
    routes = parse_routes(forward_to or [])
    unrouted = sorted({t for r in routes for t in r.types if t not in KNOWN_TYPES})
    if unrouted:
        show.unknown_types(unrouted, sorted(KNOWN_TYPES), "--forward-to")
    secret = settings.get("signing-secret")
    store = None if no_save else EventStore.default()
    if store is not None:
        _expire_old_days(settings, store)
    config = ReceiverConfig(
        host=host,
        port=port,
        path=path if path.startswith("/") else "/" + path,
        secret=secret,
        tolerance=tolerance,
        strict=strict,
        max_body=max(1, int(max_body * MIB)),
    )
    forwarder = RouteForwarder(routes, forward_timeout) if routes else None
    sink = show.events_json if json_out else _line_sink(full)
    if forwarder is not None:
        sink = _with_forward_hints(sink, forward_timeout)
    feed = None if no_inspect else Feed(store.root if store else None)
    inspector: Inspector | None = None
    if feed is not None:
        from terra_cli.inspector.server import for_listen

        routed = ", ".join(forward_to) if forward_to else None  # as typed, shown in the page
        inspector = for_listen(feed, inspect_port, port, secret, routed, tolerance)
    session = ListenSession(
        config,
        store,
        sink,
        forwarder,
        keep_body=full,
        types=types,
        max_events=max_events,
        exclude=excluded,
        observer=feed.observe if feed else None,
    )
    session_ref.append(session)
    if inspector is not None:
        inspector.attach(session.receiver)  # a second socket on the receiver's loop
    try:
        session.start()
    except BaseException:
        if inspector is not None:
            inspector.stop()
        raise
    if inspector is not None:
        inspector.point_at(session.receiver.url)
    _install_signal_handlers(session)

    def should_stop() -> bool:
        if parent.gone():  # the shell that started us was killed: no one can stop us
            session.request_stop("parent-gone")
            return True
        return show.stdout_closed()

    tunnel: TunnelSession | None = None
    inspect_url = inspector.url if inspector else None
    try:
        if forwarder is not None:
            _check_no_loop(session, forwarder)
        public_url = None
        if token is not None:
            on_online = None
            if registration is not None:
                reg = registration

                def on_online(url: str) -> None:
                    reg.move_in_background(url.rstrip("/") + config.path)

            tunnel = _open_tunnel(settings, token, session, config, json_out, on_online)
            public_url = tunnel.public_url.rstrip("/") + config.path if tunnel else None
            if registration is not None and public_url is not None:
                from terra_cli.commands import listen_register

                name = env_name or registration.label
                secret = listen_register.attach(registration, public_url, name, settings)
                if inspector is not None:
                    inspector.use_secret(secret)
        url = session.receiver.url
        log_dir = str(store.root) if store else None
        if token is None or tunnel is not None:  # not when Ctrl-C came during the tunnel start
            show.banner(
                url,
                public_url,
                bool(secret),
                strict,
                log_dir,
                inspect_url=inspect_url,
                registered=env_name if registration is not None else None,
            )
            if forwarder is not None and len(routes) == 1 and not routes[0].types:
                render.info(
                    f"Forwarding each event to {forwarder.url} (timeout {forward_timeout:g} s)"
                )
            elif forwarder is not None:
                render.info(
                    f"Forwarding by type (first match wins, timeout {forward_timeout:g} s):"
                )
                for route in routes:
                    render.info(f"  {route.describe()}")
                if all(r.types for r in routes):
                    render.info("  other types: not forwarded (answered 200, logged)")
            if json_out:
                show.ready_json(
                    url, public_url, host, session.receiver.port, config.path, inspect_url
                )
        outcome = session.run(timeout=timeout, should_stop=should_stop)
    finally:
        session.close(grace=0.5)
        if inspector is not None:
            inspector.stop()
        if registration is not None:
            registration.close()
        if tunnel is not None:
            tunnel.close()
        if store is not None:
            store.close()
    show.summary(
        outcome.events,
        outcome.by_verdict,
        outcome.elapsed,
        outcome.dropped,
        str(store.root) if store else None,
        outcome.reason,
        outcome.unshown,
    )
    show.large_requests([(r.reference, r.arrived, r.expected) for r in outcome.large_requests])
    if outcome.reason == "failure" and session.receiver.failure is not None:
        raise session.receiver.failure
    if tunnel is not None and tunnel.error is not None:
        raise tunnel.error  # the tunnel died and could not be restarted: exit 8
    if outcome.reason in ("max-events", "timeout"):
        complete = max_events is None or outcome.events >= max_events
        if not complete or outcome.failed:
            raise typer.Exit(ExitCode.REMOTE)


def _expire_old_days(settings: Settings, store: EventStore) -> None:
    """Remove day files older than `event-log-days` (0 keeps all), and say so on stderr."""
    from datetime import datetime, timedelta, timezone

    from terra_cli.webhooks.retention import keep_days, old_day_files

    days = keep_days(settings.get("event-log-days"))
    if not days:
        return
    old = old_day_files(store.files(), timedelta(days=days), datetime.now(timezone.utc))
    removed = store.prune(old) if old else []
    if removed:
        render.info(
            f"Event log: removed {len(removed)} day file{'s' if len(removed) != 1 else ''} "
            f"older than {days} days ({removed[0].stem}"
            f"{' to ' + removed[-1].stem if len(removed) > 1 else ''}); "
            "'terra config set event-log-days N' changes this, 0 keeps everything."
        )


def _check_no_loop(session: ListenSession, forwarder: RouteForwarder) -> None:
    """Refuse --forward-to the listener itself: every event would come back forever."""
    looping = forwarder.points_at(session.receiver.config.host, session.receiver.port)
    if looping is not None:
        raise InputError(
            f"--forward-to {looping.url} points at this listener itself.",
            hint="Give your app's URL, e.g. --forward-to http://127.0.0.1:3000/webhooks/terra.",
        )


def _with_forward_hints(
    sink: Callable[[list[Event]], None], timeout: float
) -> Callable[[list[Event]], None]:
    """Pass events on to `sink`; on the first unreachable forward, say why on stderr."""
    warned = False

    def wrapped(events: list[Event]) -> None:
        nonlocal warned
        sink(events)
        if warned:
            return
        for event in events:
            fwd = event.forward
            if fwd is not None and fwd.status is None and fwd.error:
                warned = True
                kind = cast(ErrorKind, fwd.error)
                render.warn(
                    f"{describe(kind, fwd.url, timeout)} {failure_hint(fwd.url, kind, timeout)} "
                    "The sender was answered 502.",
                    fit=True,
                )
                return

    return wrapped


def _require_authtoken(settings: Settings) -> Authtoken:
    """The ngrok authtoken (the user's own ngrok config counts), or exit 2 naming both fixes."""
    from terra_cli.tunnel import missing_authtoken_error, resolve_authtoken

    token = resolve_authtoken(settings)
    if token.value:
        return token
    raise missing_authtoken_error()


def _open_tunnel(
    settings: Settings,
    token: Authtoken,
    session: ListenSession,
    config: ReceiverConfig,
    json_out: bool,
    on_online: Callable[[str], None] | None = None,
) -> TunnelSession | None:
    """Open the public tunnel to the receiver: the one call into terra_cli.tunnel.open_tunnel.

    A spinner runs while the agent starts; restarts are announced as they
    happen; when the tunnel gives up, the run stops and listen exits 8.
    None when Ctrl-C/SIGTERM arrived during the start.
    """
    from terra_cli.render.tunnel import TunnelView
    from terra_cli.tunnel import Failed, Online, StartCanceled, TunnelStatus, open_tunnel

    view = TunnelView(config.path, json_mode=json_out)

    def on_status(status: TunnelStatus) -> None:
        view(status)
        if isinstance(status, Failed):
            session.request_stop("tunnel-failed")
        if on_online is not None and isinstance(status, Online) and status.changed:
            on_online(status.public_url)  # --register: the destination follows the URL

    with view.starting():
        try:
            return open_tunnel(
                session.receiver.port,
                authtoken=token,
                ngrok_path=settings.get("ngrok-path"),
                domain=settings.get("ngrok-domain"),
                region=settings.get("ngrok-region"),
                on_status=on_status,
                host=config.host,
                cancelled=lambda: bool(session.outcome.reason),
            )
        except StartCanceled:
            return None


def _parse_types(raw: str | None, flag: str = "--events") -> frozenset[str] | None:
    if raw is None:
        return None
    names = [n.strip().lower() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in KNOWN_TYPES]
    if unknown:
        show.unknown_types(unknown, sorted(KNOWN_TYPES), flag)
    return frozenset(names)


def _line_sink(full: bool) -> Callable[[list[Event]], None]:
    printer = show.EventPrinter(full=full)
    warned = False

    def sink(events: list[Event]) -> None:
        nonlocal warned
        printer(events)
        failed = next((e for e in events if Verdict(e.verdict).failed), None)
        if not warned and failed is not None:
            warned = True
            show.first_failure(failed)

    return sink


def _install_signal_handlers(session: ListenSession) -> None:
    """Ctrl-C, SIGTERM and SIGHUP end the run cleanly (exit 0) instead of raising.

    SIGHUP (the terminal closed) is left ignored when it was ignored at start,
    so `nohup terra listen` keeps running.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        session.request_stop_from_signal("stopped")

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    if hasattr(signal, "SIGHUP") and not hangup_ignored():  # the terminal went away
        signal.signal(signal.SIGHUP, handler)
