"""The Typer root: global options, command registration, and the one error handler.

Every failure ends here: a TerraError becomes `Error:` + `Hint:` and its exit
code, a usage error exits 4, anything unexpected exits 6 with one line (the
traceback only with TERRA_DEBUG=1, and never with local variables).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import Annotated, Any, NoReturn

import typer

from terra_cli import __version__, render
from terra_cli.commands import AppState, SuggestingGroup, tidy_help
from terra_cli.errors import ExitCode, Interrupted, TerraError

# Top-level command name -> the module whose `register(app)` defines it.
# Modules load only when their command runs (or for --help), so start-up
# pays for Typer and nothing else.
COMMANDS: dict[str, str] = {
    "init": "terra_cli.commands.init",
    "config": "terra_cli.commands.config",
    "login": "terra_cli.commands.login",
    "logout": "terra_cli.commands.login",
    "widget": "terra_cli.commands.widget",
    "listen": "terra_cli.commands.listen",
    "trigger": "terra_cli.commands.trigger",
    "check": "terra_cli.commands.check",
    "events": "terra_cli.commands.events",
    "integrations": "terra_cli.commands.integrations",
    "users": "terra_cli.commands.users",
    "data": "terra_cli.commands.data",
    "auth": "terra_cli.commands.auth",
    "doctor": "terra_cli.commands.doctor",
    "inspect": "terra_cli.commands.inspect",
    "mock": "terra_cli.commands.mock",
}


class LazyGroup(SuggestingGroup):
    """The root group: lists every command, imports a command's module on first use."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS) + [n for n in self.commands if n not in COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            holder = typer.Typer()
            importlib.import_module(COMMANDS[cmd_name]).register(holder)
            for name, command in typer.main.get_group(holder).commands.items():
                tidy_help(command)
                self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def invoke(self, ctx: Any) -> Any:
        # Typer turns Ctrl-C into a silent exit 130; say it, in the contract's two lines.
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted(
                "Interrupted (Ctrl-C); the step under way was not finished.",
                hint="Run the command again when ready.",
            ) from None


app = typer.Typer(
    cls=LazyGroup,
    name="terra",
    help="Develop against Terra's Health & Fitness API: widget sessions, a local webhook "
    "listener with signature checks, sample events and CI smoke checks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        render.result(f"terra-cli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            metavar="NAME",
            help="Config profile to use (default: TERRA_PROFILE, then the active profile).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", is_eager=True, callback=_version
        ),
    ] = False,
) -> None:
    """Terra from the terminal."""
    ctx.obj = AppState(profile=profile)


def _usage_hint(exc: typer.TyperException) -> str:
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path if ctx is not None else "terra"
    return f"Run '{path} --help' to see the commands and flags."


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code; never raises."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=args, prog_name="terra", standalone_mode=False)
        return rv if isinstance(rv, int) else ExitCode.OK
    except TerraError as exc:
        if isinstance(exc, Interrupted):
            render.new_line()  # the cursor is after the ^C (or a prompt), not at a line start
        render.error(exc.message, exc.hint)
        return exc.exit_code
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # Building this exception already rendered the help (rich prints it
            # directly); plain help comes back as the message instead.
            text = exc.format_message()
            if text.strip():
                render.result(text)
            return ExitCode.OK
        if exc.exit_code == 2:
            render.error(exc.format_message(), _usage_hint(exc))
            return ExitCode.USAGE
        render.error(exc.format_message(), _usage_hint(exc))
        return ExitCode.INPUT
    except typer.Abort:
        render.error("Canceled.", "Run the command again when ready.")
        return ExitCode.CANCELED
    except BrokenPipeError:
        # The reader went away (`terra ... | head -1`): that is a normal end.
        _silence_stdout()
        return ExitCode.OK
    except KeyboardInterrupt:
        render.new_line()
        render.error("Interrupted (Ctrl-C).", "Run the command again when ready.")
        return ExitCode.INTERRUPTED
    except Exception as exc:
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    render.error(
        f"terra hit an internal error ({type(exc).__name__}). This is a bug; please report it "
        "at https://github.com/terra-cli/terra-cli/issues.",
        "Run again with TERRA_DEBUG=1 to include the traceback in the report.",
    )
    if os.environ.get("TERRA_DEBUG") == "1":
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    return ExitCode.INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """Console-script entry point."""
    code = run(argv)
    try:
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        _silence_stdout()
    sys.exit(int(code))
