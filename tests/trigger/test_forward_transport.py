"""Deliveries trust nothing from the environment: certificates are checked, proxies unused.

`deliver()` sends to the user's app (listen --forward-to, trigger, replay). A
developer's HTTP_PROXY must not reroute a local delivery through a proxy, and
an https target must present a certificate this machine trusts.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from terra_cli.webhooks import forward
from tests.conftest import Home
from tests.fakes.capture import capture_server


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A certificate for 127.0.0.1 that no trust store knows, made for this test."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is needed to make a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    yield cert, key


def test_an_untrusted_certificate_is_a_tls_failure(self_signed: tuple[Path, Path]) -> None:
    with capture_server(tls=self_signed) as app:
        url = f"https://127.0.0.1:{app.port}/hooks/terra"
        result = forward.deliver(url, "POST", [], b"{}", timeout=5)
        assert app.requests == []  # nothing was sent over an unverified connection
    assert result.status is None and result.error == "tls"
    assert (
        result.hint == "Use http:// for a local app, or give it a certificate this machine trusts."
    )


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"])
def test_proxy_variables_are_ignored(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    with capture_server() as app, capture_server() as proxy:
        monkeypatch.setenv(variable, f"http://127.0.0.1:{proxy.port}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        result = forward.deliver(app.url, "POST", [], b"{}", timeout=5)
        assert proxy.requests == []
        assert len(app.requests) == 1  # recorded before the app answered
    assert result.status == 200


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("trigger", "--help"), "--timeout"),
        (("events", "replay", "--help"), "--timeout"),
        (("listen", "--help"), "--forward-timeout"),
    ],
)
def test_deliveries_wait_8_seconds_by_default(
    home: Home, args: tuple[str, ...], option: str
) -> None:
    """Terra waits about 8 s for an answer; terra's deliveries wait as long."""
    r = home.run(*args, env={"COLUMNS": "200"})
    assert r.code == 0
    [line] = [ln for ln in r.stdout.splitlines() if option in ln]
    assert "[default: 8.0]" in line, line
