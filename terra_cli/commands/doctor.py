"""`terra doctor`: check credentials, secrets, ngrok, the port and the forward target."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from terra_cli import render
from terra_cli.commands import AppState

if TYPE_CHECKING:
    from terra_cli.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)


def _verify(settings: Settings) -> None:
    from terra_cli.commands.remote import client

    with client(settings) as terra:
        terra.check_credentials()


def doctor(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="The port terra listen will use.")
    ] = 8080,
    host: Annotated[
        str, typer.Option("--host", help="The address terra listen will bind.")
    ] = "127.0.0.1",
    forward_to: Annotated[
        list[str] | None,
        typer.Option(
            "--forward-to",
            metavar="[TYPES=]URL",
            help="Your app's webhook URL, checked for a listener; repeat it to check "
            "every route of 'terra listen --forward-to'.",
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Check the setup; exit 0 when nothing failed, else the first failure's exit code."""
    from terra_cli import doctor as checks
    from terra_cli.render import api as render_api

    state = ctx.find_object(AppState) or AppState()
    settings, config_check = checks.load_config(state.profile)
    present = checks.credentials_present(settings)
    from terra_cli.tunnel import describe_authtoken_source, locate_agent, resolve_authtoken

    token = resolve_authtoken(settings)
    agent = locate_agent(settings.get("ngrok-path"))
    found = [
        config_check,
        present,
        checks.credentials_accepted(present, lambda: _verify(settings)),
        checks.signing_secret(settings),
        checks.ngrok_authtoken(token.value, describe_authtoken_source(token.source)),
        checks.ngrok_agent(agent.path, agent.configured, agent.exists, agent.executable),
        checks.port_free(port, host),
    ]
    for spec in forward_to or []:
        found.append(checks.forward_route(spec))
    from terra_cli.commands.admin import admin_client

    found.extend(checks.admin(settings, lambda: admin_client(settings)))
    if json_out:
        render.result_json({"checks": [c.as_json() for c in found]})
    else:
        render_api.doctor_report([c.as_json() for c in found])
    failed = sum(1 for c in found if c.status == "fail")
    warned = sum(1 for c in found if c.status == "warn")
    summary = f"{failed} failed, {warned} warning{'s' if warned != 1 else ''}"
    if failed:
        render.error(
            f"terra doctor: {summary}.",
            "Apply the fix shown under each failed check, then run 'terra doctor' again.",
        )
    else:
        render.info(f"terra doctor: all good ({summary})")
    raise typer.Exit(checks.exit_code(found))
