"""`terra users`: list, show and deauthenticate the users connected to your dev-id."""

from __future__ import annotations

from typing import Annotated

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.errors import CanceledError, InputError, RemoteError, UsageError

users_app = typer.Typer(
    help="List, show and deauthenticate the users connected to your dev-id.",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


def _user_id(text: str) -> str:
    value = text.strip()
    if not value or not value.isprintable() or any(c.isspace() for c in value):
        raise InputError(
            f"{text!r} is not a Terra user id.",
            hint="Copy the user_id from 'terra users list'.",
        )
    return value


@users_app.command("list")
def list_(ctx: typer.Context, json_out: JsonOpt = False) -> None:
    """Every user, following Terra's pages (a table, or a JSON array with --json)."""
    from terra_cli.commands.remote import client
    from terra_cli.render import api as render_api

    settings = load_settings(ctx)
    with client(settings) as terra, render.progress("Listing users"):
        users = terra.users()
    if json_out:
        render.result_json(users)
        return
    render_api.users_table(users)
    render.info(f"{len(users)} user{'s' if len(users) != 1 else ''}.")


@users_app.command("show")
def show(
    ctx: typer.Context,
    user_id: Annotated[
        str | None, typer.Argument(help="Terra user id.", show_default=False)
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option("--ref", help="Find users by your reference_id instead.", show_default=False),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """One user by USER_ID, or every user with --ref REF."""
    from terra_cli import inputs
    from terra_cli.commands.remote import client
    from terra_cli.render import api as render_api

    if (user_id is None) == (ref is None):
        raise UsageError(
            "Give either USER_ID or --ref REF (exactly one).",
            hint="Run 'terra users show USER_ID' or 'terra users show --ref REF'.",
        )
    settings = load_settings(ctx)
    if user_id is not None:
        uid = _user_id(user_id)
        with client(settings) as terra, render.progress("Looking up the user"):
            answer = terra.user(uid)
        if json_out:
            render.result_json(
                {"user": answer["user"], "is_authenticated": answer.get("is_authenticated")}
            )
        else:
            render_api.user_detail(answer["user"], answer.get("is_authenticated"))
        return
    assert ref is not None
    reference = inputs.reference(ref)
    with client(settings) as terra, render.progress("Looking up the reference"):
        users = terra.users_by_reference(reference)
    if not users:
        raise RemoteError(
            f"Terra has no user with reference_id '{reference}'.",
            hint="List every user with 'terra users list'.",
        )
    if json_out:
        render.result_json(users)
    else:
        render_api.users_table(users)


@users_app.command("deauth")
def deauth(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="Terra user id.", show_default=False)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Deauthenticate USER_ID (Terra then sends a deauth event). Asks first unless --yes."""
    from terra_cli.commands.remote import client

    uid = _user_id(user_id)
    settings = load_settings(ctx)
    terra = client(settings)
    with terra:
        if not yes:
            if not render.stdin_is_terminal():
                raise InputError(
                    f"Not deauthenticating {uid}: confirmation is needed and stdin is not "
                    "a terminal.",
                    hint=f"Add --yes to confirm: terra users deauth {uid} --yes",
                )
            if not render.confirm(f"Deauthenticate user {uid}? Terra will revoke its access"):
                raise CanceledError(
                    f"Kept user {uid}; nothing was sent.",
                    hint=f"Run 'terra users deauth {uid} --yes' to skip the question.",
                )
        with render.progress("Deauthenticating"):
            terra.deauthenticate(uid)
    render.success(f"Deauthenticated {uid}; Terra will send a deauth event to your destination.")
