"""Shared fixtures: an isolated home per test and a runner for the installed `terra`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

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
    "TERRA_DEBUG",
    "FORCE_COLOR",
    "NO_COLOR",
    "PYNGROK_NGROK_PATH",
    "NGROK_API_KEY",
)


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
        proc = subprocess.run(
            [TERRA, *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout,
            cwd=self.root,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)

    def popen(self, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        """Start the installed `terra` in the background (stdout/stderr piped)."""
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        return subprocess.Popen(
            [TERRA, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=self.root,
        )


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
    )
    yield Home(root, config_dir, data_dir, env)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """In-process tests get the same isolation as subprocess ones."""
    for name in _CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERRA_CONFIG_DIR", str(tmp_path / "inproc-config"))
    monkeypatch.setenv("TERRA_DATA_DIR", str(tmp_path / "inproc-data"))
