"""`terra auth PROVIDER`: start a provider's authentication and print its auth URL."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.commands.options import (
    FailureUrlOption,
    LanguageOption,
    RefOption,
    SuccessUrlOption,
)


def register(app: typer.Typer) -> None:
    app.command("auth")(auth)


def auth(
    ctx: typer.Context,
    provider: Annotated[str, typer.Argument(help="Provider slug, e.g. FITBIT or GARMIN.")],
    ref: RefOption = None,
    language: LanguageOption = None,
    success_url: SuccessUrlOption = None,
    failure_url: FailureUrlOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Print PROVIDER's auth URL alone on stdout (Terra's authenticateUser)."""
    from terra_cli import inputs
    from terra_cli.commands.remote import client
    from terra_cli.settings import validate_url

    slug = inputs.provider(provider)
    body: dict[str, Any] = {}
    if ref is not None:
        body["reference_id"] = inputs.reference(ref)
    if language is not None:
        body["language"] = inputs.language(language)
    if success_url is not None:
        body["auth_success_redirect_url"] = validate_url(success_url, "--success-url")
    if failure_url is not None:
        body["auth_failure_redirect_url"] = validate_url(failure_url, "--failure-url")
    settings = load_settings(ctx)
    with client(settings) as terra, render.progress(f"Asking Terra for a {slug} auth URL"):
        answer = terra.authenticate_user(slug, body)
    user_id = answer.get("user_id")
    if json_out:
        render.result_json(
            {
                "auth_url": answer["auth_url"],
                "user_id": user_id,
                "provider": slug,
                "reference_id": body.get("reference_id"),
            }
        )
        return
    render.info(f"Provider:  {slug}")
    render.info(f"Reference: {body.get('reference_id') or '(none)'}")
    if user_id:
        render.info(f"User id:   {user_id} (active once the user finishes signing in)")
    render.result(answer["auth_url"])
