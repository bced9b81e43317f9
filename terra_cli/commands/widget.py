"""`terra widget`: create a Terra authentication-widget session and print its URL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated

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
    app.command("widget")(widget)


def widget(
    ctx: typer.Context,
    ref: RefOption = None,
    providers: Annotated[
        str | None,
        typer.Option(
            "--providers",
            help="Comma-separated providers to offer, e.g. FITBIT,OURA "
            "(default: the dashboard's selection).",
            show_default=False,
        ),
    ] = None,
    language: LanguageOption = None,
    success_url: SuccessUrlOption = None,
    failure_url: FailureUrlOption = None,
    avengers_app: Annotated[
        bool,
        typer.Option(
            "--avengers-app",
            help="Send SDK-only providers (Apple Health) to Terra's iOS companion app.",
        ),
    ] = False,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the session in the default browser.")
    ] = False,
    qr: Annotated[
        bool, typer.Option("--qr", help="Draw a QR code of the URL on stderr, for a phone.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Create a widget session: its URL alone on stdout, details on stderr."""
    from terra_cli import inputs
    from terra_cli.api import LEGACY_WIDGET_SESSION_PATH, WidgetRequest
    from terra_cli.commands.remote import client
    from terra_cli.render import api as render_api
    from terra_cli.settings import validate_url

    request = WidgetRequest(
        reference_id=inputs.reference(ref) if ref is not None else None,
        providers=inputs.providers(providers) if providers is not None else None,
        language=inputs.language(language) if language is not None else None,
        auth_success_redirect_url=validate_url(success_url, "--success-url")
        if success_url is not None
        else None,
        auth_failure_redirect_url=validate_url(failure_url, "--failure-url")
        if failure_url is not None
        else None,
        use_terra_avengers_app=avengers_app,
    )
    settings = load_settings(ctx)
    with client(settings) as terra, render.progress("Creating a widget session"):
        session = terra.widget_session(request)
    created = datetime.now(timezone.utc).replace(microsecond=0)
    expires_at = (
        created + timedelta(seconds=session.expires_in) if session.expires_in is not None else None
    )
    if session.new_endpoint_status is not None:
        render_api.legacy_widget_used(session.new_endpoint_status, LEGACY_WIDGET_SESSION_PATH)
    if json_out:
        render.result_json(
            {
                "url": session.url,
                "session_id": session.session_id,
                "expires_in": session.expires_in,
                "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") if expires_at else None,
                "reference_id": request.reference_id,
            }
        )
    else:
        render_api.widget_created(
            reference_id=request.reference_id,
            providers=request.providers,
            expires_local=expires_at.astimezone().strftime("%H:%M:%S") if expires_at else None,
            expires_in=session.expires_in,
        )
        render.result(session.url)
    if qr:
        render_api.qr(session.url)
    if open_browser:
        import webbrowser

        if not webbrowser.open(session.url):
            render.warn("Could not open a browser here; open the URL above yourself.")
