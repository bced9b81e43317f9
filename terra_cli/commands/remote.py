"""Build a TerraClient from settings, for every command that talks to Terra.

Credentials are checked here, before any request, so a missing one exits 2
with a hint. Timeouts and retries can be tuned from the environment (useful in
CI and in tests): `TERRA_TIMEOUT` (seconds to wait for an answer, default 30),
`TERRA_CONNECT_TIMEOUT` (default 10), `TERRA_RETRIES` (default 3),
`TERRA_RETRY_BACKOFF` (first backoff in seconds, doubled each try, default 0.5)
and `TERRA_MAX_RETRY_WAIT` (the longest single wait, default 60; a longer
`Retry-After` fails at once instead of hanging).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from terra_cli.api import ClientOptions, RetryNotice, TerraClient
from terra_cli.errors import AuthError, InputError
from terra_cli.render import api as render_api
from terra_cli.settings import KEYS, Settings

_TUNING: dict[str, tuple[str, float, float, float]] = {
    # field: (variable, default, minimum, maximum)
    "read_timeout": ("TERRA_TIMEOUT", 30.0, 0.01, 3600.0),
    "connect_timeout": ("TERRA_CONNECT_TIMEOUT", 10.0, 0.01, 600.0),
    "retries": ("TERRA_RETRIES", 3, 0, 10),
    "backoff": ("TERRA_RETRY_BACKOFF", 0.5, 0.0, 60.0),
    "max_wait": ("TERRA_MAX_RETRY_WAIT", 60.0, 0.0, 3600.0),
}


def tuning(env: Mapping[str, str] | None = None) -> dict[str, float]:
    """Timeout and retry knobs from the environment; a malformed one exits 3."""
    env = os.environ if env is None else env
    out: dict[str, float] = {}
    for field_name, (var, default, low, high) in _TUNING.items():
        raw = env.get(var)
        if raw is None or not raw.strip():
            out[field_name] = default
            continue
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not low <= value <= high or (field_name == "retries" and value != int(value)):
            kind = "a whole number" if field_name == "retries" else "a number of seconds"
            raise InputError(
                f"{var}={raw!r} is not valid: expected {kind} from {low:g} to {high:g}.",
                hint=f"Fix or unset {var}.",
            )
        out[field_name] = value
    return out


def require_credentials(settings: Settings, *names: str) -> dict[str, str]:
    """The named credentials, or exit 2 naming every missing one and how to set it."""
    names = names or ("dev-id", "api-key")
    found = {name: settings.get(name) for name in names}
    missing = [name for name, value in found.items() if not value]
    if missing:
        listed = " and ".join(missing)
        commands = " and ".join(f"'terra config set {name}'" for name in missing)
        variables = " and ".join(str(KEYS[name].env) for name in missing)
        raise AuthError(
            f"No {listed} configured (profile '{settings.profile}'); Terra needs "
            f"{'them' if len(missing) > 1 else 'it'} for this command.",
            hint=f"Run {commands}, or set {variables} in the environment.",
        )
    return {name: value for name, value in found.items() if value}


def _on_retry(notice: RetryNotice) -> None:
    render_api.retry_notice(notice)


def client(settings: Settings, *, need: tuple[str, ...] = ("dev-id", "api-key")) -> TerraClient:
    """A TerraClient for these settings, after checking URLs (exit 3) and credentials (exit 2)."""
    api_url = settings.url("api-url")
    access_url = settings.url("access-url")
    creds = require_credentials(settings, *need) if need else {}
    knobs = tuning()
    options = ClientOptions(
        api_url=api_url,
        access_url=access_url,
        dev_id=creds.get("dev-id") or settings.get("dev-id"),
        api_key=creds.get("api-key") or settings.get("api-key"),
        connect_timeout=knobs["connect_timeout"],
        read_timeout=knobs["read_timeout"],
        retries=int(knobs["retries"]),
        backoff=knobs["backoff"],
        max_wait=knobs["max_wait"],
    )
    return TerraClient(options, on_retry=_on_retry)
