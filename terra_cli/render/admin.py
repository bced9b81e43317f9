"""How `terra login`, `--register` and `events pull` look: codes, status, notices.

Results (the status) go to stdout; the device code, progress and notices to stderr.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from terra_cli.render import info, result, style, terminal_width, warn, wrap

_LABEL = 14  # the width of "Environments: "


def _field(label: str, value: str, stream: IO[str]) -> list[str]:
    """`Label:       value`, wrapped to a terminal with a hanging indent (never when piped)."""
    head = f"{label}:".ljust(_LABEL)
    width = terminal_width(stream)
    text = wrap(value, width - 1 if width else None, indent=_LABEL, first=_LABEL)
    return (head + text).splitlines()


def notice(message: str) -> None:
    """A progress line on stderr, wrapped to the terminal (continuations indented)."""
    info(wrap(message, terminal_width(sys.stderr), indent=2))


def caution(message: str) -> None:
    """A warning on stderr, wrapped to the terminal."""
    warn(message, fit=True)


def device_code(user_code: str, uri: str, complete: str | None, minutes: int) -> None:
    """The code and where to enter it (stderr), so the user can approve the login."""
    info(f"To log in, open this page and enter the code {style(user_code, 'bold')}:")
    info(f"  {uri}")
    if complete and complete != uri:
        info("or open this link, which fills the code in:")
        info(f"  {complete}")
    info(f"Waiting for approval (the code expires in {minutes} min; Ctrl-C cancels)...")


def logged_in(profile: str, scopes: list[str], env_override: bool) -> None:
    info(f"Logged in. The token is saved as admin-token in profile '{profile}'.")
    if scopes:
        for line in _field("Scopes", ", ".join(scopes), sys.stderr):
            info(line)
    if env_override:
        warn("TERRA_ADMIN_TOKEN is set and overrides the saved token; unset it to use this one.")


def status(doc: dict[str, Any]) -> None:
    """`terra login --status` as text on stdout."""
    out = sys.stdout
    who = doc.get("user") or "(shown with the account:read scope)"
    lines = [f"Logged in as {who}"]
    token = doc.get("name") or doc.get("token_id") or "admin token"
    lines += _field("Token", f"{token} (from {doc.get('token_source')})", out)
    if doc.get("expires_at"):
        lines += _field("Expires", str(doc["expires_at"]), out)
    lines += _field("Scopes", ", ".join(doc.get("scopes") or []) or "(none)", out)
    envs = doc.get("environments") or []
    named = [f"{e['name']} ({e['dev_id']})" if e.get("name") else e["dev_id"] for e in envs]
    if doc.get("all_environments"):
        reach = "all of the account's" + (f": {', '.join(named)}" if named else "")
    else:
        reach = ", ".join(named) or "(none)"
    lines += _field("Environments", reach, out)
    for line in lines:
        result(line)


def leftover(record: dict[str, Any]) -> None:
    """A destination a crashed `listen --register` left behind (stderr)."""
    caution(
        f"Leftover destination {record.get('destination_id') or '(being created)'} "
        f"({record.get('url')}) in environment {record.get('environment')}: a 'terra listen "
        "--register' run stopped without deleting it. Run 'terra listen --cleanup' to delete it."
    )


def delivers_here(url: str, environment: str) -> None:
    notice(f"Terra delivers here: {url} (environment {environment})")
