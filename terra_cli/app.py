"""The Typer root: global options, command registration, and the one error handler.

Every failure ends here: a TerraError becomes `Error:` + `Hint:` and its exit
code, a usage error exits 4, anything unexpected exits 6 with one line (the
traceback only with TERRA_DEBUG=1, and never with local variables).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated, NoReturn

import typer

from terra_cli import __version__, render
from terra_cli.commands import AppState, config, trigger
from terra_cli.errors import ExitCode, TerraError

app = typer.Typer(
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


for _module in (config, trigger):
    _module.register(app)


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
        render.error(exc.message, exc.hint)
        return exc.exit_code
    except typer.TyperException as exc:
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError" and ctx is not None:
            render.result(ctx.get_help())
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
        render.info("Interrupted.")
        return 130
    except Exception as exc:
        return _internal_error(exc)


def _internal_error(exc: BaseException) -> int:
    render.error(
        f"terra hit an internal error ({type(exc).__name__}). This is a bug; please report it "
        "at https://github.com/terra-cli/terra-cli/issues.",
        "Run again with TERRA_DEBUG=1 to include the traceback in the report.",
    )
    if os.environ.get("TERRA_DEBUG") == "1":
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
