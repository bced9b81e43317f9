"""`terra check` against terra's own receiver: `listen --strict` passes, plain listen does not."""

from __future__ import annotations

import json
import signal

from tests.check.conftest import SMALL_BIG
from tests.check.handlers import SECRET
from tests.conftest import Home
from tests.listen.conftest import start_listener

ENV = {"TERRA_SIGNING_SECRET": SECRET}


def _check(home: Home, url: str) -> tuple[int, dict[str, str], int]:
    result = home.run("check", url, "--json", env={**ENV, **SMALL_BIG})
    report = json.loads(result.stdout)
    return result.code, {c["name"]: c["status"] for c in report["cases"]}, report["requests"]


def test_listen_strict_passes_every_case_and_logs_every_request(home: Home) -> None:
    listener = start_listener(home, "--strict", env=ENV)
    code, cases, requests = _check(home, listener.ready["url"])
    listener.proc.send_signal(signal.SIGTERM)
    _, out, _ = listener.finish()
    assert code == 0, cases
    assert set(cases.values()) == {"pass"}
    events = [json.loads(line) for line in out.splitlines()[1:]]
    assert len(events) == requests
    refused = {e["verdict"] for e in events if e["status"] == 401}
    assert refused == {"bad", "unsigned", "stale"}


def test_listen_without_strict_fails_the_signature_cases(home: Home) -> None:
    listener = start_listener(home, env=ENV)
    code, cases, _ = _check(home, listener.ready["url"])
    listener.proc.send_signal(signal.SIGTERM)
    listener.finish()
    assert code == 1
    assert {n for n, s in cases.items() if s == "fail"} == {
        "bad-signature",
        "missing-signature",
        "stale",
    }
