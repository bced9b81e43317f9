"""How `terra login`, `--register` and `events pull` look: codes, status, notices.

Results (the status) go to stdout; the device code, progress and notices to stderr.
"""

from __future__ import annotations

from typing import Any

from terra_cli.render import info, result, style, warn


def device_code(user_code: str, uri: str, complete: str | None, minutes: int) -> None:
    """The code and where to enter it (stderr), so the user can approve the login."""
    info(f"To log in to Terra's Admin API, open {uri} and enter the code:")
    info("")
    info(f"    {style(user_code, 'bold')}")
    info("")
    if complete and complete != uri:
        info(f"Or open {complete} (the code is filled in).")
    info(f"Waiting for approval (the code expires in {minutes} min; Ctrl-C cancels)...")


def logged_in(profile: str, scopes: list[str], env_override: bool) -> None:
    info(f"Logged in. The token is saved as admin-token in profile '{profile}'.")
    if scopes:
        info(f"Scopes: {', '.join(scopes)}")
    if env_override:
        warn("TERRA_ADMIN_TOKEN is set and overrides the saved token; unset it to use this one.")


def status(doc: dict[str, Any]) -> None:
    """`terra login --status` as text on stdout."""
    who = doc.get("user") or "(the user needs account:read to be shown)"
    lines = [f"Logged in as {who}"]
    token = doc.get("name") or doc.get("token_id") or "admin token"
    lines.append(f"Token:        {token} (from {doc.get('token_source')})")
    if doc.get("expires_at"):
        lines.append(f"Expires:      {doc['expires_at']}")
    lines.append(f"Scopes:       {', '.join(doc.get('scopes') or []) or '(none)'}")
    envs = doc.get("environments") or []
    named = [f"{e['name']} ({e['dev_id']})" if e.get("name") else e["dev_id"] for e in envs]
    if doc.get("all_environments"):
        reach = "every environment of the account"
        lines.append(f"Environments: {reach}" + (f": {', '.join(named)}" if named else ""))
    else:
        lines.append(f"Environments: {', '.join(named) or '(none)'}")
    for line in lines:
        result(line)


def leftover(record: dict[str, Any]) -> None:
    """A destination a crashed `listen --register` left behind (stderr)."""
    warn(
        f"Leftover destination {record.get('destination_id') or '(being created)'} "
        f"({record.get('url')}) in environment {record.get('environment')}: a 'terra listen "
        "--register' run stopped without deleting it. Run 'terra listen --cleanup' to delete it."
    )


def delivers_here(url: str, environment: str) -> None:
    info(f"Terra delivers here: {url} (environment {environment})")
