"""`terra doctor`'s checks: each one ok, warn or fail, with a one-line fix.

Made for CI: the command exits with the contract code of the first failed
check, in the order they run here. Checks never print and never raise for
what they find; they return a Check.
"""

from __future__ import annotations

import socket
import stat
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from terra_cli.errors import ExitCode, TerraError
from terra_cli.settings import CONFIG_FILENAME, KEYS, ConfigFile, Settings, config_dir

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One finding: name, status, what was seen, how to fix it, and its exit code."""

    name: str
    status: Status
    detail: str
    hint: str | None = None
    code: int = ExitCode.OK

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("code")
        return out


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _warn(name: str, detail: str, hint: str) -> Check:
    return Check(name, "warn", detail, hint)


def _fail(name: str, detail: str, hint: str | None, code: int) -> Check:
    return Check(name, "fail", detail, hint, code)


def load_config(profile: str | None) -> tuple[Settings, Check]:
    """Settings for the remaining checks, and the verdict on the config file itself."""
    path = config_dir() / CONFIG_FILENAME
    try:
        before = path.lstat().st_mode
    except OSError:
        before = None
    try:
        cfg = ConfigFile.load(path)
    except TerraError as exc:
        settings = Settings(ConfigFile(path), profile)
        return settings, _fail("config", exc.message, exc.hint, exc.exit_code)
    settings = Settings(cfg, profile)
    if before is None:
        return settings, _ok("config", f"no file at {path}; using the environment and defaults")
    if stat.S_IMODE(before) & 0o077:
        try:
            now = stat.S_IMODE(path.lstat().st_mode)
        except OSError:
            now = stat.S_IMODE(before)
        if now & 0o077:
            return settings, _fail(
                "config",
                f"{path} is readable by other users (mode {now:o})",
                f"Run: chmod 600 {path}",
                ExitCode.LOCAL,
            )
        return settings, _warn(
            "config",
            f"{path} was readable by other users (mode {stat.S_IMODE(before):o}); "
            "terra tightened it to 600",
            "Nothing more to do; keep the file private (it holds your keys).",
        )
    return settings, _ok("config", f"{path} (mode {stat.S_IMODE(before):o})")


def _source(settings: Settings, name: str) -> str:
    src = settings.lookup(name).source
    return {"env": KEYS[name].env or "env", "file": "config file"}.get(src or "", str(src))


def credentials_present(settings: Settings) -> Check:
    missing = [n for n in ("dev-id", "api-key") if not settings.get(n)]
    if missing:
        commands = " and ".join(f"'terra config set {n}'" for n in missing)
        variables = " and ".join(str(KEYS[n].env) for n in missing)
        return _fail(
            "credentials",
            f"{' and '.join(missing)} not set (profile '{settings.profile}')",
            f"Run {commands}, or set {variables}.",
            ExitCode.AUTH,
        )
    return _ok(
        "credentials",
        f"dev-id from {_source(settings, 'dev-id')}, api-key from {_source(settings, 'api-key')}",
    )


def credentials_accepted(present: Check, verify: Callable[[], None]) -> Check:
    """One cheap authenticated call (`verify`), unless the credentials are missing."""
    name = "terra-auth"
    if present.status != "ok":
        return _warn(name, "skipped: dev-id or api-key is missing", "Fix 'credentials' first.")
    try:
        verify()
    except TerraError as exc:
        return _fail(name, exc.message, exc.hint, exc.exit_code)
    return _ok(name, "Terra accepted dev-id and api-key (GET /subscriptions)")


def signing_secret(settings: Settings) -> Check:
    if settings.get("signing-secret"):
        return _ok("signing-secret", f"set, from {_source(settings, 'signing-secret')}")
    return _warn(
        "signing-secret",
        "not set: terra listen cannot check signatures (verdict 'unchecked')",
        "Run 'terra config set signing-secret' (dashboard: Destinations -> Edit), "
        "or set TERRA_SIGNING_SECRET.",
    )


def ngrok_authtoken(token: str | None, source: str) -> Check:
    if token:
        return _ok("ngrok-authtoken", f"set, from {source}")
    return _warn(
        "ngrok-authtoken",
        "not set: terra listen needs it for a public tunnel",
        "Run 'terra config set ngrok-authtoken' (or set NGROK_AUTHTOKEN, or "
        "'ngrok config add-authtoken'); or use 'terra listen --no-tunnel'.",
    )


def ngrok_agent(path: Path, configured: bool, exists: bool, executable: bool) -> Check:
    """Whether the ngrok agent that `listen` would run is there."""
    name = "ngrok-agent"
    if exists and executable:
        return _ok(name, f"{path}")
    if configured:
        what = "is not executable" if exists else "does not exist"
        return _fail(
            name,
            f"ngrok-path {path} {what}",
            "Fix it with 'terra config set ngrok-path PATH' (or TERRA_NGROK_PATH), "
            "or unset it to use pyngrok's download.",
            ExitCode.INPUT,
        )
    return _warn(
        name,
        f"no agent at {path}; pyngrok downloads it on the first 'terra listen'",
        "Allow that download once, or install ngrok and run 'terra config set ngrok-path PATH'.",
    )


def port_free(port: int, host: str = "127.0.0.1") -> Check:
    """Can `terra listen` bind this port? The listener's own bind, released at once."""
    from terra_cli.webhooks.receiver import _bind

    try:
        sock = _bind(host, port)
    except TerraError as exc:
        running = _terra_listen_at(host, port)
        if running is not None:
            return _ok(
                "port",
                f"{host}:{port} is held by your own 'terra listen' (running, not broken: "
                f"{running} so far); a second one needs another --port",
            )
        return _fail("port", exc.message, exc.hint, exc.exit_code)
    sock.close()
    return _ok("port", f"{host}:{port} is free for terra listen")


def _terra_listen_at(host: str, port: int, timeout: float = 1.0) -> str | None:
    """When `terra listen` answers GET /healthz on the port: its event count, else None."""
    import http.client
    import json

    from terra_cli.webhooks.receiver import display_host

    conn = http.client.HTTPConnection(display_host(host).strip("[]"), port, timeout=timeout)
    try:
        conn.request("GET", "/healthz")
        reply = conn.getresponse()
        doc = json.loads(reply.read(65536)) if reply.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if not (
        isinstance(doc, dict)
        and doc.get("status") == "ok"
        and isinstance(doc.get("url"), str)
        and "signing_secret" in doc
        and isinstance(doc.get("events"), int)
    ):
        return None
    events = doc["events"]
    return f"{events} event{'s' if events != 1 else ''}"


def forward_target(url: str, timeout: float = 3.0) -> Check:
    """Does something accept TCP connections where `--forward-to` points?"""
    name = "forward-target"
    from terra_cli.settings import validate_url

    try:
        clean = validate_url(url, "--forward-to")
    except TerraError as exc:
        return _fail(name, exc.message, exc.hint, exc.exit_code)
    parts = urlsplit(clean)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return _fail(
            name, f"{url} has an invalid port", "Give a port from 1 to 65535.", ExitCode.INPUT
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        return _fail(
            name,
            f"cannot connect to {host}:{port} ({reason})",
            "Start your app first, or fix --forward-to.",
            ExitCode.NETWORK,
        )
    return _ok(name, f"{host}:{port} accepts connections")


def forward_route(spec: str, timeout: float = 3.0) -> Check:
    """One `--forward-to [TYPES=]URL` route: its syntax, then its target (forward_target)."""
    from terra_cli.webhooks.routes import parse_route

    try:
        route = parse_route(spec)
    except TerraError as exc:
        return _fail("forward-target", exc.message, exc.hint, exc.exit_code)
    check = forward_target(route.url, timeout)
    if not route.types:
        return check
    return Check(
        check.name, check.status, f"{route.label}: {check.detail}", check.hint, check.code
    )


#: What the Admin API features need: --register (destinations), events pull (events, payloads).
ADMIN_SCOPES = ("destinations:read", "destinations:write", "events:read", "payloads:read")


def admin(settings: Settings, connect: Callable[[], Any]) -> list[Check]:
    """The Admin API checks: token present, its scopes, the environment known to Terra.

    Without a token the user has not opted in (it is only needed for `listen
    --register` and `events pull`): one warning, no request. `connect()` gives an
    AdminClient; its errors become failures with their exit codes.
    """
    if not settings.get("admin-token"):
        return [
            _warn(
                "admin-token",
                "not logged in to Terra's Admin API: 'terra listen --register' and "
                "'terra events pull' need it",
                "Run 'terra login' (or set TERRA_ADMIN_TOKEN); nothing else needs it.",
            )
        ]
    out = [_ok("admin-token", f"set, from {_source(settings, 'admin-token')}")]
    try:
        with connect() as client:
            me = client.me()
            scopes = [s for s in me.get("scopes") or [] if isinstance(s, str)]
            missing = [s for s in ADMIN_SCOPES if s not in scopes]
            if missing:
                out.append(
                    _warn(
                        "admin-scopes",
                        f"the token lacks {', '.join(missing)}",
                        "Run 'terra login "
                        + " ".join(f"--scope {s}" for s in missing)
                        + "' to add them.",
                    )
                )
            else:
                out.append(_ok("admin-scopes", ", ".join(scopes)))
            out.append(_admin_environment(settings, client, scopes, me.get("dev_ids")))
    except TerraError as exc:
        # Rejected or unreachable: the token itself could not be checked.
        token_problem = exc.exit_code in (ExitCode.AUTH, ExitCode.NETWORK)
        name = "admin-token" if token_problem else "admin-scopes"
        if name == "admin-token":
            out = []
        out.append(_fail(name, exc.message, exc.hint, exc.exit_code))
    return out


def _admin_environment(settings: Settings, client: Any, scopes: list[str], audience: Any) -> Check:
    name = "admin-environment"
    dev_id = settings.get("dev-id")
    if not dev_id:
        return _warn(
            name,
            "no dev-id set: --register and events pull then need --env DEV_ID",
            "Run 'terra config set dev-id' (or set TERRA_DEV_ID).",
        )
    if isinstance(audience, list) and dev_id not in audience:
        return _fail(
            name,
            "the token does not reach the configured dev-id",
            "Run 'terra login --env DEV_ID' for that environment, or fix "
            "'terra config set dev-id'.",
            ExitCode.INPUT,
        )
    try:
        if "account:read" in scopes:
            found = client.environment(dev_id).get("name")
            label = f"'{found}'" if isinstance(found, str) and found else "the dev-id"
        elif "destinations:read" in scopes:
            client.destinations(dev_id)
            label = "the dev-id"
        else:
            return _warn(
                name,
                "cannot check the dev-id: the token lacks account:read and destinations:read",
                "Run 'terra login' to get the default scopes.",
            )
    except TerraError as exc:
        return _fail(name, exc.message, exc.hint, exc.exit_code)
    return _ok(name, f"Terra knows {label} (from {_source(settings, 'dev-id')})")


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed, else the code of the first failed check."""
    for check in checks:
        if check.status == "fail":
            return check.code
    return ExitCode.OK
