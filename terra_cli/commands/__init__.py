"""Thin command modules: parse options, call the engine, hand results to render.

Each module exposes `register(app)`. Helpers shared by every command live here.
"""

from __future__ import annotations

from dataclasses import dataclass

import typer

from terra_cli import render
from terra_cli.settings import Settings


@dataclass
class AppState:
    """Global options parsed by the root callback."""

    profile: str | None = None


def load_settings(ctx: typer.Context, **flags: str | None) -> Settings:
    """Resolve settings for this invocation and show any warning the file raised once."""
    state = ctx.find_object(AppState) or AppState()
    settings = Settings.load(state.profile).with_flags(**flags)
    for warning in settings.file.warnings:
        render.warn(warning)
    settings.file.warnings.clear()
    return settings
