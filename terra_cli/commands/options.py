"""Option types shared by several commands, so a flag reads the same everywhere."""

from __future__ import annotations

from typing import Annotated

import typer

RefOption = Annotated[
    str | None,
    typer.Option(
        "--ref", help="Your id for the end user (Terra's reference_id).", show_default=False
    ),
]
LanguageOption = Annotated[
    str | None, typer.Option("--language", help="Language code, e.g. en.", show_default=False)
]
SuccessUrlOption = Annotated[
    str | None,
    typer.Option(
        "--success-url", help="Where the user lands after connecting.", show_default=False
    ),
]
FailureUrlOption = Annotated[
    str | None,
    typer.Option("--failure-url", help="Where the user lands when it fails.", show_default=False),
]
SecretOption = Annotated[
    str | None,
    typer.Option(
        "--secret",
        metavar="S",
        help="Signing secret (prefer 'terra config set signing-secret' or "
        "TERRA_SIGNING_SECRET: a flag stays in shell history).",
        show_default=False,
    ),
]
SHELL_HISTORY_WARNING = (
    "--secret on a command line stays in your shell history; prefer "
    "'terra config set signing-secret' or TERRA_SIGNING_SECRET."
)
