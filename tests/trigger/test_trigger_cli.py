"""`terra trigger` as an installed subprocess against real local servers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from terra_cli.webhooks.trigger import DEFAULT_TARGET
from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.trigger.conftest import SECRET, independent_verify, log_event


def _env(**extra: str) -> dict[str, str]:
    return {"TERRA_SIGNING_SECRET": SECRET, **extra}


def test_trigger_sends_a_signed_terra_shaped_event(home: Home) -> None:
    with capture_server() as app:
        before = int(time.time())
        r = home.run("trigger", "activity", "--to", app.url, env=_env())
        (got,) = app.wait_for(1)
    assert r.code == 0, r.stderr
    signature = got.header("terra-signature")
    assert signature is not None
    t, valid = independent_verify(signature, got.body, SECRET)
    assert valid
    assert before - 1 <= t <= int(time.time()) + 1
    assert got.header("content-type") == "application/json"
    payload = json.loads(got.body)
    assert payload["type"] == "activity" and len(payload["data"]) >= 2
    # stdout is the terra-reference alone, which the request carried too.
    assert r.stdout.strip() == got.header("terra-reference")
    assert "activity" in r.stderr and "200" in r.stderr
    assert SECRET not in r.output


def test_each_run_gets_a_fresh_signature_and_ids(home: Home) -> None:
    with capture_server() as app:
        for _ in range(2):
            assert home.run("trigger", "sleep", "--to", app.url, env=_env()).code == 0
        a, b = app.wait_for(2)
    assert a.body != b.body
    assert a.header("terra-reference") != b.header("terra-reference")
    for x in (a, b):
        assert independent_verify(x.header("terra-signature") or "", x.body, SECRET)[1]


def test_config_secret_is_used_and_never_shown(home: Home) -> None:
    assert home.run("config", "set", "signing-secret", input=SECRET + "\n").code == 0
    with capture_server() as app:
        r = home.run("trigger", "deauth", "--to", app.url, "--json")
        (got,) = app.wait_for(1)
    assert r.code == 0, r.stderr
    assert independent_verify(got.header("terra-signature") or "", got.body, SECRET)[1]
    out = json.loads(r.stdout)
    assert out["status"] == 200 and out["signed"] is True and out["type"] == "deauth"
    assert out["terra_reference"] == got.header("terra-reference")
    assert out["size"] == len(got.body) and out["error"] is None
    assert SECRET not in r.output


def test_secret_flag_signs_and_warns_about_shell_history(home: Home) -> None:
    with capture_server() as app:
        r = home.run("trigger", "auth", "--to", app.url, "--secret", "flag-secret-123456")
        (got,) = app.wait_for(1)
    assert r.code == 0
    header = got.header("terra-signature") or ""
    assert independent_verify(header, got.body, "flag-secret-123456")[1]
    assert "shell history" in r.stderr
    assert "flag-secret-123456" not in r.output


def test_unsigned_sends_no_signature(home: Home) -> None:
    with capture_server() as app:
        r = home.run("trigger", "healthcheck", "--to", app.url, "--unsigned")
        (got,) = app.wait_for(1)
    assert r.code == 0
    assert got.header("terra-signature") is None
    assert json.loads(got.body)["type"] == "healthcheck"


def test_overrides_and_set_reach_the_body(home: Home) -> None:
    with capture_server() as app:
        r = home.run(
            "trigger",
            "activity",
            "--to",
            app.url,
            "--user-id",
            "u-42",
            "--reference-id",
            "me@example.com",
            "--provider",
            "garmin",
            "--set",
            "data.0.metadata.name=Lunch run",
            "--set",
            "user.active=false",
            "--set",
            "custom.flag=[1,2]",
            env=_env(),
        )
        (got,) = app.wait_for(1)
    assert r.code == 0, r.stderr
    p = json.loads(got.body)
    assert p["user"]["user_id"] == "u-42" and p["user"]["reference_id"] == "me@example.com"
    assert p["user"]["provider"] == "GARMIN" and p["user"]["active"] is False
    assert p["data"][0]["metadata"]["name"] == "Lunch run" and p["custom"]["flag"] == [1, 2]


def test_file_is_sent_byte_exact(home: Home, tmp_path: Path) -> None:
    raw = b'{"type":"deauth",  "user": {"user_id": "x"},\n "note": "caf\xc3\xa9"}\n'
    f = tmp_path / "mine.json"
    f.write_bytes(raw)
    with capture_server() as app:
        r = home.run("trigger", "--file", str(f), "--to", app.url, env=_env())
        (got,) = app.wait_for(1)
    assert r.code == 0, r.stderr
    assert got.body == raw
    assert independent_verify(got.header("terra-signature") or "", raw, SECRET)[1]


def test_file_with_set_is_edited(home: Home, tmp_path: Path) -> None:
    f = tmp_path / "mine.json"
    f.write_text('{"type": "deauth", "user": {"user_id": "x"}}')
    with capture_server() as app:
        r = home.run(
            "trigger", "--file", str(f), "--to", app.url, "--set", "user.user_id=y", env=_env()
        )
        (got,) = app.wait_for(1)
    assert r.code == 0
    assert json.loads(got.body)["user"]["user_id"] == "y"
    assert f.read_text() == '{"type": "deauth", "user": {"user_id": "x"}}'  # file untouched


@pytest.mark.parametrize("status", [201, 202])
def test_any_2xx_is_success(home: Home, status: int) -> None:
    with capture_server(status=status) as app:
        r = home.run("trigger", "daily", "--to", app.url, env=_env())
    assert r.code == 0


@pytest.mark.parametrize("status", [400, 401, 500])
def test_non_2xx_exits_1_with_one_error_and_hint(home: Home, status: int) -> None:
    with capture_server(status=status) as app:
        r = home.run("trigger", "daily", "--to", app.url, "--json", env=_env())
        app.wait_for(1)
    assert r.code == 1
    assert json.loads(r.stdout)["status"] == status
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith(("Error:", "Hint:"))]
    assert lines[0] == f"Error: {app.url} answered {status}." and lines[1].startswith("Hint: ")
    assert "Traceback" not in r.stderr


def test_unreachable_exits_8_naming_the_listener(home: Home, refused_port: int) -> None:
    r = home.run("trigger", "activity", "--to", f"http://127.0.0.1:{refused_port}/x", env=_env())
    assert r.code == 8
    assert f"Error: Connection refused at 127.0.0.1:{refused_port}" in r.stderr
    assert "Hint: Is your app running" in r.stderr
    assert r.stdout == ""


# Runs the real entry point in a subprocess with the default target moved to a port that
# refuses connections: the listener hint is proved without touching 127.0.0.1:8080.
_MOVED_DEFAULT = """
import sys
import terra_cli.webhooks.trigger as engine
engine.DEFAULT_TARGET = sys.argv[1]
from terra_cli.app import main
if any(name.startswith("terra_cli.commands.") for name in sys.modules):
    sys.exit(99)  # commands loaded before the patch: never fall back to the real default
sys.argv = ["terra", *sys.argv[2:]]
main()
"""


def _run_with_default_target(
    home: Home, target: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`terra ARGS` whose default --to is `target` (the commands read it when they load)."""
    return subprocess.run(
        [sys.executable, "-c", _MOVED_DEFAULT, target, *args],
        capture_output=True,
        text=True,
        env={**home.env, **_env()},
        cwd=home.root,
        timeout=30,
    )


def test_default_target_is_the_listeners_documented_url() -> None:
    assert DEFAULT_TARGET == "http://127.0.0.1:8080/consumeTerraWebhook"


def test_default_target_refused_suggests_terra_listen(home: Home, refused_port: int) -> None:
    target = f"http://127.0.0.1:{refused_port}/consumeTerraWebhook"
    r = _run_with_default_target(home, target, "trigger", "activity")
    assert r.returncode == 8, r.stderr
    assert f"Error: Connection refused at 127.0.0.1:{refused_port}" in r.stderr
    assert "Hint: Start a listener in another terminal with 'terra listen --no-tunnel'" in r.stderr
    # The same refusal at a URL the user typed gets the app hint instead.
    typed = _run_with_default_target(
        home, target, "trigger", "activity", "--to", f"http://127.0.0.1:{refused_port}/other"
    )
    assert typed.returncode == 8
    assert "terra listen" not in typed.stderr and "Is your app running" in typed.stderr


def test_replay_to_the_default_target_refused_suggests_terra_listen(
    home: Home, refused_port: int
) -> None:
    log_event(home.data_dir, b'{"type":"activity","data":[]}')
    target = f"http://127.0.0.1:{refused_port}/consumeTerraWebhook"
    r = _run_with_default_target(home, target, "events", "replay", "evt_00000000000000aa")
    assert r.returncode == 8, r.stderr
    assert f"Error: Connection refused at 127.0.0.1:{refused_port}" in r.stderr
    assert "Hint: Start a listener in another terminal with 'terra listen --no-tunnel'" in r.stderr


def test_slow_target_exits_8_as_a_timeout(home: Home) -> None:
    with capture_server(delay=2) as app:
        r = home.run("trigger", "activity", "--to", app.url, "--timeout", "0.3", env=_env())
    assert r.code == 8
    assert "did not answer within 0.3 s" in r.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("trigger", "activites"), "Unknown event type 'activites'."),
        (("trigger", "activity", "--set", "nonsense"), "is not of the form dotted.path=VALUE"),
        (("trigger", "activity", "--set", "data.99.x=1"), "outside the list"),
        (("trigger", "activity", "--to", "localhost:3000"), "must be an http:// or https:// URL"),
        (("trigger",), "Name the event type to send."),
        (("trigger", "--file", "/nonexistent/p.json"), "does not exist"),
    ],
)
def test_bad_input_exits_3_and_sends_nothing(
    home: Home, args: tuple[str, ...], message: str
) -> None:
    with capture_server() as app:
        # the URL flag is appended only when the case does not test it
        extra = () if "--to" in args else ("--to", app.url)
        r = home.run(*args, *extra, env=_env())
        time.sleep(0.1)
        assert app.requests == []
    assert r.code == 3, r.stderr
    assert message in r.stderr
    assert r.stderr.count("Error:") == 1 and "Hint:" in r.stderr


def test_bad_json_file_exits_3(home: Home, tmp_path: Path) -> None:
    f = tmp_path / "bad.json"
    f.write_text("{not json")
    r = home.run("trigger", "--file", str(f), env=_env())
    assert r.code == 3 and "not valid JSON" in r.stderr


def test_type_and_file_disagreeing_exits_3(home: Home, tmp_path: Path) -> None:
    f = tmp_path / "d.json"
    f.write_text('{"type": "deauth"}')
    r = home.run("trigger", "sleep", "--file", str(f), env=_env())
    assert r.code == 3 and "holds a 'deauth' event" in r.stderr


def test_no_secret_exits_2_naming_the_fixes(home: Home) -> None:
    with capture_server() as app:
        r = home.run("trigger", "activity", "--to", app.url)
        time.sleep(0.1)
        assert app.requests == []
    assert r.code == 2
    assert "Error: No signing-secret is configured" in r.stderr
    assert "terra config set signing-secret" in r.stderr
    assert "TERRA_SIGNING_SECRET" in r.stderr and "--unsigned" in r.stderr


def test_secret_and_unsigned_together_is_a_usage_error(home: Home) -> None:
    r = home.run("trigger", "activity", "--secret", "abcdefabcdef", "--unsigned")
    assert r.code == 4
    assert "abcdefabcdef" not in r.output


@pytest.mark.parametrize(
    "args",
    [("--bogus",), ("--timeout", "0"), ("--timeout", "soon"), ("extra-positional",)],
)
def test_usage_errors_exit_4(home: Home, args: tuple[str, ...]) -> None:
    r = home.run("trigger", "activity", *args, env=_env())
    assert r.code == 4
    assert r.stderr.startswith("Error:") and "Hint: " in r.stderr and r.stdout == ""


def test_list_names_every_type(home: Home) -> None:
    r = home.run("trigger", "--list")
    assert r.code == 0
    names = [line.split()[0] for line in r.stdout.splitlines()]
    assert "activity" in names and "sleep" in names and "auth_cancelled" in names
    j = home.run("trigger", "--list", "--json")
    assert [t["type"] for t in json.loads(j.stdout)] == names
    assert j.stderr == ""
