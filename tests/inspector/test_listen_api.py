"""The page's data over HTTP from `terra listen`: detail, body, odd bodies, forwarding."""

from __future__ import annotations

import gzip

from tests.conftest import Home
from tests.inspector.browser import sleep_body
from tests.inspector.conftest import SECRET, Page, open_page, read_stream, sample_body, send
from tests.listen.conftest import post, start_listener


def test_without_a_log_the_page_keeps_records_in_memory(home: Home) -> None:
    opened = open_page(home, "--no-save")
    try:
        sent = send(opened.webhook_port, sleep_body(), secret=None).json()["id"]
        [listed] = read_stream(opened.port, opened.token, 1)
        assert listed["id"] == sent
        detail = opened.get(f"/api/events/{sent}").json()
        assert detail["verdict"] == "unchecked"
        assert "No signing secret" in detail["verdict_reason"]
        assert detail["charts"][0]["hypnogram"]
        body = opened.get(f"/api/events/{sent}/body")
        assert body.body == sleep_body()
    finally:
        opened.stop()
    assert not (home.data_dir / "events").exists()


def test_gzip_binary_and_refused_bodies(page: Page) -> None:
    raw = sample_body("daily")
    packed = gzip.compress(raw)
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    gz = post(page.webhook_port, packed, headers).json()["id"]
    binary = post(page.webhook_port, b"\xff\xfe\x00binary").json()["id"]
    events = read_stream(page.port, page.token, 2)
    assert [e["id"] for e in events] == [gz, binary]
    detail = page.get(f"/api/events/{gz}").json()
    assert detail["body_kind"] == "json" and detail["body_size"] == len(raw)
    assert detail["stored_encoding"] == "base64"  # gzip bytes are not UTF-8: stored as base64
    assert page.get(f"/api/events/{gz}/body").body == raw  # decoded for display
    odd = page.get(f"/api/events/{binary}").json()
    assert odd["body_kind"] == "binary"
    reply = page.get(f"/api/events/{binary}/body")
    assert reply.headers["content-type"] == "application/octet-stream"
    assert reply.body == b"\xff\xfe\x00binary"


def test_a_refused_body_is_listed_with_its_reason(home: Home) -> None:
    home.env["TERRA_SIGNING_SECRET"] = SECRET
    opened = open_page(home, "--max-body", "0.01")
    try:
        status = post(opened.webhook_port, b"x" * 20_000).status
        assert status == 413
        [listed] = read_stream(opened.port, opened.token, 1)
        assert listed["status"] == 413
        detail = opened.get(f"/api/events/{listed['id']}").json()
        assert detail["body_kind"] == "none"
        assert "413" in detail["verdict_reason"]
    finally:
        opened.stop()


def test_forward_results_and_replay_through_the_forwarder(home: Home) -> None:
    home.env["TERRA_SIGNING_SECRET"] = SECRET
    app = start_listener(home, "--no-inspect")  # stands in for the user's app
    opened = open_page(home, "--forward-to", app.ready["url"])
    try:
        sent = send(opened.webhook_port, sample_body("activity")).json()
        [listed] = read_stream(opened.port, opened.token, 1)
        assert listed["forward"]["status"] == 200
        info = opened.get("/api/info").json()
        assert info["forward_to"] == app.ready["url"]
        assert info["default_target"].endswith(f":{opened.webhook_port}/consumeTerraWebhook")
        # Replay goes through this listener, so it is judged, forwarded and listed again.
        reply = opened.request_replay(listed["id"])
        assert reply["status"] == 200
        events = read_stream(opened.port, opened.token, 2)
        assert events[1]["replay_of"] == listed["id"]
        assert events[1]["forward"]["status"] == 200
        assert events[1]["verdict"] == "ok"
        # The sender got the app's own answer back (the app's event id, not ours).
        assert sent["received"] is True and sent["id"] != listed["id"]
    finally:
        opened.stop()
        app.proc.terminate()
        app.finish()
