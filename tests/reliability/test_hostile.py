"""Hostile input against the installed `terra listen --no-tunnel`.

Each test throws one kind of odd or abusive request at a real listener, then
checks (`finish_sound`) that it still answers a signed event, stops cleanly,
and that every request it acknowledged is in the event log and was shown.
The receiver's own unit tests (tests/listen/test_receiver.py) cover the same
parsing in-process; these go through the command users run.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import subprocess
import threading
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import BIN, Home
from tests.listen.conftest import Listener, _first_line, post, start_listener
from tests.listen.payloads import EVENTS, dumps
from tests.reliability.conftest import (
    ENV,
    Ledger,
    finish_sound,
    ids_in,
    log_records,
    raw_exchange,
    signature,
    signed,
    status_of,
)


def head(port_path: str, *lines: str) -> bytes:
    return (
        "\r\n".join([f"POST {port_path} HTTP/1.1", "Host: 127.0.0.1", *lines]) + "\r\n\r\n"
    ).encode()


def test_invalid_json_is_an_event_judged_on_its_bytes(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    broken = b'{"type": "activity", "data": [{"metadata": '
    reply = ledger.note(listener.post(broken, signed(broken)))
    assert reply.status == 200 and reply.json()["verdict"] == "ok"
    unsigned = ledger.note(listener.post(b"\x7b\x7d\x7d not json"))
    assert unsigned.status == 200 and unsigned.json()["verdict"] == "unsigned"
    records = finish_sound(home, listener, ledger)
    assert records[0]["body"].encode() == broken
    assert records[1]["body"] == "{}} not json"


def test_empty_bodies_with_and_without_content_length(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    with_length = raw_exchange(listener.port, head("/a", "Content-Length: 0", "Connection: close"))
    without = raw_exchange(listener.port, head("/b", "Connection: close"))
    for answer in (with_length, without):
        assert status_of(answer) == 200
        ledger.acked += ids_in(answer)
    records = finish_sound(home, listener, ledger)
    assert [(r["path"], r["body"], r["size"], r["verdict"]) for r in records[:2]] == [
        ("/a", "", 0, "unsigned"),
        ("/b", "", 0, "unsigned"),
    ]


def test_body_without_content_length_is_not_taken_as_a_request(home: Home) -> None:
    """HTTP/1.1: no Content-Length and no chunking means no body. The POST is an empty
    event; the stray bytes behind it never become a request, and the client that
    gives up on them is counted as dropped."""
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    answer = raw_exchange(listener.port, head("/x") + dumps(EVENTS["sleep"]), half_close=True)
    assert status_of(answer) == 200
    ledger.acked += ids_in(answer)
    assert len(ids_in(answer)) == 1
    records = finish_sound(home, listener, ledger)
    assert len(records) == 2 and records[0]["body"] == ""


def test_content_length_shorter_than_the_body(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    answer = raw_exchange(
        listener.port,
        head("/short", "Content-Length: 7", "Connection: close") + b'{"a":1}{"b":2}{"c":3}',
    )
    assert status_of(answer) == 200
    ledger.acked += ids_in(answer)
    records = finish_sound(home, listener, ledger)
    assert records[0]["body"] == '{"a":1}' and records[0]["size"] == 7
    assert len(records) == 2  # the bytes past Content-Length were not an event


def test_content_length_longer_than_the_body(home: Home) -> None:
    """The client announces 500 bytes, sends 20 and stops sending: nothing is
    acknowledged, nothing logged, and the request counts as dropped."""
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    answer = raw_exchange(
        listener.port, head("/long", "Content-Length: 500") + b'{"type":"sleep","x":', True
    )
    assert not ids_in(answer)
    assert status_of(answer) not in range(200, 300)
    records = finish_sound(home, listener, ledger)
    assert [r["path"] for r in records] == ["/consumeTerraWebhook"]


@pytest.mark.parametrize(
    "bad", ["Content-Length: abc", "Content-Length: 5, 6", "Content-Length: -1"]
)
def test_invalid_content_length_is_400(home: Home, bad: str) -> None:
    listener = start_listener(home, env=ENV)
    answer = raw_exchange(listener.port, head("/bad", bad) + b"hello")
    assert status_of(answer) == 400
    records = finish_sound(home, listener, Ledger())
    assert len(records) == 1


def test_chunked_transfer_encoding_is_reassembled_and_verified(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    body = dumps(EVENTS["activity"])
    pieces = [body[:1], body[1:100], body[100:101], body[101:]]
    chunked = b"".join(b"%x;note=x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    message = (
        head(
            "/chunked",
            "Transfer-Encoding: chunked",
            f"terra-signature: {signature(body)}",
            "Connection: close",
        )
        + chunked
    )
    # Sent in small slices, so the chunk framing arrives split at awkward places.
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as s:
        for i in range(0, len(message), 37):
            s.sendall(message[i : i + 37])
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    assert status_of(answer) == 200
    assert b'"verdict": "ok"' in answer
    ledger.acked += ids_in(answer)
    records = finish_sound(home, listener, ledger)
    assert records[0]["body"].encode() == body and records[0]["size"] == len(body)
    assert records[0]["headers"]["transfer-encoding"] == "chunked"


def test_gzip_is_stored_raw_verified_raw_and_decoded_for_display(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    plain = dumps(EVENTS["activity"])
    packed = gzip.compress(plain)
    reply = ledger.note(listener.post(packed, signed(packed, **{"Content-Encoding": "gzip"})))
    assert reply.status == 200 and reply.json()["verdict"] == "ok"
    # A signature computed over the decoded JSON does not match the bytes received.
    wrong = ledger.note(
        listener.post(packed, {"terra-signature": signature(plain), "Content-Encoding": "gzip"})
    )
    assert wrong.json()["verdict"] == "bad"
    records = finish_sound(home, listener, ledger)
    assert base64.b64decode(records[0]["body_b64"]) == packed
    assert "body" not in records[0]
    assert records[0]["headers"]["content-encoding"] == "gzip"
    assert records[0]["size"] == len(packed)


def test_gzip_event_is_summarised_from_the_decoded_json(home: Home) -> None:
    listener = start_listener(home, "--max-events", "1", env=ENV)
    packed = gzip.compress(dumps(EVENTS["activity"]))
    assert listener.post(packed, signed(packed, **{"Content-Encoding": "gzip"})).status == 200
    code, out, _err = listener.finish()
    assert code == 0
    event = json.loads(out.splitlines()[1])
    assert event["type"] == "activity" and event["records"] == 2
    assert event["size"] == len(packed)
    assert event["summary"] == "2 activity records, 2026-11-01 to 2026-11-03"


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def test_a_gzip_bomb_is_logged_raw_and_not_decoded_past_the_cap(home: Home) -> None:
    """A few hundred KB of gzip that inflate to 320 MiB: acknowledged and logged
    byte-exact, shown as undecodable, and the display's decoding stops at its cap
    (bound: the peak grows less than 200 MiB over the idle peak; with a 256 MiB cap
    it grew by over 500 MiB)."""
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    idle = _peak_rss_mib(listener.proc.pid)
    packer = zlib.compressobj(1, zlib.DEFLATED, 31)
    bomb = b"".join(packer.compress(b"\0" * (64 * 1024 * 1024)) for _ in range(5))
    bomb += packer.flush()
    reply = ledger.note(listener.post(bomb, signed(bomb, **{"Content-Encoding": "gzip"})))
    assert reply.status == 200 and reply.json()["verdict"] == "ok"
    shown = _first_line(listener.proc.stdout, listener.proc, 30)  # summarised by now
    listener.out_head += shown
    event = json.loads(shown)
    assert event["summary"] == "gzip-encoded body that could not be decoded"
    assert _peak_rss_mib(listener.proc.pid) - idle < 200
    records = finish_sound(home, listener, ledger)
    assert base64.b64decode(records[0]["body_b64"]) == bomb


def test_binary_and_non_utf8_bodies_are_kept_exactly(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    bodies = [
        os.urandom(4096),
        bytes(range(256)) * 4,
        '{"type":"sleep","note":"café"}'.encode("latin-1"),
        b"\xff\xfe" + '{"type":"sleep"}'.encode("utf-16-le"),
        b'{"type":"sleep","bad":"\xed\xa0\x80"}',  # a lone surrogate: not UTF-8
        b"\x00" * 100,
    ]
    for body in bodies:
        reply = ledger.note(listener.post(body, signed(body)))
        assert reply.status == 200 and reply.json()["verdict"] == "ok"
    records = finish_sound(home, listener, ledger)
    for record, body in zip(records, bodies, strict=False):
        kept = base64.b64decode(record["body_b64"]) if "body_b64" in record else None
        if kept is None:
            kept = record["body"].encode()
        assert kept == body


def test_a_100_kb_header_gets_431_and_is_not_an_event(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    big = head("/big", "X-Padding: " + "p" * 100_000, "Content-Length: 2") + b"{}"
    assert status_of(raw_exchange(listener.port, big)) == 431
    many = head("/many", *(f"X-H{i}: v" for i in range(2000)), "Content-Length: 2") + b"{}"
    assert status_of(raw_exchange(listener.port, many)) == 431
    # A large but sane header (20 KB of Terra-ish metadata) is fine.
    body = dumps(EVENTS["sleep"])
    reply = ledger.note(listener.post(body, signed(body, **{"X-Trace-Context": "t" * 20_000})))
    assert reply.status == 200
    records = finish_sound(home, listener, ledger)
    assert [r["path"] for r in records] == ["/consumeTerraWebhook"] * 2


def test_bodies_over_the_limit_get_413_and_are_logged_as_refused(home: Home) -> None:
    listener = start_listener(home, "--max-body", "1", env=ENV)
    ledger = Ledger()
    size = 3 * 1024 * 1024
    # Announced: refused before it is read; the client still reads the 413, not a reset.
    answer = raw_exchange(
        listener.port, head("/announced", f"Content-Length: {size}") + b"x" * size
    )
    assert status_of(answer) == 413
    # Chunked: refused once the chunks pass the limit.
    chunk = b"y" * 65536
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(size // len(chunk)))
    answer = raw_exchange(
        listener.port, head("/chunked", "Transfer-Encoding: chunked") + chunked + b"0\r\n\r\n"
    )
    assert status_of(answer) == 413
    records = finish_sound(home, listener, ledger)
    refused = records[:2]
    assert [(r["path"], r["status"], r["body"]) for r in refused] == [
        ("/announced", 413, None),
        ("/chunked", 413, None),
    ]
    assert refused[0]["size"] == size


def test_a_client_sending_one_byte_per_second_holds_no_one_else(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    slow_body = b'{"type":"sleep"}'
    message = head("/slow", f"Content-Length: {len(slow_body)}") + slow_body
    progress = {"sent": 0}
    answer: dict[str, bytes] = {}
    first_byte = threading.Event()

    def trickle() -> None:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as s:
            s.sendall(message[: -len(slow_body)])  # the head at once, then the body
            for i in range(len(slow_body)):
                s.sendall(slow_body[i : i + 1])
                progress["sent"] = i + 1
                first_byte.set()
                time.sleep(1.0)
                if i == 3:
                    break  # four bytes at 1/s is enough to prove the point; finish now
            s.sendall(slow_body[progress["sent"] :])
            progress["sent"] = len(slow_body)
            answer["raw"] = s.recv(65536)

    slow = threading.Thread(target=trickle)
    slow.start()
    assert first_byte.wait(10)
    others = []
    for i in range(30):
        body = dumps({"type": "daily", "n": i})
        others.append(ledger.note(post(listener.port, body, signed(body))))
    # All thirty were answered while the slow request was still arriving.
    assert progress["sent"] < len(slow_body)
    assert [r.status for r in others] == [200] * 30
    slow.join(30)
    assert status_of(answer["raw"]) == 200
    ledger.acked += ids_in(answer["raw"])
    records = finish_sound(home, listener, ledger)
    slow_record = next(r for r in records if r["path"] == "/slow")
    assert slow_record["body"].encode() == slow_body
    # The slow request is logged when it completed, after the fast ones.
    assert records.index(slow_record) == 30


def test_500_connections_at_once(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    ledger = Ledger()
    socks = [socket.create_connection(("127.0.0.1", listener.port), timeout=30) for _ in range(500)]
    try:
        bodies = [dumps({"type": "daily", "n": i}) for i in range(500)]
        for s, body in zip(socks, bodies, strict=True):
            s.sendall(
                head("/c", f"Content-Length: {len(body)}", f"terra-signature: {signature(body)}")
                + body
            )
        answers = []
        for s in socks:
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"\n"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            answers.append(data)
    finally:
        for s in socks:
            s.close()
    assert [status_of(a) for a in answers] == [200] * 500
    for a in answers:
        ledger.acked += ids_in(a)
    records = finish_sound(home, listener, ledger)
    assert len(records) == 501
    assert sorted(json.loads(r["body"])["n"] for r in records[:-1]) == list(range(500))
    assert all(r["verdict"] == "ok" for r in records)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("lines", [1, 40])
def test_stdout_closed_under_load_ends_cleanly(home: Home, lines: int) -> None:
    """`terra listen --json | head -N` while senders keep posting: terra ends by itself,
    exit 0, no traceback, and everything it acknowledged is in the log."""
    port = _free_port()
    env = dict(home.env, PATH=f"{BIN}:{home.env.get('PATH', '')}", **ENV)
    shell = subprocess.Popen(
        ["bash", "-c", f"terra listen --no-tunnel --port {port} --json | head -n {lines}; "
         "echo \"rc=${PIPESTATUS[0]}\" >&2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    ledger = Ledger()
    lock = threading.Lock()
    stop = threading.Event()

    def sender(k: int) -> None:
        n = 0
        while not stop.is_set() and n < 2000:
            body = dumps({"type": "daily", "k": k, "n": n})
            n += 1
            try:
                reply = post(port, body, signed(body))
            except OSError:
                time.sleep(0.01)  # not listening yet, or already gone
                continue
            with lock:
                ledger.note(reply)

    senders = [threading.Thread(target=sender, args=(k,)) for k in range(4)]
    for t in senders:
        t.start()
    try:
        out, err = shell.communicate(timeout=60)
    finally:
        stop.set()
        for t in senders:
            t.join(30)
    text = err.decode()
    assert "rc=0" in text, text
    assert "Traceback" not in text and "Error" not in text
    assert "stdout closed" in text
    shown = out.decode().splitlines()
    assert len(shown) == lines and json.loads(shown[0])["kind"] == "ready"
    logged = {r["id"] for r in log_records(home.data_dir)}
    assert set(ledger.acked) <= logged
    if lines > 1:
        assert len(ledger.acked) >= lines - 1  # it stopped under load, not before it


def test_more_connections_than_file_descriptors(home: Home) -> None:
    """With `ulimit -n 128`, 200 connections at once: terra keeps descriptors in reserve
    for its event log and leaves the excess in the kernel's backlog, so every request
    is answered and logged (it used to answer 500 and exit 9: the log could not be
    opened)."""
    proc = subprocess.Popen(
        ["bash", "-c", "ulimit -n 128; exec terra listen --no-tunnel --port 0 --json"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**home.env, **ENV, "PATH": f"{BIN}:{home.env.get('PATH', '')}"},
    )  # fmt: skip
    line = _first_line(proc.stdout, proc, 15)
    listener = Listener(proc, json.loads(line), out_head=line)
    ledger = Ledger()
    socks = [socket.create_connection(("127.0.0.1", listener.port), timeout=30) for _ in range(200)]
    try:
        for i, s in enumerate(socks):
            body = dumps({"type": "daily", "n": i})
            s.sendall(
                head(
                    "/flood",
                    f"Content-Length: {len(body)}",
                    f"terra-signature: {signature(body)}",
                    "Connection: close",
                )
                + body
            )
        answers = []
        for s in socks:
            data = b""
            while chunk := s.recv(4096):
                data += chunk
            answers.append(data)
    finally:
        for s in socks:
            s.close()
    assert [status_of(a) for a in answers] == [200] * 200
    for a in answers:
        ledger.acked += ids_in(a)
    records = finish_sound(home, listener, ledger)
    assert len(records) == 201
