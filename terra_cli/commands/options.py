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
