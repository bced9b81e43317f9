"""`terra config` through the installed CLI: streams, exit codes, files on disk."""

from __future__ import annotations

import os
import stat

import pytest

from terra_cli.settings import mask
from tests.conftest import Home

API_KEY = "key_0123456789abcdefXYZ"
DEV_ID = "dev-test-7f3a9c21b4"


def test_set_from_stdin_then_get_and_show(home: Home) -> None:
    r = home.run("config", "set", "api-key", input=API_KEY + "\n")
    assert r.code == 0, r.stderr
    assert r.stdout == ""
    assert "api-key" in r.stderr and "(hidden)" in r.stderr
    assert stat.S_IMODE(home.config_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(home.config_dir.stat().st_mode) == 0o700

    got = home.run("config", "get", "api-key")
    assert (got.code, got.stdout) == (0, API_KEY + "\n")

    shown = home.run("config", "show")
    assert shown.code == 0
    assert "key…XYZ" in shown.stdout and "file" in shown.stdout  # 6 of 23 shown


def test_every_secret_is_masked_in_show_whatever_its_source(home: Home) -> None:
    import json

    secrets = {
        "dev-id": ("TERRA_DEV_ID", "devid-0123456789abcdef0123"),
        "api-key": ("TERRA_API_KEY", "apikey-0123456789abcdef0123"),
        "signing-secret": ("TERRA_SIGNING_SECRET", "whsec-0123456789abcdef0123"),
        "ngrok-authtoken": ("NGROK_AUTHTOKEN", "2abcdefghijklmnopqrstuvwxyz_ngrok"),
        "admin-token": ("TERRA_ADMIN_TOKEN", "admintok-0123456789abcdef0123"),
    }
    env = {name: value for name, value in secrets.values()}
    r = home.run("config", "show", "--json", env=env)  # the leak guard checks every value
    assert r.code == 0
    values = json.loads(r.stdout)["values"]
    for key, (_, value) in secrets.items():
        assert values[key] == {"value": mask(value), "source": "env"}, key


def test_show_json_and_reveal(home: Home) -> None:
    import json

    home.run("config", "set", "dev-id", input=DEV_ID)
    r = home.run("config", "show", "--json", env={"TERRA_API_KEY": API_KEY})
    assert r.code == 0
    doc = json.loads(r.stdout)
    assert doc["profile"] == "default"
    assert doc["file"] == str(home.config_file)
    assert doc["values"]["dev-id"] == {"value": "dev…1b4", "source": "file"}
    assert doc["values"]["api-key"]["source"] == "env"
    assert doc["values"]["api-url"] == {"value": "https://api.tryterra.co/v2", "source": "default"}
    assert doc["values"]["signing-secret"] == {"value": None, "source": None}
    assert set(doc["values"]) == {
        "dev-id",
        "api-key",
        "signing-secret",
        "ngrok-authtoken",
        "admin-token",
        "api-url",
        "access-url",
        "admin-url",
        "ngrok-path",
        "ngrok-domain",
        "ngrok-region",
        "event-log-days",  # added with the event log upkeep
    }
    revealed = json.loads(home.run("config", "show", "--json", "--reveal").stdout)
    assert revealed["values"]["dev-id"]["value"] == DEV_ID


def test_value_argument_for_secret_warns_about_history(home: Home) -> None:
    r = home.run("config", "set", "signing-secret", "whsec_abcdefgh12345678")
    assert r.code == 0
    assert "shell history" in r.stderr
    assert home.run("config", "get", "signing-secret").stdout.strip() == "whsec_abcdefgh12345678"


def test_setting_is_shown_plainly(home: Home) -> None:
    r = home.run("config", "set", "api-url", "https://example.test/v2/")
    assert r.code == 0
    assert "https://example.test/v2" in r.stderr
    assert home.run("config", "get", "api-url").stdout == "https://example.test/v2\n"


def test_unknown_key_exits_3_listing_keys(home: Home) -> None:
    r = home.run("config", "set", "apikey", input="x\n")
    assert r.code == 3
    assert r.stdout == ""
    assert r.stderr.startswith("Error: Unknown config key 'apikey'")
    assert "api-key" in r.stderr and "ngrok-authtoken" in r.stderr
    assert "\nHint: " in r.stderr
    assert not home.config_file.exists()


def test_no_value_and_empty_stdin_exits_3_with_stdin_hint(home: Home) -> None:
    r = home.run("config", "set", "api-key", input="")
    assert r.code == 3
    assert "Error:" in r.stderr
    assert 'echo "$VALUE" | terra config set api-key' in r.stderr
    assert not home.config_file.exists()


def test_bad_url_exits_3_and_keeps_file(home: Home) -> None:
    home.run("config", "set", "dev-id", input=DEV_ID)
    before = home.config_file.read_bytes()
    r = home.run("config", "set", "api-url", "not a url")
    assert r.code == 3 and "Error:" in r.stderr
    assert home.config_file.read_bytes() == before


def test_malformed_file_exits_3_names_file_and_line_and_is_untouched(home: Home) -> None:
    home.config_dir.mkdir(mode=0o700)
    broken = b'active_profile = "default"\n[profiles.default]\ndev_id = "abc\n'
    home.config_file.write_bytes(broken)
    os.chmod(home.config_file, 0o600)
    for args in (("config", "show"), ("config", "set", "api-key", "zzzzzzzzzzzzzz")):
        r = home.run(*args)
        assert r.code == 3, r.stderr
        assert str(home.config_file) in r.stderr
        assert "line 3" in r.stderr
        assert "Hint:" in r.stderr
        assert home.config_file.read_bytes() == broken


def test_config_dir_not_writable_exits_9(home: Home) -> None:
    blocker = home.root / "a-file"
    blocker.write_text("not a folder")
    r = home.run(
        "config", "set", "dev-id", input=DEV_ID, env={"TERRA_CONFIG_DIR": str(blocker / "cfg")}
    )
    assert r.code == 9
    assert "Error: Cannot create the directory" in r.stderr
    assert "TERRA_CONFIG_DIR" in r.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_config_dir_exits_9(home: Home) -> None:
    home.config_dir.mkdir(mode=0o500)
    r = home.run("config", "set", "dev-id", input=DEV_ID)
    assert r.code == 9


def test_symlinked_config_file_exits_9_and_writes_nothing(home: Home) -> None:
    home.config_dir.mkdir(mode=0o700)
    target = home.root / "shared-config.toml"
    target.write_text("# not ours\n")
    home.config_file.symlink_to(target)
    r = home.run("config", "set", "dev-id", input=DEV_ID)
    assert r.code == 9
    assert "symbolic link" in r.stderr
    assert target.read_text() == "# not ours\n"
    assert home.config_file.is_symlink()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604], ids=["644", "640", "604"])
def test_loose_permissions_tightened_with_warning(home: Home, mode: int) -> None:
    home.run("config", "set", "dev-id", input=DEV_ID)
    os.chmod(home.config_file, mode)
    r = home.run("config", "show")
    assert r.code == 0
    assert f"Warning: {home.config_file} was readable by other users (mode {mode:o})" in r.stderr
    assert "now 600" in r.stderr
    assert stat.S_IMODE(home.config_file.stat().st_mode) == 0o600


def test_get_unset_key_exits_3(home: Home) -> None:
    r = home.run("config", "get", "signing-secret")
    assert r.code == 3
    assert r.stdout == ""
    assert "terra config set signing-secret" in r.stderr
    assert "TERRA_SIGNING_SECRET" in r.stderr


def test_unset_removes_value(home: Home) -> None:
    home.run("config", "set", "dev-id", input=DEV_ID)
    assert home.run("config", "unset", "dev-id").code == 0
    assert home.run("config", "get", "dev-id").code == 3


@pytest.mark.parametrize(
    "args",
    [
        ("nope",),
        ("config", "frobnicate"),
        ("config", "show", "--bogus"),
        ("--bogus",),
        ("config", "get"),
        ("config", "get", "dev-id", "extra"),
    ],
)
def test_usage_errors_exit_4(home: Home, args: tuple[str, ...]) -> None:
    r = home.run(*args)
    assert r.code == 4, r.stderr
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert lines[0].startswith("Error: ")
    assert lines[1].startswith("Hint: ") and "--help" in lines[1]
    assert "Traceback" not in r.stderr


def test_profiles_use_and_flag(home: Home) -> None:
    home.run("config", "set", "dev-id", input="dev-default-0001")
    assert home.run("-p", "staging", "config", "set", "dev-id", input="dev-staging-0002").code == 0
    assert home.run("config", "get", "dev-id").stdout.strip() == "dev-default-0001"
    assert home.run("--profile", "staging", "config", "get", "dev-id").stdout.strip() == (
        "dev-staging-0002"
    )
    env_pick = home.run("config", "get", "dev-id", env={"TERRA_PROFILE": "staging"})
    assert env_pick.stdout.strip() == "dev-staging-0002"
    assert home.run("config", "profiles").stdout == "* default\n  staging\n"
    assert home.run("config", "use", "staging").code == 0
    assert home.run("config", "profiles").stdout == "  default\n* staging\n"
    assert home.run("config", "get", "dev-id").stdout.strip() == "dev-staging-0002"
    bad = home.run("config", "use", "no/slash")
    assert bad.code == 3


def test_env_beats_file_and_show_says_env(home: Home) -> None:
    home.run("config", "set", "api-url", "https://file.test/v2")
    r = home.run("config", "get", "api-url", env={"TERRA_API_URL": "https://env.test/v2"})
    assert r.stdout == "https://env.test/v2\n"


def test_path_prints_config_file(home: Home) -> None:
    r = home.run("config", "path")
    assert (r.code, r.stdout) == (0, f"{home.config_file}\n")


def test_version_and_module_entry(home: Home) -> None:
    import subprocess
    import sys

    r = home.run("--version")
    assert r.code == 0
    assert r.stdout.startswith("terra-cli ") and r.stderr == ""
    m = subprocess.run(
        [sys.executable, "-m", "terra_cli", "--version"],
        capture_output=True,
        text=True,
        env=home.env,
        check=False,
    )
    assert m.stdout == r.stdout
    alias = subprocess.run(
        [str(__import__("pathlib").Path(sys.executable).parent / "terra-cli"), "--version"],
        capture_output=True,
        text=True,
        env=home.env,
        check=False,
    )
    assert alias.stdout == r.stdout


def test_no_color_anywhere_when_piped_and_forced_when_asked(home: Home) -> None:
    r = home.run("config", "get", "dev-id")
    assert "\x1b[" not in r.stderr
    forced = home.run("config", "get", "dev-id", env={"FORCE_COLOR": "1"})
    assert "\x1b[" in forced.stderr
    both = home.run("config", "get", "dev-id", env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert "\x1b[" not in both.stderr


@pytest.mark.parametrize("args", [(), ("config",), ("events",), ("users",)])
def test_group_without_subcommand_prints_help_once(home: Home, args: tuple[str, ...]) -> None:
    r = home.run(*args)
    assert r.code == 0
    assert r.stdout.count("Usage:") == 1
    assert "Error" not in r.stderr
