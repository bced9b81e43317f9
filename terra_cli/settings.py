"""Profiles, precedence and the config file.

Values come from, in order: a command-line flag, the environment, the active
profile in `config.toml`, a built-in default. Every value remembers where it
came from so `terra config show` can say so. The file is created 0600 inside a
0700 directory from the first byte and always replaced atomically.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

from terra_cli.errors import AuthError, InputError, LocalResourceError

APP_NAME = "terra-cli"
CONFIG_FILENAME = "config.toml"
DEFAULT_PROFILE = "default"

Source = Literal["flag", "env", "file", "default"]


class Key(NamedTuple):
    """One configurable key: its name on the command line and where else it lives."""

    name: str
    secret: bool
    env: str | None = None
    default: str | None = None
    help: str = ""

    @property
    def file_name(self) -> str:
        """The snake_case name used inside config.toml."""
        return self.name.replace("-", "_")


KEYS: dict[str, Key] = {
    k.name: k
    for k in (
        Key("dev-id", True, "TERRA_DEV_ID", help="Terra developer id (dashboard: API keys)"),
        Key("api-key", True, "TERRA_API_KEY", help="Terra API key for that environment"),
        Key(
            "signing-secret",
            True,
            "TERRA_SIGNING_SECRET",
            help="webhook signing secret (dashboard: Destinations -> Edit)",
        ),
        Key("ngrok-authtoken", True, "NGROK_AUTHTOKEN", help="ngrok authtoken for the tunnel"),
        Key(
            "admin-token",
            True,
            "TERRA_ADMIN_TOKEN",
            help="Terra Admin API token (terra login saves it)",
        ),
        Key(
            "api-url",
            False,
            "TERRA_API_URL",
            "https://api.tryterra.co/v2",
            help="base URL of Terra's REST API",
        ),
        Key(
            "access-url",
            False,
            "TERRA_ACCESS_URL",
            "https://access.tryterra.co",
            help="base URL of Terra's access host (widget sessions)",
        ),
        Key(
            "admin-url",
            False,
            "TERRA_ADMIN_URL",
            "https://access.tryterra.co/api/v3/admin",
            help="base URL of Terra's Admin API (login, destinations, deliveries)",
        ),
        Key("ngrok-path", False, "TERRA_NGROK_PATH", help="path to the ngrok agent executable"),
        Key("ngrok-domain", False, "TERRA_NGROK_DOMAIN", help="reserved or static ngrok domain"),
        Key("ngrok-region", False, "TERRA_NGROK_REGION", help="ngrok region code (us, eu, ap...)"),
        Key(
            "event-log-days",
            False,
            "TERRA_EVENT_LOG_DAYS",
            "30",
            help="days of event log 'terra listen' keeps (0 keeps everything)",
        ),
    )
}

URL_KEYS = frozenset({"api-url", "access-url", "admin-url"})
_PROFILE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z0-9-]+)?$")


def key_list() -> str:
    """The valid keys, for messages."""
    return ", ".join(KEYS)


def get_key(name: str) -> Key:
    """Look a key up by its command-line name, or fail with the list of valid ones."""
    key = KEYS.get(name) or KEYS.get(name.replace("_", "-"))
    if key is None:
        raise InputError(
            f"Unknown config key '{name}'. Valid keys: {key_list()}.",
            hint="Run 'terra config show' to see every key and its value.",
        )
    return key


def validate_url(value: str, what: str) -> str:
    """Accept only absolute http(s) URLs with a host; strip a trailing slash."""
    value = value.strip()
    m = re.match(r"^(https?)://([^/\s?#]+)(/[^\s]*)?$", value)
    if not m:
        raise InputError(
            f"{what} must be an http:// or https:// URL, got '{value}'.",
            hint="Give a full URL such as https://api.tryterra.co/v2.",
        )
    return value.rstrip("/")


def validate_value(key: Key, value: str) -> str:
    """Check a value before it is stored; return it normalised."""
    if "\n" in value or "\r" in value or "\x00" in value:
        raise InputError(f"The value for {key.name} contains a line break or NUL byte.")
    value = value.strip()
    if not value:
        raise InputError(
            f"The value for {key.name} is empty.",
            hint=f"Use 'terra config unset {key.name}' to remove a value.",
        )
    if key.name in URL_KEYS:
        return validate_url(value, key.name)
    if key.name == "ngrok-region" and not _REGION_RE.match(value):
        raise InputError(
            f"'{value}' is not an ngrok region code.",
            hint="Use a code such as us, eu, ap, au, sa, jp or in.",
        )
    if key.name == "event-log-days" and not (value.isascii() and value.isdigit()):
        raise InputError(
            f"event-log-days must be a whole number of days, got '{value}'.",
            hint="Use e.g. 'terra config set event-log-days 30' (0 keeps everything).",
        )
    if key.secret and any(c.isspace() for c in value):
        raise InputError(
            f"The value for {key.name} contains white space; secrets never do.",
            hint="Copy the value again from the dashboard.",
        )
    return value


def validate_profile(name: str) -> str:
    """Profile names are short identifiers (letters, digits, `_`, `-`, `.`)."""
    if not _PROFILE_RE.match(name):
        raise InputError(
            f"'{name}' is not a valid profile name.",
            hint="Use letters, digits, '_', '-' or '.', starting with a letter or digit.",
        )
    return name


MASK_MIN = 12  # shorter secrets show as **** alone


def mask(value: str) -> str:
    """Mask a secret for display, showing at most a third of it.

    `n` characters from each end with `…` between, where 2n is at most a
    third of the length and n at most 4: first 4 + last 4 from 24 characters
    on, fewer below, and `****` under 12 characters.
    """
    if len(value) < MASK_MIN:
        return "****"
    n = min(4, len(value) // 6)
    return f"{value[:n]}…{value[-n:]}"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where config.toml lives: `TERRA_CONFIG_DIR` or the platform's user config dir."""
    env = os.environ if env is None else env
    override = env.get("TERRA_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME))


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the event log and ngrok state live: `TERRA_DATA_DIR` or the user data dir."""
    env = os.environ if env is None else env
    override = env.get("TERRA_DATA_DIR")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))


def ensure_private_dir(path: Path) -> None:
    """Create a directory (and parents) with mode 0700; fail as a local-resource error."""
    try:
        if not path.is_dir():
            path.mkdir(parents=True, mode=0o700, exist_ok=True)
            os.chmod(path, 0o700)
    except OSError as exc:
        raise LocalResourceError(
            f"Cannot create the directory {path}: {exc.strerror or exc}.",
            hint="Check its permissions, or point TERRA_CONFIG_DIR / TERRA_DATA_DIR elsewhere.",
        ) from None


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a 0600 temp file, fsync and rename; never through a symlink."""
    if path.is_symlink():
        raise LocalResourceError(
            f"{path} is a symbolic link; terra will not write through it.",
            hint="Replace the link with a regular file, or set TERRA_CONFIG_DIR to another folder.",
        )
    import tempfile

    ensure_private_dir(path.parent)
    tmp_name: str | None = None
    try:
        # mkstemp creates the file with mode 0600 before any byte is written.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError as exc:
        raise LocalResourceError(
            f"Cannot write {path}: {exc.strerror or exc}.",
            hint="Check the folder's permissions, or set TERRA_CONFIG_DIR to a writable folder.",
        ) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


class ConfigFile:
    """The parsed config.toml: `active_profile` and `[profiles.NAME]` tables.

    A plain class rather than a dataclass: building dataclasses at import time
    costs milliseconds on every start-up.
    """

    def __init__(self, path: Path, data: dict[str, Any] | None = None) -> None:
        self.path = path
        self.data: dict[str, Any] = data if data is not None else {}
        self.warnings: list[str] = []

    @classmethod
    def load(cls, path: Path | None = None) -> ConfigFile:
        """Read the file (a missing file is empty); tighten loose permissions with a warning."""
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - exercised on 3.10 only
            import tomli as tomllib

        path = path or config_dir() / CONFIG_FILENAME
        cfg = cls(path)
        try:
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return cfg
        except IsADirectoryError:
            raise InputError(
                f"{path} is a directory, not a config file.",
                hint="Remove it, or set TERRA_CONFIG_DIR to another folder.",
            ) from None
        except OSError as exc:
            raise LocalResourceError(
                f"Cannot read {path}: {exc.strerror or exc}.",
                hint="Check the file's permissions, or set TERRA_CONFIG_DIR.",
            ) from None
        cfg._tighten()
        try:
            cfg.data = tomllib.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise InputError(
                f"{path} is not UTF-8 text.",
                hint="Fix or delete the file; 'terra config path' prints where it is.",
            ) from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(
                f"{path} is not valid TOML: {exc}.",
                hint="Fix that line, or delete the file and run 'terra config set' again.",
            ) from None
        cfg._check_shape()
        return cfg

    def _tighten(self) -> None:
        try:
            st = self.path.lstat()
        except OSError:
            return
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o077:
            try:
                os.chmod(self.path, 0o600)
                self.warnings.append(
                    f"{self.path} was readable by other users "
                    f"(mode {stat.S_IMODE(st.st_mode):o}); it is now 600."
                )
            except OSError:
                self.warnings.append(
                    f"{self.path} is readable by other users and could not be tightened; "
                    f"run: chmod 600 {self.path}"
                )

    def _check_shape(self) -> None:
        bad = InputError(
            f"{self.path} has an unexpected layout.",
            hint='Expected active_profile = "NAME" and [profiles.NAME] tables of strings.',
        )
        active = self.data.get("active_profile", DEFAULT_PROFILE)
        profiles = self.data.get("profiles", {})
        if not isinstance(active, str) or not isinstance(profiles, dict):
            raise bad
        for table in profiles.values():
            if not isinstance(table, dict):
                raise bad
            for k, v in table.items():
                if k.replace("_", "-") in KEYS and not isinstance(v, str):
                    raise bad

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def active_profile(self) -> str:
        value = self.data.get("active_profile", DEFAULT_PROFILE)
        return value if isinstance(value, str) else DEFAULT_PROFILE

    def profiles(self) -> list[str]:
        """Every profile named in the file, plus the active one."""
        names = set(self.data.get("profiles", {}))
        names.add(self.active_profile)
        return sorted(names)

    def profile(self, name: str) -> dict[str, str]:
        table = self.data.get("profiles", {}).get(name, {})
        return {k: v for k, v in table.items() if isinstance(v, str)}

    def get(self, profile: str, key: Key) -> str | None:
        return self.profile(profile).get(key.file_name)

    def set(self, profile: str, key: Key, value: str) -> None:
        profiles = self.data.setdefault("profiles", {})
        profiles.setdefault(profile, {})[key.file_name] = value
        self.data.setdefault("active_profile", self.active_profile)

    def unset(self, profile: str, key: Key) -> bool:
        table = self.data.get("profiles", {}).get(profile, {})
        return table.pop(key.file_name, None) is not None

    def use(self, profile: str) -> None:
        self.data["active_profile"] = profile
        self.data.setdefault("profiles", {}).setdefault(profile, {})

    def save(self) -> None:
        import tomli_w

        ordered: dict[str, Any] = {"active_profile": self.active_profile}
        ordered.update({k: v for k, v in self.data.items() if k != "active_profile"})
        atomic_write(self.path, tomli_w.dumps(ordered).encode("utf-8"))


class Value(NamedTuple):
    """A resolved setting and where it came from (None when unset)."""

    value: str | None
    source: Source | None


class Settings:
    """Resolved configuration for one invocation: flag > env > profile file > default."""

    def __init__(
        self,
        file: ConfigFile,
        profile: str | None = None,
        flags: Mapping[str, str | None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.file = file
        self.env = os.environ if env is None else env
        self.flags = dict(flags or {})
        chosen = profile or self.env.get("TERRA_PROFILE") or file.active_profile
        self.profile = validate_profile(chosen)

    @classmethod
    def load(
        cls, profile: str | None = None, flags: Mapping[str, str | None] | None = None
    ) -> Settings:
        """Read the config file from its usual place and resolve against the environment."""
        return cls(ConfigFile.load(), profile, flags)

    def with_flags(self, **flags: str | None) -> Settings:
        """A copy with command-line flags (kebab or snake names) layered on top."""
        merged = dict(self.flags)
        merged.update({k.replace("_", "-"): v for k, v in flags.items()})
        return Settings(self.file, self.profile, merged, self.env)

    def lookup(self, name: str) -> Value:
        key = get_key(name)
        flag = self.flags.get(key.name)
        if flag:
            return Value(flag, "flag")
        if key.env and self.env.get(key.env):
            return Value(self.env[key.env], "env")
        stored = self.file.get(self.profile, key)
        if stored:
            return Value(stored, "file")
        if key.default is not None:
            return Value(key.default, "default")
        return Value(None, None)

    def get(self, name: str) -> str | None:
        return self.lookup(name).value

    def url(self, name: str) -> str:
        """A URL setting, validated wherever it came from (exit 3 when malformed)."""
        value = self.get(name)
        assert value is not None, f"{name} has a default"
        source = self.lookup(name).source
        where = f"{KEYS[name].env}" if source == "env" else f"config key {name}"
        return validate_url(value, where)

    def require(self, name: str) -> str:
        """A credential that must be present, else exit 2 naming how to supply it."""
        value = self.get(name)
        if value:
            return value
        key = KEYS[name]
        raise AuthError(
            f"No {name} is configured (profile '{self.profile}').",
            hint=f"Run 'terra config set {name}' or set {key.env}.",
        )
