"""Words and hints, each through the installed CLI (a real terminal where it matters)."""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.fakes.terra_api import unused_port
from tests.listen.conftest import start_listener
from tests.terminal.pty_run import PtyProcess

SECRET = "whsec_terminal_tests_0123456789abcdef"


def test_a_profile_that_does_not_exist_is_refused(home: Home) -> None:
    home.run("-p", "staging", "config", "set", "dev-id", input="dev-staging-0002")
    r = home.run("-p", "typo", "config", "show")
    assert r.code == 3 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == (
        f"Error: Profile 'typo' (from --profile) does not exist in {home.config_file}."
    )
    assert lines[1].startswith("Hint: Profiles: default, staging ('terra config profiles'")
    env = home.run("config", "get", "dev-id", env={"TERRA_PROFILE": "typo"})
    assert env.code == 3 and "(from TERRA_PROFILE) does not exist" in env.stderr
    # `config set` is how a profile comes to exist, so it may name a new one.
    assert home.run("-p", "fresh", "config", "set", "dev-id", input="dev-fresh-0003").code == 0
    assert home.run("-p", "fresh", "config", "get", "dev-id").stdout == "dev-fresh-0003\n"


def test_ctrl_c_at_a_hidden_prompt_exits_130_on_a_new_line(home: Home) -> None:
    term = PtyProcess(("config", "set", "api-key"), home.env)
    term.read_until("api-key (input hidden): ")
    time.sleep(0.2)  # let getpass switch the echo off
    term.write(b"\x03")
    result = term.finish()
    assert result.code == 130
    after = result.output.split("api-key (input hidden): ", 1)[1]
    assert after.startswith("\r\n")  # the shell prompt will not land on the prompt's line
    lines = [line for line in result.lines if line]
    assert re.sub(r"\x1b\[[0-9;]*m", "", lines[-2]) == (
        "Error: Interrupted at the prompt (Ctrl-C); nothing was changed."
    )
    assert re.sub(r"\x1b\[[0-9;]*m", "", lines[-1]).startswith("Hint: ")
    assert not home.config_file.exists()


def test_an_empty_line_on_stdin_is_called_empty(home: Home) -> None:
    r = home.run("config", "set", "api-key", input="\n")
    assert r.code == 3
    assert r.stderr.splitlines()[0] == (
        "Error: The value for api-key is empty: the line read from stdin has nothing on it."
    )
    assert "gave no line" not in r.stderr
    nothing = home.run("config", "set", "api-key", input="")
    assert nothing.code == 3 and "nothing came on stdin" in nothing.stderr
    assert not home.config_file.exists()


def test_an_empty_argument_is_refused_before_the_history_warning(home: Home) -> None:
    r = home.run("config", "set", "api-key", "")
    assert r.code == 3
    assert r.stderr.startswith("Error: The value for api-key is empty.")
    assert "shell history" not in r.stderr and "Warning" not in r.stderr
    good = home.run("config", "set", "api-key", "key_argument_value_0123456789")
    assert good.code == 0 and "shell history" in good.stderr


@pytest.mark.parametrize(
    ("args", "suggestion"),
    [
        # terra login (issue 18) is close to the typo too, so both are offered, listen first.
        (("lisen",), "'listen' or 'login'"),
        (("config", "shwo"), "'show'"),
        (("events", "lsit"), "'list'"),
    ],
)
def test_a_typo_gets_did_you_mean(home: Home, args: tuple[str, ...], suggestion: str) -> None:
    r = home.run(*args)
    assert r.code == 4
    error, hint = r.stderr.splitlines()
    assert error.startswith(f"Error: No such command '{args[-1]}'")
    assert hint.startswith(f"Hint: Did you mean {suggestion}?")


COMMANDS = [
    ("listen",),
    ("trigger",),
    ("data",),
    ("widget",),
    ("auth",),
    ("doctor",),
    ("integrations",),
    ("check",),
    ("users", "list"),
    ("users", "show"),
    ("users", "deauth"),
    ("events", "list"),
    ("events", "show"),
    ("events", "replay"),
    ("events", "pull"),
    ("login",),
    ("logout",),
    ("config", "set"),
    ("config", "get"),
    ("config", "unset"),
    ("config", "use"),
    (),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "terra")
def test_help_uses_plain_metavars(home: Home, command: tuple[str, ...]) -> None:
    r = home.run(*command, "--help", env={"COLUMNS": "200"})
    assert r.code == 0
    assert "<str>" not in r.stdout and "<int" not in r.stdout and "<float" not in r.stdout
    assert "x<=" not in r.stdout and "x>=" not in r.stdout
    usage = next(line for line in r.stdout.splitlines() if "Usage:" in line)
    assert "{" not in usage
    words = re.findall(r"\[?([A-Za-z_]+)\]?", usage.split("Usage:", 1)[1])
    args = [w for w in words if w not in ("terra", *command)]
    assert all(w.isupper() for w in args), usage


def test_data_start_is_marked_required(home: Home) -> None:
    r = home.run("data", "--help", env={"COLUMNS": "200"})
    line = next(line for line in r.stdout.splitlines() if "--start" in line)
    assert "DATE" in line and "required, except for athlete" in line


def test_a_failed_trigger_prints_no_warning_on_top(home: Home) -> None:
    env = {"TERRA_SIGNING_SECRET": SECRET}
    refused = f"http://127.0.0.1:{unused_port()}/hook"
    r = home.run("trigger", "activity", "--to", refused, env=env)
    assert r.code == 8
    assert [line.split(":")[0] for line in r.stderr.splitlines()] == ["Error", "Hint"]
    with capture_server(status=500) as app:
        r = home.run("trigger", "activity", "--to", app.url, env=env)
    assert r.code == 1
    assert "Warning" not in r.stderr
    assert r.stderr.splitlines()[-2].startswith("Error: ")


def test_doctor_recognises_the_users_own_listen(home: Home) -> None:
    listener = start_listener(home, env={"TERRA_SIGNING_SECRET": SECRET})
    try:
        r = home.run("doctor", "--port", str(listener.port), "--json")
    finally:
        listener.proc.terminate()
        listener.finish()
    [port] = [c for c in json.loads(r.stdout)["checks"] if c["name"] == "port"]
    assert port["status"] == "ok"
    assert "held by your own 'terra listen' (running, not broken" in port["detail"]


def test_masked_secrets_show_a_third_at_most(home: Home) -> None:
    home.run("config", "set", "signing-secret", input="abcdefghijkl")
    r = home.run("config", "show", "--json")
    assert json.loads(r.stdout)["values"]["signing-secret"]["value"] == "ab…kl"


def test_readme_ci_example_installs_from_a_clone() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    block = readme.split("## CI smoke checks", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    assert "pip install terra-cli" not in block
    checkout = re.search(r"repository: terra-cli/terra-cli\s+path: (\S+)", block)
    assert checkout, block
    assert f"pip install ./{checkout.group(1)}" in block
    assert "| 130 | interrupted" in readme


def test_readme_masking_examples_follow_the_rule() -> None:
    from pathlib import Path

    from terra_cli.settings import mask

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    text = " ".join(readme.split())
    assert "a 12-character secret shows `ab…kl`" in text and "(`whse…cdef`)" in text
    assert mask("abcdefghijkl") == "ab…kl"
    assert mask("whsec_" + "0" * 14 + "cdef") == "whse…cdef"  # 24 characters
