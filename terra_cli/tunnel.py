"""The ngrok tunnel: the only module that imports pyngrok.

pyngrok is imported inside functions, never at module level, so commands
that do not open a tunnel do not pay for it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


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
