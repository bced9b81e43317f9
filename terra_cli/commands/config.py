"""`terra config`: store credentials and settings per profile."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from terra_cli import render
from terra_cli.commands import SuggestingGroup, load_settings
from terra_cli.errors import InputError
from terra_cli.settings import KEYS, get_key, mask, validate_profile, validate_value

config_app = typer.Typer(
    cls=SuggestingGroup,
    help="Store credentials and settings (kept 0600 in the user config folder).",
    no_args_is_help=True,
)

KeyArg = Annotated[str, typer.Argument(help=f"One of: {', '.join(KEYS)}.", show_default=False)]


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")


def _read_value(key_name: str, secret: bool) -> str:
    """The value from a hidden prompt on a terminal, else one line of stdin."""
    if render.stdin_is_terminal():
        if secret:
            return render.prompt_hidden(f"{key_name} (input hidden)")
        return render.prompt_line(key_name)
    line = sys.stdin.readline()
    if not line:
        raise InputError(
            f"No value for {key_name}: nothing came on stdin (and it is not a terminal to "
            "ask on).",
            hint=f'Pipe the value in: echo "$VALUE" | terra config set {key_name}',
        )
    if not line.strip():
        raise InputError(
            f"The value for {key_name} is empty: the line read from stdin has nothing on it.",
            hint=f'Check the variable you pipe in: echo "$VALUE" | terra config set {key_name} '
            f"('terra config unset {key_name}' removes a value).",
        )
    return line.rstrip("\r\n")


@config_app.command("set")
def set_(
    ctx: typer.Context,
    key: KeyArg,
    value: Annotated[
        str | None,
        typer.Argument(
            help="The value. Omit it to be prompted (hidden) or to read one line from stdin.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Set KEY in the active profile."""
    spec = get_key(key)
    settings = load_settings(ctx, create=True)
    from_argv = value is not None
    if value is None:
        value = _read_value(spec.name, spec.secret)
    clean = validate_value(spec, value)  # a bad value is refused before any other words
    if from_argv and spec.secret:
        render.warn(
            f"{spec.name} given on the command line may stay in your shell history; "
            f"next time run 'terra config set {spec.name}' and paste it at the prompt.",
            fit=True,
        )
    settings.file.set(settings.profile, spec, clean)
    settings.file.save()
    shown = "(hidden)" if spec.secret else clean
    render.success(f"Saved {spec.name} = {shown} in profile '{settings.profile}'.")
    env_value = settings.lookup(spec.name)
    if env_value.source == "env":
        render.warn(f"{spec.env} is set in the environment and takes precedence over the file.")


@config_app.command("get")
def get(ctx: typer.Context, key: KeyArg) -> None:
    """Print the effective value of KEY (raw, for $(...))."""
    spec = get_key(key)
    settings = load_settings(ctx)
    value = settings.get(spec.name)
    if value is None:
        raise InputError(
            f"{spec.name} is not set in profile '{settings.profile}'.",
            hint=f"Run 'terra config set {spec.name}'"
            + (f" or set {spec.env}." if spec.env else "."),
        )
    render.result(value)


@config_app.command("unset")
def unset(ctx: typer.Context, key: KeyArg) -> None:
    """Remove KEY from the active profile."""
    spec = get_key(key)
    settings = load_settings(ctx)
    if settings.file.unset(settings.profile, spec):
        settings.file.save()
        render.success(f"Removed {spec.name} from profile '{settings.profile}'.")
    else:
        render.info(f"{spec.name} was not set in profile '{settings.profile}'.")


@config_app.command("show")
def show(
    ctx: typer.Context,
    reveal: Annotated[bool, typer.Option("--reveal", help="Show secret values in full.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Every key with its value (secrets masked) and where it came from."""
    settings = load_settings(ctx)
    values: dict[str, dict[str, str | None]] = {}
    for name, spec in KEYS.items():
        found = settings.lookup(name)
        shown = found.value
        if shown is not None and spec.secret and not reveal:
            shown = mask(shown)
        values[name] = {"value": shown, "source": found.source}
    if json_out:
        render.result_json(
            {"profile": settings.profile, "file": str(settings.file.path), "values": values}
        )
        return
    render.info(f"Profile: {settings.profile}   File: {settings.file.path}")
    rows = [
        {
            "key": name,
            "value": v["value"] if v["value"] is not None else "-",
            "source": v["source"] or "unset",
        }
        for name, v in values.items()
    ]
    render.table(rows, ["key", "value", "source"])


@config_app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the config file's path."""
    settings = load_settings(ctx)
    render.result(str(settings.file.path))


@config_app.command("profiles")
def profiles(ctx: typer.Context) -> None:
    """List profiles, the active one marked with *."""
    settings = load_settings(ctx)
    names = set(settings.file.profiles())
    names.add(settings.profile)
    for name in sorted(names):
        render.result(f"{'*' if name == settings.profile else ' '} {name}")


@config_app.command("use")
def use(
    ctx: typer.Context,
    profile: Annotated[str, typer.Argument(metavar="PROFILE", help="Profile name.")],
) -> None:
    """Make PROFILE the active profile (created when new)."""
    name = validate_profile(profile)
    settings = load_settings(ctx)
    settings.file.use(name)
    settings.file.save()
    render.success(f"Active profile is now '{name}'.")
