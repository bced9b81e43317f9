"""The installed `terra listen` as a subprocess: NDJSON, the log, exit codes, signals."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from typing import Any

import pytest

from terra_cli.webhooks.signature import sign
from tests.conftest import Home
from tests.listen.conftest import SECRET, start_listener, start_plain_listener
from tests.listen.payloads import EVENTS, USER_ID, dumps

ENV = {"TERRA_SIGNING_SECRET": SECRET}
EVENT_FIELDS = [
    "kind", "id", "received_at", "method", "path", "type", "user_id", "provider",
    "reference_id", "terra_reference", "trace_id", "size", "records", "verdict", "status",
    "forward", "retry", "summary",
    # Added by issue 11 (the contract allows additions): why the verdict, the date
    # span, and chunk k of N for a large request.
    "verdict_detail", "span", "chunk",
]  # fmt: skip


def signed(body: bytes, **extra: str) -> dict[str, str]:
    return {"terra-signature": sign(SECRET, body, int(time.time())), **extra}


def log_records(home: Home) -> list[dict[str, Any]]:
    files = sorted((home.data_dir / "events").glob("*.jsonl"))
    return [json.loads(line) for f in files for line in f.read_bytes().splitlines()]


def assert_clean(stdout: str, stderr: str) -> None:
    assert "Traceback" not in stdout + stderr
    assert SECRET not in stdout + stderr


def test_json_max_events_records_log_and_exit_0(home: Home) -> None:
    listener = start_listener(home, "--max-events", "3", env=ENV)
    port = listener.port
    assert listener.ready == {
        "kind": "ready",
        "url": f"http://127.0.0.1:{port}/consumeTerraWebhook",
        "public_url": None,
        "host": "127.0.0.1",
        "port": port,
        "path": "/consumeTerraWebhook",
        "inspect_url": listener.ready["inspect_url"],  # the inspector page (tests/inspector)
    }
    assert listener.ready["inspect_url"].startswith("http://127.0.0.1:")
    bodies = [dumps(EVENTS["activity"]), dumps(EVENTS["auth"]), dumps(EVENTS["healthcheck"])]
    extra = [
        {"terra-reference": "tref-1", "x-terra-trace-id": "tr-1"},
        {"x-terra-trace-id": "tr-1"},
        {},
    ]
    answers = [listener.post(b, signed(b, **h)) for b, h in zip(bodies, extra, strict=True)]
    assert [a.status for a in answers] == [200, 200, 200]
    code, out, err = listener.finish()
    assert code == 0, err
    assert_clean(out, err)
    lines = out.splitlines()
    assert len(lines) == 4
    events = [json.loads(line) for line in lines[1:]]
    for event, answer in zip(events, answers, strict=True):
        assert list(event) == EVENT_FIELDS
        assert event["id"] == answer.json()["id"]
        assert event["method"] == "POST" and event["path"] == "/consumeTerraWebhook"
        assert event["verdict"] == "ok" and event["status"] == 200 and event["forward"] is None
    activity, auth, health = events
    assert activity["type"] == "activity" and activity["records"] == 2
    assert activity["user_id"] == USER_ID and activity["provider"] == "OURA"
    assert activity["reference_id"] == "athlete-42"
    assert activity["terra_reference"] == "tref-1" and activity["trace_id"] == "tr-1"
    assert activity["size"] == len(bodies[0]) and activity["retry"] is False
    assert activity["summary"] == "2 activity records, 2026-11-01 to 2026-11-03"
    assert auth["type"] == "auth" and auth["records"] is None and auth["retry"] is True
    assert health["type"] == "healthcheck" and health["user_id"] is None
    assert health["trace_id"] is None and health["terra_reference"] is None
    # The log holds the same requests, byte-exact.
    records = log_records(home)
    assert [r["id"] for r in records] == [e["id"] for e in events]
    for record, body in zip(records, bodies, strict=True):
        assert record["body"].encode() == body
        assert record["status"] == 200 and record["verdict"] == "ok"
        assert list(record)[:5] == ["id", "received_at", "method", "path", "headers"]
        assert record["headers"]["content-length"] == str(len(body))
    assert "3 events (3 ok)" in err


def test_a_second_run_appends_to_the_event_log(home: Home) -> None:
    ids = []
    for n in (1, 2):
        body = dumps({"type": "healthcheck", "run": n})
        listener = start_listener(home, "--max-events", "1", env=ENV)
        reply = listener.post(body, signed(body))
        code, _, err = listener.finish()
        assert code == 0, err
        ids.append(reply.json()["id"])
    records = log_records(home)
    assert [r["id"] for r in records] == ids
    assert [json.loads(r["body"])["run"] for r in records] == [1, 2]


def test_a_failed_verdict_makes_max_events_exit_1(home: Home) -> None:
    listener = start_listener(home, "--max-events", "2", env=ENV)
    body = dumps(EVENTS["sleep"])
    listener.post(body, signed(body))
    assert listener.post(body).status == 200  # unsigned, acknowledged anyway
    code, out, err = listener.finish()
    assert code == 1
    verdicts = [json.loads(line)["verdict"] for line in out.splitlines()[1:]]
    assert verdicts == ["ok", "unsigned"]
    assert "1 ok, 1 unsigned" in err
    assert_clean(out, err)


def test_without_a_secret_verdicts_are_unchecked_and_exit_0(home: Home) -> None:
    listener = start_listener(home, "--max-events", "1")
    listener.post(b"not json at all")
    code, out, _err = listener.finish()
    assert code == 0
    event = json.loads(out.splitlines()[1])
    assert event["verdict"] == "unchecked" and event["type"] is None
    assert event["summary"].startswith("not JSON")


def test_timeout_before_max_events_exits_1(home: Home) -> None:
    listener = start_listener(home, "--max-events", "5", "--timeout", "0.5", env=ENV)
    body = dumps(EVENTS["daily"])
    listener.post(body, signed(body))
    code, out, err = listener.finish()
    assert code == 1
    assert len(out.splitlines()) == 2
    assert "reached --timeout" in err


def test_timeout_alone_exits_0(home: Home) -> None:
    code, out, err = start_listener(home, "--timeout", "0.3").finish()
    assert code == 0
    assert json.loads(out)["kind"] == "ready"
    assert "0 events" in err


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_within_2s_with_a_summary(home: Home, signum: int) -> None:
    listener = start_listener(home, env=ENV)
    body = dumps(EVENTS["body"])
    listener.post(body, signed(body))
    listener.post(body, {"terra-signature": "t=1,v1=00"})
    time.sleep(0.2)
    started = time.monotonic()
    listener.proc.send_signal(signum)
    code, out, err = listener.finish(timeout=5)
    took = time.monotonic() - started
    assert code == 0, err
    assert took < 2.5  # generous slack over the contract's 2 s for a loaded CI machine
    assert "Stopped" in err and "2 events (1 bad, 1 ok)" in err
    assert len(out.splitlines()) == 3
    assert_clean(out, err)


def test_port_in_use_exits_9_with_a_hint(home: Home) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = home.run("listen", "--no-tunnel", "--port", str(port), "--json")
    assert result.code == 9
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[0] == f"Error: Port {port} on 127.0.0.1 is already in use."
    assert lines[1].startswith("Hint: ") and "--port" in lines[1]


def test_strict_answers_401_logs_and_exits_1(home: Home) -> None:
    listener = start_listener(home, "--strict", "--max-events", "2", env=ENV)
    body = dumps(EVENTS["nutrition"])
    assert listener.post(body, signed(body)).status == 200
    assert listener.post(body, {"terra-signature": "t=1,v1=00"}).status == 401
    code, out, _err = listener.finish()
    assert code == 1
    statuses = [json.loads(line)["status"] for line in out.splitlines()[1:]]
    assert statuses == [200, 401]
    assert [r["status"] for r in log_records(home)] == [200, 401]
    assert [r["verdict"] for r in log_records(home)] == ["ok", "bad"]


def test_no_save_writes_nothing(home: Home) -> None:
    listener = start_listener(home, "--no-save", "--max-events", "1", env=ENV)
    body = dumps(EVENTS["deauth"])
    listener.post(body, signed(body))
    code, out, _err = listener.finish()
    assert code == 0
    assert len(out.splitlines()) == 2
    assert not (home.data_dir / "events").exists() or log_records(home) == []


def test_oversized_body_is_413_in_ndjson_and_log(home: Home) -> None:
    listener = start_listener(home, "--max-body", "0.001", "--max-events", "1")
    assert listener.post(b"z" * 5000).status == 413
    _code, out, _err = listener.finish()
    event = json.loads(out.splitlines()[1])
    assert event["status"] == 413 and event["size"] == 5000
    [record] = log_records(home)
    assert record["status"] == 413 and record["body"] is None


def test_events_filter_shows_only_chosen_types_and_warns_on_unknown(home: Home) -> None:
    listener = start_listener(home, "--events", "sleep,slep", "--max-events", "2")
    listener.post(dumps(EVENTS["activity"]))
    listener.post(dumps(EVENTS["sleep"]))
    code, out, err = listener.finish()
    assert code == 0
    types = [json.loads(line)["type"] for line in out.splitlines()[1:]]
    assert types == ["sleep"]
    assert "Warning: unknown event type(s) for --events: slep" in err
    assert len(log_records(home)) == 2


def test_tunnel_without_authtoken_exits_2_naming_both_fixes(home: Home) -> None:
    result = home.run("listen", "--port", "0")
    assert result.code == 2
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("Error: ") and "ngrok authtoken" in lines[0]
    assert lines[1].startswith("Hint: ")
    assert "terra config set ngrok-authtoken" in lines[1] and "--no-tunnel" in lines[1]
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["--port", "-1"],
        ["--port", "70000"],
        ["--max-events", "0"],
        ["--tolerance", "-5"],
        ["--timeout", "0"],
        ["--bogus"],
    ],
)
def test_bad_flags_are_usage_errors(home: Home, args: list[str]) -> None:
    result = home.run("listen", "--no-tunnel", *args)
    assert result.code == 4
    assert result.stderr.startswith("Error: ") and "\nHint: " in result.stderr
    assert result.stdout == ""


def test_stdout_closed_early_ends_cleanly(home: Home) -> None:
    proc = subprocess.run(
        ["bash", "-c", "terra listen --no-tunnel --port 0 --json | head -1; "
         "echo \"rc=${PIPESTATUS[0]}\""],
        capture_output=True, text=True, env=_env_with_terra(home), timeout=20,
    )  # fmt: skip
    lines = proc.stdout.splitlines()
    assert json.loads(lines[0])["kind"] == "ready"
    assert lines[1] == "rc=0"
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr
    assert "stdout closed" in proc.stderr


def _env_with_terra(home: Home) -> dict[str, str]:
    from tests.conftest import BIN

    env = dict(home.env)
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    return env


# -- human output -------------------------------------------------------------------


def test_plain_lines_without_colour(home: Home) -> None:
    listener, _banner = start_plain_listener(
        home, "--max-events", "2", env={**ENV, "NO_COLOR": "1", "COLUMNS": "100"}
    )
    body = dumps(EVENTS["activity"])
    listener.post(body, signed(body))
    listener.post(body)
    code, out, err = listener.finish()
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert "\x1b[" not in out + err
    assert "Signatures:  checked" in err
    for line in lines:  # piped: one unwrapped line per event, whatever COLUMNS says
        assert " activity " in line and " OURA " in line
        assert "7d5c1e0a-3b2f-4c69-9e1d-2a4b6c8d0f12" in line
        assert "reference_id=athlete-42" in line
    assert lines[0].split()[1] == "ok"
    assert lines[1].split()[1] == "unsigned"
    assert "2 activity records" in lines[0]
    assert "Warning: signature check failed (unsigned)" in err
    assert "no signature header" in err
    assert_clean(out, err)


def test_lines_with_forced_colour(home: Home) -> None:
    listener, _ = start_plain_listener(
        home, "--max-events", "1", env={**ENV, "FORCE_COLOR": "1", "COLUMNS": "100"}
    )
    body = dumps(EVENTS["sleep"])
    listener.post(body, signed(body))
    code, out, _err = listener.finish()
    assert code == 0
    assert "\x1b[36msleep" in out  # data events in cyan
    assert "\x1b[32mok       \x1b[0m" in out


def test_full_shows_pretty_json_and_cuts_long_bodies(home: Home) -> None:
    listener, _ = start_plain_listener(home, "--full", "--max-events", "2", env={"NO_COLOR": "1"})
    listener.post(dumps(EVENTS["deauth"]))
    big = dumps({"type": "daily", "data": [{"n": i, "pad": "x" * 50} for i in range(500)]})
    listener.post(big)
    code, out, _err = listener.finish()
    assert code == 0
    assert '\n  "type": "deauth",\n' in out
    assert "… cut: " in out and "terra events show evt_" in out
    assert len(out) < len(big)


def test_unwritable_event_log_answers_500_and_exits_9(home: Home) -> None:
    home.data_dir.mkdir(parents=True)
    (home.data_dir / "events").write_text("a file where the events folder should be")
    listener = start_listener(home)
    assert listener.post(dumps(EVENTS["sleep"])).status == 500
    code, out, err = listener.finish()
    assert code == 9
    lines = [line for line in err.splitlines() if line.startswith(("Error:", "Hint:"))]
    assert lines[0].startswith("Error: Cannot create the directory")
    assert lines[1].startswith("Hint: ")
    assert "TERRA_DATA_DIR" in lines[1] and "--no-save" in lines[1]
    assert len(out.splitlines()) == 1  # the ready record only: nothing unsaved was shown
    assert_clean(out, err)


def test_help_lists_every_contract_flag(home: Home) -> None:
    result = home.run("listen", "--help", env={"COLUMNS": "200"})
    assert result.code == 0
    for flag in (
        "--port", "--host", "--path", "--no-tunnel", "--domain", "--region", "--events",
        "--full", "--json", "--no-save", "--strict", "--tolerance", "--max-body",
        "--max-events", "--timeout",
    ):  # fmt: skip
        assert flag in result.stdout, flag
