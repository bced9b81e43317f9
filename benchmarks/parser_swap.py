"""A prototype of the receiver with httptools (llhttp) doing the HTTP/1.1 parsing, measured
end to end against the receiver as it is, in interleaved rounds of the same run.

Both run the same event loop, the same `Receiver.deliver` (verify, log, answer in one
write) and the same event log; only the reading and parsing differ. The prototype
covers what the load sends (Content-Length bodies, keep-alive, pipelining); it is a
measurement, not a replacement: 413 refusal, 100-continue, 431 and the hand-written
parser's other answers are not carried over. Each receiver runs in its own process with
a no-op `emit` (no display thread), so the figures are the receiver's alone.

    pip install httptools
    python benchmarks/parser_swap.py [--requests 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.listener import SECRET, Figures, cpu_seconds, load, median, wait_port_file
from terra_cli.webhooks import receiver as rx
from terra_cli.webhooks.store import EventStore


class _Proto:
    """httptools callbacks for one connection: complete requests pile up in `done`."""

    def __init__(self, loop: _HttptoolsLoop) -> None:
        self.loop = loop
        self.url = b""
        self.headers: list[tuple[str, str]] = []
        self.parts: list[bytes] = []
        self.done: list[tuple[rx._Request, bytes]] = []
        self.parser: Any = None

    def on_message_begin(self) -> None:
        self.url, self.headers, self.parts = b"", [], []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.decode("latin-1"), value.decode("latin-1")))

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)

    def on_message_complete(self) -> None:
        lower: dict[str, str] = {}
        for name, value in self.headers:
            lower.setdefault(name.lower(), value)
        req = rx._Request(
            self.parser.get_method().decode("ascii"),
            self.url.decode("latin-1"),
            tuple(self.headers),
            lower,
            bool(self.parser.should_keep_alive()),
            self.loop.receiver.clock(),
        )
        self.done.append((req, b"".join(self.parts)))


class _HttptoolsLoop(rx._Loop):
    """The receiver's loop with reading and parsing handed to httptools."""

    def __init__(self, receiver: rx.Receiver, listener: Any) -> None:
        super().__init__(receiver, listener)
        self.protos: dict[int, _Proto] = {}

    def _read(self, conn: rx._Conn) -> None:
        import httptools

        try:
            data = conn.sock.recv(256 * 1024)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(conn, mid=False)
            return
        if not data:
            self.protos.pop(conn.sock.fileno(), None)
            self._drop(conn, mid=False)
            return
        conn.active = time.monotonic()
        proto = self.protos.get(conn.sock.fileno())
        if proto is None:
            proto = _Proto(self)
            proto.parser = httptools.HttpRequestParser(proto)
            self.protos[conn.sock.fileno()] = proto
        try:
            proto.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(conn, rx._response(400, rx._json({"error": "bad request"}), True), True)
            return
        done, proto.done = proto.done, []
        for req, body in done:
            conn.req = req
            self._dispatch(conn, body)


class _HttptoolsReceiver(rx.Receiver):
    def start(self, webhooks: bool = True) -> None:
        self._loop = _HttptoolsLoop(self, [(rx._bind(self.config.host, self.config.port), None)])
        self._thread = threading.Thread(target=self._loop.run, daemon=True)
        self._thread.start()


def serve(kind: str, port_file: str, log_dir: str) -> None:
    """Run one receiver until SIGTERM, its port written to `port_file`."""
    cls = _HttptoolsReceiver if kind == "httptools" else rx.Receiver
    store = EventStore(Path(log_dir))
    receiver = cls(rx.ReceiverConfig(port=0, secret=SECRET), store, lambda _d: None)
    receiver.start()
    Path(port_file).write_text(str(receiver.port))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    receiver.stop(0.5)
    store.close()


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--clients", type=int, default=2)
    args = parser.parse_args()
    import httptools  # noqa: F401 - fail early when it is missing

    labels = {"receiver (ours)": "ours", "httptools prototype": "httptools"}
    with tempfile.TemporaryDirectory(prefix="terra-parser-") as name:
        tmp = Path(name)
        procs: dict[str, tuple[subprocess.Popen[bytes], int, Path]] = {}
        for label, kind in labels.items():
            port_file, logs = tmp / f"{kind}.port", tmp / f"{kind}-log"
            proc = subprocess.Popen(
                [sys.executable, __file__, "--serve", kind, str(port_file), str(logs)]
            )
            procs[label] = (proc, wait_port_file(port_file), logs)
        figures: dict[str, list[Figures]] = {label: [] for label in labels}
        cpu = dict.fromkeys(labels, 0.0)
        try:
            for _proc, port, _logs in procs.values():
                load("warm-up", port, 200, 2, 1)
            for _ in range(args.rounds):
                for label, (proc, port, _logs) in procs.items():
                    before = cpu_seconds(proc.pid)
                    figures[label].append(
                        load(label, port, args.requests, args.connections, args.clients)
                    )
                    cpu[label] += cpu_seconds(proc.pid) - before
            logged = {
                label: sum(len(f.read_bytes().splitlines()) for f in logs.glob("*.jsonl"))
                for label, (_p, _port, logs) in procs.items()
            }
        finally:
            for proc, _port, _logs in procs.values():
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
    print(
        f"load: {args.rounds} interleaved rounds x {args.requests} signed activity events, "
        f"{args.connections} keep-alive connections from {args.clients} processes, "
        f"{os.cpu_count()} CPUs"
    )
    for label, rounds in figures.items():
        sent = sum(f.requests for f in rounds)
        print(
            f"{label:>20}: median {median([f.rate for f in rounds]):6.0f} events/s "
            f"(rounds: {', '.join(f'{f.rate:.0f}' for f in rounds)})  "
            f"p50 {median([f.p50_ms for f in rounds]):5.2f} ms  "
            f"p99 {median([f.p99_ms for f in rounds]):5.2f} ms  "
            f"all 200: {all(f.all_200 for f in rounds)}  logged {logged[label] - 200}/{sent}  "
            f"CPU {cpu[label] / sent * 1e6:.0f} us/event"
        )


if __name__ == "__main__":
    main()
