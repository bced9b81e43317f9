"""Fixtures for the tunnel: the fake agent installed as an executable, its records, an upstream."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from terra_cli.tunnel import TunnelTuning

FAKE_SOURCE = Path(__file__).resolve().parent.parent / "fakes" / "fake_ngrok.py"

# Short waits so failure paths finish in a second or two; behaviour is unchanged.
FAST = TunnelTuning(start_timeout=2.0, check_interval=0.1, retries=3, backoff=0.05)


def install_fake(dest: Path) -> Path:
    """Copy the fake agent to `dest` as an executable run by this interpreter."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    body = FAKE_SOURCE.read_text().split("\n", 1)[1]
    dest.write_text(f"#!{sys.executable}\n{body}")
    dest.chmod(0o755)
    return dest


def fake_archive() -> bytes:
    """A .tgz laid out like ngrok's download: one `ngrok` executable at the top."""
    script = FAKE_SOURCE.read_text().split("\n", 1)[1]
    data = f"#!{sys.executable}\n{script}".encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        info = tarfile.TarInfo("ngrok")
        info.size = len(data)
        info.mode = 0o755
        tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def user_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME with no ngrok installed, so the default agent location is inside tmp_path."""
    root = tmp_path / "user"
    root.mkdir()
    monkeypatch.setenv("HOME", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / ".config"))
    return root


def pid_alive(pid: int) -> bool:
    """True while a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_until(check: Any, timeout: float = 10.0) -> bool:
    """Poll `check()` until true or the timeout passes (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return bool(check())


@dataclass
class Records:
    """What each fake agent start wrote: argv, token seen, API requests, pid."""

    folder: Path

    def starts(self) -> list[dict[str, Any]]:
        out = []
        for path in sorted(self.folder.glob("*.json")):
            with contextlib.suppress(ValueError, OSError):
                out.append(json.loads(path.read_text()))
        return out

    def pids(self) -> list[int]:
        return [int(s["pid"]) for s in self.starts()]

    def alive(self) -> list[int]:
        return [pid for pid in self.pids() if pid_alive(pid)]

    def kill_all(self) -> None:
        for pid in self.alive():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Records]:
    """FAKE_NGROK_RECORD set for agents started by this process (and its children)."""
    folder = tmp_path / "agent-records"
    folder.mkdir()
    monkeypatch.setenv("FAKE_NGROK_RECORD", str(folder))
    rec = Records(folder)
    yield rec
    rec.kill_all()


@pytest.fixture
def fake_agent(tmp_path: Path) -> Path:
    return install_fake(tmp_path / "bin" / "ngrok")


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Upstream:
    """A real local HTTP server standing in for the webhook receiver."""

    port: int
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    state = Upstream(0)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.seen.append(
                Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            reply = b'{"ok":true}'
            self.send_response(202)
            self.send_header("X-Receiver", "yes")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        do_GET = do_POST = do_PUT = do_DELETE = _any

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class FileServer:
    """A local HTTP server that serves one payload (the agent archive)."""

    url: str
    hits: list[str]


@pytest.fixture
def archive_server() -> Iterator[FileServer]:
    payload = fake_archive()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path.endswith("/missing.tgz"):
                self.send_error(404)
                return
            data = b"<html>not an archive</html>" if "html" in self.path else payload
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield FileServer(f"http://127.0.0.1:{server.server_address[1]}", hits)
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
