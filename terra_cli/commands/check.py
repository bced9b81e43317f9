"""`terra check URL`: play Terra's delivery behaviour against your own webhook handler."""

from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Annotated

import typer

from terra_cli import render
from terra_cli.commands import load_settings
from terra_cli.commands.options import SHELL_HISTORY_WARNING, SecretOption
from terra_cli.errors import AuthError, RemoteError

_CASES_HELP = (
    "Run only these cases, comma-separated: signed, header-names, bad-signature, "
    "missing-signature, stale, raw-bytes, retry, chunks, informational, unknown-type, "
    "empty-data, athlete-shape, activity-type-zero, missing-user, big, deadline."
)


def register(app: typer.Typer) -> None:
    """Add `terra check` to the root app."""
    app.command("check")(check)


def check(
    ctx: typer.Context,
    url: Annotated[
        str,
        typer.Argument(
            metavar="URL",
            help="Your handler's webhook URL, e.g. http://127.0.0.1:3000/webhooks/terra.",
            show_default=False,
        ),
    ],
    secret: SecretOption = None,
    only: Annotated[
        str | None,
        typer.Option("--only", metavar="CASES", help=_CASES_HELP, show_default=False),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON on stdout.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="The answer deadline to hold the handler to (Terra's is 8 s).",
            min=0.1,
        ),
    ] = 8.0,
) -> None:
    """Check your webhook handler against the way Terra delivers, case by case."""
    from terra_cli.render import check as show
    from terra_cli.webhooks import conformance
    from terra_cli.webhooks.forward import check_url

    target = check_url(url, "URL")
    cases = conformance.select(only)
    big = conformance.big_bytes_from_env(os.environ.get(conformance.BIG_ENV))
    if secret is not None:
        render.warn(SHELL_HISTORY_WARNING)
    settings = load_settings(ctx, signing_secret=secret)
    key = settings.get("signing-secret")
    if not key:
        raise AuthError(
            f"No signing-secret is configured (profile '{settings.profile}'), so the check "
            "cannot sign events the way Terra does.",
            hint="Pass --secret S (the secret your handler verifies with), run "
            "'terra config set signing-secret', or set TERRA_SIGNING_SECRET.",
        )

    run = conformance.new_run(datetime.now(timezone.utc), big)
    show.started(target, run, len(cases), timeout)
    began = time.perf_counter()
    with show.progress(len(cases)) as progress:
        results = conformance.run_cases(
            target, cases, key, timeout, run, on_start=progress.start, on_done=progress.done
        )
    seconds = time.perf_counter() - began
    if json_out:
        render.result_json(conformance.report(target, run, results, seconds))
    else:
        show.report(results, seconds)
    failed = [r.case.name for r in results if r.status == "fail"]
    if failed:
        raise RemoteError(
            f"{len(failed)} of {len(results)} cases failed: {', '.join(failed)}.",
            hint="Apply the fix given for each failed case, then re-run them: "
            f"terra check {target} --only {','.join(failed)}",
        )
