"""The error model: every failure the user can fix is a TerraError with a hint.

Engine code raises these; `terra_cli.app` turns them into the contract's
`Error: ...` / `Hint: ...` lines and exit code, in exactly one place.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The exit codes promised in CONTRACT.md."""

    OK = 0
    REMOTE = 1
    AUTH = 2
    INPUT = 3
    USAGE = 4
    INTERNAL = 6
    CANCELED = 7
    NETWORK = 8
    LOCAL = 9
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class TerraError(Exception):
    """A failure with a one-line message, an optional hint and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class RemoteError(TerraError):
    """Terra's API (or a trigger/replay target) answered with an error."""

    exit_code = ExitCode.REMOTE


class AuthError(TerraError):
    """A credential is missing, or Terra or ngrok rejected it."""

    exit_code = ExitCode.AUTH


class InputError(TerraError):
    """Input failed validation before anything was sent."""

    exit_code = ExitCode.INPUT


class UsageError(TerraError):
    """Wrong command, flag or arguments."""

    exit_code = ExitCode.USAGE


class CanceledError(TerraError):
    """The user declined a confirmation."""

    exit_code = ExitCode.CANCELED


class NetworkError(TerraError):
    """Terra, ngrok or the target could not be reached."""

    exit_code = ExitCode.NETWORK


class LocalResourceError(TerraError):
    """A local resource failed: port in use, unwritable config or event log."""

    exit_code = ExitCode.LOCAL


class Interrupted(TerraError):
    """The user pressed Ctrl-C (outside `listen`, where Ctrl-C is the normal stop)."""

    exit_code = ExitCode.INTERRUPTED
