"""The agent executable: first-run download (from a local server only) and no orphan agents."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from terra_cli.errors import ExitCode, NetworkError
from terra_cli.ngrok_agent import DOWNLOAD_URL_ENV, download_agent, write_launcher
from terra_cli.tunnel import (
    Downloaded,
    Downloading,
    DownloadProgress,
    Online,
    TunnelStatus,
    default_agent_path,
    open_tunnel,
)
from tests.tunnel.conftest import (
    FAKE_SOURCE,
    FAST,
    FileServer,
    Records,
    Upstream,
    install_fake,
    pid_alive,
    wait_until,
)


def test_default_location_follows_home(user_home: Path) -> None:
    assert default_agent_path() == user_home / ".config" / "ngrok" / "ngrok"


def test_first_run_downloads_the_agent_with_progress_and_nothing_on_stdout(
    user_home: Path,
    tmp_path: Path,
    upstream: Upstream,
    records: Records,
    archive_server: FileServer,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(DOWNLOAD_URL_ENV, f"{archive_server.url}/ngrok-v3-stable-linux-amd64.tgz")
    seen: list[TunnelStatus] = []
    with open_tunnel(
        upstream.port,
        authtoken="fake-token-123456",
        state_dir=tmp_path / "state",
        on_status=seen.append,
        tuning=FAST,
    ) as session:
        agent = user_home / ".config" / "ngrok" / "ngrok"
        assert agent.is_file() and os.access(agent, os.X_OK)
        assert isinstance(seen[0], Downloading) and seen[0].path == agent
        progress = [s for s in seen if isinstance(s, DownloadProgress)]
        assert progress[-1].total is not None and progress[-1].received == progress[-1].total
        assert any(isinstance(s, Downloaded) for s in seen)
        assert isinstance(seen[-1], Online) and seen[-1].public_url == session.public_url
        assert archive_server.hits == ["/ngrok-v3-stable-linux-amd64.tgz"]
    out, _ = capfd.readouterr()
    assert out == ""
    # the second run finds it and downloads nothing
    with open_tunnel(
        upstream.port, authtoken="fake-token-123456", state_dir=tmp_path / "state", tuning=FAST
    ):
        assert len(archive_server.hits) == 1
    assert records.alive() == []


def test_zip_archives_install_too(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ngrok", FAKE_SOURCE.read_bytes())
    import http.server
    import threading

    data = buf.getvalue()

    class One(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()  # no Content-Length: progress with an unknown total
            self.wfile.write(data)

    server = http.server.HTTPServer(("127.0.0.1", 0), One)
    threading.Thread(target=server.handle_request, daemon=True).start()
    dest = tmp_path / "agent" / "ngrok"
    seen: list[tuple[int, int | None]] = []
    download_agent(
        f"http://127.0.0.1:{server.server_address[1]}/a.zip", dest, lambda *a: seen.append(a)
    )
    server.server_close()
    assert dest.read_bytes() == FAKE_SOURCE.read_bytes()
    assert os.access(dest, os.X_OK)
    assert seen[0] == (0, None) and seen[-1] == (len(data), None)


@pytest.mark.parametrize(
    ("path", "words"),
    [("/missing.tgz", "HTTP 404"), ("/page.html", "is not an ngrok archive")],
)
def test_bad_downloads_are_network_errors(
    tmp_path: Path, archive_server: FileServer, path: str, words: str
) -> None:
    dest = tmp_path / "agent" / "ngrok"
    dest.parent.mkdir()
    with pytest.raises(NetworkError) as err:
        download_agent(archive_server.url + path, dest, lambda *a: None)
    assert words in err.value.message
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no partial file left behind


def test_offline_first_run_is_exit_8_with_install_hint(
    user_home: Path,
    tmp_path: Path,
    records: Records,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DOWNLOAD_URL_ENV, f"http://127.0.0.1:{closed_port}/ngrok.tgz")
    with pytest.raises(NetworkError) as err:
        open_tunnel(8080, authtoken="fake-token-123456", state_dir=tmp_path / "s", tuning=FAST)
    assert err.value.exit_code == ExitCode.NETWORK
    assert "Could not download the ngrok agent" in err.value.message
    hint = err.value.hint or ""
    assert "ngrok-path" in hint and "https://ngrok.com/download" in hint and "--no-tunnel" in hint
    assert not default_agent_path().exists()
    assert records.starts() == []


def test_non_http_download_url_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NetworkError) as err:
        download_agent("file:///etc/passwd", tmp_path / "ngrok", lambda *a: None)
    assert DOWNLOAD_URL_ENV in (err.value.hint or "")
    assert not (tmp_path / "ngrok").exists()


def test_launcher_is_rewritten_only_when_needed(tmp_path: Path) -> None:
    agent = install_fake(tmp_path / "bin" / "ngrok")
    first = write_launcher(tmp_path / "state", agent)
    mtime = first.stat().st_mtime_ns
    assert write_launcher(tmp_path / "state", agent) == first
    assert first.stat().st_mtime_ns == mtime
    other = write_launcher(tmp_path / "state", tmp_path / "elsewhere" / "ngrok")
    assert other != first
    assert os.access(first, os.X_OK)


# A parent that opens a tunnel, prints the agent's pid, then waits to be killed.
_PARENT = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from terra_cli.tunnel import TunnelTuning, open_tunnel
    from pyngrok import conf, ngrok, process

    agent, state, use_pyngrok_directly = sys.argv[1], Path(sys.argv[2]), sys.argv[3] == "1"
    if use_pyngrok_directly:
        cfg = conf.PyngrokConfig(ngrok_path=agent, config_path=str(state / "plain.yml"),
                                 auth_token="fake-token-123456")
        state.mkdir(parents=True, exist_ok=True)
        ngrok.connect("9", pyngrok_config=cfg)
        pid = process._current_processes[agent].proc.pid
    else:
        session = open_tunnel(9, authtoken="fake-token-123456", ngrok_path=agent,
                              state_dir=state, tuning=TunnelTuning(check_interval=0.2))
        pid = session._proc().pid
    print(pid, flush=True)
    time.sleep(120)
    """
)


def _start_parent(tmp_path: Path, agent: Path, direct: bool) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ, FAKE_NGROK_PARENT_WATCH="0")  # behave like the real agent
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _PARENT,
            str(agent),
            str(tmp_path / "state"),
            "1" if direct else "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"parent did not start: {line!r}"
    return proc, int(line)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_sigkilled_parent_leaves_no_agent(
    tmp_path: Path, fake_agent: Path, records: Records
) -> None:
    parent, agent_pid = _start_parent(tmp_path, fake_agent, direct=False)
    assert pid_alive(agent_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert wait_until(lambda: not pid_alive(agent_pid))
    assert records.alive() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_control_plain_pyngrok_orphans_the_agent(
    tmp_path: Path, fake_agent: Path, records: Records
) -> None:
    """Without terra's launcher the same kill leaves the agent running: the test above can fail."""
    parent, agent_pid = _start_parent(tmp_path, fake_agent, direct=True)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    assert not wait_until(lambda: not pid_alive(agent_pid), timeout=1.0)
    os.kill(agent_pid, signal.SIGKILL)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_launcher_runs_the_agent_only_for_its_parent(tmp_path: Path, fake_agent: Path) -> None:
    launcher = write_launcher(tmp_path / "state", fake_agent)
    env = dict(os.environ, TERRA_NGROK_PARENT_PID=str(os.getpid()))
    ran = subprocess.run([str(launcher), "--version"], env=env, capture_output=True, text=True)
    assert (ran.returncode, ran.stdout) == (0, "ngrok version 3.99.0-fake\n")
    # a parent that is not ours (terra died before the launcher ran): the agent never starts
    env["TERRA_NGROK_PARENT_PID"] = "1"
    ran = subprocess.run([str(launcher), "--version"], env=env, capture_output=True, text=True)
    assert (ran.returncode, ran.stdout) == (0, "")
    # an agent that cannot be executed says so on stdout as a log line pyngrok reads
    broken = tmp_path / "broken"
    broken.write_text("not a program")
    broken.chmod(0o755)
    env["TERRA_NGROK_PARENT_PID"] = str(os.getpid())
    launcher = write_launcher(tmp_path / "state", broken)
    ran = subprocess.run([str(launcher), "start"], env=env, capture_output=True, text=True)
    assert ran.returncode == 1
    assert ran.stdout.startswith('lvl=eror msg="cannot run the ngrok agent" err=')
