"""`terra trigger` and `terra events replay` report a 3xx as the answer; they never follow it."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.trigger.conftest import SECRET, log_event

ENV = {"TERRA_SIGNING_SECRET": SECRET}


@pytest.mark.parametrize("status", [302, 307, 308])
def test_trigger_reports_the_redirect_and_does_not_follow_it(home: Home, status: int) -> None:
    with capture_server() as elsewhere, capture_server(status=status) as app:
        app.headers = [("Location", elsewhere.url)]
        r = home.run("trigger", "activity", "--to", app.url, "--json", env=ENV)
        app.wait_for(1)
        assert elsewhere.requests == []
    assert r.code == 1, r.stderr
    assert json.loads(r.stdout)["status"] == status
    assert f"Error: {app.url} answered {status}." in r.stderr


@pytest.mark.parametrize("status", [301, 307])
def test_replay_reports_the_redirect_and_does_not_follow_it(home: Home, status: int) -> None:
    event_id = log_event(home.data_dir, b'{"type": "sleep", "data": []}')
    with capture_server() as elsewhere, capture_server(status=status) as app:
        app.headers = [("Location", elsewhere.url)]
        r = home.run("events", "replay", event_id, "--to", app.url, "--json", env=ENV)
        (got,) = app.wait_for(1)
        assert elsewhere.requests == []
    assert got.body == b'{"type": "sleep", "data": []}'
    assert r.code == 1, r.stderr
    assert json.loads(r.stdout)["status"] == status
    assert f"Error: {app.url} answered {status}." in r.stderr
