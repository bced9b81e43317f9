"""Unit tests for settings: precedence, masking, validation, the file's permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from terra_cli import settings as s
from terra_cli.errors import AuthError, InputError, LocalResourceError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.chmod(path, 0o600)
    return path


def _file(tmp_path: Path, text: str | None = None) -> s.ConfigFile:
    if text is None:
        return s.ConfigFile.load(tmp_path / "cfg" / "config.toml")
    return s.ConfigFile.load(_write(tmp_path, text))


def test_precedence_flag_env_file_default(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[profiles.default]\napi_url = "https://file.example/v2"\n')
    env = {"TERRA_API_URL": "https://env.example/v2"}
    assert s.Settings(cfg, env={}).lookup("api-url") == s.Value("https://file.example/v2", "file")
    assert s.Settings(cfg, env=env).lookup("api-url") == s.Value("https://env.example/v2", "env")
    flagged = s.Settings(cfg, env=env).with_flags(api_url="https://flag.example/v2")
    assert flagged.lookup("api-url") == s.Value("https://flag.example/v2", "flag")
    empty = _file(tmp_path / "other")
    assert s.Settings(empty, env={}).lookup("api-url") == s.Value(
        "https://api.tryterra.co/v2", "default"
    )
    assert s.Settings(empty, env={}).lookup("dev-id") == s.Value(None, None)


def test_empty_environment_value_does_not_shadow_file(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[profiles.default]\ndev_id = "from-file"\n')
    assert s.Settings(cfg, env={"TERRA_DEV_ID": ""}).lookup("dev-id").source == "file"


def test_profile_choice_flag_env_file(tmp_path: Path) -> None:
    cfg = _file(
        tmp_path,
        'active_profile = "staging"\n[profiles.staging]\ndev_id = "stg"\n'
        '[profiles.prod]\ndev_id = "prd"\n',
    )
    assert s.Settings(cfg, env={}).get("dev-id") == "stg"
    assert s.Settings(cfg, env={"TERRA_PROFILE": "prod"}).get("dev-id") == "prd"
    assert s.Settings(cfg, "default", env={"TERRA_PROFILE": "prod"}).get("dev-id") is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("abcdefghijkl", "ab…kl"),  # 12 characters: 4 of them shown, a third
        ("0123456789abcdef01", "012…f01"),  # 18: 6 shown
        ("0123456789abcdef0123", "012…123"),  # 20: still 3 + 3 (8 would be more than a third)
        ("0123456789abcdef01234567", "0123…4567"),  # 24: first 4 + last 4
        ("k" * 20 + "0123456789abcdefghij", "kkkk…ghij"),
        ("abcdefghijk", "****"),
        ("x", "****"),
        ("", "****"),
    ],
)
def test_mask(value: str, shown: str) -> None:
    assert s.mask(value) == shown


@pytest.mark.parametrize("length", range(1, 80))
def test_mask_never_shows_more_than_a_third(length: int) -> None:
    secret = "".join(chr(ord("a") + i % 26) for i in range(length))
    shown = s.mask(secret).replace("…", "").replace("****", "")
    assert 3 * len(shown) <= length
    if length >= 24:
        assert s.mask(secret) == f"{secret[:4]}…{secret[-4:]}"


def test_require_missing_credential_is_auth_error(tmp_path: Path) -> None:
    with pytest.raises(AuthError) as info:
        s.Settings(_file(tmp_path), env={}).require("api-key")
    assert "terra config set api-key" in (info.value.hint or "")
    assert "TERRA_API_KEY" in (info.value.hint or "")


@pytest.mark.parametrize("bad", ["ftp://x", "api.tryterra.co", "https://", "http://a b"])
def test_bad_urls_rejected(bad: str) -> None:
    with pytest.raises(InputError):
        s.validate_value(s.KEYS["api-url"], bad)


def test_values_are_validated() -> None:
    assert s.validate_value(s.KEYS["api-url"], " https://x.test/v2/ ") == "https://x.test/v2"
    with pytest.raises(InputError):
        s.validate_value(s.KEYS["api-key"], "has space")
    with pytest.raises(InputError):
        s.validate_value(s.KEYS["dev-id"], "   ")
    with pytest.raises(InputError):
        s.validate_value(s.KEYS["ngrok-region"], "Europe")
    assert s.validate_value(s.KEYS["ngrok-region"], "eu") == "eu"


def test_unknown_key_lists_valid_keys() -> None:
    with pytest.raises(InputError) as info:
        s.get_key("apikey")
    assert "api-key" in info.value.message and "signing-secret" in info.value.message


def test_save_creates_private_file_and_dir(tmp_path: Path) -> None:
    cfg = _file(tmp_path)
    cfg.set("default", s.KEYS["api-key"], "k" * 20)
    cfg.save()
    assert stat.S_IMODE(cfg.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(cfg.path.parent.stat().st_mode) == 0o700
    assert s.ConfigFile.load(cfg.path).get("default", s.KEYS["api-key"]) == "k" * 20


def test_loose_file_is_tightened_with_warning(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[profiles.default]\ndev_id = "abc"\n')
    os.chmod(cfg.path, 0o644)
    again = s.ConfigFile.load(cfg.path)
    assert stat.S_IMODE(cfg.path.stat().st_mode) == 0o600
    assert again.warnings and "644" in again.warnings[0]


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    text = '[profiles.default]\ndev_id = "abc"\napi_key = \n'
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        s.ConfigFile.load(path)
    assert str(path) in info.value.message and "line 3" in info.value.message
    assert path.read_text() == text


def test_wrong_shape_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "[profiles.default]\ndev_id = 5\n")
    with pytest.raises(InputError):
        s.ConfigFile.load(path)


def test_symlink_is_never_written_through(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.toml"
    target.write_text("# someone else's file\n")
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    (cfg_dir / "config.toml").symlink_to(target)
    cfg = s.ConfigFile(cfg_dir / "config.toml")
    cfg.set("default", s.KEYS["dev-id"], "abc")
    with pytest.raises(LocalResourceError):
        cfg.save()
    assert target.read_text() == "# someone else's file\n"


def test_interrupted_write_leaves_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = _file(tmp_path)
    cfg.set("default", s.KEYS["dev-id"], "old-value")
    cfg.save()
    before = cfg.path.read_bytes()

    def boom(src: str, dst: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", boom)
    cfg.set("default", s.KEYS["dev-id"], "new-value")
    with pytest.raises(LocalResourceError):
        cfg.save()
    assert cfg.path.read_bytes() == before
    leftovers = [p.name for p in cfg.path.parent.iterdir() if p.name != "config.toml"]
    assert leftovers == []


def test_profiles_and_use(tmp_path: Path) -> None:
    cfg = _file(tmp_path)
    cfg.use("staging")
    cfg.save()
    again = s.ConfigFile.load(cfg.path)
    assert again.active_profile == "staging"
    assert again.profiles() == ["staging"]


@pytest.mark.parametrize("name", ["", "-x", "a/b", "x" * 70, "sp ace"])
def test_bad_profile_names(name: str) -> None:
    with pytest.raises(InputError):
        s.validate_profile(name)
