"""The tunnel engine through pyngrok's real code, with the fake agent standing in for ngrok."""

from __future__ import annotations

import http.client
import stat
import threading
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import pytest

from terra_cli.errors import (
    AuthError,
    ExitCode,
    InputError,
    NetworkError,
    RemoteError,
    TerraError,
)
from terra_cli.tunnel import (
    Authtoken,
    Failed,
    Lost,
    Online,
    Retrying,
    StartCanceled,
    Starting,
    TunnelSession,
    TunnelStatus,
    TunnelTuning,
    open_tunnel,
)
from tests.tunnel.conftest import FAST, Records, Upstream, pid_alive, wait_until

S = TypeVar("S")


class Statuses:
    """Collects status reports from the supervisor thread."""

    def __init__(self) -> None:
        self.items: list[TunnelStatus] = []
        self.changed = threading.Condition()

    def __call__(self, status: TunnelStatus) -> None:
        with self.changed:
            self.items.append(status)
            self.changed.notify_all()

    def of(self, kind: type[S]) -> list[S]:
        return [s for s in self.items if isinstance(s, kind)]

    def wait_for(self, kind: type[S], count: int = 1, timeout: float = 15) -> list[S]:
        with self.changed:
            self.changed.wait_for(lambda: len(self.of(kind)) >= count, timeout=timeout)
        found = self.of(kind)
        assert len(found) >= count, f"no {kind.__name__} among {self.items}"
        return found


def _open(
    fake_agent: Path,
    tmp_path: Path,
    port: int,
    statuses: Statuses | None = None,
    tuning: TunnelTuning = FAST,
    **kw: object,
) -> TunnelSession:
    return open_tunnel(
        port,
        authtoken=kw.pop("authtoken", "fake-token-123456"),  # type: ignore[arg-type]
        ngrok_path=str(fake_agent),
        state_dir=tmp_path / "state",
        on_status=statuses,
        tuning=tuning,
        **kw,  # type: ignore[arg-type]
    )


def _post(url: str, path: str, body: bytes, headers: dict[str, str]) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def test_public_url_proxies_a_signed_post_byte_exact(
    fake_agent: Path, tmp_path: Path, upstream: Upstream, records: Records
) -> None:
    statuses = Statuses()
    with _open(fake_agent, tmp_path, upstream.port, statuses) as session:
        assert session.public_url.startswith("http://127.0.0.1:")
        assert statuses.of(Online) == [Online(session.public_url)]
        body = b'{"type":"activity","data":[{"x":1}]}\n\xff\x00 raw'
        signature = "t=1700000000,v1=" + "ab" * 32
        resp = _post(
            session.public_url,
            "/consumeTerraWebhook?a=1&b=two",
            body,
            {"terra-signature": signature, "Content-Type": "application/json", "X-Custom": "k"},
        )
        assert resp.status == 202
        assert resp.getheader("X-Receiver") == "yes"
    [seen] = upstream.seen
    assert seen.method == "POST"
    assert seen.path == "/consumeTerraWebhook?a=1&b=two"
    assert seen.body == body
    assert seen.headers["terra-signature"] == signature
    assert seen.headers["x-custom"] == "k"
    assert seen.headers["x-forwarded-for"] == "127.0.0.1"
    assert seen.headers["x-forwarded-host"] == urlsplit(session.public_url).netloc
    assert seen.headers["x-forwarded-proto"] == "http"


def test_close_ends_endpoint_and_agent(
    fake_agent: Path, tmp_path: Path, upstream: Upstream, records: Records
) -> None:
    session = _open(fake_agent, tmp_path, upstream.port)
    url = session.public_url
    [pid] = records.pids()
    assert pid_alive(pid)
    session.close()
    session.close()  # twice is fine
    assert not pid_alive(pid)
    [start] = records.starts()
    [post] = [r for r in start["requests"] if r["method"] == "POST"]
    assert start["requests"][-1] == {
        "method": "DELETE",
        "path": f"/api/endpoints/{post['body']['name']}",
        "body": None,
    }
    with pytest.raises(OSError):
        _post(url, "/", b"", {})


def test_token_reaches_agent_through_private_config_never_argv(
    fake_agent: Path, tmp_path: Path, upstream: Upstream, records: Records
) -> None:
    token = "secret-token-abcdef123456"
    with _open(fake_agent, tmp_path, upstream.port, authtoken=token):
        config = tmp_path / "state" / "ngrok.yml"
        assert stat.S_IMODE(config.stat().st_mode) == 0o600
        assert stat.S_IMODE(config.parent.stat().st_mode) == 0o700
        [start] = records.starts()
        assert start["token"] == token
        assert not any(token in arg for arg in start["argv"])
        assert start["argv"][1:5] == ["start", "--none", "--log", "stdout"]
        assert Path(start["argv"][start["argv"].index("--config") + 1]) == config
    assert not config.exists()  # the token copy goes with the session


def test_domain_and_region_reach_the_agent(
    fake_agent: Path, tmp_path: Path, upstream: Upstream, records: Records
) -> None:
    with _open(
        fake_agent, tmp_path, upstream.port, domain="https://Hooks.Example.ngrok.app/", region="eu"
    ):
        [start] = records.starts()
    argv = start["argv"]
    assert argv[argv.index("--region") + 1] == "eu"
    [post] = [r for r in start["requests"] if r["method"] == "POST"]
    assert post["path"] == "/api/endpoints"
    assert post["body"]["url"] == "https://hooks.example.ngrok.app"
    assert post["body"]["upstream"] == {"url": f"http://127.0.0.1:{upstream.port}"}


def test_bad_domain_is_refused_before_starting(
    fake_agent: Path, tmp_path: Path, records: Records
) -> None:
    with pytest.raises(InputError) as err:
        _open(fake_agent, tmp_path, 9, domain="not a domain")
    assert err.value.exit_code == ExitCode.INPUT
    assert "--domain" in (err.value.hint or "")
    assert records.starts() == []


@pytest.mark.parametrize("token", [None, "", Authtoken(None, None)])
def test_no_authtoken_is_exit_2_before_any_agent(
    fake_agent: Path, tmp_path: Path, records: Records, token: object
) -> None:
    with pytest.raises(AuthError) as err:
        _open(fake_agent, tmp_path, 9, authtoken=token)
    assert err.value.exit_code == ExitCode.AUTH
    assert "terra config set ngrok-authtoken" in (err.value.hint or "")
    assert "--no-tunnel" in (err.value.hint or "")
    assert records.starts() == []


@pytest.mark.parametrize(
    ("mode", "kind", "code", "words", "hint_words"),
    [
        ("no-token", AuthError, 2, "ERR_NGROK_4018", "terra config set ngrok-authtoken"),
        ("invalid-token", AuthError, 2, "ERR_NGROK_105", "terra config set ngrok-authtoken"),
        ("revoked-token", AuthError, 2, "ERR_NGROK_107", "terra config set ngrok-authtoken"),
        ("session-limit", RemoteError, 1, "ERR_NGROK_108", "Stop the other ngrok agent"),
        ("domain-online", RemoteError, 1, "ERR_NGROK_334", "--domain"),
        ("crash", NetworkError, 8, "without saying why", "ngrok-path"),
        ("silent", NetworkError, 8, "did not come up within 1 s.", "TERRA_NGROK_START_TIMEOUT"),
        ("offline", NetworkError, 8, "within 1 s: failed to dial ngrok server", "network"),
    ],
)
def test_each_agent_failure_maps_to_its_exit_code_and_leaves_no_process(
    fake_agent: Path,
    tmp_path: Path,
    records: Records,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    kind: type[TerraError],
    code: int,
    words: str,
    hint_words: str,
) -> None:
    monkeypatch.setenv("FAKE_NGROK_MODE", mode)
    token = "fake-token-abcdef123456"
    tuning = TunnelTuning(start_timeout=1.0, check_interval=0.1, retries=1, backoff=0.05)
    with pytest.raises(kind) as err:
        _open(
            fake_agent,
            tmp_path,
            9,
            authtoken=token,
            tuning=tuning,
            domain="taken.ngrok.app" if mode == "domain-online" else None,
        )
    assert err.value.exit_code == code
    assert words in err.value.message
    assert hint_words in (err.value.hint or "")
    assert token not in err.value.message + (err.value.hint or "")
    assert "\n" not in err.value.message
    assert len(records.starts()) == 1
    assert records.alive() == []
    assert not (tmp_path / "state" / "ngrok.yml").exists()


def test_agent_death_restarts_with_a_new_url(
    fake_agent: Path,
    tmp_path: Path,
    upstream: Upstream,
    records: Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_NGROK_MODE", "die,ok")
    monkeypatch.setenv("FAKE_NGROK_DELAY", "0.3")
    statuses = Statuses()
    with _open(fake_agent, tmp_path, upstream.port, statuses) as session:
        first = session.public_url
        online = statuses.wait_for(Online, 2)
        assert isinstance(online[1], Online)
        assert online[1].previous_url == first
        assert online[1].changed and online[1].public_url == session.public_url != first
        [lost] = statuses.of(Lost)
        assert isinstance(lost, Lost) and "exited" in lost.reason
        [retry] = statuses.of(Retrying)
        assert isinstance(retry, Retrying) and retry.attempt == 1 and retry.attempts == 3
        kinds = [type(s) for s in statuses.items]
        assert kinds == [Starting, Online, Lost, Retrying, Starting, Online]
        assert _post(session.public_url, "/after", b"{}", {}).status == 202
        assert upstream.seen[-1].path == "/after"
        first_pid, second_pid = records.pids()
        assert not pid_alive(first_pid) and pid_alive(second_pid)
        assert not session.failed.is_set()
    assert records.alive() == []


def test_endpoint_vanishing_is_noticed_and_restarted(
    fake_agent: Path,
    tmp_path: Path,
    upstream: Upstream,
    records: Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_NGROK_MODE", "vanish,ok")
    monkeypatch.setenv("FAKE_NGROK_DELAY", "0.2")
    statuses = Statuses()
    with _open(fake_agent, tmp_path, upstream.port, statuses) as session:
        first = session.public_url
        statuses.wait_for(Online, 2)
        [lost] = statuses.of(Lost)
        assert isinstance(lost, Lost)
        assert lost.reason == f"the endpoint {first} is no longer online"
        assert session.public_url != first
        assert len(records.pids()) == 2
    assert records.alive() == []


def test_repeated_failures_give_up_with_exit_8(
    fake_agent: Path,
    tmp_path: Path,
    upstream: Upstream,
    records: Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_NGROK_MODE", "die,crash")
    monkeypatch.setenv("FAKE_NGROK_DELAY", "0.2")
    statuses = Statuses()
    session = _open(fake_agent, tmp_path, upstream.port, statuses)
    try:
        assert session.failed.wait(15)
        assert isinstance(session.error, NetworkError)
        assert session.error.exit_code == ExitCode.NETWORK
        assert "failed 4 times in a row" in session.error.message
        [failed] = statuses.wait_for(Failed)
        assert isinstance(failed, Failed) and failed.error is session.error
        assert [s.attempt for s in statuses.of(Retrying)] == [1, 2, 3]
        delays = [s.delay for s in statuses.of(Retrying)]
        assert delays == sorted(delays) and delays[0] < delays[-1]  # backoff grows
        assert len(records.pids()) == 4
        assert records.alive() == []
    finally:
        session.close()


def test_a_rejection_on_restart_is_not_retried(
    fake_agent: Path,
    tmp_path: Path,
    upstream: Upstream,
    records: Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_NGROK_MODE", "die,session-limit")
    monkeypatch.setenv("FAKE_NGROK_DELAY", "0.2")
    session = _open(fake_agent, tmp_path, upstream.port)
    try:
        assert session.failed.wait(15)
        assert isinstance(session.error, RemoteError)
        assert "ERR_NGROK_108" in session.error.message
        assert len(records.pids()) == 2
        assert records.alive() == []
    finally:
        session.close()


def test_configured_agent_missing_or_not_executable(tmp_path: Path, records: Records) -> None:
    with pytest.raises(InputError) as err:
        _open(tmp_path / "nope" / "ngrok", tmp_path, 9)
    assert "does not exist" in err.value.message
    assert "ngrok-path" in (err.value.hint or "")
    plain = tmp_path / "ngrok-plain"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    with pytest.raises(InputError) as err:
        _open(plain, tmp_path, 9)
    assert "not executable" in err.value.message
    assert records.starts() == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TERRA_NGROK_START_TIMEOUT", "soon"),
        ("TERRA_NGROK_RETRIES", "-1"),
        ("TERRA_NGROK_BACKOFF", "nan"),
    ],
)
def test_bad_tuning_variables_are_input_errors(name: str, value: str) -> None:
    with pytest.raises(InputError) as err:
        TunnelTuning.from_env({name: value})
    assert name in err.value.message and name in (err.value.hint or "")


def test_tuning_from_env() -> None:
    tuning = TunnelTuning.from_env(
        {"TERRA_NGROK_START_TIMEOUT": "3", "TERRA_NGROK_RETRIES": "2", "TERRA_NGROK_BACKOFF": "0"}
    )
    assert (tuning.start_timeout, tuning.retries, tuning.backoff) == (3.0, 2, 0.0)
    assert isinstance(tuning.retries, int)
    assert TunnelTuning.from_env({}) == TunnelTuning()


def test_cancel_during_start_stops_the_agent(
    fake_agent: Path, tmp_path: Path, records: Records, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NGROK_MODE", "silent")
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    tuning = TunnelTuning(start_timeout=30.0)
    with pytest.raises(StartCanceled):
        _open(fake_agent, tmp_path, 9, tuning=tuning, cancelled=stop.is_set)
    assert len(records.starts()) == 1
    assert records.alive() == []


def test_close_during_a_hanging_restart_is_prompt(
    fake_agent: Path,
    tmp_path: Path,
    upstream: Upstream,
    records: Records,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FAKE_NGROK_MODE", "die,silent")
    monkeypatch.setenv("FAKE_NGROK_DELAY", "0.2")
    statuses = Statuses()
    tuning = TunnelTuning(start_timeout=60.0, check_interval=0.1, backoff=0.0)
    session = _open(fake_agent, tmp_path, upstream.port, statuses, tuning=tuning)
    statuses.wait_for(Starting, 2)  # the restart is now blocked on a silent agent
    assert wait_until(lambda: len(records.starts()) == 2)
    closer = threading.Thread(target=session.close)
    closer.start()
    closer.join(timeout=5)  # the restart's own limit is 60 s
    assert not closer.is_alive()
    assert records.alive() == []
    assert not session.failed.is_set()
