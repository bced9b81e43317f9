"""`terra login` (the device flow, `--status`) and `terra logout`, for Terra's Admin API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.errors import AuthError
from terra_cli.settings import KEYS

if TYPE_CHECKING:
    from terra_cli.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("login")(login)
    app.command("logout")(logout)


def login(
    ctx: typer.Context,
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            metavar="SCOPE",
            help="Also ask for this scope (repeatable), on top of the defaults "
            "(account:read destinations:read destinations:write events:read payloads:read).",
            show_default=False,
        ),
    ] = None,
    env: Annotated[
        list[str] | None,
        typer.Option(
            "--env",
            metavar="DEV_ID",
            help="Limit the token to this environment (repeatable); default: the whole account.",
            show_default=False,
        ),
    ] = None,
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Do not open the browser; show the URL only.")
    ] = False,
    status: Annotated[
        bool,
        typer.Option("--status", help="Show who is logged in, with which scopes and environments."),
    ] = False,
    json_out: Annotated[
        bool, typer.Option("--json", help="With --status: JSON on stdout.")
    ] = False,
) -> None:
    """Log in to Terra's Admin API in the browser (device flow); the token is saved."""
    from terra_cli import login as engine
    from terra_cli.commands.admin import admin_client
    from terra_cli.render import admin as show

    settings = load_settings(ctx)
    if status:
        _status(settings, json_out)
        return
    if not render.stdin_is_terminal():
        raise AuthError(
            "terra login waits for you to approve a code in the browser, and there is no "
            "terminal here to wait in.",
            hint="Set TERRA_ADMIN_TOKEN to a token minted on Terra's dashboard, or run "
            "'terra login' in a terminal.",
        )
    dev_ids = [d.strip() for d in env or [] if d.strip()]
    scopes = engine.requested_scopes(scope or [], dev_ids)
    scale = engine.poll_scale()
    with admin_client(settings, need_token=False) as client:
        start = client.start_device(scopes, dev_ids)
        show.device_code(
            start.user_code,
            start.verification_uri,
            start.verification_uri_complete,
            max(1, round(start.expires_in / 60)),
        )
        if not no_browser:
            _open_browser(start.verification_uri_complete or start.verification_uri)
        grant = engine.wait_for_token(client, start, scale=scale)
    previous = settings.file.get(settings.profile, KEYS["admin-token"])
    engine.save_token(settings, grant.access_token)
    if previous and previous != grant.access_token:
        _revoke_previous(settings, previous)
    show.logged_in(
        settings.profile, list(grant.scopes), settings.lookup("admin-token").source == "env"
    )
    refused = [s for s in scopes if grant.scopes and s not in grant.scopes]
    if refused:
        show.caution(
            f"Terra granted fewer scopes than asked: not {', '.join(refused)}. What needs them "
            "will stop with a hint; 'terra login' again to approve them."
        )


def _revoke_previous(settings: Settings, token: str) -> None:
    """Revoke the token this login replaced: Terra limits how many may be active."""
    from terra_cli.admin_api import AdminClient
    from terra_cli.errors import TerraError

    try:
        with AdminClient(settings.url("admin-url"), token, retries=0) as old:
            old.revoke_self()
    except TerraError:
        return  # already revoked or expired, or Terra unreachable: nothing to add
    render.info("Revoked the token this login replaced.")


def _open_browser(url: str) -> None:
    """Open the verification page where a browser can show it; never a text browser."""
    import os
    import sys

    if sys.platform.startswith("linux") and not (
        os.environ.get("BROWSER") or os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return
    import webbrowser

    try:
        opened = webbrowser.open(url)
    except Exception:  # a broken browser setup must not end the login
        opened = False
    if not opened:
        render.warn("Could not open a browser here; open the URL above yourself.")


def _status(settings: Settings, json_out: bool) -> None:
    from terra_cli import login as engine
    from terra_cli.commands.admin import admin_client, token_source
    from terra_cli.render import admin as show
    from terra_cli.webhooks.registration import kept, leftovers

    source = token_source(settings)
    if source is None:
        raise AuthError(
            f"You are not logged in to Terra's Admin API (profile '{settings.profile}').",
            hint="Run 'terra login' (or set TERRA_ADMIN_TOKEN).",
        )
    with admin_client(settings) as client:
        found = engine.status(client, source)
        found.leftovers = [r.describe() for r in leftovers(client.base_url)]
        found.kept = [r.describe() for r in kept(client.base_url)]
    doc = found.as_json()
    if json_out:
        render.result_json(doc)
    else:
        show.status(doc)
    for record in found.leftovers:
        show.leftover(record)
    for record in found.kept:
        show.notice(
            f"Kept destination {record['destination_id']} ({record['url']}) in environment "
            f"{record['environment']}: a --register run left it on purpose (--keep-destination "
            "or a reserved domain)."
        )


def logout(ctx: typer.Context) -> None:
    """Revoke the admin token at Terra (DELETE /tokens/self) and remove it from the profile."""
    from terra_cli import login as engine
    from terra_cli.commands.admin import admin_client, token_source

    settings = load_settings(ctx)
    source = token_source(settings)
    if source is None:
        render.info(f"Not logged in (profile '{settings.profile}'); nothing to do.")
        return
    with admin_client(settings) as client:
        try:
            client.revoke_self()
            revoked = "Revoked the admin token at Terra"
        except AuthError:
            revoked = "Terra no longer accepted the admin token (already revoked or expired)"
    removed = engine.forget_token(settings)
    where = f" and removed it from profile '{settings.profile}'" if removed else ""
    render.info(f"{revoked}{where}.")
    if settings.lookup("admin-token").source == "env":
        render.warn("TERRA_ADMIN_TOKEN is still set in this shell; unset it too.")
