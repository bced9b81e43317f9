"""`terra listen --register` and `--cleanup`, as the installed CLI, with the fake agent
as ngrok and the fake Admin API as Terra (which also plays Terra's deliveries)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from terra_cli.admin_api import AdminClient
from tests.admin.conftest import DEV_ID, logged_in
from tests.conftest import Home
from tests.fakes.admin_api import FakeAdmin
from tests.tunnel.conftest import Records, install_fake, pid_alive, wait_until

NGROK_TOKEN = "fake-ngrok-token-0123456789"
PAYLOAD = {"type": "activity", "user": {"user_id": "u-1", "provider": "GARMIN"}, "data": [{}]}


@pytest.fixture
def env(admin_home: Home, admin: FakeAdmin, tmp_path: Path, records: Records) -> Home:
    agent = install_fake(tmp_path / "agent-bin" / "ngrok")
    admin_home.env.update(
        TERRA_NGROK_PATH=str(agent),
        NGROK_AUTHTOKEN=NGROK_TOKEN,
        FAKE_NGROK_RECORD=str(records.folder),
        TERRA_NGROK_START_TIMEOUT="3",
        TERRA_NGROK_CHECK_INTERVAL="0.1",
        TERRA_NGROK_BACKOFF="0.05",
        TERRA_NGROK_RETRIES="2",
        TERRA_DEV_ID=DEV_ID,
    )
    logged_in(admin_home, admin)
    return admin_home


def _read_line(proc: subprocess.Popen[str], timeout: float = 20) -> str:
    assert proc.stdout is not None
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    data = bytearray()
    try:
        while not data.endswith(b"\n"):
            byte = os.read(proc.stdout.fileno(), 1)
            if not byte:
                break
            data += byte
    finally:
        timer.cancel()
    return data.decode()


@dataclass
class Run:
    proc: subprocess.Popen[str]
    ready: dict[str, Any]

    def line(self, timeout: float = 20) -> dict[str, Any]:
        text = _read_line(self.proc, timeout)
        assert text, "stdout ended"
        return dict(json.loads(text))

    def stop(self, sig: int = signal.SIGINT) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=20)
        return self.proc.returncode, out, err


@pytest.fixture
def listen(env: Home) -> Iterator[Any]:
    runs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Run:
        proc = env.popen("listen", "--port", "0", "--json", "--register", *args)
        runs.append(proc)
        line = _read_line(proc)
        if not line:
            _, err = proc.communicate(timeout=10)
            raise AssertionError(f"terra listen did not start: {err}")
        ready = json.loads(line)
        assert ready["kind"] == "ready"
        return Run(proc, ready)

    yield start
    for proc in runs:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _urls(admin: FakeAdmin) -> list[str]:
    return [d["url"] for d in admin.destinations[DEV_ID]]


def _records_dir(home: Home) -> Path:
    return home.data_dir / "registrations"


def test_register_creates_verifies_with_terras_secret_and_deletes_on_stop(
    listen: Any, admin: FakeAdmin, env: Home
) -> None:
    run = listen()
    public = run.ready["public_url"]
    assert _urls(admin) == [public]
    [create] = admin.requests("POST", "/unified-api/destinations")
    assert create.headers.get("idempotency-key")
    assert json.loads(create.body) == {"type": "webhook", "url": public, "active": True}
    [record] = list(_records_dir(env).glob("*.json"))
    assert stat.S_IMODE(record.stat().st_mode) == 0o600
    assert json.loads(record.read_text())["destination_id"] == admin.destinations[DEV_ID][0]["id"]
    created_secret = admin.destinations[DEV_ID][0]["signing_secret"]
    # Terra (the fake) signs with the secret it returned once, and the verdict is ok.
    [sent] = admin.deliver(DEV_ID, PAYLOAD)
    assert sent["status"] == 200
    event = run.line()
    assert (event["kind"], event["type"], event["verdict"]) == ("event", "activity", "ok")
    code, out, err = run.stop()
    assert code == 0, err
    assert created_secret not in out + err  # the secret is used, never shown
    assert f"Terra delivers here: {public} (environment Staging)" in err
    assert "paste it and save" not in err
    assert admin.destinations[DEV_ID] == []
    assert list(_records_dir(env).glob("*.json")) == []
    assert "Deleted destination" in err
    assert len(admin.requests("POST", "/unified-api/destinations")) == 1


def test_a_destination_terra_did_not_create_is_left_alone_and_named(
    listen: Any, admin: FakeAdmin
) -> None:
    theirs = admin.add_destination(DEV_ID, "https://teammate.example/terra")
    run = listen()
    code, _, err = run.stop()
    assert code == 0, err
    assert "Terra also sends every event to 1 other destination in this environment" in err
    assert "https://teammate.example/terra" in err
    assert admin.destinations[DEV_ID] == [theirs]
    touched = [s for s in admin.seen if s.method in ("PATCH", "DELETE") and theirs["id"] in s.path]
    assert touched == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reserved_domain_keeps_and_reuses_its_destination(
    listen: Any, admin: FakeAdmin, env: Home
) -> None:
    env.env["FAKE_NGROK_DOMAIN_PORT"] = str(_free_port())
    first = listen("--domain", "hooks.example.ngrok.app")
    public = first.ready["public_url"]
    code, _, err = first.stop()
    assert code == 0, err
    [dest] = admin.destinations[DEV_ID]
    assert dest["url"] == public  # kept: a reserved domain's destination stays
    assert "Kept destination" in err
    doc = json.loads(env.run("login", "--status", "--json").stdout)
    assert [r["destination_id"] for r in doc["kept_destinations"]] == [dest["id"]]
    assert doc["leftover_destinations"] == []
    cleaned = env.run("listen", "--cleanup")
    assert cleaned.code == 0 and f"Left kept destination {dest['id']}" in cleaned.stderr
    assert admin.destinations[DEV_ID] == [dest]  # --cleanup never deletes a kept one
    assert "Saved the new destination's signing secret as signing-secret" in err
    assert f'signing_secret = "{dest["signing_secret"]}"' in env.config_file.read_text()
    # The next run reuses it (no second create) and verifies with the kept secret.
    second = listen("--domain", "hooks.example.ngrok.app")
    assert second.ready["public_url"] == public
    assert len(admin.requests("POST", "/unified-api/destinations")) == 1
    admin.deliver(DEV_ID, PAYLOAD)
    assert second.line()["verdict"] == "ok"
    code, _, err = second.stop()
    assert code == 0, err
    assert admin.destinations[DEV_ID] == [dest]
    assert admin.requests("DELETE", "/unified-api/destinations") == []
    # --delete-destination removes the one terra created.
    third = listen("--domain", "hooks.example.ngrok.app", "--delete-destination")
    code, _, err = third.stop()
    assert code == 0, err
    assert admin.destinations[DEV_ID] == []


def test_reserved_domain_destination_made_on_the_dashboard_is_reused_not_deleted(
    listen: Any, admin: FakeAdmin, env: Home
) -> None:
    port = _free_port()
    env.env["FAKE_NGROK_DOMAIN_PORT"] = str(port)
    url = f"http://127.0.0.1:{port}/consumeTerraWebhook"
    theirs = admin.add_destination(DEV_ID, url)
    env.env["TERRA_SIGNING_SECRET"] = theirs["signing_secret"]  # pasted once, by hand
    run = listen("--domain", "hooks.example.ngrok.app", "--delete-destination")
    assert run.ready["public_url"] == url
    admin.deliver(DEV_ID, PAYLOAD)
    assert run.line()["verdict"] == "ok"
    code, _, err = run.stop()
    assert code == 0, err
    assert "terra did not create it" in err
    assert admin.destinations[DEV_ID] == [theirs]
    assert admin.requests("POST", "/unified-api/destinations") == []
    assert admin.requests("DELETE", "/unified-api/destinations") == []


def test_tunnel_restart_moves_the_destination_and_the_secret(
    listen: Any, admin: FakeAdmin, env: Home
) -> None:
    env.env.update(FAKE_NGROK_MODE="die,ok", FAKE_NGROK_DELAY="0.7")
    run = listen()
    first = run.ready["public_url"]
    old_id = admin.destinations[DEV_ID][0]["id"]
    moved = run.line()
    assert moved["kind"] == "tunnel" and moved["changed"] is True
    new = moved["public_url"]
    assert wait_until(lambda: _urls(admin) == [new])
    assert first != new
    [dest] = admin.destinations[DEV_ID]
    assert dest["id"] != old_id
    [sent] = admin.deliver(DEV_ID, PAYLOAD)
    assert sent["status"] == 200
    assert run.line()["verdict"] == "ok"  # checked with the new destination's secret
    code, _, err = run.stop()
    assert code == 0, err
    assert f"Terra delivers here now: {new}" in err
    assert admin.destinations[DEV_ID] == []
    assert len(admin.requests("POST", "/unified-api/destinations")) == 2
    assert len(admin.requests("DELETE", "/unified-api/destinations")) == 2


def test_a_sigkilled_run_leaves_a_leftover_that_status_names_and_cleanup_deletes(
    listen: Any, admin: FakeAdmin, env: Home, records: Records
) -> None:
    run = listen()
    [dest] = admin.destinations[DEV_ID]
    run.proc.kill()
    run.proc.communicate()
    assert wait_until(lambda: records.alive() == [])
    assert admin.destinations[DEV_ID] == [dest]  # nobody deleted it
    status = env.run("login", "--status")
    assert status.code == 0, status.stderr
    assert f"Leftover destination {dest['id']}" in status.stderr
    assert "terra listen --cleanup" in status.stderr
    doc = json.loads(env.run("login", "--status", "--json").stdout)
    assert [r["destination_id"] for r in doc["leftover_destinations"]] == [dest["id"]]
    # The next --register names it too, before doing its own work.
    again = listen()
    code, _, err = again.stop()
    assert code == 0, err
    assert f"Leftover destination {dest['id']}" in err
    cleaned = env.run("listen", "--cleanup")
    assert cleaned.code == 0, cleaned.stderr
    assert f"Deleted destination {dest['id']}" in cleaned.stderr
    assert admin.destinations[DEV_ID] == []
    assert list(_records_dir(env).glob("*.json")) == []
    assert "nothing to clean up" in env.run("listen", "--cleanup").stderr


def test_missing_scope_exits_2_naming_it_before_any_tunnel(
    env: Home, admin: FakeAdmin, records: Records
) -> None:
    logged_in(env, admin, scopes=["destinations:read", "events:read"])
    r = env.run("listen", "--port", "0", "--register")
    assert r.code == 2
    assert "destinations:write" in r.stderr
    assert "terra login --scope destinations:write" in r.stderr
    assert records.starts() == []
    assert admin.destinations[DEV_ID] == []


def test_a_production_looking_environment_is_warned_about(listen: Any, admin: FakeAdmin) -> None:
    run = listen("--env", "prod-app-x81LmQ")
    code, _, err = run.stop()
    assert code == 0, err
    assert "Environment Production looks like production" in err
    assert "(environment Production)" in err
    assert admin.destinations["prod-app-x81LmQ"] == []


def test_unknown_environment_exits_3(env: Home, admin: FakeAdmin, records: Records) -> None:
    r = env.run("listen", "--port", "0", "--register", "--env", "no-such-env")
    assert r.code == 3
    assert "dev_id_not_found" in r.stderr
    assert records.starts() == []


def test_register_needs_a_token_and_a_tunnel(env: Home, admin: FakeAdmin) -> None:
    r = env.run("listen", "--register", "--no-tunnel", "--port", "0")
    assert r.code == 4
    assert "--no-tunnel" in r.stderr
    r = env.run("listen", "--register", "--keep-destination", "--delete-destination")
    assert r.code == 4 and "contradict" in r.stderr
    r = env.run("config", "unset", "admin-token")
    assert r.code == 0
    r = env.run("listen", "--register", "--port", "0")
    assert r.code == 2
    assert "terra login" in r.stderr


def test_cleanup_of_a_run_that_died_during_the_create(
    admin: FakeAdmin, env: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record written before the create, then a crash: the same Idempotency-Key and
    body give the create's answer back, so cleanup finds and deletes that destination."""
    from terra_cli.webhooks.registration import Record, cleanup

    token = admin.mint(["destinations:read", "destinations:write"])
    url = "https://example.ngrok.app/consumeTerraWebhook"
    key = "3b0f3a53-6a6e-4f0f-9d53-1e9b3c3f0a11"
    monkeypatch.setenv("TERRA_DATA_DIR", str(env.data_dir))
    with AdminClient(admin.base, token, retries=0) as client:
        made = client.create_destination(DEV_ID, url, key)  # Terra made it; terra died
        Record(admin.base, DEV_ID, url, key, pid=-1).save()
        notes: list[str] = []
        done = cleanup(client, notes.append)
    assert [r.idempotency_key for r in done] == [key]
    assert admin.destinations[DEV_ID] == []
    assert f"Deleted destination {made.id}" in notes[0]
    assert len(admin.requests("POST", "/unified-api/destinations")) == 2  # the replay
    assert not pid_alive(-1)


def test_a_url_change_before_the_first_attach_is_followed(
    admin: FakeAdmin, env: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tunnel may restart between its start and the first attach: the later URL wins."""
    from terra_cli.webhooks.registration import Registration

    monkeypatch.setenv("TERRA_DATA_DIR", str(env.data_dir))
    token = admin.mint(["destinations:read", "destinations:write"])
    secrets: list[str] = []
    notes: list[str] = []
    registration = Registration(
        AdminClient(admin.base, token, retries=0),
        DEV_ID,
        keep=None,
        reserved=False,
        set_secret=secrets.append,
        notify=notes.append,
        warn=notes.append,
    )
    registration.move("https://b.example/consumeTerraWebhook")  # before attach: remembered
    assert admin.destinations[DEV_ID] == []
    registration.attach("https://a.example/consumeTerraWebhook")
    [dest] = admin.destinations[DEV_ID]
    assert dest["url"] == "https://b.example/consumeTerraWebhook"
    assert secrets[-1] == dest["signing_secret"]
    registration.close()
    assert admin.destinations[DEV_ID] == []
    assert list(_records_dir(env).glob("*.json")) == []


def test_a_delete_terra_refuses_on_stop_leaves_a_leftover_for_cleanup(
    listen: Any, admin: FakeAdmin, env: Home
) -> None:
    run = listen()
    [dest] = admin.destinations[DEV_ID]
    admin.fail_next = [503]  # the stop's delete (TERRA_RETRIES=0 here: no retry)
    code, _, err = run.stop()
    assert code == 0, err  # a Ctrl-C stop is still a success
    assert f"Could not delete destination {dest['id']}" in err
    assert "'terra listen --cleanup' deletes it" in err
    assert admin.destinations[DEV_ID] == [dest]
    doc = json.loads(env.run("login", "--status", "--json").stdout)
    assert [r["destination_id"] for r in doc["leftover_destinations"]] == [dest["id"]]
    assert env.run("listen", "--cleanup").code == 0
    assert admin.destinations[DEV_ID] == []
