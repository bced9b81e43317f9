"""Where the tunnel's authtoken comes from: flag > env > terra config > the user's ngrok config."""

from __future__ import annotations

from pathlib import Path

import pytest

from terra_cli.settings import KEYS, ConfigFile, Settings
from terra_cli.tunnel import (
    describe_authtoken_source,
    read_ngrok_config_authtoken,
    resolve_authtoken,
)


def _settings(
    tmp_path: Path,
    stored: str | None = None,
    flag: str | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    cfg = ConfigFile(tmp_path / "config.toml")
    if stored:
        cfg.set("default", KEYS["ngrok-authtoken"], stored)
    return Settings(cfg, flags={"ngrok-authtoken": flag}, env=env or {})


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_precedence_flag_env_file_ngrok_config(tmp_path: Path, user_home: Path) -> None:
    _write(user_home / ".config/ngrok/ngrok.yml", "version: '3'\nagent:\n  authtoken: from-ngrok\n")
    env = {"NGROK_AUTHTOKEN": "from-env"}
    assert resolve_authtoken(_settings(tmp_path, "from-file", "from-flag", env)) == (
        "from-flag",
        "flag",
    )
    assert resolve_authtoken(_settings(tmp_path, "from-file", None, env)) == ("from-env", "env")
    assert resolve_authtoken(_settings(tmp_path, "from-file")) == ("from-file", "file")
    assert resolve_authtoken(_settings(tmp_path)) == ("from-ngrok", "ngrok-config")


def test_nothing_anywhere(tmp_path: Path, user_home: Path) -> None:
    token = resolve_authtoken(_settings(tmp_path))
    assert token.value is None and token.source is None
    assert describe_authtoken_source(None) == "nowhere"


def test_v2_top_level_and_legacy_location(tmp_path: Path, user_home: Path) -> None:
    _write(user_home / ".ngrok2/ngrok.yml", 'authtoken: "legacy-token"  # old agent\n')
    assert resolve_authtoken(_settings(tmp_path)) == ("legacy-token", "ngrok-config")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('version: "3"\nagent:\n    authtoken: abc123\n', "abc123"),
        ("agent:\n  region: eu\n  authtoken: 'quoted'\n", "quoted"),
        ("version: 2\nauthtoken: v2token\nregion: us\n", "v2token"),
        # an authtoken nested under some other section is not the agent's
        ("tunnels:\n  web:\n    authtoken: nope\n", None),
        ("# authtoken: commented\nversion: 3\n", None),
        ("agent:\n  authtoken:\n", None),
        ("", None),
    ],
)
def test_reads_only_the_agent_token(tmp_path: Path, text: str, expected: str | None) -> None:
    assert read_ngrok_config_authtoken(_write(tmp_path / "ngrok.yml", text)) == expected


def test_unreadable_or_binary_file_is_no_token(tmp_path: Path) -> None:
    assert read_ngrok_config_authtoken(tmp_path / "missing.yml") is None
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"\xff\xfe authtoken: x")
    assert read_ngrok_config_authtoken(bad) is None


def test_user_ngrok_config_is_never_written(tmp_path: Path, user_home: Path) -> None:
    path = _write(user_home / ".config/ngrok/ngrok.yml", "agent:\n  authtoken: keep\n")
    before = path.stat().st_mtime_ns
    resolve_authtoken(_settings(tmp_path))
    assert path.read_text() == "agent:\n  authtoken: keep\n"
    assert path.stat().st_mtime_ns == before
