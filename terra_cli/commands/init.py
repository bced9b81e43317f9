"""`terra init`: a guided setup on a terminal, or from the environment without one."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from terra_cli import render
from terra_cli.commands import AppState


def register(app: typer.Typer) -> None:
    app.command("init")(init)


class TerminalPrompter:
    """The onboarding Prompter on the terminal: guidance and prompts on stderr."""

    def say(self, text: str) -> None:
        """One line of guidance, wrapped to the terminal with its indent kept."""
        import shutil
        import textwrap

        width = min(shutil.get_terminal_size((100, 24)).columns, 100) - 1
        indent = " " * (len(text) - len(text.lstrip(" ")))
        lines = textwrap.wrap(
            text,
            width,
            subsequent_indent=indent + "  " if indent else "  ",
            break_on_hyphens=False,
            break_long_words=False,
        )
        for line in lines or [""]:
            render.info(line)

    def ask(self, label: str, current: str | None, hidden: bool) -> str | None:
        prompt = f"  {label}" + (f" [{current}]" if current else "")
        if hidden:
            try:
                return render.prompt_hidden(prompt)
            except EOFError:
                return None
        sys.stderr.write(f"{prompt}: ")
        sys.stderr.flush()
        line = sys.stdin.readline()
        return line.rstrip("\r\n") if line else None

    def confirm(self, question: str) -> bool:
        return render.confirm(question)


def _verify(dev_id: str, api_key: str, profile: str | None) -> None:
    """One authenticated call to Terra with this pair (what `terra doctor` uses)."""
    from terra_cli.commands.remote import client
    from terra_cli.settings import Settings

    settings = Settings.load(profile).with_flags(dev_id=dev_id, api_key=api_key)
    with render.progress("Checking them with Terra"), client(settings) as terra:
        terra.check_credentials()


def init(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            help="The profile to set up (default: --profile before the command, "
            "TERRA_PROFILE, then the active profile).",
            show_default=False,
        ),
    ] = None,
    no_verify: Annotated[
        bool,
        typer.Option("--no-verify", help="Save without checking the dev-id and API key."),
    ] = False,
) -> None:
    """Set up a profile: dev-id, API key (checked with Terra), signing secret, ngrok."""
    from terra_cli.onboarding import Setup, next_commands
    from terra_cli.settings import ConfigFile, Settings

    state = ctx.find_object(AppState) or AppState()
    file = ConfigFile.load()
    for warning in file.warnings:
        render.warn(warning)
    name = Settings(file, profile or state.profile).profile

    def verify(dev_id: str, api_key: str) -> None:
        _verify(dev_id, api_key, name)

    setup = Setup(file, name, None if no_verify else verify)
    if render.stdin_is_terminal():
        outcome = setup.guided(TerminalPrompter())
    else:
        outcome = setup.from_environment(os.environ)
        if outcome.verified:
            render.info("Terra accepted the dev-id and API key.")
    render.info("")
    changed = ", ".join(outcome.saved) or "nothing new"
    kept = f"; kept {', '.join(outcome.kept)}" if outcome.kept else ""
    render.success(f"Saved profile '{outcome.profile}': {changed}{kept}.")
    render.info(f"  File: {outcome.path}")
    if outcome.verified is None:
        render.warn("The dev-id and API key were not checked; 'terra doctor' checks them.")
    if not outcome.active:
        render.info(
            f"'{outcome.profile}' is not the active profile: "
            f"'terra config use {outcome.profile}' makes it so."
        )
    render.info("Next:")
    commands = next_commands(outcome)
    width = max(len(c) for c, _ in commands)
    for command, what in commands:
        render.info(f"  {command:<{width}}  # {what}")
