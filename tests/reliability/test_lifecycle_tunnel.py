"""Lifecycle with the tunnel: the fake ngrok agent (tests/fakes/fake_ngrok.py) stands in
for ngrok, with its own parent watch turned off so it behaves like the real agent:
only terra's cleanup (or its launcher) can end it. After every way of stopping,
no terra and no agent process is left and both ports are free again.
The tunnel's own tests cover SIGINT, SIGTERM, SIGHUP and SIGKILL of terra;
these add two SIGINTs, a killed parent shell, nohup, and a stop under load.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import BIN, Home
from tests.listen.conftest import _first_line, post
from tests.listen.payloads import EVENTS, dumps
from tests.reliability.conftest import (
    ENV,
    Ledger,
    log_records,
    pid_alive,
    released,
    signed,
    wait_gone,
)
from tests.tunnel.conftest import Records, install_fake


@pytest.fixture
def agents(tmp_path: Path, home: Home) -> Iterator[Records]:
    """The fake agent as ngrok-path, a fake token, no parent watch in the agent."""
    folder = tmp_path / "agent-records"
    folder.mkdir()
    home.env.update(
        TERRA_NGROK_PATH=str(install_fake(tmp_path / "agent-bin" / "ngrok")),
        NGROK_AUTHTOKEN="fake-ngrok-token-0123456789",
        FAKE_NGROK_RECORD=str(folder),
        FAKE_NGROK_PARENT_WATCH="0",
        TERRA_NGROK_START_TIMEOUT="5",
        PATH=f"{BIN}:{home.env.get('PATH', '')}",
        **ENV,
    )
    rec = Records(folder)
    yield rec
    rec.kill_all()  # never leave one behind, whatever the test found


def public_port(ready: dict[str, Any]) -> int:
    return int(urlsplit(ready["public_url"]).port or 0)


def post_public(ready: dict[str, Any], body: bytes, ledger: Ledger) -> None:
    reply = ledger.note(post(public_port(ready), body, signed(body)))
    assert reply.status == 200 and reply.json()["verdict"] == "ok"


def start(home: Home) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    proc = home.popen("listen", "--port", "0", "--json")
    line = _first_line(proc.stdout, proc, 30)
    if not line:
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"terra listen did not start: {err}")
    ready = json.loads(line)
    assert ready["public_url"]
    return proc, ready


def assert_all_gone(pids: list[int], ports: list[int]) -> None:
    for pid in pids:
        assert wait_gone(pid), f"process {pid} was left behind"
    for port in ports:
        assert released(port), f"port {port} still bound"


def test_two_sigints_with_the_tunnel(home: Home, agents: Records) -> None:
    proc, ready = start(home)
    ledger = Ledger()
    post_public(ready, dumps(EVENTS["sleep"]), ledger)
    [agent] = agents.pids()
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert_all_gone([proc.pid, agent], [ready["port"], public_port(ready)])
    assert [r["id"] for r in log_records(home.data_dir)] == ledger.acked


def _under_shell(home: Home, prefix: str = "") -> tuple[subprocess.Popen[str], int, dict[str, Any]]:
    shell = subprocess.Popen(
        ["bash", "-c", f"{prefix}terra listen --port 0 --json & echo \"pid=$!\" >&2; wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=home.env,
    )  # fmt: skip
    assert shell.stdout is not None and shell.stderr is not None
    pid = int(shell.stderr.readline().strip().removeprefix("pid="))
    ready = json.loads(_first_line(shell.stdout, shell, 30))
    return shell, pid, ready


def test_parent_shell_killed_leaves_no_terra_and_no_agent(
    home: Home, agents: Records, reap: list[int]
) -> None:
    shell, pid, ready = _under_shell(home)
    reap.append(pid)
    ledger = Ledger()
    post_public(ready, dumps(EVENTS["activity"]), ledger)
    [agent] = agents.pids()
    shell.kill()
    shell.wait()
    assert_all_gone([pid, agent], [ready["port"], public_port(ready)])
    _out, err = shell.communicate(timeout=10)
    assert "the shell or program that started it is gone" in err
    assert [r["id"] for r in log_records(home.data_dir)] == ledger.acked
    [record] = agents.starts()
    assert record["requests"][-1]["method"] == "DELETE"  # closed by terra, not just killed


def test_nohup_keeps_terra_and_its_tunnel_through_sighup(
    home: Home, agents: Records, reap: list[int]
) -> None:
    shell, pid, ready = _under_shell(home, prefix="trap '' HUP; ")
    reap.append(pid)
    ledger = Ledger()
    [agent] = agents.pids()
    try:
        os.kill(pid, signal.SIGHUP)
        shell.kill()  # and the shell is gone too: nohup asked to keep running
        shell.wait()
        for name in ("sleep", "daily", "body"):
            post_public(ready, dumps(EVENTS[name]), ledger)  # still served, via the tunnel
        assert pid_alive(pid) and pid_alive(agent)
    finally:
        os.kill(pid, signal.SIGTERM)
    assert_all_gone([pid, agent], [ready["port"], public_port(ready)])
    assert [r["id"] for r in log_records(home.data_dir)] == ledger.acked


def test_sigterm_under_load_through_the_tunnel(home: Home, agents: Records) -> None:
    proc, ready = start(home)
    [agent] = agents.pids()
    ledger = Ledger()
    lock = threading.Lock()
    stop = threading.Event()
    answered = threading.Semaphore(0)
    port = public_port(ready)

    def sender(k: int) -> None:
        n = 0
        while not stop.is_set():
            body = dumps({"type": "daily", "k": k, "n": n})
            n += 1
            try:
                reply = post(port, body, signed(body))
            except OSError:
                return
            with lock:
                ledger.note(reply)
            answered.release()

    senders = [threading.Thread(target=sender, args=(k,)) for k in range(3)]
    for t in senders:
        t.start()
    for _ in range(100):
        assert answered.acquire(timeout=10)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=15)
    stop.set()
    for t in senders:
        t.join(10)
    assert proc.returncode == 0, err
    assert_all_gone([proc.pid, agent], [ready["port"], port])
    logged = {r["id"] for r in log_records(home.data_dir)}
    assert len(ledger.acked) >= 100 and set(ledger.acked) <= logged
