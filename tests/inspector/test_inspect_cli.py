"""`terra inspect`: the page over the saved log, without listening; it follows the log."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from urllib.parse import parse_qs, urlsplit

from terra_cli.inspector import security
from tests.conftest import Home
from tests.inspector.browser import sleep_body
from tests.inspector.conftest import SECRET, read_stream, request, sample_body, send
from tests.listen.conftest import _first_line, start_listener


class Inspecting:
    def __init__(self, proc: subprocess.Popen[str], url: str) -> None:
        self.proc = proc
        self.url = url
        parts = urlsplit(url)
        self.port = int(parts.port or 0)
        self.token = parse_qs(parts.query)["token"][0]

    def get(self, path: str) -> object:
        sep = "&" if "?" in path else "?"
        return request(self.port, "GET", f"{path}{sep}token={self.token}")

    def stop(self) -> tuple[int, str, str]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err


def inspect(home: Home, *args: str) -> Inspecting:
    proc = home.popen("inspect", "--port", "0", *args)
    line = _first_line(proc.stdout, proc, 15)
    assert line.startswith("http://127.0.0.1:"), line
    return Inspecting(proc, line.strip())


def fill_log(home: Home) -> list[str]:
    listener = start_listener(home, "--no-inspect", "--max-events", "3")
    ids = []
    for body in (sample_body("activity"), sleep_body(), sample_body("daily")):
        ids.append(send(listener.port, body).json()["id"])
    code, _out, _err = listener.finish()
    assert code == 0
    return ids


def test_inspect_serves_the_saved_log(home: Home) -> None:
    home.env["TERRA_SIGNING_SECRET"] = SECRET
    ids = fill_log(home)
    running = inspect(home)
    try:
        listed = read_stream(running.port, running.token, 3)
        assert [e["id"] for e in listed] == ids  # oldest first, as they arrived
        assert [e["type"] for e in listed] == ["activity", "sleep", "daily"]
        assert {e["source"] for e in listed} == {"log"}
        assert all(e["verdict"] == "ok" for e in listed)
        detail = running.get(f"/api/events/{ids[1]}")
        doc = json.loads(detail.body)  # type: ignore[attr-defined]
        assert doc["summary"]["type"] == "sleep"
        assert doc["charts"][0]["hypnogram"]
        info = json.loads(running.get("/api/info").body)  # type: ignore[attr-defined]
        assert info["mode"] == "log"
        assert request(running.port, "GET", "/").status == 403  # the token rules hold here too
    finally:
        code, out, err = running.stop()
    assert code == 0
    assert out.strip() == ""  # stdout held the URL alone (read above), nothing after it
    assert f"Inspector:   {running.url}" in err


def test_inspect_follows_events_logged_while_it_runs(home: Home) -> None:
    home.env["TERRA_SIGNING_SECRET"] = SECRET
    running = inspect(home)
    listener = start_listener(home, "--no-inspect")
    try:
        assert read_stream(running.port, running.token, 1, timeout=0.5) == []
        sent = send(listener.port, sample_body("body")).json()["id"]
        [seen] = read_stream(running.port, running.token, 1, timeout=10)
        assert seen["id"] == sent and seen["type"] == "body"
        # Replay from the page to that listener: it arrives there, is logged, and shows here.
        headers = {security.TOKEN_HEADER: running.token, "Content-Type": "application/json"}
        body = json.dumps({"to": listener.ready["url"]}).encode()
        reply = request(running.port, "POST", f"/api/events/{sent}/replay", headers, body)
        assert reply.status == 200, reply.body
        result = reply.json()
        assert result["status"] == 200 and result["resigned"] is True
        events = read_stream(running.port, running.token, 2, timeout=10)
        assert [e["id"] for e in events] == [sent, result["new_id"]]
        assert events[1]["verdict"] == "ok"
    finally:
        listener.proc.terminate()
        listener.finish()
        running.stop()


def test_replay_without_a_secret_says_how_to_fix_it(home: Home) -> None:
    ids = fill_log(home)
    running = inspect(home)
    try:
        headers = {security.TOKEN_HEADER: running.token}
        reply = request(running.port, "POST", f"/api/events/{ids[0]}/replay", headers, b"{}")
        assert reply.status == 400
        assert "signing-secret" in reply.json()["hint"]
        bad = request(running.port, "POST", f"/api/events/{ids[0]}/replay", headers, b"[1")
        assert bad.status == 400
        url = json.dumps({"to": "ftp://nowhere", "original": True}).encode()
        wrong = request(running.port, "POST", f"/api/events/{ids[0]}/replay", headers, url)
        assert wrong.status == 400
    finally:
        running.stop()


def test_sigterm_stops_inspect_at_once(home: Home) -> None:
    running = inspect(home)
    started = time.monotonic()
    code, _out, _err = running.stop()
    assert code == 0
    assert time.monotonic() - started < 3
