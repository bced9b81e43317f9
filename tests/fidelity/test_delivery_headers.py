"""What `terra trigger` and `terra events replay` put on the wire, checked from outside.

Every delivery goes to a real capture server on 127.0.0.1; signatures are
checked with an HMAC written here from the documented algorithm, for both
header names, and with Terra's own Python SDK (terra-python 1.1.0).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import Home
from tests.fakes.capture import Captured, capture_server
from tests.fidelity import spec
from tests.trigger.conftest import SECRET, independent_verify

ENV = {"TERRA_SIGNING_SECRET": SECRET}


def _trigger(home: Home, *args: str) -> tuple[Captured, dict[str, object]]:
    """Run `terra trigger ARGS --json` against a capture server: the request and the report."""
    with capture_server() as app:
        r = home.run("trigger", *args, "--to", app.url, "--json", env=ENV)
        assert r.code == 0, r.stderr
        (got,) = app.wait_for(1)
    report: dict[str, object] = json.loads(r.stdout)
    return got, report


def _names(got: Captured) -> list[str]:
    return [name.lower() for name, _ in got.headers]


def test_trigger_sends_the_headers_terra_sends_today(home: Home) -> None:
    before = time.time()
    got, report = _trigger(home, "daily")
    after = time.time()
    names = _names(got)
    for name in (
        "x-terra-signature",
        "terra-signature",
        "terra-reference",
        "x-terra-trace-id",
        "x-terra-ordering-timestamp",
        "content-type",
    ):
        assert names.count(name) == 1, name
    # Both signature headers carry one value, and each verifies on its own.
    assert got.header("x-terra-signature") == got.header("terra-signature")
    for name in ("x-terra-signature", "terra-signature"):
        t, valid = independent_verify(got.header(name) or "", got.body, SECRET)
        assert valid and before - 1 <= t <= after + 1
    ordering = int(got.header("x-terra-ordering-timestamp") or "")
    assert (before - 1) * 1000 <= ordering <= (after + 1) * 1000  # unix milliseconds
    assert got.header("content-type") == "application/json"
    trace = got.header("x-terra-trace-id") or ""
    assert report["trace_id"] == trace and str(uuid.UUID(trace)) == trace
    assert report["terra_reference"] == got.header("terra-reference")


def test_each_delivery_gets_its_own_trace_id_and_trace_id_repeats_one(home: Home) -> None:
    a, _ = _trigger(home, "sleep")
    b, _ = _trigger(home, "sleep")
    assert a.header("x-terra-trace-id") != b.header("x-terra-trace-id")
    retry, report = _trigger(home, "sleep", "--trace-id", "trace-abc:chunk:2")
    assert retry.header("x-terra-trace-id") == "trace-abc:chunk:2"
    assert report["trace_id"] == "trace-abc:chunk:2"


def test_header_adds_and_replaces_by_name_case_insensitively(home: Home) -> None:
    got, report = _trigger(
        home,
        "activity",
        "--header",
        "X-Debug-Run: 42",
        "--header",
        "content-type:application/json; charset=utf-8",
        "--header",
        "x-terra-trace-id: set-by-header",
    )
    assert got.header("x-debug-run") == "42"
    assert _names(got).count("content-type") == 1
    assert got.header("content-type") == "application/json; charset=utf-8"
    assert got.header("x-terra-trace-id") == "set-by-header" == report["trace_id"]
    # The signature is still over the exact bytes sent.
    assert independent_verify(got.header("x-terra-signature") or "", got.body, SECRET)[1]


def test_header_can_set_the_terra_reference_and_stdout_names_it(home: Home) -> None:
    with capture_server() as app:
        r = home.run(
            "trigger", "daily", "--to", app.url, "--header", "Terra-Reference: big-1", env=ENV
        )
        (got,) = app.wait_for(1)
    assert r.code == 0, r.stderr
    assert got.header("terra-reference") == "big-1" and r.stdout == "big-1\n"
    assert _names(got).count("terra-reference") == 1


def test_header_can_replace_the_signature_to_test_a_bad_one(home: Home) -> None:
    got, _ = _trigger(home, "deauth", "--header", "X-Terra-Signature: t=1,v1=00")
    assert got.header("x-terra-signature") == "t=1,v1=00"
    assert independent_verify(got.header("terra-signature") or "", got.body, SECRET)[1]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("no-colon-here", "not of the form 'Name: value'"),
        (": value", "not of the form 'Name: value'"),
        ("Bad Name: x", "not a valid header name"),
        ("X-Ok: line\nbreak", "control character"),
        ("Content-Length: 5", "cannot be set"),
        ("Host: example.com", "cannot be set"),
    ],
)
def test_bad_header_exits_3_with_a_hint_and_sends_nothing(
    home: Home, value: str, words: str
) -> None:
    with capture_server() as app:
        r = home.run("trigger", "activity", "--to", app.url, "--header", value, env=ENV)
        time.sleep(0.1)
        assert app.requests == []
    assert r.code == 3, r.stderr
    assert "Error: --header" in r.stderr and words in r.stderr
    assert "Hint: Use --header 'Name: value'" in r.stderr or "Hint: Drop that --header" in r.stderr
    assert r.stdout == ""


@pytest.mark.parametrize("value", ["", "has space", "tab\there"])
def test_bad_trace_id_exits_3(home: Home, value: str) -> None:
    r = home.run("trigger", "activity", "--trace-id", value, "--to", "http://127.0.0.1:9/x")
    assert r.code == 3 and "Error: --trace-id" in r.stderr and "Hint:" in r.stderr


# ---------------------------------------------------------------- --print


def test_print_writes_the_payload_and_sends_nothing(home: Home) -> None:
    with capture_server() as app:
        r = home.run("trigger", "sleep", "--print", "--to", app.url)
        time.sleep(0.1)
        assert app.requests == []
    assert r.code == 0, r.stderr
    payload = json.loads(r.stdout)
    assert payload["type"] == "sleep" and payload["data"]
    assert r.stderr == ""  # no secret needed, nothing reported


def test_print_is_byte_exact_what_trigger_would_send(home: Home, tmp_path: Path) -> None:
    raw = b'{"type":"healthcheck",  "status":"normal","note":"caf\xc3\xa9"}'
    path = tmp_path / "p.json"
    path.write_bytes(raw)
    proc = home.run("trigger", "--file", str(path), "--print")
    assert proc.code == 0 and proc.stdout.encode() == raw
    edited = home.run("trigger", "--file", str(path), "--print", "--set", "status=degraded")
    assert json.loads(edited.stdout)["status"] == "degraded"
    with capture_server() as app:
        assert home.run("trigger", "--file", str(path), "--to", app.url, env=ENV).code == 0
        (got,) = app.wait_for(1)
    assert got.body == raw


def test_print_and_json_are_a_usage_error(home: Home) -> None:
    r = home.run("trigger", "sleep", "--print", "--json")
    assert r.code == 4 and "Error: --print and --json" in r.stderr and "Hint:" in r.stderr


def test_bad_file_hint_suggests_print(home: Home, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{nope")
    r = home.run("trigger", "--file", str(path), env=ENV)
    assert r.code == 3
    assert "terra trigger TYPE --print > broken.json" in r.stderr and "--json" not in r.stderr


@pytest.mark.parametrize("name", sorted(spec.WEBHOOK_OF) + sorted(spec.COMPONENT_OF))
def test_every_print_validates_against_terras_schema(home: Home, name: str) -> None:
    schema = spec.schema_for(name)  # skips when the spec is not beside the checkout
    assert schema is not None
    r = home.run("trigger", name, "--print")
    assert r.code == 0, r.stderr
    problems = spec.errors(schema, json.loads(r.stdout))
    assert not problems, problems[:5]


# ---------------------------------------------------------------- Terra's SDK


def test_trigger_delivery_verifies_with_terras_python_sdk(home: Home) -> None:
    verify_signature = pytest.importorskip("terra.utils.verify_signature")
    for event_type in ("activity", "auth", "healthcheck"):
        got, _ = _trigger(home, event_type)
        payload = got.body.decode("utf-8")
        for name in ("x-terra-signature", "terra-signature"):
            header = got.header(name) or ""
            assert verify_signature.verify_terra_webhook_signature(payload, header, SECRET)
        with pytest.raises(verify_signature.WebhookVerificationError):
            verify_signature.verify_terra_webhook_signature(
                payload, got.header("x-terra-signature") or "", SECRET + "-wrong"
            )


# ---------------------------------------------------------------- replay


def _listen_once(home: Home, body: bytes, headers: dict[str, str]) -> dict[str, object]:
    """Log one delivery through a real `terra listen`; its log record."""
    from tests.listen.conftest import start_listener

    listener = start_listener(home, "--max-events", "1", env=ENV)
    assert listener.post(body, headers).status == 200
    code, _out, err = listener.finish()
    assert code in (0, 1), err
    files = sorted((home.data_dir / "events").glob("*.jsonl"))
    record: dict[str, object] = json.loads(files[-1].read_bytes().splitlines()[-1])
    return record


def _replay(home: Home, event_id: str, *flags: str) -> Captured:
    with capture_server() as app:
        r = home.run("events", "replay", event_id, "--to", app.url, *flags, env=ENV)
        assert r.code == 0, r.stderr
        (got,) = app.wait_for(1)
    return got


@pytest.mark.parametrize(
    "names",
    [("x-terra-signature",), ("terra-signature",), ("x-terra-signature", "terra-signature")],
)
def test_replay_keeps_the_recorded_header_names_and_re_signs_each(
    home: Home, names: tuple[str, ...]
) -> None:
    from terra_cli.webhooks.signature import sign

    body = b'{"type":"deauth","status":"success","user":{"user_id":"u1","provider":"OURA"}}'
    signature = sign(SECRET, body, int(time.time()) - 3600)  # an hour old: stale now
    headers = {n: signature for n in names}
    headers.update({"terra-reference": "ref-1", "x-terra-trace-id": "trace-1"})
    record = _listen_once(home, body, headers)
    got = _replay(home, str(record["id"]))
    sent = _names(got)
    for name in names:
        assert sent.count(name) == 1
        t, valid = independent_verify(got.header(name) or "", got.body, SECRET)
        assert valid and abs(t - time.time()) < 10
    # No signature header name the original did not have.
    assert {n for n in sent if n in ("x-terra-signature", "terra-signature")} == set(names)
    assert got.body == body and got.header("terra-reference") == "ref-1"
    fresh = got.header("x-terra-trace-id")
    assert fresh and fresh != "trace-1"


def test_replay_same_trace_id_repeats_the_recorded_one(home: Home) -> None:
    from terra_cli.webhooks.signature import sign

    body = b'{"type":"healthcheck","status":"normal"}'
    headers = {"x-terra-signature": sign(SECRET, body, int(time.time())), "x-terra-trace-id": "t-9"}
    record = _listen_once(home, body, headers)
    got = _replay(home, str(record["id"]), "--same-trace-id")
    assert got.header("x-terra-trace-id") == "t-9"
    original = _replay(home, str(record["id"]), "--original-signature", "--same-trace-id")
    assert original.header("x-terra-signature") == headers["x-terra-signature"]
    assert original.header("x-terra-trace-id") == "t-9"
