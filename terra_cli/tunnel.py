"""The ngrok tunnel: the only module that imports pyngrok.

pyngrok is imported inside functions, never at module level, so commands
that do not open a tunnel do not pay for it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

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
    from pyngrok import conf

    return Path(conf.DEFAULT_NGROK_PATH)


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
