"""How `terra listen --no-tunnel` ends: signals, a killed parent shell, stopping under load.

Every way of stopping it must leave no process behind, release the port (a
new listener can bind it at once; how fast is measured by
benchmarks/lifecycle.py, not asserted here), and keep every acknowledged
request in the log.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time

import pytest

from tests.conftest import BIN, Home
from tests.listen.conftest import post, start_listener
from tests.listen.payloads import EVENTS, dumps
from tests.reliability.conftest import (
    ENV,
    Ledger,
    children_of,
    log_records,
    pid_alive,
    released,
    signed,
    wait_gone,
)


def shell_env(home: Home) -> dict[str, str]:
    return {**home.env, **ENV, "PATH": f"{BIN}:{home.env.get('PATH', '')}"}


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGTERM], [signal.SIGINT, signal.SIGINT], [signal.SIGHUP]],
    ids=["SIGTERM", "two-SIGINTs", "SIGHUP"],
)
def test_signals_stop_cleanly_release_the_port_and_keep_the_log(
    home: Home, signals: list[signal.Signals]
) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    body = dumps(EVENTS["sleep"])
    assert ledger.note(listener.post(body, signed(body))).status == 200
    assert children_of(listener.proc.pid) == []
    for signum in signals:
        listener.proc.send_signal(signum)
    code, out, err = listener.finish(timeout=10)
    assert code == 0, err
    assert "Traceback" not in err and "Stopped (interrupted)" in err
    assert "1 event (1 ok)" in err
    assert not pid_alive(listener.proc.pid)
    assert released(listener.port)
    assert [r["id"] for r in log_records(home.data_dir)] == ledger.acked
    assert json.loads(out.splitlines()[1])["id"] == ledger.acked[0]


def test_sighup_is_left_ignored_under_nohup(home: Home) -> None:
    """`nohup terra listen` must survive the terminal closing."""
    proc = subprocess.Popen(
        ["bash", "-c", "trap '' HUP; exec terra listen --no-tunnel --port 0 --json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=shell_env(home),
    )  # fmt: skip
    assert proc.stdout is not None
    port = json.loads(proc.stdout.readline())["port"]
    proc.send_signal(signal.SIGHUP)
    body = dumps(EVENTS["sleep"])
    assert post(port, body, signed(body)).status == 200  # still serving
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "1 event (1 ok)" in err


def _start_under_shell(home: Home, prefix: str = "") -> tuple[subprocess.Popen[str], int, int]:
    """`bash -c 'terra listen ... & wait'`: the shell, terra's pid and its port."""
    shell = subprocess.Popen(
        ["bash", "-c",
         f"{prefix}terra listen --no-tunnel --port 0 --json & echo \"pid=$!\" >&2; wait"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=shell_env(home),
    )  # fmt: skip
    assert shell.stdout is not None and shell.stderr is not None
    pid = int(shell.stderr.readline().strip().removeprefix("pid="))
    port = int(json.loads(shell.stdout.readline())["port"])
    return shell, pid, port


def test_parent_shell_killed_terra_stops_by_itself(home: Home, reap: list[int]) -> None:
    shell, pid, port = _start_under_shell(home)
    reap.append(pid)
    body = dumps(EVENTS["activity"])
    reply = post(port, body, signed(body))
    assert reply.status == 200
    shell.kill()  # SIGKILL: the shell cannot pass anything on
    shell.wait()
    assert wait_gone(pid), "terra outlived the shell that started it"
    assert released(port)
    _out, err = shell.communicate(timeout=10)  # terra's own stderr, via the shell's pipe
    assert "the shell or program that started it is gone" in err
    assert "Traceback" not in err
    assert [r["id"] for r in log_records(home.data_dir)] == [reply.json()["id"]]


def test_parent_shell_killed_under_nohup_terra_keeps_running(home: Home, reap: list[int]) -> None:
    shell, pid, port = _start_under_shell(home, prefix="trap '' HUP; ")
    reap.append(pid)
    shell.kill()
    shell.wait()
    try:
        body = dumps(EVENTS["sleep"])
        # Still serving after the shell is gone: nohup asked for exactly that.
        for _ in range(3):
            assert post(port, body, signed(body)).status == 200
            time.sleep(0.2)
        assert pid_alive(pid)
    finally:
        import os

        os.kill(pid, signal.SIGTERM)
    assert wait_gone(pid)
    assert released(port)
    assert len(log_records(home.data_dir)) == 3


def test_sigterm_under_load_keeps_every_acknowledged_request(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    lock = threading.Lock()
    stop = threading.Event()
    answered = threading.Semaphore(0)

    def sender(k: int) -> None:
        n = 0
        while not stop.is_set():
            body = dumps({"type": "daily", "k": k, "n": n})
            n += 1
            try:
                reply = post(listener.port, body, signed(body))
            except OSError:
                return  # the listener has gone: connection refused or reset
            with lock:
                ledger.note(reply)
            answered.release()

    senders = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in senders:
        t.start()
    for _ in range(200):  # stop in the middle of the traffic, after 200 answers
        assert answered.acquire(timeout=10)
    listener.proc.send_signal(signal.SIGTERM)
    code, out, err = listener.finish(timeout=10)
    stop.set()
    for t in senders:
        t.join(10)
    assert code == 0, err
    assert released(listener.port)
    logged = [r["id"] for r in log_records(home.data_dir)]
    assert len(ledger.acked) >= 200
    assert set(ledger.acked) <= set(logged)
    shown = [json.loads(line)["id"] for line in out.splitlines()[1:]]
    assert shown == logged
