"""`terra check` exit codes, flags and streams, with real handlers and real sockets."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime

import pytest

from terra_cli.webhooks.conformance import CASE_NAMES
from tests.check.conftest import Checker
from tests.check.handlers import SECRET, running
from tests.conftest import Home


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port that is bound but not listening: connections to it are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        sock.close()


def test_only_runs_the_named_cases_in_suite_order(checker: Checker) -> None:
    with running() as handler:
        result, report = checker.json(handler.url, "--only", "stale, signed")
    assert result.code == 0, result.stderr
    assert [c["name"] for c in report["cases"]] == ["signed", "stale"]
    assert len(handler.seen) == sum(c["requests"] for c in report["cases"])
    assert report["cases"][1]["requests"] == 2
    # Only those cases' events arrived: every reference names one of them.
    cases = {s.headers["terra-reference"].split("-")[3] for s in handler.seen}
    assert cases == {"signed", "stale"}


def test_only_with_a_failing_case_exits_1(checker: Checker) -> None:
    with running("no-time-check") as handler:
        result, report = checker.json(handler.url, "--only", "stale")
    assert result.code == 1
    assert report["failed"] == 1 and report["passed"] == 0
    assert report["cases"][0]["detail"].startswith("accepted: ")


def test_unknown_case_exits_3_listing_the_names_and_sends_nothing(checker: Checker) -> None:
    with running() as handler:
        result = checker.run(handler.url, "--only", "signed,bogus")
    assert result.code == 3
    assert "Error: Unknown case 'bogus' in --only." in result.stderr
    hint = next(line for line in result.stderr.splitlines() if line.startswith("Hint:"))
    assert all(name in hint for name in CASE_NAMES)
    assert handler.seen == [] and result.stdout == ""


def test_empty_only_exits_3(checker: Checker) -> None:
    result = checker.run("http://127.0.0.1:9/x", "--only", " , ")
    assert result.code == 3 and "Hint:" in result.stderr


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/x", "127.0.0.1:3000/hook", "http://:80/", "http://h:99999/"]
)
def test_bad_url_exits_3(checker: Checker, url: str) -> None:
    result = checker.run(url)
    assert result.code == 3
    assert result.stderr.startswith("Error: URL ") and "Hint:" in result.stderr


def test_unreachable_url_exits_8(checker: Checker, refused_port: int) -> None:
    result = checker.run(f"http://127.0.0.1:{refused_port}/webhooks/terra")
    assert result.code == 8
    assert f"Error: Connection refused at 127.0.0.1:{refused_port}" in result.stderr
    assert "Hint: Is your app running" in result.stderr
    assert result.stdout == ""


def test_a_url_that_never_answers_exits_8(checker: Checker, silent_port: int) -> None:
    url = f"http://127.0.0.1:{silent_port}/hook"
    result = checker.run(url, "--only", "missing-user", "--timeout", "0.2")
    assert result.code == 8
    assert "never answered" in result.stderr and "Hint:" in result.stderr


def test_no_signing_secret_exits_2_with_both_fixes(home: Home) -> None:
    with running() as handler:
        result = home.run("check", handler.url)
    assert result.code == 2
    assert "Error: No signing-secret is configured" in result.stderr
    assert "--secret" in result.stderr and "terra config set signing-secret" in result.stderr
    assert handler.seen == []


def test_secret_from_config(home: Home) -> None:
    assert home.run("config", "set", "signing-secret", input=SECRET + "\n").code == 0
    with running() as handler:
        result = home.run("check", handler.url, "--only", "signed,bad-signature", "--json",
                          env={"TERRA_CHECK_BIG_MB": "1"})  # fmt: skip
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["passed"] == 2


def test_secret_flag_works_and_warns_about_history(home: Home) -> None:
    with running() as handler:
        result = home.run("check", handler.url, "--secret", SECRET, "--only", "signed")
    assert result.code == 0, result.stderr
    assert "Warning: --secret on a command line stays in your shell history" in result.stderr
    assert SECRET not in result.output


def test_a_different_secret_fails_the_accepting_cases(checker: Checker) -> None:
    with running(secret="whsec_another_handler_secret_42") as handler:
        result, report = checker.json(handler.url, "--only", "signed,bad-signature")
    cases = {c["name"]: c["status"] for c in report["cases"]}
    assert result.code == 1 and cases == {"signed": "fail", "bad-signature": "pass"}


def test_bad_big_size_variable_exits_3(checker: Checker) -> None:
    result = checker.run("http://127.0.0.1:9/x", env={"TERRA_CHECK_BIG_MB": "lots"})
    assert result.code == 3 and "TERRA_CHECK_BIG_MB" in result.stderr


def test_bad_timeout_is_a_usage_error(checker: Checker) -> None:
    result = checker.run("http://127.0.0.1:9/x", "--timeout", "0")
    assert result.code == 4 and "Error:" in result.stderr


def test_the_real_30_mb_case_is_sent_byte_exact(checker: Checker) -> None:
    with running() as handler:
        result, report = checker.json(handler.url, "--only", "big", env={"TERRA_CHECK_BIG_MB": ""})
    assert result.code == 0, result.stderr
    assert len(handler.seen) == 1
    seen = handler.seen[0]
    # 200 from this handler means its own HMAC over the raw bytes matched.
    assert seen.status == 200
    assert len(seen.body) >= 30 * 1024 * 1024
    event = json.loads(seen.body)
    assert event["type"] == "activity" and len(event["data"]) > 50
    hr = event["data"][0]["heart_rate_data"]["detailed"]["hr_samples"]
    assert len(hr) > 1000 and {"timestamp", "bpm"} <= set(hr[0])
    starts = [datetime.fromisoformat(r["metadata"]["start_time"]) for r in event["data"]]
    assert starts == sorted(starts)  # oldest first
    assert len({s.utcoffset() for s in starts}) == 1  # one user, one time zone
    assert len({r["metadata"]["summary_id"] for r in event["data"]}) == len(starts)
    assert report["cases"][0]["status"] == "pass"
