"""`terra integrations`: the providers enabled for this developer."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from terra_cli import render
from terra_cli.commands import load_settings


def register(app: typer.Typer) -> None:
    app.command("integrations")(integrations)


def _summary(provider: dict[str, Any]) -> dict[str, Any]:
    types = provider.get("types")
    enabled_types = [k for k, v in types.items() if v] if isinstance(types, dict) else []
    return {
        "provider": provider.get("provider"),
        "name": provider.get("name"),
        "enabled": provider.get("enabled"),
        "types": enabled_types,
    }


def integrations(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON array on stdout.")] = False,
) -> None:
    """List the providers enabled for your dev-id, with the data types each offers."""
    from terra_cli.commands.remote import client
    from terra_cli.render import api as render_api

    settings = load_settings(ctx)
    # The endpoint is public; dev-id narrows it to this developer's providers.
    with client(settings, need=("dev-id",)) as terra, render.progress("Asking Terra"):
        providers = [_summary(p) for p in terra.integrations()]
    if json_out:
        render.result_json(providers)
        return
    render_api.integrations_table(providers)
    enabled = sum(1 for p in providers if p["enabled"])
    render.info(f"{len(providers)} providers, {enabled} enabled.")
