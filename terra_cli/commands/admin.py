"""Build an AdminClient from settings, for every command that talks to Terra's Admin API.

The token is `admin-token` (`TERRA_ADMIN_TOKEN` overrides the profile's);
timeouts and retries follow the same variables as the data API client
(`TERRA_TIMEOUT`, `TERRA_RETRIES`, ...; see terra_cli.commands.remote).
"""

from __future__ import annotations

from terra_cli.admin_api import LOGIN_HINT, AdminClient
from terra_cli.commands.remote import tuning
from terra_cli.errors import AuthError
from terra_cli.render import api as render_api
from terra_cli.settings import Settings


def token_source(settings: Settings) -> str | None:
    """Where the admin token comes from: `TERRA_ADMIN_TOKEN`, the profile, or None."""
    found = settings.lookup("admin-token")
    if not found.value:
        return None
    return "TERRA_ADMIN_TOKEN" if found.source == "env" else f"profile '{settings.profile}'"


def admin_client(settings: Settings, *, need_token: bool = True) -> AdminClient:
    """An AdminClient for these settings; exit 3 on a malformed admin-url, 2 without a token."""
    base = settings.url("admin-url")
    token = settings.get("admin-token")
    if need_token and not token:
        raise AuthError(
            f"You are not logged in to Terra's Admin API (profile '{settings.profile}').",
            hint=LOGIN_HINT,
        )
    knobs = tuning()
    return AdminClient(
        base,
        token,
        connect_timeout=knobs["connect_timeout"],
        read_timeout=knobs["read_timeout"],
        retries=int(knobs["retries"]),
        backoff=knobs["backoff"],
        max_wait=knobs["max_wait"],
        on_retry=render_api.retry_notice,
    )
