"""Shared fixtures: an isolated home per test and a runner for the installed `terra`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

BIN = Path(sys.executable).parent
TERRA = str(BIN / "terra")

# Every variable the CLI reads, removed so the developer's own setup never leaks in.
_CLEARED = (
    "TERRA_DEV_ID",
    "TERRA_API_KEY",
    "TERRA_SIGNING_SECRET",
    "NGROK_AUTHTOKEN",
    "TERRA_API_URL",
    "TERRA_ACCESS_URL",
    "TERRA_PROFILE",
    "TERRA_NGROK_PATH",
    "TERRA_NGROK_DOMAIN",
    "TERRA_NGROK_REGION",
    "TERRA_EVENT_LOG_DAYS",
    "TERRA_DEBUG",
    "FORCE_COLOR",
    "NO_COLOR",
    "PYNGROK_NGROK_PATH",
    "NGROK_API_KEY",
    "TERRA_INSPECT_PORT",
    "TERRA_ADMIN_TOKEN",
    "TERRA_ADMIN_URL",
    "TERRA_LOGIN_POLL_SCALE",
)


_SECRET_ENV = (
    "TERRA_DEV_ID",
    "TERRA_API_KEY",
    "TERRA_SIGNING_SECRET",
    "NGROK_AUTHTOKEN",
    "TERRA_ADMIN_TOKEN",
)
_SECRET_FILE_KEYS = ("dev_id", "api_key", "signing_secret", "ngrok_authtoken", "admin_token")


def _reveals_on_purpose(args: tuple[str, ...]) -> bool:
    """The only outputs allowed to show a secret: `config get` and `config show --reveal`."""
    words = [a for a in args if not a.startswith("-")]
    if "config" in words:
        rest = words[words.index("config") + 1 :]
        return rest[:1] == ["get"] or (rest[:1] == ["show"] and "--reveal" in args)
    return False


@dataclass
class Result:
    """What a finished `terra` process left behind."""

    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Home:
    """An isolated user: config and data folders and the environment pointing at them."""

    root: Path
    config_dir: Path
    data_dir: Path
    env: dict[str, str]

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    def run(
        self,
        *args: str,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Result:
        """Run the installed `terra` with no terminal attached and wait for it."""
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        secrets = self.known_secrets(full_env)
        proc = subprocess.run(
            [TERRA, *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=self.root,
        )
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        if not _reveals_on_purpose(args):
            secrets |= self.known_secrets(full_env)
            leaked = sorted(v for v in secrets if v in result.output)
            assert not leaked, f"secret value leaked in output of terra {' '.join(args)}"
        return result

    def known_secrets(self, env: Mapping[str, str]) -> set[str]:
        """Secret values this user has: in the environment and in the config file."""
        found = {env[name] for name in _SECRET_ENV if env.get(name)}
        try:
            data = tomllib.loads(self.config_file.read_text())
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        profiles = data.get("profiles", {})
        for table in profiles.values() if isinstance(profiles, dict) else ():
            if isinstance(table, dict):
                found |= {
                    v for k, v in table.items() if k in _SECRET_FILE_KEYS and isinstance(v, str)
                }
        # Short values could match ordinary words; the suite uses long secrets.
        return {v for v in found if len(v) >= 8}

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start the installed `terra` in the background (stdout/stderr piped)."""
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        proc = _GuardedPopen(
            [TERRA, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=self.root,
        )
        proc.secrets = self.known_secrets(full_env)
        proc.label = " ".join(args)
        return proc


class _GuardedPopen(subprocess.Popen[str]):
    """A background `terra` whose collected output is checked for secrets too."""

    secrets: set[str] = set()  # noqa: RUF012 - replaced per instance right after start
    label = ""

    def communicate(
        self, input: str | None = None, timeout: float | None = None
    ) -> tuple[str, str]:
        out, err = super().communicate(input, timeout)
        leaked = sorted(v for v in self.secrets if v in (out or "") + (err or ""))
        assert not leaked, f"secret value leaked in output of terra {self.label}"
        return out, err


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    """A fresh HOME with its own config and data folders, nothing configured."""
    root = tmp_path / "home"
    root.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    config_dir = root / "config"
    data_dir = root / "data"
    env.update(
        HOME=str(root),
        XDG_CONFIG_HOME=str(root / ".config"),
        XDG_DATA_HOME=str(root / ".local/share"),
        TERRA_CONFIG_DIR=str(config_dir),
        TERRA_DATA_DIR=str(data_dir),
        PYTHONUNBUFFERED="1",
        COLUMNS="100",
        # The inspector page of every `terra listen` in the suite takes any free port,
        # never 4041, which a developer's own listener may be using.
        TERRA_INSPECT_PORT="0",
    )
    yield Home(root, config_dir, data_dir, env)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In-process tests get the same isolation as subprocess ones."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERRA_CONFIG_DIR", str(tmp_path / "inproc-config"))
    monkeypatch.setenv("TERRA_DATA_DIR", str(tmp_path / "inproc-data"))


# Signals a run may inherit as ignored: `nohup` ignores SIGHUP, and a shell starting a
# background job without job control ignores SIGINT and SIGQUIT. An ignored signal
# stays ignored across exec, so every terra a test starts would inherit it (and
# `terra listen` rightly keeps an ignored SIGHUP). A handler, unlike SIG_IGN, is reset
# to the default in a child at exec: this process still shrugs the signal off, and
# each child starts with the default disposition the tests expect.
_INHERITABLE = ("SIGHUP", "SIGINT", "SIGQUIT")


def _shrug(signum: int, frame: object) -> None:
    """Ignore the signal in the test process without passing SIG_IGN on to children."""


@contextmanager
def default_signals_for_children() -> Iterator[None]:
    """Within the block, children start with the default disposition of each
    signal in _INHERITABLE that this process ignores; restored after."""
    replaced = {}
    for name in _INHERITABLE:
        signum = getattr(signal, name, None)
        if signum is not None and signal.getsignal(signum) is signal.SIG_IGN:
            replaced[signum] = signal.signal(signum, _shrug)
    try:
        yield
    finally:
        for signum, previous in replaced.items():
            signal.signal(signum, previous)


@pytest.fixture(autouse=True, scope="session")
def _children_get_default_signals() -> Iterator[None]:
    """The suite behaves the same however it is started (nohup, CI, a background job)."""
    with default_signals_for_children():
        yield
