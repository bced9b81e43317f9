"""`terra login`'s engine: the RFC 8628 device flow, the saved token, and what it can reach.

The flow: `POST /auth/device` gives a user code and a verification URL; the
user approves it on Terra's dashboard while terra polls `POST /auth/token`
every `interval` seconds (5 when Terra names none), adding 5 s on
`slow_down`, stopping on `expired_token`, `access_denied` or once
`expires_in` has passed. The token is kept as the secret `admin-token` in the
profile (0600, like every secret); `TERRA_ADMIN_TOKEN` overrides it.

`TERRA_LOGIN_POLL_SCALE` multiplies every wait (default 1): CI and tests set
it near 0 so the flow's timing rules are exercised without real waits.
Nothing here prints; progress goes through callbacks.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from terra_cli.admin_api import AdminClient, DeviceStart, TokenGrant
from terra_cli.errors import AuthError, InputError, TerraError
from terra_cli.settings import KEYS, Settings, mask

#: What `terra login` asks for: enough for `listen --register` and `events pull`.
DEFAULT_SCOPES = (
    "account:read",
    "destinations:read",
    "destinations:write",
    "events:read",
    "payloads:read",
)
#: Account-level scopes cannot be combined with an environment audience (`--env`).
ACCOUNT_SCOPES = frozenset({"account:read"})
SLOW_DOWN_STEP = 5.0
POLL_SCALE_ENV = "TERRA_LOGIN_POLL_SCALE"


def requested_scopes(extra: list[str], dev_ids: list[str]) -> list[str]:
    """The default scopes plus `--scope` ones, in order, without duplicates."""
    wanted = [s for s in DEFAULT_SCOPES if not (dev_ids and s in ACCOUNT_SCOPES)]
    for scope in extra:
        for name in scope.replace(",", " ").split():
            if ":" not in name:
                raise InputError(
                    f"'{name}' is not a Terra scope (they look like destinations:write).",
                    hint="Give scopes such as --scope events:write; Terra's Admin API "
                    "documentation lists them.",
                )
            if name not in wanted:
                wanted.append(name)
    return wanted


def poll_scale(env: Mapping[str, str] | None = None) -> float:
    """The multiplier for every wait of the flow (`TERRA_LOGIN_POLL_SCALE`)."""
    env = os.environ if env is None else env
    raw = env.get(POLL_SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 10:
        raise InputError(
            f"{POLL_SCALE_ENV}={raw!r} is not a number from 0 to 10.",
            hint=f"Fix or unset {POLL_SCALE_ENV}.",
        )
    return value


def wait_for_token(
    client: AdminClient,
    start: DeviceStart,
    *,
    scale: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TokenGrant:
    """Poll until the code is approved, denied or expired; the waits follow RFC 8628."""
    interval = max(0.0, start.interval)
    deadline = clock() + start.expires_in
    minutes = max(1, round(start.expires_in / 60))
    while True:
        wait = interval * scale
        if clock() + wait > deadline:
            raise _expired(minutes)
        sleep(wait)
        result = client.poll_token(start.device_code)
        if isinstance(result, TokenGrant):
            return result
        if result == "slow_down":
            interval += SLOW_DOWN_STEP
        elif result == "expired_token":
            raise _expired(minutes)
        elif result == "access_denied":
            raise AuthError(
                "The login was denied on Terra's dashboard; no token was issued.",
                hint="Run 'terra login' again and approve the code.",
            )


def _expired(minutes: int) -> AuthError:
    return AuthError(
        "The login code expired before it was approved; no token was issued.",
        hint=f"Run 'terra login' again and approve the code within {minutes} min.",
    )


def save_token(settings: Settings, token: str) -> None:
    """Keep the token as the profile's `admin-token` (the file is 0600, written atomically)."""
    settings.file.set(settings.profile, KEYS["admin-token"], token)
    settings.file.save()


def forget_token(settings: Settings) -> bool:
    """Remove the saved token from the profile; True when there was one."""
    removed = settings.file.unset(settings.profile, KEYS["admin-token"])
    if removed:
        settings.file.save()
    return removed


@dataclass
class Status:
    """What `terra login --status` reports: the token's holder, scopes and reach."""

    token_source: str
    token_id: str | None
    name: str | None
    user: str | None
    scopes: list[str]
    all_environments: bool
    environments: list[dict[str, Any]]
    expires_at: str | None
    leftovers: list[dict[str, Any]] = field(default_factory=list)
    kept: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "logged_in": True,
            "token_source": self.token_source,
            "token_id": self.token_id,
            "name": self.name,
            "user": self.user,
            "scopes": self.scopes,
            "all_environments": self.all_environments,
            "environments": self.environments,
            "expires_at": self.expires_at,
            "leftover_destinations": self.leftovers,
            "kept_destinations": self.kept,
        }


def status(client: AdminClient, token_source: str) -> Status:
    """`GET /me`, plus the environments' names where the token may read them."""
    me = client.me()
    scopes = [str(s) for s in me.get("scopes") or [] if isinstance(s, str)]
    dev_ids = me.get("dev_ids")
    user = me.get("user")
    who = None
    if isinstance(user, dict):
        who = user.get("email") or user.get("name") or user.get("user_id")
    environments: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    if "account:read" in scopes:
        try:
            for env in client.environments():
                if isinstance(env.get("dev_id"), str):
                    names[env["dev_id"]] = str(env.get("name") or env["dev_id"])
        except TerraError:
            names = {}
    # dev-ids are secrets here as everywhere in terra: shown masked, like `config show`.
    if isinstance(dev_ids, list):
        environments = [
            {"dev_id": mask(d), "name": names.get(d)} for d in dev_ids if isinstance(d, str)
        ]
    else:
        environments = [{"dev_id": mask(d), "name": n} for d, n in names.items()]
    return Status(
        token_source=token_source,
        token_id=_str(me.get("token_id")),
        name=_str(me.get("name")),
        user=_str(who),
        scopes=scopes,
        all_environments=not isinstance(dev_ids, list),
        environments=environments,
        expires_at=_str(me.get("expires_at")),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
