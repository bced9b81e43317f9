"""Fixtures for `terra mock`: the installed CLI on 127.0.0.1:0, and a client for it."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from tests.conftest import _CLEARED, Home
from tests.listen.conftest import _first_line

DEV = "mock-dev"
KEY = "mock-key"
AUTH = {"dev-id": DEV, "x-api-key": KEY}


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    base: str,
    method: str,
    path: str,
    query: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    raw: bytes | None = None,
) -> Reply:
    """One request on a fresh connection (`body` sent as JSON, `raw` as given)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=15)
    target = path + ("?" + urlencode(query) if query else "")
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = dict(headers or {})
    if payload is not None and raw is None:
        sent.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, target, body=payload, headers=sent)
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@dataclass
class Mock:
    """A running `terra mock --json` with the records it printed so far."""

    proc: Any
    ready: dict[str, Any]
    records: list[dict[str, Any]] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    def call(self, method: str, path: str, **kw: Any) -> Reply:
        return call(self.url, method, path, **kw)

    def rest(self, method: str, path: str, prefix: str = "/v2", **kw: Any) -> Reply:
        """An authenticated REST call under `prefix`."""
        kw.setdefault("headers", AUTH)
        return call(self.url, method, prefix + path, **kw)

    def connect(self, provider: str = "GARMIN", reference_id: str | None = "app-user-1") -> str:
        """Open a widget session and connect `provider` as a script would; the new user id."""
        body = {"reference_id": reference_id} if reference_id else {}
        body["auth_success_redirect_url"] = "https://app.example/done?from=terra"
        session = self.call("POST", "/api/widget/session", headers=AUTH, body=body).json()
        reply = call(self.url, "GET", urlsplit(session["url"]).path, query={"provider": provider})
        assert reply.status == 302, reply.body
        location = reply.headers["location"]
        query = dict(p.split("=", 1) for p in urlsplit(location).query.split("&"))
        return query["user_id"]

    def wait_records(self, kind: str, n: int, timeout: float = 10) -> list[dict[str, Any]]:
        """Block until `n` records of `kind` were printed."""
        deadline = time.monotonic() + timeout
        while True:
            found = [r for r in list(self.records) if r.get("kind") == kind]
            if len(found) >= n or time.monotonic() > deadline:
                return found
            time.sleep(0.01)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 10) -> tuple[int, str]:
        """Signal the mock; its exit code and stderr (secrets checked as everywhere)."""
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=timeout)
        if self.reader is not None:
            self.reader.join(timeout=5)
        err = self.proc.stderr.read()
        out = "\n".join(json.dumps(r) for r in self.records)
        leaked = sorted(v for v in self.proc.secrets if v in out + err)
        assert not leaked, "secret value leaked in terra mock output"
        return code, err


def start_mock(home: Home, *args: str, env: Mapping[str, str] | None = None) -> Mock:
    """`terra mock --port 0 --json ARGS`, after its ready record; stdout read in a thread."""
    proc = home.popen("mock", "--port", "0", "--json", *args, env=env)
    line = _first_line(proc.stdout, proc, 15)
    if not line:
        _, err = proc.communicate(timeout=5)
        raise AssertionError(f"terra mock did not start: {err}")
    ready = json.loads(line)
    mock = Mock(proc, ready)

    stdout = proc.stdout
    assert stdout is not None

    def read() -> None:
        for text in stdout:
            if text.strip():
                mock.records.append(json.loads(text))

    mock.reader = threading.Thread(target=read, daemon=True)
    mock.reader.start()
    return mock


@pytest.fixture
def mocks(home: Home) -> Iterator[list[Mock]]:
    """Mocks started in a test are stopped after it, whatever happened."""
    started: list[Mock] = []
    yield started
    for mock in started:
        if mock.proc.poll() is None:
            mock.proc.kill()
            mock.proc.wait(timeout=5)


@pytest.fixture
def mock(home: Home, mocks: list[Mock]) -> Mock:
    """A mock with the default credentials and no webhook."""
    started = start_mock(home)
    mocks.append(started)
    return started


def make_home(root: Path) -> Home:
    """An isolated user like the `home` fixture's, for fixtures wider than one test."""
    root.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(
        HOME=str(root),
        XDG_CONFIG_HOME=str(root / ".config"),
        XDG_DATA_HOME=str(root / ".local/share"),
        TERRA_CONFIG_DIR=str(root / "config"),
        TERRA_DATA_DIR=str(root / "data"),
        PYTHONUNBUFFERED="1",
        COLUMNS="100",
    )
    return Home(root, root / "config", root / "data", env)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mock]:
    """One mock (default credentials, no webhook) for a module's read-mostly tests."""
    started = start_mock(make_home(tmp_path_factory.mktemp("mock-home")))
    yield started
    code, _ = started.stop()
    assert code == 0
