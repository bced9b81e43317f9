"""Thin command modules: parse options, call the engine, hand results to render.

Each module exposes `register(app)`. Helpers shared by every command live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from terra_cli import render

if TYPE_CHECKING:
    from terra_cli.settings import Settings


class AppState:
    """Global options parsed by the root callback."""

    def __init__(self, profile: str | None = None) -> None:
        self.profile = profile


def load_settings(ctx: typer.Context, **flags: str | None) -> Settings:
    """Resolve settings for this invocation and show any warning the file raised once."""
    from terra_cli.settings import Settings

    state = ctx.find_object(AppState) or AppState()
    settings = Settings.load(state.profile).with_flags(**flags)
    for warning in settings.file.warnings:
        render.warn(warning)
    settings.file.warnings.clear()
    return settings
