"""How tunnel status reports look on stderr (and the NDJSON record on stdout)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from terra_cli.errors import NetworkError
from terra_cli.render.tunnel import TunnelView, download_text
from terra_cli.tunnel import (
    Downloaded,
    Downloading,
    DownloadProgress,
    Failed,
    Lost,
    Online,
    Retrying,
    Starting,
)

PATH = "/consumeTerraWebhook"


def test_download_text() -> None:
    assert download_text(5_000_000, 12_000_000) == "Downloading ngrok: 41% (5.0 MB of 12.0 MB)"
    assert download_text(3_500_000, None) == "Downloading ngrok: 3.5 MB"


def test_plain_download_progress_is_a_few_lines(capsys: pytest.CaptureFixture[str]) -> None:
    view = TunnelView(PATH)
    view(Downloading("http://127.0.0.1:1/ngrok.tgz", Path("/x/ngrok")))
    for got in range(0, 10_000_001, 100_000):
        view(DownloadProgress(got, 10_000_000))
    view(Downloaded(Path("/x/ngrok")))
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == "ngrok is not installed; downloading it to /x/ngrok (first run only)…"
    assert [ln.split(":")[1].split("%")[0].strip() for ln in lines[1:-1]] == [
        "0",
        "25",
        "50",
        "75",
        "100",
    ]
    assert lines[-1] == "ngrok installed at /x/ngrok"


def test_restart_with_a_new_url_is_loud_and_recorded_in_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    view = TunnelView(PATH, json_mode=True)
    view(Starting(Path("/x/ngrok"), 0))
    view(Online("https://a.ngrok.app"))
    view(Lost("the ngrok agent exited (code 1)"))
    view(Retrying(1, 5, 1.0, "the ngrok agent exited (code 1)"))
    view(Starting(Path("/x/ngrok"), 1))
    view(Online("https://b.ngrok.app", previous_url="https://a.ngrok.app"))
    out, err = capsys.readouterr()
    assert json.loads(out) == {
        "kind": "tunnel",
        "public_url": f"https://b.ngrok.app{PATH}",
        "changed": True,
        "status": "online",
    }
    assert "Warning: The ngrok tunnel is down: the ngrok agent exited (code 1). Restarting" in err
    assert "restart 1 of 5 in 1.0 s" in err
    assert "NEW public URL" in err
    assert f"New webhook URL: https://b.ngrok.app{PATH}" in err
    assert "Connections -> Destinations -> Webhook: paste it and save" in err
    assert "a.ngrok.app" not in err  # the initial URL is the banner's job, not the view's


def test_restart_at_the_same_url_is_calm(capsys: pytest.CaptureFixture[str]) -> None:
    view = TunnelView(PATH)
    view(Online("https://fixed.ngrok.app", previous_url="https://fixed.ngrok.app"))
    view(Failed(NetworkError("gave up")))
    out, err = capsys.readouterr()
    assert out == ""  # no NDJSON without --json
    assert f"The tunnel is back at the same URL: https://fixed.ngrok.app{PATH}" in err
    assert "NEW" not in err
    assert "could not be restarted" in err
