"""The ngrok tunnel: the only module that imports pyngrok.

pyngrok is imported inside functions, never at module level, so commands
that do not open a tunnel do not pay for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from terra_cli.errors import (
    AuthError,
    InputError,
    LocalResourceError,
    NetworkError,
    RemoteError,
    TerraError,
)
from terra_cli.settings import atomic_write, data_dir, ensure_private_dir, mask

if TYPE_CHECKING:
    from terra_cli.settings import Settings

AuthtokenSource = Literal["flag", "env", "file", "ngrok-config"]


@dataclass(frozen=True)
class AgentLocation:
    """Where the ngrok agent is expected, and whether an executable is there."""

    path: Path
    configured: bool
    exists: bool
    executable: bool


def default_agent_path() -> Path:
    """pyngrok's default agent location for this user (where it would download to)."""
    from pyngrok import installer

    # Computed now, not from pyngrok's import-time constant, so HOME/XDG changes are seen.
    return Path(installer.get_default_ngrok_dir()) / installer.get_ngrok_bin()


def locate_agent(configured: str | None) -> AgentLocation:
    """The agent terra would run: the `ngrok-path` setting, else pyngrok's default location."""
    path = Path(configured).expanduser() if configured else default_agent_path()
    exists = path.is_file()
    return AgentLocation(
        path=path,
        configured=bool(configured),
        exists=exists,
        executable=exists and os.access(path, os.X_OK),
    )


class Authtoken(NamedTuple):
    """An ngrok authtoken and where it came from (both None when there is none)."""

    value: str | None
    source: AuthtokenSource | None


def user_ngrok_config_paths() -> list[Path]:
    """The user's own ngrok config files, read-only: the v3 location, then the v2 one."""
    from pyngrok import installer

    # Computed now, not from pyngrok's import-time constant, so HOME/XDG changes are seen.
    v3 = Path(installer.get_default_ngrok_dir()) / "ngrok.yml"
    return [v3, Path.home() / ".ngrok2" / "ngrok.yml"]


_TOKEN_LINE = re.compile(r"^(?P<indent>[ \t]*)authtoken[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$")
_SECTION_LINE = re.compile(r"^(?P<name>[A-Za-z0-9_-]+)[ \t]*:[ \t]*(#.*)?$")


def read_ngrok_config_authtoken(path: Path) -> str | None:
    """The authtoken in an ngrok config file: v2 top-level `authtoken:` or v3 `agent: authtoken:`.

    A tiny line reader rather than a YAML parser: terra only ever needs this
    one scalar, and it never writes the user's file.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    section: str | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        top = _SECTION_LINE.match(line)
        if top:
            section = top.group("name")
            continue
        if not line[0].isspace():
            section = None
        m = _TOKEN_LINE.match(line)
        if not m:
            continue
        nested = bool(m.group("indent"))
        if (not nested and section is None) or (nested and section == "agent"):
            value = m.group("value").split(" #", 1)[0].strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if value:
                return value
    return None


def resolve_authtoken(settings: Settings) -> Authtoken:
    """The authtoken the tunnel will use: flag > NGROK_AUTHTOKEN > terra's config file >
    the user's own ngrok config (read-only), so people who set up ngrok before need nothing new.
    """
    found = settings.lookup("ngrok-authtoken")
    if found.value and found.source in ("flag", "env", "file"):
        return Authtoken(found.value, found.source)
    for path in user_ngrok_config_paths():
        token = read_ngrok_config_authtoken(path)
        if token:
            return Authtoken(token, "ngrok-config")
    return Authtoken(None, None)


def describe_authtoken_source(source: AuthtokenSource | None) -> str:
    """Where a token came from, in words for hints and `terra doctor`."""
    return {
        "flag": "the command line",
        "env": "NGROK_AUTHTOKEN",
        "file": "terra's config (terra config set ngrok-authtoken)",
        "ngrok-config": "your ngrok config file (ngrok config add-authtoken)",
        None: "nowhere",
    }[source]


# --- status reports: what the tunnel tells the command, which renders them -------------


@dataclass(frozen=True)
class Downloading:
    """No agent was found: it is being downloaded from `url` to `path`."""

    url: str
    path: Path


@dataclass(frozen=True)
class DownloadProgress:
    """Bytes of the agent archive received so far (total None when unknown)."""

    received: int
    total: int | None


@dataclass(frozen=True)
class Downloaded:
    """The agent is installed at `path`."""

    path: Path


@dataclass(frozen=True)
class Starting:
    """The agent is starting (attempt 0 is the first start, then restarts)."""

    agent: Path
    attempt: int


@dataclass(frozen=True)
class Online:
    """The public endpoint is up at `public_url`; `previous_url` is set after a restart."""

    public_url: str
    previous_url: str | None = None

    @property
    def restarted(self) -> bool:
        return self.previous_url is not None

    @property
    def changed(self) -> bool:
        """True when a restart gave a different URL (it must be pasted again)."""
        return self.previous_url is not None and self.previous_url != self.public_url


@dataclass(frozen=True)
class Lost:
    """The tunnel stopped working: the agent died or the endpoint disappeared."""

    reason: str


@dataclass(frozen=True)
class Retrying:
    """A restart is scheduled in `delay` seconds (attempt N of `attempts`)."""

    attempt: int
    attempts: int
    delay: float
    reason: str


@dataclass(frozen=True)
class Failed:
    """The tunnel gave up; `error` says why. The session's `failed` event is set too."""

    error: TerraError


TunnelStatus = (
    Downloading | DownloadProgress | Downloaded | Starting | Online | Lost | Retrying | Failed
)
StatusCallback = Callable[[TunnelStatus], None]


# --- timing knobs -----------------------------------------------------------------------


@dataclass(frozen=True)
class TunnelTuning:
    """How long to wait and how hard to retry; the defaults suit a laptop on Wi-Fi.

    Each can be set from the environment (seconds, or a count), mostly so tests
    and CI finish fast: TERRA_NGROK_START_TIMEOUT, TERRA_NGROK_CHECK_INTERVAL,
    TERRA_NGROK_RETRIES, TERRA_NGROK_BACKOFF.
    """

    start_timeout: float = 20.0
    check_interval: float = 2.0
    retries: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0
    stable_after: float = 60.0
    request_timeout: float = 4.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TunnelTuning:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, attr, low in (
            ("TERRA_NGROK_START_TIMEOUT", "start_timeout", 0.1),
            ("TERRA_NGROK_CHECK_INTERVAL", "check_interval", 0.01),
            ("TERRA_NGROK_RETRIES", "retries", 0),
            ("TERRA_NGROK_BACKOFF", "backoff", 0),
        ):
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            try:
                value = float(raw)
            except ValueError:
                value = float("nan")
            if not value >= low or value == float("inf"):
                raise InputError(
                    f"{name} must be a number of at least {low:g}, got '{raw}'.",
                    hint=f"Fix or unset {name}.",
                )
            values[attr] = value
        retries = int(values.pop("retries", cls.retries))
        return replace(cls(**values), retries=retries)


# --- errors, in plain words ---------------------------------------------------------------

_CODE_RE = re.compile(r"ERR_NGROK_\d+")
_TOKEN_URL = "https://dashboard.ngrok.com/get-started/your-authtoken"  # noqa: S105
_NO_TUNNEL = "or run 'terra listen --no-tunnel'"


def missing_authtoken_error() -> AuthError:
    """No authtoken anywhere: exit 2, naming both ways out."""
    return AuthError(
        "No ngrok authtoken is configured, and the public URL needs one.",
        hint=f"Run 'terra config set ngrok-authtoken' with the token from {_TOKEN_URL} "
        f"(or set NGROK_AUTHTOKEN), {_NO_TUNNEL}.",
    )


def _clean(text: str, secret: str | None) -> str:
    """One readable line from an agent error: no codes, no line breaks, never the token."""
    text = text.replace("\\r", " ").replace("\\n", " ")
    text = _CODE_RE.sub("", text)
    text = " ".join(text.split()).strip(" .:")
    if secret:
        text = text.replace(secret, mask(secret))
    return text[:240]


def _map_error(
    exc: BaseException,
    *,
    timed_out: bool,
    start_timeout: float,
    agent: Path,
    token: Authtoken,
    domain: str | None,
) -> TerraError:
    """Turn whatever pyngrok raised into the contract's error and exit code."""
    from pyngrok.exception import (
        PyngrokError,
        PyngrokNgrokError,
        PyngrokNgrokHTTPError,
        PyngrokNgrokURLError,
    )

    if isinstance(exc, TerraError):
        return exc
    if timed_out:
        said = getattr(exc, "ngrok_error", None)
        why = f": {_clean(said, token.value)}" if said else ""
        return NetworkError(
            f"The ngrok agent did not come up within {start_timeout:g} s{why}.",
            hint="Check the network (the agent must reach connect.ngrok-agent.com), "
            f"raise TERRA_NGROK_START_TIMEOUT, {_NO_TUNNEL}.",
        )
    if isinstance(exc, PyngrokNgrokHTTPError):
        body = exc.body or ""
        found = _CODE_RE.search(body)
        code = found.group(0) if found else None
        if code == "ERR_NGROK_334":
            what = f"https://{domain}" if domain else "The requested endpoint"
            return RemoteError(
                f"{what} is already online in another ngrok session (ERR_NGROK_334).",
                hint="Stop the other agent or endpoint that uses it, or choose another "
                "domain with --domain (or 'terra config set ngrok-domain').",
            )
        try:
            detail = json.loads(body)
            text = str((detail.get("details") or {}).get("err") or detail.get("msg") or body)
        except (ValueError, AttributeError):
            text = body
        suffix = f" ({code})" if code else ""
        return RemoteError(
            f"ngrok refused to open the endpoint: {_clean(text, token.value)}{suffix}.",
            hint="Check --domain and --region ('terra config show' lists the values), "
            f"{_NO_TUNNEL}.",
        )
    if isinstance(exc, PyngrokNgrokURLError):
        return NetworkError(
            f"The ngrok agent's local API did not answer: {exc.reason}.",
            hint=f"Run terra listen again; if it persists, reinstall ngrok, {_NO_TUNNEL}.",
        )
    if isinstance(exc, PyngrokNgrokError):
        code = exc.ngrok_error_code
        if code == "ERR_NGROK_4018":
            return AuthError(
                "ngrok refused to start without an authtoken (ERR_NGROK_4018).",
                hint=missing_authtoken_error().hint,
            )
        if code in ("ERR_NGROK_105", "ERR_NGROK_107"):
            why = "is malformed" if code == "ERR_NGROK_105" else "is invalid or was revoked"
            return AuthError(
                f"ngrok rejected the authtoken from {describe_authtoken_source(token.source)}: "
                f"it {why} ({code}).",
                hint=f"Copy your token from {_TOKEN_URL} and run "
                f"'terra config set ngrok-authtoken', {_NO_TUNNEL}.",
            )
        if code == "ERR_NGROK_108":
            return RemoteError(
                "Your ngrok account allows one agent session at a time, and another ngrok "
                "agent is already running (ERR_NGROK_108).",
                hint="Stop the other ngrok agent (https://dashboard.ngrok.com/agents lists it), "
                f"then run terra listen again; {_NO_TUNNEL}.",
            )
        if exc.ngrok_error:
            suffix = f" ({code})" if code else ""
            return NetworkError(
                f"The ngrok agent could not start: {_clean(exc.ngrok_error, token.value)}{suffix}.",
                hint=f"Check the network and your ngrok account, {_NO_TUNNEL}.",
            )
        return NetworkError(
            f"The ngrok agent at {agent} stopped during start-up without saying why.",
            hint=f"Run '{agent} version' to check it works, point 'terra config set ngrok-path' "
            f"at a working agent, {_NO_TUNNEL}.",
        )
    if isinstance(exc, PyngrokError):
        return NetworkError(
            f"ngrok could not open the tunnel: {_clean(str(exc), token.value)}.",
            hint=f"Run terra listen again, {_NO_TUNNEL}.",
        )
    if isinstance(exc, OSError):
        return LocalResourceError(
            f"Cannot run the ngrok agent at {agent}: {exc.strerror or exc}.",
            hint="Point 'terra config set ngrok-path' at a working ngrok executable.",
        )
    raise exc


# --- the session --------------------------------------------------------------------------


def _silence_pyngrok_logging() -> None:
    """pyngrok logs each agent line; without this, errors would leak raw onto stderr."""
    import logging

    logger = logging.getLogger("pyngrok")
    logger.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def normalise_domain(domain: str | None) -> str | None:
    """A bare host name from `--domain` (a scheme or trailing slash is forgiven)."""
    if not domain:
        return None
    host = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", domain.strip()).rstrip("/")
    if not re.fullmatch(r"(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z0-9-]{2,63}", host):
        raise InputError(
            f"'{domain}' is not a domain name.",
            hint="Give the reserved or static domain from ngrok's dashboard, such as "
            "--domain example.ngrok-free.app.",
        )
    return host.lower()


class StartCanceled(Exception):
    """open_tunnel gave up because `cancelled()` said so (a Ctrl-C during start-up)."""


class TunnelSession:
    """One public endpoint in front of a local port, watched and restarted until closed.

    A supervisor thread owns the agent: it starts it (so Linux ties the agent's
    life to that thread via the launcher), watches it, and restarts it with
    backoff. Status reports go to `on_status` from that thread.
    """

    def __init__(
        self,
        *,
        target: str,
        agent: Path,
        launch_path: Path,
        config_path: Path,
        token: Authtoken,
        domain: str | None,
        region: str | None,
        tuning: TunnelTuning,
        on_status: StatusCallback,
        download_url: str | None,
    ) -> None:
        self.target = target
        self.agent = agent
        self.domain = domain
        self.region = region
        self.tuning = tuning
        self.failed = threading.Event()
        self.error: TerraError | None = None
        self._launch_path = launch_path
        self._config_path = config_path
        self._token = token
        self._on_status = on_status
        self._download_url = download_url
        self._name = f"terra-listen-{os.getpid()}-{secrets.token_hex(3)}"
        self._lock = threading.Lock()
        self._url: str | None = None
        self._uri: str | None = None
        self._api_url: str | None = None
        self._closing = threading.Event()
        self._wake = threading.Event()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._timed_out = False
        self._starting = False
        self._thread: threading.Thread | None = None
        self._agent_proc: subprocess.Popen[str] | None = None

    # public API -------------------------------------------------------------------------

    @property
    def public_url(self) -> str:
        """The endpoint's current public URL (it may change after a restart)."""
        with self._lock:
            assert self._url is not None, "the session is not open"
            return self._url

    def close(self) -> None:
        """Close the endpoint and stop the agent; safe to call twice and from any thread."""
        self._closing.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            proc = self._proc()
            if proc is not None and self._starting:
                # A start (or restart) is under way: pyngrok holds its lock while it waits
                # for log lines, so end the agent here and let that start fail at once.
                self._stop_process(proc)
            thread.join(timeout=self.tuning.request_timeout + 3)
        self._stop_agent()
        with contextlib.suppress(OSError):
            self._config_path.unlink()

    def __enter__(self) -> TunnelSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # start-up ---------------------------------------------------------------------------

    def _open(self, cancelled: Callable[[], bool] | None) -> None:
        """Start the supervisor and wait (interruptibly) for the first URL or error."""
        self._thread = threading.Thread(target=self._supervise, name="terra-tunnel", daemon=True)
        self._thread.start()
        try:
            while not self._ready.wait(0.05):
                if cancelled is not None and cancelled():
                    raise StartCanceled("the tunnel start was canceled")
        except BaseException:
            self.close()
            raise
        if self._startup_error is not None:
            self.close()
            raise self._startup_error

    def _report(self, status: TunnelStatus) -> None:
        with contextlib.suppress(Exception):  # a broken renderer must not kill the tunnel
            self._on_status(status)

    def _pyngrok_config(self) -> Any:
        from pyngrok import conf

        cfg = conf.PyngrokConfig(
            ngrok_path=str(self._launch_path),
            config_path=str(self._config_path),
            region=self.region,
            startup_timeout=int(self.tuning.start_timeout) + 5,
            request_timeout=self.tuning.request_timeout,
            start_new_session=True,  # Ctrl-C reaches terra, which then closes the agent itself
        )
        cfg.auth_token = None  # never on the agent's argv: it is in our 0600 config file
        cfg.api_key = None
        return cfg

    def _write_config(self) -> None:
        """Our own agent config (never the user's): the authtoken, 0600, JSON being YAML."""
        body = {"version": "3", "agent": {"authtoken": self._token.value}}
        atomic_write(self._config_path, json.dumps(body).encode())

    def _proc(self) -> subprocess.Popen[str] | None:
        from pyngrok import process

        running = process._current_processes.get(str(self._launch_path))
        return running.proc if running is not None else None

    def _start(self, attempt: int) -> str:
        """Start the agent and the endpoint; return the public URL or raise a TerraError."""
        from pyngrok import ngrok

        self._report(Starting(self.agent, attempt))
        self._write_config()
        cfg = self._pyngrok_config()
        self._timed_out = False
        watchdog = threading.Timer(self.tuning.start_timeout, self._start_overrun)
        watchdog.daemon = True
        watchdog.start()
        options: dict[str, Any] = {}
        if self.domain:
            options["url"] = f"https://{self.domain}"
        self._starting = True
        try:
            tunnel = ngrok.connect(self.target, name=self._name, pyngrok_config=cfg, **options)
            if self._closing.is_set():
                raise NetworkError("The tunnel was closed while it started.")
        except BaseException as exc:
            self._starting = False
            watchdog.cancel()
            self._stop_agent()
            if isinstance(exc, Exception):
                raise _map_error(
                    exc,
                    timed_out=self._timed_out,
                    start_timeout=self.tuning.start_timeout,
                    agent=self.agent,
                    token=self._token,
                    domain=self.domain,
                ) from None
            raise
        self._starting = False
        watchdog.cancel()
        with self._lock:
            self._url = str(tunnel.public_url)
            self._uri = tunnel.uri
            self._api_url = tunnel.api_url
        proc = self._proc()
        self._agent_proc = proc
        if proc is not None:
            threading.Thread(target=self._await_exit, args=(proc,), daemon=True).start()
        return str(tunnel.public_url)

    def _start_overrun(self) -> None:
        """The watchdog: pyngrok only checks its own timeout between log lines."""
        proc = self._proc()
        if proc is not None and proc.poll() is None:
            self._timed_out = True
            proc.kill()

    def _await_exit(self, proc: subprocess.Popen[str]) -> None:
        proc.wait()
        self._wake.set()

    # supervision ------------------------------------------------------------------------

    def _supervise(self) -> None:
        try:
            self._ensure_agent()
            self._start(0)
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._report(Online(self.public_url))
        self._ready.set()
        try:
            self._watch()
        except Exception as exc:  # a bug must not leave a silently dead tunnel
            self._give_up(NetworkError(f"The tunnel watcher stopped: {exc!r}."))
        finally:
            # Stop the agent from this thread: on Linux it dies with the thread that
            # started it, so this thread must not end before the endpoint is closed.
            self._stop_agent()

    def _ensure_agent(self) -> None:
        """Download the agent when there is none at the default location (first run)."""
        if self.agent.exists() or self._download_url is None:
            return
        from terra_cli.ngrok_agent import download_agent

        def progress(got: int, total: int | None) -> None:
            if self._closing.is_set():  # closed mid-download: stop reading at once
                raise StartCanceled("the download was canceled")
            self._report(DownloadProgress(got, total))

        self._report(Downloading(self._download_url, self.agent))
        download_agent(self._download_url, self.agent, progress)
        self._report(Downloaded(self.agent))

    def _problem(self) -> str | None:
        """Why the tunnel is not working right now, or None when it is."""
        proc = self._agent_proc
        if proc is None or proc.poll() is not None:
            return self._exit_reason(proc)
        from pyngrok import ngrok
        from pyngrok.exception import PyngrokError

        with self._lock:
            api_url, url = self._api_url, self._url
        for _ in range(2):
            try:
                listed = ngrok.api_request(
                    f"{api_url}/api/endpoints", timeout=self.tuning.request_timeout
                )
                break
            except (PyngrokError, OSError):
                if self._closing.wait(0.2):
                    return None
        else:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=1)  # an agent on its way out stops answering first
            if proc.poll() is not None:
                return self._exit_reason(proc)
            return "the ngrok agent stopped answering on its local API"
        urls = {e.get("url") or e.get("public_url") for e in listed.get("endpoints") or []}
        if url not in urls:
            return f"the endpoint {url} is no longer online"
        return None

    @staticmethod
    def _exit_reason(proc: subprocess.Popen[str] | None) -> str:
        if proc is None or proc.returncode is None:
            return "the ngrok agent is gone"
        return f"the ngrok agent exited (code {proc.returncode})"

    def _watch(self) -> None:
        failures = 0
        up_since = time.monotonic()
        while not self._closing.is_set():
            self._wake.wait(self.tuning.check_interval)
            self._wake.clear()
            if self._closing.is_set():
                return
            reason = self._problem()
            if self._closing.is_set():
                return
            if reason is None:
                if failures and time.monotonic() - up_since >= self.tuning.stable_after:
                    failures = 0
                continue
            self._report(Lost(reason))
            self._stop_agent()
            failures = self._restart(failures, reason)
            if failures < 0:
                return
            up_since = time.monotonic()

    def _restart(self, failures: int, reason: str) -> int:
        """Restart with backoff; the new failure count, or -1 when it gave up or closed."""
        previous = self._url
        while True:
            failures += 1
            if failures > self.tuning.retries:
                self._give_up(
                    NetworkError(
                        f"The ngrok tunnel failed {failures} times in a row; last: {reason}.",
                        hint="Check the network and https://status.ngrok.com, then run terra "
                        f"listen again (a supervisor can restart it on exit code 8), {_NO_TUNNEL}.",
                    )
                )
                return -1
            delay = min(self.tuning.backoff * 2 ** (failures - 1), self.tuning.max_backoff)
            self._report(Retrying(failures, self.tuning.retries, delay, reason))
            if self._closing.wait(delay):
                return -1
            try:
                url = self._start(failures)
            except TerraError as exc:
                if self._closing.is_set():
                    return -1
                if not isinstance(exc, NetworkError):
                    self._give_up(exc)  # a rejected token or a taken domain will not heal
                    return -1
                reason = exc.message.rstrip(".")
                continue
            self._report(Online(url, previous_url=previous))
            return failures

    def _give_up(self, error: TerraError) -> None:
        self._stop_agent()
        self.error = error
        self.failed.set()
        self._report(Failed(error))

    # stopping ---------------------------------------------------------------------------

    def _stop_process(self, proc: subprocess.Popen[str]) -> None:
        if proc.poll() is not None:
            return
        with contextlib.suppress(OSError):
            proc.terminate()  # lets a real agent end its session cleanly
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()

    def _stop_agent(self) -> None:
        """Close the endpoint (best effort), end the agent, forget it in pyngrok."""
        from pyngrok import ngrok, process

        proc = self._proc() or self._agent_proc
        with self._lock:
            api_url, uri = self._api_url, self._uri
            self._api_url = self._uri = None
        if proc is not None and proc.poll() is None and api_url and uri:
            with contextlib.suppress(Exception):
                ngrok.api_request(f"{api_url}{uri}", method="DELETE", timeout=1)
        for each in {proc, self._agent_proc}:
            if each is not None:
                self._stop_process(each)
        if process._current_processes_lock.acquire(timeout=5):
            try:
                ngrok.kill(self._pyngrok_config())
            finally:
                process._current_processes_lock.release()


def open_tunnel(
    port: int,
    *,
    authtoken: Authtoken | str | None,
    ngrok_path: str | None = None,
    domain: str | None = None,
    region: str | None = None,
    state_dir: Path | None = None,
    on_status: StatusCallback | None = None,
    host: str = "127.0.0.1",
    tuning: TunnelTuning | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> TunnelSession:
    """Open a public HTTPS endpoint to `host:port`, watched and restarted until closed.

    `ngrok_path` is the `ngrok-path` setting (None: pyngrok's default location,
    downloaded on first use from TERRA_NGROK_DOWNLOAD_URL or ngrok's CDN).
    `state_dir` holds our own agent config (default: data dir/ngrok). Raises
    TerraError subclasses with the contract's exit codes; never prints.
    While it starts, `cancelled()` is polled: when true, everything started
    is stopped and StartCanceled is raised (for a Ctrl-C caught by a handler).
    """
    from terra_cli.ngrok_agent import (
        DOWNLOAD_URL_ENV,
        mark_parent,
        supports_parent_death_signal,
        write_launcher,
    )

    token = authtoken if isinstance(authtoken, Authtoken) else Authtoken(authtoken, "flag")
    if not token.value:
        raise missing_authtoken_error()
    tuning = tuning or TunnelTuning.from_env()
    domain = normalise_domain(domain)
    location = locate_agent(ngrok_path)
    download_url: str | None = None
    if location.configured and not location.exists:
        raise InputError(
            f"ngrok-path points at {location.path}, which does not exist.",
            hint="Fix it with 'terra config set ngrok-path PATH' (or TERRA_NGROK_PATH), "
            "or unset it to let terra download ngrok.",
        )
    if location.exists and not location.executable:
        raise InputError(
            f"The ngrok agent at {location.path} is not executable.",
            hint=f"Run 'chmod +x {location.path}', or point 'terra config set ngrok-path' "
            "elsewhere.",
        )
    if not location.exists:
        download_url = os.environ.get(DOWNLOAD_URL_ENV) or _cdn_url()
    state = (state_dir or data_dir() / "ngrok").expanduser()
    ensure_private_dir(state)
    _silence_pyngrok_logging()
    launch = location.path
    if supports_parent_death_signal():
        launch = write_launcher(state, location.path)
        mark_parent()
    connect_host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    if ":" in connect_host:
        connect_host = f"[{connect_host}]"
    session = TunnelSession(
        target=f"http://{connect_host}:{port}",
        agent=location.path,
        launch_path=launch,
        config_path=state / "ngrok.yml",
        token=token,
        domain=domain,
        region=region,
        tuning=tuning,
        on_status=on_status or (lambda status: None),
        download_url=download_url,
    )
    session._open(cancelled)
    return session


def _cdn_url() -> str:
    """ngrok's own download URL for this platform (pyngrok's table)."""
    from pyngrok import installer
    from pyngrok.exception import PyngrokError

    try:
        return str(installer.get_ngrok_cdn_url("3"))
    except PyngrokError as exc:
        raise NetworkError(
            f"ngrok has no download for this platform: {exc}.",
            hint="Install ngrok yourself and run 'terra config set ngrok-path /path/to/ngrok'.",
        ) from None
