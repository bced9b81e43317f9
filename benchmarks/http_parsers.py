"""Parse cost of the receiver's own HTTP/1.1 code against httptools (llhttp) and h11.

The same bytes go through each parser in the same run: head and framing only,
the body handed over as bytes, as the receiver needs it. Cases: a typical Terra
delivery (11 headers, ~2 KB JSON), ten of them pipelined in one buffer, a 30 MB
body, a 2 MB chunked body in 64 KB chunks, and the 30 MB body arriving in the
256 KB reads the receiver makes. The receiver's parser is driven through its
own methods (`_Loop._parse_head`, `_parse_chunks`) on a bare connection object,
so nothing else of the receiver runs.

httptools and h11 are optional here (the dev extra does not need them):
    pip install httptools h11
    python benchmarks/http_parsers.py [--repeat 3000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from terra_cli.webhooks import receiver as rx

HEADERS = [
    ("Host", "abc123.ngrok-free.app"),
    ("User-Agent", "Terra-Webhooks/2.0"),
    ("Content-Type", "application/json"),
    ("X-Terra-Signature", "t=1796162531,v1=" + "ab" * 32),
    ("Terra-Signature", "t=1796162531,v1=" + "ab" * 32),
    ("Terra-Reference", "6930584a-3054-4197-8b3e-ba21a367ff9b"),
    ("X-Terra-Trace-Id", "1d69d322-d988-41ee-b6b0-5ce9df921a67"),
    ("X-Terra-Ordering-Timestamp", "1796162179000"),
    ("X-Forwarded-For", "203.0.113.7"),
    ("X-Forwarded-Proto", "https"),
    ("Accept-Encoding", "gzip"),
]


def request(body: bytes, chunked: int = 0) -> bytes:
    head = "POST /consumeTerraWebhook HTTP/1.1\r\n" + "".join(f"{n}: {v}\r\n" for n, v in HEADERS)
    if not chunked:
        return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    out = bytearray((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
    for i in range(0, len(body), chunked):
        piece = body[i : i + chunked]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


def typical_body(size: int = 2000) -> bytes:
    doc = {"type": "activity", "user": {"user_id": "u", "provider": "GARMIN"}, "data": []}
    text = json.dumps(doc)
    return (text[:-2] + '"' + "x" * (size - len(text) - 3) + '"]}').encode()


# -- the receiver's own parser ----------------------------------------------------------


class _Stub:
    """What `_Loop._parse_head` / `_parse_chunks` touch: config, clock, dispatch, send."""

    def __init__(self) -> None:
        self.config = rx.ReceiverConfig(max_body=200 * rx.MIB)
        self.receiver = self
        self.clock = time.time
        self.bodies: list[bytes] = []

    def _dispatch(self, conn: Any, body: bytes) -> None:
        conn.req, conn.state = None, rx._HEAD
        self.bodies.append(body)

    def _send(self, conn: Any, data: bytes, close: bool) -> None:
        pass


_STUB = _Stub()


def ours(data: bytes, reads: int = 0) -> list[bytes]:
    """Every body in `data`, parsed the way the receiver's loop does it."""
    stub = _STUB
    stub.bodies = []
    conn = rx._Conn(None, 0.0, None, rx.DEFAULT_MAX_BODY)  # type: ignore[arg-type]
    pieces = [data] if not reads else [data[i : i + reads] for i in range(0, len(data), reads)]
    for piece in pieces:
        if conn.state == rx._BODY and conn.body is not None:
            take = min(len(piece), len(conn.body) - conn.got)
            conn.body[conn.got : conn.got + take] = piece[:take]
            conn.got += take
            conn.buf += piece[take:]
        else:
            conn.buf += piece
        while True:
            head = conn.state == rx._HEAD
            if head and (not conn.buf or not rx._Loop._parse_head(stub, conn)):  # type: ignore[arg-type]
                break
            if conn.state == rx._BODY:
                assert conn.body is not None
                if conn.got < len(conn.body):
                    break
                body, conn.body = bytes(conn.body), None
                stub._dispatch(conn, body)
            elif conn.state == rx._CHUNKED:
                got = rx._Loop._parse_chunks(stub, conn)  # type: ignore[arg-type]
                if got is None:
                    break
                stub._dispatch(conn, got)
    return stub.bodies


# -- httptools ----------------------------------------------------------------------------


class _Protocol:
    """httptools' callbacks: collect the head and the body of each request."""

    def __init__(self, bodies: list[bytes]) -> None:
        self.bodies = bodies
        self.headers: list[tuple[bytes, bytes]] = []
        self.parts: list[bytes] = []
        self.url = b""

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_body(self, body: bytes) -> None:
        self.parts.append(body)

    def on_message_complete(self) -> None:
        self.bodies.append(b"".join(self.parts))
        self.parts, self.headers, self.url = [], [], b""


def with_httptools(data: bytes, reads: int = 0) -> list[bytes]:
    import httptools

    bodies: list[bytes] = []
    parser = httptools.HttpRequestParser(_Protocol(bodies))
    if not reads:
        parser.feed_data(data)
    else:
        for i in range(0, len(data), reads):
            parser.feed_data(data[i : i + reads])
    return bodies


# -- h11 ----------------------------------------------------------------------------------


def with_h11(data: bytes, reads: int = 0) -> list[bytes]:
    import h11

    bodies: list[bytes] = []
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    parts: list[bytes] = []
    pieces = [data] if not reads else [data[i : i + reads] for i in range(0, len(data), reads)]
    for piece in pieces:
        conn.receive_data(piece)
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                break
            if isinstance(event, h11.Data):
                parts.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                bodies.append(b"".join(parts))
                parts = []
                # A server answers before reading the next request; here: start the next cycle.
                conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
                conn.send(h11.EndOfMessage())
                conn.start_next_cycle()
    return bodies


PARSERS: dict[str, Callable[[bytes, int], list[bytes]]] = {
    "receiver (ours)": ours,
    "httptools": with_httptools,
    "h11": with_h11,
}


def timed(fn: Callable[[bytes, int], list[bytes]], data: bytes, reads: int, repeat: int) -> float:
    """Best-of-3 seconds per call."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _ in range(repeat):
            fn(data, reads)
        best = min(best, (time.perf_counter() - started) / repeat)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3000)
    args = parser.parse_args()
    typical = typical_body()
    big = typical_body(30 * 1024 * 1024)
    mid = typical_body(2 * 1024 * 1024)
    cases = [
        ("typical delivery (2 KB)", request(typical), 0, 1, args.repeat),
        ("10 pipelined deliveries", request(typical) * 10, 0, 10, args.repeat // 10),
        ("30 MB body, one buffer", request(big), 0, 1, 5),
        ("30 MB body, 256 KB reads", request(big), 256 * 1024, 1, 5),
        ("2 MB chunked (64 KB chunks)", request(mid, chunked=64 * 1024), 0, 1, 20),
    ]
    available = {}
    for name, fn in PARSERS.items():
        try:
            fn(request(typical), 0)
            available[name] = fn
        except ImportError:
            print(f"{name}: not installed (pip install {name}), skipped")
    print(f"{'case':<30}" + "".join(f"{name:>18}" for name in available))
    for label, data, reads, count, repeat in cases:
        cells = []
        for fn in available.values():
            bodies = fn(data, reads)
            assert len(bodies) == count, (label, len(bodies))
            seconds = timed(fn, data, reads, max(1, repeat))
            per = seconds / count
            cells.append(f"{per * 1e6:12.1f} us/req" if per < 0.01 else f"{per * 1e3:12.1f} ms/req")
        print(f"{label:<30}" + "".join(f"{c:>18}" for c in cells))


if __name__ == "__main__":
    main()
