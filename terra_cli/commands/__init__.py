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


# Help metavars by parameter name, so every flag reads the same way in every
# command (`--timeout SECONDS`, `--to URL`, `--limit N`); anything not named
# here shows its own name in capitals.
METAVARS = {
    "port": "PORT",
    "host": "HOST",
    "path": "PATH",
    "domain": "DOMAIN",
    "region": "CODE",
    "events": "TYPES",
    "tolerance": "SECONDS",
    "timeout": "SECONDS",
    "forward_timeout": "SECONDS",
    "max_body": "MIB",
    "max_events": "N",
    "limit": "N",
    "seed": "N",
    "forward_to": "URL",
    "to": "URL",
    "success_url": "URL",
    "failure_url": "URL",
    "user_id": "USER_ID",
    "ref": "REF",
    "reference_id": "REF",
    "provider": "PROVIDER",
    "providers": "PROVIDERS",
    "language": "CODE",
    "start": "DATE",
    "end": "DATE",
    "event_type": "TYPE",
    "data_type": "TYPE",
    "event_id": "ID",
    "profile": "NAME",
}


def tidy_help(command: Any) -> None:
    """Give every parameter of `command` (and its subcommands) a plain metavar.

    Typer's help would otherwise show `<str>`, `<int range> [0<=x<=65535]` or
    `{key}` next to flags that elsewhere read `URL` or `SECONDS`. Ranges are
    still enforced; they are just not drawn as formulas.
    """
    for param in getattr(command, "params", []):
        is_flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
        if is_flag:
            continue
        if param.metavar is None:
            name = param.name or ""
            param.metavar = METAVARS.get(name, name.upper())
        kind = param.type
        if hasattr(kind, "_describe_range"):
            kind._describe_range = _quiet_in_help(kind._describe_range)
        if param.param_type_name == "argument":
            if kind.name in ("text", "str", "string"):
                plain = type(kind)()
                plain.get_metavar = lambda *args, **kwargs: ""
                param.type = plain
            param.make_metavar = _argument_metavar(param)
    if hasattr(command, "format_help"):
        command.format_help = _help_mode(command.format_help)
    for sub in getattr(command, "commands", {}).values():
        tidy_help(sub)


_IN_HELP: list[bool] = [False]


def _help_mode(format_help: Any) -> Any:
    """Run a command's help formatter with range formulas switched off."""

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _IN_HELP[0] = True
        try:
            return format_help(*args, **kwargs)
        finally:
            _IN_HELP[0] = False

    return wrapped


def _quiet_in_help(describe: Any) -> Any:
    """A range description that is empty in help (the error message keeps it)."""
    return lambda: "" if _IN_HELP[0] else describe()


def _argument_metavar(param: Any) -> Any:
    """`KEY` when required, `[VALUE]` when optional, in usage lines and help alike."""

    def make_metavar(ctx: Any = None, *, usage: bool = False) -> str:
        name = str(param.metavar)
        return name if param.required or not usage else f"[{name}]"

    return make_metavar


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
