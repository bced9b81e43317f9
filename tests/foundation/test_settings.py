"""Unit tests for settings: precedence, masking, validation, the file's permissions."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

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


# Group-readable alone, world-readable alone, and every other group/other bit on its own.
LOOSE_MODES = [0o644, 0o640, 0o660, 0o604, 0o620, 0o610, 0o602, 0o601]


@pytest.mark.parametrize("mode", LOOSE_MODES, ids=[f"{m:o}" for m in LOOSE_MODES])
def test_loose_file_is_tightened_with_warning(tmp_path: Path, mode: int) -> None:
    cfg = _file(tmp_path, '[profiles.default]\ndev_id = "abc"\n')
    os.chmod(cfg.path, mode)
    again = s.ConfigFile.load(cfg.path)
    assert stat.S_IMODE(cfg.path.stat().st_mode) == 0o600
    assert again.warnings == [
        f"{cfg.path} was readable by other users (mode {mode:o}); it is now 600."
    ]
    assert again.get("default", s.KEYS["dev-id"]) == "abc"


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_private_file_is_left_alone(tmp_path: Path, mode: int) -> None:
    cfg = _file(tmp_path, '[profiles.default]\ndev_id = "abc"\n')
    os.chmod(cfg.path, mode)
    again = s.ConfigFile.load(cfg.path)
    assert stat.S_IMODE(cfg.path.stat().st_mode) == mode
    assert again.warnings == []


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


def test_url_settings_are_validated_wherever_they_come_from(tmp_path: Path) -> None:
    cfg = _file(tmp_path, '[profiles.default]\naccess_url = "ftp://bad.example"\n')
    settings = s.Settings(cfg, env={"TERRA_API_URL": "https://env.example/v2/"})
    assert settings.url("api-url") == "https://env.example/v2"
    with pytest.raises(InputError) as from_file:
        settings.url("access-url")
    assert from_file.value.message.startswith("config key access-url must be an http://")
    bad_env = s.Settings(_file(tmp_path / "o"), env={"TERRA_API_URL": "api.example"})
    with pytest.raises(InputError) as from_env:
        bad_env.url("api-url")
    assert from_env.value.message.startswith("TERRA_API_URL must be an http://")
    assert s.Settings(_file(tmp_path / "p"), env={}).url("access-url") == (
        "https://access.tryterra.co"
    )


def test_the_secret_keys_are_exactly_the_credentials() -> None:
    assert sorted(k.name for k in s.KEYS.values() if k.secret) == [
        "admin-token",
        "api-key",
        "dev-id",
        "ngrok-authtoken",
        "signing-secret",
    ]


def test_config_and_data_dirs_follow_their_variables(tmp_path: Path) -> None:
    env = {"TERRA_CONFIG_DIR": str(tmp_path / "c"), "TERRA_DATA_DIR": str(tmp_path / "d")}
    assert s.config_dir(env) == tmp_path / "c"
    assert s.data_dir(env) == tmp_path / "d"
    home = {"TERRA_CONFIG_DIR": "~/cfg", "TERRA_DATA_DIR": "~/data"}
    assert s.config_dir(home) == Path("~/cfg").expanduser()
    assert s.data_dir(home) == Path("~/data").expanduser()
    assert s.config_dir({}).name == "terra-cli" and s.data_dir({}).name == "terra-cli"


def test_a_folder_that_cannot_be_made_says_why(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    target = blocker / "events"
    with pytest.raises(LocalResourceError) as info:
        s.ensure_private_dir(target)
    assert info.value.message == f"Cannot create the directory {target}: Not a directory."


def test_a_config_path_that_is_a_folder_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.mkdir()
    with pytest.raises(InputError) as info:
        s.ConfigFile.load(path)
    assert info.value.message == f"{path} is a directory, not a config file."


def test_an_unreadable_config_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path, '[profiles.default]\ndev_id = "abc"\n')

    def denied(self: Path) -> bytes:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)  # root reads any file: inject it
    with pytest.raises(LocalResourceError) as info:
        s.ConfigFile.load(path)
    assert info.value.message == f"Cannot read {path}: Permission denied."


def test_a_loose_file_that_cannot_be_tightened_says_how(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, '[profiles.default]\ndev_id = "abc"\n')
    os.chmod(path, 0o644)

    def not_yours(target: Any, mode: int) -> None:
        raise PermissionError(errno.EPERM, os.strerror(errno.EPERM))  # someone else's file

    monkeypatch.setattr(os, "chmod", not_yours)
    cfg = s.ConfigFile.load(path)
    assert cfg.warnings == [
        f"{path} is readable by other users and could not be tightened; run: chmod 600 {path}"
    ]
    assert cfg.get("default", s.KEYS["dev-id"]) == "abc"


def test_exists_and_other_top_level_keys_survive_a_save(tmp_path: Path) -> None:
    missing = _file(tmp_path)
    assert missing.exists is False
    cfg = _file(tmp_path, 'aardvark = "kept"\nzebra = "kept too"\n[profiles.default]\n')
    assert cfg.exists is True
    cfg.set("default", s.KEYS["dev-id"], "abc")
    cfg.save()
    text = cfg.path.read_text()
    assert text.startswith('active_profile = "default"\n')
    again = s.ConfigFile.load(cfg.path)
    assert again.data["aardvark"] == "kept" and again.data["zebra"] == "kept too"
    assert text.count("active_profile") == 1
