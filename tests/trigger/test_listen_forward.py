"""`terra listen --forward-to`: a real listener forwarding to a real local app server."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.listen.conftest import post, start_listener
from tests.trigger.conftest import SECRET, independent_sign, independent_verify

ENV = {"TERRA_SIGNING_SECRET": SECRET}
BODY = b'{"type": "daily", "data": [{"note": "caf\xc3\xa9"}], "user": {"user_id": "u-1"}}'
DROPPED = {"host", "content-length", "connection", "keep-alive", "te", "x-per-hop"}


def _log(home: Home) -> list[dict[str, Any]]:
    files = sorted((home.data_dir / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_bytes().splitlines()]


@pytest.mark.parametrize("status", [200, 201, 500])
def test_bytes_and_headers_reach_the_app_and_its_status_comes_back(home: Home, status: int) -> None:
    with capture_server(status=status) as app:
        app.answer = b'{"from": "app"}'
        listener = start_listener(home, "--forward-to", app.url, "--max-events", "1", env=ENV)
        sent = {
            "terra-signature": independent_sign(BODY),
            "Content-Type": "application/json",
            "terra-reference": "ref-77",
            "X-Terra-Trace-Id": "trace-1",
            "X-Mixed-Case": "Value With  Spaces",
            "Connection": "keep-alive, X-Per-Hop",
            "X-Per-Hop": "must not cross",
            "TE": "trailers",
        }
        started = time.perf_counter()
        reply = post(listener.port, BODY, sent)
        elapsed_ms = (time.perf_counter() - started) * 1000
        code, out, err = listener.finish()
        (got,) = app.wait_for(1)

    # The sender gets the app's answer back unchanged.
    assert reply.status == status
    assert reply.body == b'{"from": "app"}'
    # The app gets the exact bytes, and every end-to-end header in order.
    assert got.body == BODY
    assert got.path == "/hooks/terra" and got.method == "POST"
    (record,) = _log(home)
    expected = [(k, v) for k, v in record["headers"].items() if k not in DROPPED]
    received = [(k.lower(), v) for k, v in got.headers if k.lower() not in DROPPED]
    assert received == expected
    assert ("x-mixed-case", "Value With  Spaces") in received
    assert ("X-Mixed-Case", "Value With  Spaces") in got.headers  # name case kept too
    assert got.header("x-per-hop") is None and got.header("te") is None
    assert independent_verify(got.header("terra-signature") or "", got.body, SECRET)[1]
    # The forward result is in the log and on the event line.
    assert record["status"] == status
    assert record["forward"]["url"] == app.url
    assert record["forward"]["status"] == status and record["forward"]["error"] is None
    assert 0 < record["forward"]["latency_ms"] <= elapsed_ms
    event = json.loads(out.splitlines()[1])
    assert event["forward"]["status"] == status and event["status"] == status
    assert code == 0
    assert SECRET not in out + err


def test_trigger_through_listen_reaches_the_app_still_validly_signed(home: Home) -> None:
    with capture_server(status=202) as app:
        listener = start_listener(home, "--forward-to", app.url, "--max-events", "1", env=ENV)
        r = home.run("trigger", "sleep", "--to", listener.ready["url"], env=ENV)
        code, out, _ = listener.finish()
        (got,) = app.wait_for(1)
    assert r.code == 0, r.stderr  # 202 from the app, passed back through the listener
    assert independent_verify(got.header("terra-signature") or "", got.body, SECRET)[1]
    assert json.loads(got.body)["type"] == "sleep"
    assert got.header("terra-reference") == r.stdout.strip()
    assert json.loads(out.splitlines()[1])["verdict"] == "ok"
    assert code == 0


def test_app_down_is_502_with_the_likely_cause(home: Home, refused_port: int) -> None:
    target = f"http://localhost:{refused_port}/webhooks"
    listener = start_listener(home, "--forward-to", target, "--max-events", "1", env=ENV)
    started = time.perf_counter()
    reply = post(listener.port, BODY, {"terra-signature": independent_sign(BODY)})
    elapsed_ms = (time.perf_counter() - started) * 1000
    code, out, err = listener.finish()
    assert reply.status == 502
    answer = reply.json()
    assert "could not be reached" in answer["error"]
    assert f"port {refused_port}" in answer["hint"]
    assert f"http://127.0.0.1:{refused_port}/webhooks" in answer["hint"]  # ::1 vs 127.0.0.1
    assert "container" in answer["hint"]
    (record,) = _log(home)
    assert record["status"] == 502
    assert record["forward"].pop("latency_ms") <= elapsed_ms  # the attempt, in ms
    assert record["forward"] == {
        "url": target,
        "status": None,
        "error": "refused",
        "route": None,  # one --forward-to without types: the route without types
    }
    assert "Warning: Connection refused" in err and "Is your app running" in err
    assert json.loads(out.splitlines()[1])["forward"]["error"] == "refused"
    assert "Traceback" not in err
    assert code == 0  # an unreachable app is shown, not a failed signature check


def test_slow_app_times_out_as_502(home: Home) -> None:
    with capture_server(delay=3) as app:
        listener = start_listener(
            home,
            "--forward-to",
            app.url,
            "--forward-timeout",
            "0.3",
            "--max-events",
            "1",
            env=ENV,
        )
        reply = post(listener.port, BODY, {"terra-signature": independent_sign(BODY)})
        listener.finish()
    assert reply.status == 502
    (record,) = _log(home)
    assert record["forward"]["error"] == "timeout"


def test_strict_does_not_forward_a_bad_signature(home: Home) -> None:
    with capture_server() as app:
        listener = start_listener(
            home, "--strict", "--forward-to", app.url, "--max-events", "1", env=ENV
        )
        reply = post(listener.port, BODY, {"terra-signature": "t=1,v1=00"})
        listener.finish()
        time.sleep(0.1)
        assert app.requests == []
    assert reply.status == 401


@pytest.mark.parametrize("target", ["localhost:3000/x", "ftp://127.0.0.1/x", "http://h:0x/"])
def test_bad_forward_url_exits_3_before_listening(home: Home, target: str) -> None:
    r = home.run("listen", "--no-tunnel", "--port", "0", "--forward-to", target, env=ENV)
    assert r.code == 3
    assert r.stderr.startswith("Error: --forward-to")
    assert "Hint: " in r.stderr and "Local URL" not in r.stderr


def test_forwarding_to_itself_is_refused(home: Home) -> None:
    with capture_server() as spare:
        port = spare.port
    # The port is free again; the listener takes it and is told to forward to itself.
    r = home.run(
        "listen",
        "--no-tunnel",
        "--port",
        str(port),
        "--forward-to",
        f"http://localhost:{port}/consumeTerraWebhook",
        env=ENV,
    )
    assert r.code == 3
    assert "points at this listener itself" in r.stderr
