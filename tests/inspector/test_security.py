"""The inspector's security rules, each on its own, over plain HTTP against `terra listen`."""

from __future__ import annotations

import json
import socket

import pytest

from terra_cli.inspector import security
from tests.conftest import Home
from tests.inspector.conftest import Page, open_page, read_stream, request, sample_body, send

PATHS = ("/", "/app.js", "/app.css", "/api/info", "/api/stream", "/api/events/evt_0", "/nope")


def test_the_page_opens_with_the_token(page: Page) -> None:
    reply = page.get("/")
    assert reply.status == 200
    assert reply.headers["content-type"].startswith("text/html")
    assert b"terra inspector" in reply.body
    assert "default-src 'none'" in reply.headers["content-security-policy"]
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert page.get("/app.js").status == 200
    assert page.get("/app.css").status == 200


@pytest.mark.parametrize("path", PATHS)
def test_no_token_is_403_on_every_path(page: Page, path: str) -> None:
    reply = request(page.port, "GET", path)
    assert reply.status == 403
    assert b"terra inspector" not in reply.body
    assert request(page.port, "POST", path, body=b"{}").status == 403


@pytest.mark.parametrize("token", ["wrong", "", "x" * 32])
def test_a_wrong_token_is_403(page: Page, token: str) -> None:
    assert request(page.port, "GET", f"/?token={token}").status == 403
    assert request(page.port, "GET", f"/api/stream?token={token}").status == 403
    assert request(page.port, "GET", f"/?token={page.token}&token={token}").status == 403
    # Almost right: one character changed.
    near = page.token[:-1] + ("A" if page.token[-1] != "A" else "B")
    assert request(page.port, "GET", f"/?token={near}").status == 403


@pytest.mark.parametrize(
    "host",
    [
        "evil.example",
        "evil.example:{port}",
        "127.0.0.1",
        "127.0.0.1:1",
        "localhost",
        "[::1]:{port}",
        "127.0.0.1:{port}.evil.example",
        "",
    ],
)
def test_a_foreign_host_is_403_even_with_the_token(page: Page, host: str) -> None:
    reply = page.get("/", host=host.format(port=page.port))
    assert reply.status == 403
    assert b"Host" in reply.body


def test_localhost_is_accepted_as_host(page: Page) -> None:
    assert page.get("/", host=f"localhost:{page.port}").status == 200


def test_replay_is_a_post_with_the_token_in_a_header(page: Page) -> None:
    send(page.webhook_port, sample_body("activity"))
    event = page.get("/api/info")
    assert event.status == 200
    [first] = read_stream(page.port, page.token, 1)
    path = f"/api/events/{first['id']}/replay"
    # A GET on the action does nothing.
    got = page.get(path)
    assert got.status == 405
    assert got.headers["allow"] == "POST"
    # The token in the query is not enough for a POST (a cross-site form could carry it).
    assert request(page.port, "POST", f"{path}?token={page.token}", body=b"{}").status == 403
    # From another origin: refused.
    headers = {security.TOKEN_HEADER: page.token, "Origin": "http://evil.example"}
    assert request(page.port, "POST", path, headers, body=b"{}").status == 403
    # The page's own POST works and sends the event again.
    headers = {
        security.TOKEN_HEADER: page.token,
        "Origin": f"http://127.0.0.1:{page.port}",
        "Content-Type": "application/json",
    }
    reply = request(page.port, "POST", path, headers, body=b"{}")
    assert reply.status == 200, reply.body
    assert reply.json()["status"] == 200
    # Other methods are not actions.
    assert request(page.port, "DELETE", f"{path}?token={page.token}").status == 405


def test_the_webhook_port_does_not_serve_the_page(page: Page) -> None:
    for path in (
        "/",
        f"/?token={page.token}",
        f"/app.js?token={page.token}",
        f"/api/stream?token={page.token}",
        f"/api/info?token={page.token}",
    ):
        reply = request(page.webhook_port, "GET", path)
        assert b"terra inspector" not in reply.body
        assert b"text/event-stream" not in reply.headers.get("content-type", "").encode()
        assert reply.status in (200, 404)
        if reply.status == 200:
            assert reply.headers["content-type"].startswith("text/plain")  # the status page
    assert page.port != page.webhook_port


def _own_address() -> str | None:
    """This machine's non-loopback IPv4 address (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.254.254.254", 9))
            address = str(probe.getsockname()[0])
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_it_binds_loopback_only() -> None:
    from terra_cli.inspector.feed import Feed
    from terra_cli.inspector.server import Inspector, InspectorConfig

    inspector = Inspector(Feed(None), InspectorConfig(port=0))
    inspector.start()
    try:
        assert inspector._server is not None
        assert inspector._server.server_address[0] == "127.0.0.1"
        other = _own_address()
        if other is not None:
            with socket.socket() as sock:
                sock.settimeout(2)
                assert sock.connect_ex((other, inspector.port)) != 0
    finally:
        inspector.stop()


def test_unknown_event_ids_are_404_not_a_crash(page: Page) -> None:
    assert page.get("/api/events/evt_ffffffffffffffff").status == 404
    assert page.get("/api/events/../../etc/passwd").status == 404
    assert page.get("/api/events/evt_ffffffffffffffff/body").status == 404


def test_no_inspect_serves_nothing(home: Home) -> None:
    opened = None
    from tests.listen.conftest import start_listener

    listener = start_listener(home, "--no-inspect")
    try:
        assert listener.ready["inspect_url"] is None
    finally:
        listener.proc.terminate()
        code, _out, err = listener.finish()
    assert code == 0
    assert "Inspector:" not in err
    assert opened is None


def test_a_taken_port_moves_to_the_next_free_one(home: Home) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        busy = taken.getsockname()[1]
        opened = open_page(home, "--inspect-port", str(busy))
        try:
            assert opened.port != busy
            assert busy < opened.port <= busy + 20
            assert opened.get("/").status == 200
        finally:
            opened.stop()


def test_the_banner_gives_the_url(home: Home) -> None:
    opened = open_page(home)
    code, out, err = opened.stop()
    assert code == 0
    assert f"Inspector:   {opened.url}" in err
    ready = json.loads(out.splitlines()[0])
    assert ready["inspect_url"] == opened.url
    assert opened.url.startswith("http://127.0.0.1:")


def test_the_page_never_takes_the_webhook_port(home: Home) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    proc = home.popen("listen", "--no-tunnel", "--json", "--port", str(free),
                      "--inspect-port", str(free))  # fmt: skip
    from tests.listen.conftest import _first_line

    ready = json.loads(_first_line(proc.stdout, proc, 15))
    try:
        assert ready["port"] == free
        page_port = int(ready["inspect_url"].split(":")[2].split("/")[0])
        assert page_port != free and free < page_port <= free + 20
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    assert proc.returncode == 0
