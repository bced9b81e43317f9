"""Fixtures for `terra listen`: an in-process receiver on port 0, and the installed CLI."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from terra_cli.webhooks.events import Delivery
from terra_cli.webhooks.receiver import Forwarder, Receiver, ReceiverConfig
from terra_cli.webhooks.store import EventStore
from tests.conftest import Home

SECRET = "whsec_test_0123456789abcdef"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def post(
    port: int,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    path: str = "/consumeTerraWebhook",
    method: str = "POST",
    host: str = "127.0.0.1",
) -> Reply:
    """One request on a fresh connection; the answer as bytes."""
    conn = http.client.HTTPConnection(host, port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


@dataclass
class Running:
    """A receiver serving in this process, with what it emitted and logged."""

    receiver: Receiver
    store: EventStore
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.receiver.port

    def post(self, body: bytes, headers: Mapping[str, str] | None = None, **kw: Any) -> Reply:
        return post(self.port, body, headers, **kw)

    def emitted(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """The deliveries emitted so far, once there are `count` (emit follows the answer)."""
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return list(self.deliveries)

    def records(self) -> list[dict[str, Any]]:
        return list(self.store.iter_records(newest_first=False))


StartReceiver = Callable[..., Running]


@pytest.fixture
def start_receiver(tmp_path: Path) -> Iterator[StartReceiver]:
    """Start receivers on port 0 (keyword args go to ReceiverConfig); all stopped after."""
    started: list[Running] = []

    def start(
        forwarder: Forwarder | None = None,
        clock: Callable[[], float] | None = None,
        save: bool = True,
        **config: Any,
    ) -> Running:
        config.setdefault("port", 0)
        store = EventStore(tmp_path / f"events-{len(started)}")
        running = Running(receiver=None, store=store)  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        if clock is not None:
            kwargs["clock"] = clock
        running.receiver = Receiver(
            ReceiverConfig(**config),
            store if save else None,
            running.deliveries.append,
            forwarder,
            **kwargs,
        )
        running.receiver.start()
        started.append(running)
        return running

    yield start
    for running in started:
        running.receiver.stop(grace=0.2)
        running.store.close()


@dataclass
class Listener:
    """A `terra listen` subprocess, ready to take requests."""

    proc: subprocess.Popen[str]
    ready: dict[str, Any]
    out_head: str = ""  # what was read of stdout before finish()
    err_head: str = ""  # what was read of stderr before finish()

    @property
    def port(self) -> int:
        return int(self.ready["port"])

    def post(self, body: bytes, headers: Mapping[str, str] | None = None, **kw: Any) -> Reply:
        return post(self.port, body, headers, **kw)

    def finish(self, timeout: float = 10) -> tuple[int, str, str]:
        """Wait for the process to end by itself; its exit code, stdout and stderr."""
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, self.out_head + out, self.err_head + err


def _first_line(stream: Any, proc: subprocess.Popen[str], timeout: float) -> str:
    """One line read byte by byte from the pipe's descriptor, so nothing is left buffered
    in the file object (communicate() later reads the descriptor directly)."""
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    data = bytearray()
    try:
        while not data.endswith(b"\n"):
            byte = os.read(stream.fileno(), 1)
            if not byte:
                break
            data += byte
    finally:
        timer.cancel()
    return data.decode()


def start_listener(home: Home, *args: str, env: Mapping[str, str] | None = None) -> Listener:
    """`terra listen --no-tunnel --port 0 --json ARGS`, after its ready record."""
    proc = home.popen("listen", "--no-tunnel", "--port", "0", "--json", *args, env=env)
    line = _first_line(proc.stdout, proc, 15)
    if not line:
        _, err = proc.communicate(timeout=5)
        raise AssertionError(f"terra listen did not start: {err}")
    ready = json.loads(line)
    assert ready["kind"] == "ready"
    return Listener(proc, ready, out_head=line)


def start_plain_listener(
    home: Home, *args: str, env: Mapping[str, str] | None = None
) -> tuple[Listener, list[str]]:
    """`terra listen --no-tunnel --port 0 ARGS` (human output); port read from the banner."""
    proc = home.popen("listen", "--no-tunnel", "--port", "0", *args, env=env)
    banner: list[str] = []
    while True:
        line = _first_line(proc.stderr, proc, 15)
        if not line:
            raise AssertionError(f"terra listen did not start: {''.join(banner)}")
        banner.append(line)
        if "Local URL:" in line:
            url = line.split("Local URL:", 1)[1].strip()
            break
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    return Listener(proc, {"port": port, "url": url}, err_head="".join(banner)), banner
