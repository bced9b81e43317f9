"""`terra mock` as an installed command: the project's own commands against it, credentials,
the banner, bad input exit codes, signals, and determinism by seed."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.listen.conftest import _first_line
from tests.mock.conftest import AUTH, Mock, call, start_mock

DEV_ID = "dev-configured-0123456789"
API_KEY = "key-configured-abcdefghijklmnop"


def point_at(mock: Mock, **extra: str) -> dict[str, str]:
    """The environment that points `terra` at the mock, with its default credentials."""
    return {
        "TERRA_API_URL": f"{mock.url}/v2",
        "TERRA_ACCESS_URL": mock.url,
        "TERRA_DEV_ID": "mock-dev",
        "TERRA_API_KEY": "mock-key",
        **extra,
    }


def test_ready_record_and_exit_0_on_sigint(home: Home, mocks: list[Mock]) -> None:
    mock = start_mock(home, "--seed", "5")
    mocks.append(mock)
    port = mock.ready["port"]
    assert mock.ready == {
        "kind": "ready",
        "url": f"http://127.0.0.1:{port}",
        "port": port,
        "dev_id": "mock-dev",
        "api_url": f"http://127.0.0.1:{port}/v2",
        "access_url": f"http://127.0.0.1:{port}",
        "webhook": None,
        "seed": 5,
    }
    mock.rest("GET", "/subscriptions")
    [record] = mock.wait_records("request", 1)
    assert record["method"] == "GET" and record["path"] == "/v2/subscriptions"
    assert record["status"] == 200 and isinstance(record["latency_ms"], float)
    assert record["time"].endswith("Z")
    code, err = mock.stop(signal.SIGINT)
    assert code == 0
    assert err == "Stopped: 1 request served.\n"


def test_terra_widget_users_and_data_work_against_the_mock(home: Home, mock: Mock) -> None:
    env = point_at(mock)
    widget = home.run("widget", "--ref", "cli-user", "--providers", "oura", "--json", env=env)
    assert widget.code == 0, widget.stderr
    session = json.loads(widget.stdout)
    assert session["reference_id"] == "cli-user" and session["expires_in"] == 900
    plain = home.run("widget", env=env)
    assert plain.code == 0 and plain.stdout.startswith(f"{mock.url}/widget/session/")

    page = call(mock.url, "GET", urlsplit(session["url"]).path, query={"provider": "OURA"})
    assert page.status == 200
    users = home.run("users", "list", "--json", env=env)
    assert users.code == 0, users.stderr
    [user] = json.loads(users.stdout)
    assert user["provider"] == "OURA" and user["reference_id"] == "cli-user"
    uid = user["user_id"]

    shown = home.run("users", "show", "--ref", "cli-user", "--json", env=env)
    assert shown.code == 0, shown.stderr
    assert uid in shown.stdout
    data = home.run(
        "data", "sleep", "--user-id", uid, "--start", "2026-07-01", "--end", "2026-07-03",
        "--no-to-webhook", "--samples", "--json", env=env,
    )  # fmt: skip
    assert data.code == 0, data.stderr
    body = json.loads(data.stdout)
    assert body["type"] == "sleep" and len(body["data"]) == 2
    assert body["data"][0]["sleep_durations_data"]["hypnogram_samples"]

    integrations = home.run("integrations", "--json", env=env)
    assert integrations.code == 0 and "GARMIN" in integrations.stdout

    ghost = home.run("data", "daily", "--user-id", "ghost", "--start", "2026-07-01", env=env)
    assert ghost.code == 1 and "user not found" in ghost.stderr
    deauth = home.run("users", "deauth", uid, "--yes", env=env)
    assert deauth.code == 0, deauth.stderr
    assert json.loads(home.run("users", "list", "--json", env=env).stdout) == []


def test_terra_data_to_webhook_prints_the_reference_the_webhook_carries(
    home: Home, mocks: list[Mock]
) -> None:
    with capture_server() as app:
        mock = start_mock(home, "--webhook", app.url)
        mocks.append(mock)
        uid = mock.connect("GARMIN")
        env = point_at(mock)
        r = home.run("data", "activity", "--user-id", uid, "--start", "2026-07-01", env=env)
        assert r.code == 0, r.stderr
        _, data = app.wait_for(2)
    assert data.header("terra-reference") == r.stdout.strip()
    assert data.header("x-terra-signature") is None  # no signing-secret configured: unsigned
    assert json.loads(data.body)["type"] == "activity"


def test_wrong_credentials_make_terra_exit_2(home: Home, mock: Mock) -> None:
    env = point_at(mock, TERRA_API_KEY="not-the-key")
    r = home.run("users", "list", env=env)
    assert r.code == 2 and "HTTP 401" in r.stderr
    w = home.run("widget", env=env)
    assert w.code == 2 and "HTTP 403" in w.stderr


def test_configured_credentials_are_required_and_never_printed(
    home: Home, mocks: list[Mock]
) -> None:
    for key, value in (("dev-id", DEV_ID), ("api-key", API_KEY)):
        assert home.run("config", "set", key, input=value + "\n").code == 0
    proc = home.popen("mock", "--port", "0")
    banner = [_first_line(proc.stderr, proc, 15)]
    while "Stop:" not in banner[-1]:
        banner.append(_first_line(proc.stderr, proc, 15))
    text = "".join(banner)
    assert "x-api-key:  your configured api-key" in text
    assert "dev-id:     your configured dev-id: dev-…6789" in text
    base = banner[0].split(" on ", 1)[1].split(" ", 1)[0]
    good = {"dev-id": DEV_ID, "x-api-key": API_KEY}
    assert call(base, "GET", "/v2/subscriptions", headers=good).status == 200
    assert call(base, "GET", "/v2/subscriptions", headers=AUTH).status == 401
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=10)  # the guard fails the test on a leaked secret
    assert proc.returncode == 0
    assert "Stopped: 2 requests served." in err


def test_flags_override_the_configured_credentials(home: Home, mocks: list[Mock]) -> None:
    assert home.run("config", "set", "api-key", input=API_KEY + "\n").code == 0
    mock = start_mock(home, "--dev-id", "ci-dev", "--api-key", "ci-key")
    mocks.append(mock)
    assert mock.ready["dev_id"] == "ci-dev"
    ok = mock.call("GET", "/v2/subscriptions", headers={"dev-id": "ci-dev", "x-api-key": "ci-key"})
    assert ok.status == 200
    assert (
        mock.call(
            "GET", "/v2/subscriptions", headers={"dev-id": "ci-dev", "x-api-key": API_KEY}
        ).status
        == 401
    )


def test_the_same_seed_gives_the_same_users_and_data(home: Home, mocks: list[Mock]) -> None:
    def run(seed: str) -> tuple[str, bytes, bytes]:
        mock = start_mock(home, "--seed", seed)
        mocks.append(mock)
        uid = mock.connect("WHOOP", "same")
        query = {"user_id": uid, "start_date": "2026-06-01", "end_date": "2026-06-08",
                 "to_webhook": "false", "with_samples": "true"}  # fmt: skip
        sleep = mock.rest("GET", "/sleep", query=query).json()
        athlete = mock.rest("GET", "/athlete", query={"user_id": uid, "to_webhook": "false"})
        mock.stop()
        return (
            uid,
            json.dumps(sleep["data"]).encode(),
            json.dumps(athlete.json()["athlete"]).encode(),
        )

    first, again, other = run("7"), run("7"), run("8")
    assert first == again
    assert other[0] != first[0] and other[1] != first[1]


def test_port_in_use_exits_9(home: Home) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = home.run("mock", "--port", str(port))
    assert r.code == 9
    assert r.stderr.splitlines() == [
        f"Error: Port {port} on 127.0.0.1 is already in use.",
        "Hint: Stop what is using it, or pick another with --port N (0: any free port).",
    ]
    assert r.stdout == ""


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["--webhook", "ftp://x"], {}, 3, "--webhook must be an http:// or https:// URL"),
        (["--webhook", "http://127.0.0.1:99999/"], {}, 3, "--webhook has an invalid port"),
        (["--port", "70000"], {}, 4, "70000"),
        (["--seed", "abc"], {}, 4, "abc"),
        (["--nope"], {}, 4, "--nope"),
        ([], {"TERRA_MOCK_RETRY_DELAYS": "soon"}, 3, "TERRA_MOCK_RETRY_DELAYS='soon'"),
        ([], {"TERRA_MOCK_RETRY_DELAYS": "1,-2"}, 3, "TERRA_MOCK_RETRY_DELAYS='1,-2'"),
    ],
)
def test_bad_input_exits_with_the_contract_code(
    home: Home, args: list[str], env: dict[str, str], code: int, message: str
) -> None:
    r = home.run("mock", "--port", "0", *args, env=env)
    assert r.code == code, r.stderr
    lines = r.stderr.splitlines()
    assert lines[0].startswith("Error: ") and message in lines[0]
    assert lines[1].startswith("Hint: ")
    assert r.stdout == ""


def test_help_lists_every_contract_flag(home: Home) -> None:
    r = home.run("mock", "--help")
    assert r.code == 0
    for flag in ("--port", "--host", "--webhook", "--dev-id", "--api-key", "--seed", "--json"):
        assert flag in r.stdout
    assert "mock" in home.run("--help").stdout


def test_start_up_and_the_command_module_never_import_http_server() -> None:
    code = (
        "import sys, terra_cli.app, terra_cli.commands.mock, terra_cli.render.mock; "
        "bad = [m for m in ('http.server', 'httpx', 'terra_cli.mock.server') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plain_lines_one_per_request_on_stderr(home: Home) -> None:
    proc = home.popen("mock", "--port", "0")
    lines = [_first_line(proc.stderr, proc, 15)]
    while "Stop:" not in lines[-1]:
        lines.append(_first_line(proc.stderr, proc, 15))
    base = lines[0].split(" on ", 1)[1].split(" ", 1)[0]
    assert lines[1:] == [
        f"  REST API:   {base}/v2  (or /api/v2)\n",
        f"  Widget:     POST {base}/api/widget/session\n",
        "  dev-id:     mock-dev\n",
        "  x-api-key:  mock-key\n",
        "  Webhooks:   none (--webhook URL sends auth, data, deauth)\n",
        f"  terra CLI:  TERRA_API_URL={base}/v2\n",
        f"              TERRA_ACCESS_URL={base}\n",
        "  Stop:       Ctrl-C\n",
    ]
    call(base, "GET", "/v2/userInfo", query={"user_id": "nobody"}, headers=AUTH)
    call(base, "POST", "/api/widget/session", headers=AUTH, body={})
    got = [_first_line(proc.stderr, proc, 15), _first_line(proc.stderr, proc, 15)]
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and out == ""
    assert re.fullmatch(
        r"\d\d:\d\d:\d\d  GET    404  /v2/userInfo\?user_id=nobody  \d+\.\d ms\n", got[0]
    )
    assert re.fullmatch(r"\d\d:\d\d:\d\d  POST   200  /api/widget/session  \d+\.\d ms\n", got[1])
    assert err == "Stopped: 2 requests served.\n"


def test_json_ready_record_masks_a_configured_dev_id(home: Home, mocks: list[Mock]) -> None:
    assert home.run("config", "set", "dev-id", input=DEV_ID + "\n").code == 0
    mock = start_mock(home)
    mocks.append(mock)
    assert mock.ready["dev_id"] == "dev-…6789"
    ok = mock.call("GET", "/v2/subscriptions", headers={"dev-id": DEV_ID, "x-api-key": "mock-key"})
    assert ok.status == 200
