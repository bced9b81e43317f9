"""`terra listen` with its tunnel, run as the installed CLI with the fake agent as ngrok."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from terra_cli.webhooks.signature import sign
from tests.conftest import Home
from tests.tunnel.conftest import FileServer, Records, install_fake, pid_alive, wait_until

TOKEN = "fake-ngrok-token-0123456789"
SECRET = "whsec_tunnel_test_0123456789"


@pytest.fixture
def env(home: Home, tmp_path: Path, records: Records) -> dict[str, str]:
    """The fake agent as ngrok-path, a fake token, and short waits for failure paths."""
    agent = install_fake(tmp_path / "agent-bin" / "ngrok")
    values = {
        "TERRA_NGROK_PATH": str(agent),
        "NGROK_AUTHTOKEN": TOKEN,
        "TERRA_SIGNING_SECRET": SECRET,
        "FAKE_NGROK_RECORD": str(records.folder),
        "TERRA_NGROK_START_TIMEOUT": "2",
        "TERRA_NGROK_CHECK_INTERVAL": "0.1",
        "TERRA_NGROK_BACKOFF": "0.05",
        "TERRA_NGROK_RETRIES": "2",
    }
    home.env.update(values)
    return values


def _read_line(fd: int, proc: subprocess.Popen[str], timeout: float = 20) -> str:
    """One line straight from the pipe (nothing left in a Python buffer)."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    data = bytearray()
    try:
        while not data.endswith(b"\n"):
            byte = os.read(fd, 1)
            if not byte:
                break
            data += byte
    finally:
        timer.cancel()
    return data.decode()


@dataclass
class Run:
    proc: subprocess.Popen[str]
    ready: dict[str, Any]

    def stdout_line(self, timeout: float = 20) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = _read_line(self.proc.stdout.fileno(), self.proc, timeout)
        assert line, "stdout ended"
        return dict(json.loads(line))

    def finish(self, timeout: float = 15) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


@pytest.fixture
def listen(home: Home, env: dict[str, str]) -> Iterator[Any]:
    runs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Run:
        proc = home.popen("listen", "--port", "0", "--json", *args)
        runs.append(proc)
        assert proc.stdout is not None
        line = _read_line(proc.stdout.fileno(), proc)
        if not line:
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"terra listen did not start: {err}")
        ready = json.loads(line)
        assert ready["kind"] == "ready"
        return Run(proc, ready)

    yield start
    for proc in runs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _signed(body: bytes) -> dict[str, str]:
    return {
        "terra-signature": sign(SECRET, body, int(time.time())),
        "Content-Type": "application/json",
    }


def test_public_url_printed_and_a_signed_event_through_it_arrives(
    listen: Any, records: Records
) -> None:
    run = listen()
    public = run.ready["public_url"]
    assert public.startswith("http://127.0.0.1:") and public.endswith("/consumeTerraWebhook")
    assert urlsplit(public).port != run.ready["port"]  # really through the agent's proxy
    body = json.dumps(
        {"type": "activity", "user": {"user_id": "u-1", "provider": "GARMIN"}, "data": [{}]}
    ).encode()
    status, _ = _post(public, body, _signed(body))
    assert status == 200
    event = run.stdout_line()
    assert event["kind"] == "event"
    assert (event["type"], event["verdict"], event["size"]) == ("activity", "ok", len(body))
    [pid] = records.pids()
    run.proc.send_signal(signal.SIGINT)
    code, out, err = run.finish()
    assert code == 0
    assert not pid_alive(pid)
    assert "Traceback" not in err
    assert TOKEN not in out + err
    assert "Starting the ngrok tunnel" in err
    assert public in err
    assert "Connections -> Destinations -> Webhook: paste it and save" in err
    # the token went to the agent through terra's private config, never its argv
    [start] = records.starts()
    assert start["token"] == TOKEN
    assert not any(TOKEN in a for a in start["argv"])


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_signals_leave_no_agent_and_exit_0(listen: Any, records: Records, sig: int) -> None:
    run = listen()
    [pid] = records.pids()
    assert pid_alive(pid)
    run.proc.send_signal(sig)
    code, _, err = run.finish()
    assert code == 0, err
    assert not pid_alive(pid)
    [start] = records.starts()
    assert start["requests"][-1]["method"] == "DELETE"  # the endpoint was closed first


def test_sigkill_of_terra_leaves_no_agent(
    listen: Any, records: Records, monkeypatch: pytest.MonkeyPatch, home: Home
) -> None:
    home.env["FAKE_NGROK_PARENT_WATCH"] = "0"  # behave like the real agent
    run = listen()
    [pid] = records.pids()
    run.proc.kill()
    run.proc.communicate()
    assert wait_until(lambda: not pid_alive(pid))


def test_agent_death_restarts_and_announces_the_new_url(
    listen: Any, records: Records, home: Home
) -> None:
    home.env.update(FAKE_NGROK_MODE="die,ok", FAKE_NGROK_DELAY="0.5")
    run = listen()
    first = run.ready["public_url"]
    record = run.stdout_line()
    assert record["kind"] == "tunnel" and record["changed"] is True
    new = record["public_url"]
    assert new != first and new.endswith("/consumeTerraWebhook")
    body = b'{"type": "auth", "user": {"user_id": "u-2"}}'
    assert _post(new, body, _signed(body))[0] == 200
    assert run.stdout_line()["type"] == "auth"
    run.proc.send_signal(signal.SIGTERM)
    code, _, err = run.finish()
    assert code == 0
    assert "The ngrok tunnel is down: the ngrok agent exited" in err
    assert "NEW public URL" in err and new in err
    assert records.alive() == []


def test_repeated_failures_exit_8(listen: Any, records: Records, home: Home) -> None:
    home.env.update(FAKE_NGROK_MODE="die,crash", FAKE_NGROK_DELAY="0.3")
    run = listen()
    code, out, err = run.finish(timeout=30)
    assert code == 8, err
    assert out == ""  # nothing after the ready record: no URL came back
    lines = err.strip().splitlines()
    assert lines[-2].startswith("Error: The ngrok tunnel failed 3 times in a row")
    assert lines[-1].startswith("Hint: ") and "exit code 8" in lines[-1]
    assert "restart 2 of 2" in err
    assert records.alive() == []
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("mode", "code", "words", "hint_words"),
    [
        ("no-token", 2, "ERR_NGROK_4018", "terra config set ngrok-authtoken"),
        ("invalid-token", 2, "ERR_NGROK_105", "terra config set ngrok-authtoken"),
        ("revoked-token", 2, "ERR_NGROK_107", "--no-tunnel"),
        ("session-limit", 1, "ERR_NGROK_108", "Stop the other ngrok agent"),
        ("domain-online", 1, "ERR_NGROK_334", "--domain"),
        ("silent", 8, "did not come up within 2 s", "TERRA_NGROK_START_TIMEOUT"),
        ("crash", 8, "stopped during start-up", "ngrok-path"),
    ],
)
def test_each_failure_has_its_exit_code_and_hint(
    home: Home,
    env: dict[str, str],
    records: Records,
    mode: str,
    code: int,
    words: str,
    hint_words: str,
) -> None:
    args = ["--domain", "taken.ngrok.app"] if mode == "domain-online" else []
    result = home.run("listen", "--port", "0", *args, env={"FAKE_NGROK_MODE": mode})
    assert result.code == code, result.stderr
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith("Error: ") and words in lines[-2]
    assert lines[-1].startswith("Hint: ") and hint_words in lines[-1]
    assert "lvl=" not in result.stderr  # no raw agent log lines
    assert records.alive() == []


def test_no_authtoken_anywhere_exits_2_before_starting_anything(
    home: Home, env: dict[str, str], records: Records
) -> None:
    del home.env["NGROK_AUTHTOKEN"]
    result = home.run("listen", "--port", "0")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith("Error: No ngrok authtoken")
    assert "terra config set ngrok-authtoken" in lines[-1] and "--no-tunnel" in lines[-1]
    assert records.starts() == []


def test_token_from_the_users_own_ngrok_config(listen: Any, home: Home, records: Records) -> None:
    del home.env["NGROK_AUTHTOKEN"]
    user_config = Path(home.env["XDG_CONFIG_HOME"]) / "ngrok" / "ngrok.yml"
    user_config.parent.mkdir(parents=True)
    user_config.write_text('version: "3"\nagent:\n  authtoken: from-users-ngrok-config-123\n')
    run = listen()
    assert run.ready["public_url"]
    run.proc.send_signal(signal.SIGINT)
    assert run.finish()[0] == 0
    assert records.starts()[0]["token"] == "from-users-ngrok-config-123"
    assert user_config.read_text().endswith("from-users-ngrok-config-123\n")


def test_ctrl_c_while_the_agent_starts_stops_quickly(
    home: Home, env: dict[str, str], records: Records
) -> None:
    home.env.update(FAKE_NGROK_MODE="silent", TERRA_NGROK_START_TIMEOUT="60")
    proc = home.popen("listen", "--port", "0", "--json")
    assert wait_until(lambda: len(records.starts()) == 1)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)  # far below the 60 s start-up limit
    assert proc.returncode == 0, err
    assert out == ""  # no ready record: there never was a URL
    assert records.alive() == []


def test_first_run_download_fails_offline_with_exit_8(
    home: Home, env: dict[str, str], records: Records, closed_port: int
) -> None:
    del home.env["TERRA_NGROK_PATH"]
    result = home.run(
        "listen",
        "--port",
        "0",
        env={"TERRA_NGROK_DOWNLOAD_URL": f"http://127.0.0.1:{closed_port}/ngrok.tgz"},
    )
    assert result.code == 8
    assert result.stdout == ""
    assert "ngrok is not installed; downloading it" in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-2].startswith("Error: Could not download the ngrok agent")
    assert "ngrok-path" in lines[-1] and "https://ngrok.com/download" in lines[-1]
    assert records.starts() == []


def test_first_run_downloads_ngrok_then_listens(
    listen: Any, home: Home, records: Records, archive_server: FileServer
) -> None:
    del home.env["TERRA_NGROK_PATH"]
    home.env["TERRA_NGROK_DOWNLOAD_URL"] = archive_server.url + "/ngrok-v3-stable-linux-amd64.tgz"
    run = listen()
    assert run.ready["public_url"]
    run.proc.send_signal(signal.SIGINT)
    code, out, err = run.finish()
    assert code == 0
    assert out == ""  # the download never printed to stdout (only the ready record did)
    assert "ngrok is not installed; downloading it" in err
    assert "Downloading ngrok: 100%" in err
    assert (Path(home.env["XDG_CONFIG_HOME"]) / "ngrok" / "ngrok").is_file()
    assert archive_server.hits == ["/ngrok-v3-stable-linux-amd64.tgz"]
    assert records.alive() == []
