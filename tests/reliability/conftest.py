"""Helpers for reliability tests: raw sockets, a ledger of acknowledged requests,
process and port checks against the installed `terra listen`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from terra_cli.webhooks.signature import sign
from tests.conftest import Home
from tests.listen.conftest import SECRET, Listener, Reply, post
from tests.listen.payloads import EVENTS, dumps
from tests.tunnel.conftest import pid_alive as pid_alive

ENV = {"TERRA_SIGNING_SECRET": SECRET}


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"terra-signature": sign(SECRET, body, int(time.time())), **extra}


def signature(body: bytes) -> str:
    return sign(SECRET, body, int(time.time()))


def log_records(data_dir: Path) -> list[dict[str, Any]]:
    """Every record of the event log under `data_dir`, oldest first."""
    files = sorted((data_dir / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_bytes().splitlines()]


def raw_exchange(port: int, data: bytes, half_close: bool = False, timeout: float = 10) -> bytes:
    """Send bytes as they are on a fresh connection; everything the server sent back
    until it closed (or `timeout` passed with nothing more)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    """The status code of the first response in raw bytes (0 when there is none)."""
    line = answer.split(b"\r\n", 1)[0].split(b" ")
    return int(line[1]) if len(line) > 1 and line[0].startswith(b"HTTP/") else 0


def ids_in(answer: bytes) -> list[str]:
    """Event ids in the JSON bodies of every 2xx response in raw bytes."""
    found = []
    for part in answer.split(b"HTTP/1.1 ")[1:]:
        if not part.startswith(b"2"):
            continue
        body = part.split(b"\r\n\r\n", 1)[1]
        found.append(json.loads(body.split(b"\n", 1)[0])["id"])
    return found


@dataclass
class Ledger:
    """What a listener acknowledged (2xx) and what it answered otherwise, by event id."""

    acked: list[str] = field(default_factory=list)
    other: dict[int, int] = field(default_factory=dict)

    def note(self, reply: Reply) -> Reply:
        if 200 <= reply.status < 300:
            self.acked.append(reply.json()["id"])
        else:
            self.other[reply.status] = self.other.get(reply.status, 0) + 1
        return reply


def finish_sound(home: Home, listener: Listener, ledger: Ledger) -> list[dict[str, Any]]:
    """The listener still serves a signed event; then it stops cleanly on SIGTERM, every
    acknowledged request is in the log, and every logged event was shown (NDJSON).
    Returns the log."""
    body = dumps(EVENTS["daily"])
    last = ledger.note(listener.post(body, signed(body)))
    assert last.status == 200 and last.json()["verdict"] == "ok"
    listener.proc.send_signal(signal.SIGTERM)
    code, out, err = listener.finish(timeout=15)
    assert code == 0, err
    assert "Traceback" not in out + err and SECRET not in out + err
    records = log_records(home.data_dir)
    logged = [r["id"] for r in records]
    assert len(logged) == len(set(logged))
    assert set(ledger.acked) <= set(logged), "an acknowledged request is missing from the log"
    events = [json.loads(line) for line in out.splitlines()[1:]]
    assert all(e["kind"] == "event" for e in events)
    assert [e["id"] for e in events] == logged
    return records


def wait_gone(pid: int, attempts: int = 300, pause: float = 0.02) -> bool:
    """Poll until the process is gone, at most `attempts` times."""
    for _ in range(attempts):
        if not pid_alive(pid):
            return True
        time.sleep(pause)
    return not pid_alive(pid)


def released(port: int, attempts: int = 50) -> bool:
    """Poll until the port binds again, at most `attempts` times (a bound, not a timing)."""
    for _ in range(attempts):
        if port_bindable(port):
            return True
        time.sleep(0.02)
    return False


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    """Can a new listener bind this port (as terra does, with SO_REUSEADDR)?"""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def children_of(pid: int) -> list[int]:
    """Direct children of a process (Linux /proc)."""
    kids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            kids.append(int(entry))
    return kids


def reply_of(port: int, body: bytes, headers: dict[str, str]) -> Reply:
    return post(port, body, headers)


@pytest.fixture
def reap() -> Iterator[list[int]]:
    """Pids a test started indirectly (under a shell); any still alive at the end is
    killed, so a failing test leaves nothing running."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
