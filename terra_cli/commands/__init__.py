"""Thin command modules: parse options, call the engine, hand results to render.

Each module exposes `register(app)`. Helpers shared by every command live here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from typer.core import TyperGroup

from terra_cli import render

if TYPE_CHECKING:
    from terra_cli.settings import Settings


class AppState:
    """Global options parsed by the root callback."""

    def __init__(self, profile: str | None = None) -> None:
        self.profile = profile


class SuggestingGroup(TyperGroup):
    """A command group that answers a mistyped command with the closest names."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            from terra_cli.errors import UsageError

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            path = ctx.command_path
            hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
            raise UsageError(
                f"No such command '{name}' in '{path}'.",
                hint=hint + f"Run '{path} --help' to see the commands.",
            )
        return super().resolve_command(ctx, args)


def load_settings(ctx: typer.Context, create: bool = False, **flags: str | None) -> Settings:
    """Resolve settings for this invocation and show any warning the file raised once.

    A profile picked with --profile or TERRA_PROFILE must exist (a typo would
    otherwise run with nothing configured), unless `create` (`config set`).
    """
    from terra_cli.settings import Settings

    state = ctx.find_object(AppState) or AppState()
    settings = Settings.load(state.profile).with_flags(**flags)
    for warning in settings.file.warnings:
        render.warn(warning)
    settings.file.warnings.clear()
    if not create:
        _require_profile(settings, "--profile" if state.profile else "TERRA_PROFILE")
    return settings


def _require_profile(settings: Settings, where: str) -> None:
    """Exit 3 when the chosen profile is not in the config file."""
    from terra_cli.errors import InputError

    known = settings.file.profiles()
    if settings.profile in known:
        return
    raise InputError(
        f"Profile '{settings.profile}' (from {where}) does not exist in {settings.file.path}.",
        hint=f"Profiles: {', '.join(sorted(known))} ('terra config profiles' lists them); "
        f"create it with 'terra -p {settings.profile} config set KEY'.",
    )
