"""The single error handler: internal errors, debug tracebacks, broken pipes."""

from __future__ import annotations

import pytest

from terra_cli import app, settings


def _explode(*_args: object, **_kwargs: object) -> settings.ConfigFile:
    raise RuntimeError("kaboom holding key_SECRET_should_not_show")


def test_unexpected_exception_is_one_line_exit_6(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings.ConfigFile, "load", _explode)
    code = app.run(["config", "show"])
    out, err = capsys.readouterr()
    assert code == 6
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Error: terra hit an internal error (RuntimeError)")
    assert lines[1].startswith("Hint: ") and "TERRA_DEBUG=1" in lines[1]
    assert "Traceback" not in err and "key_SECRET" not in err


def test_debug_shows_traceback_without_locals(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(settings.ConfigFile, "load", _explode)
    monkeypatch.setenv("TERRA_DEBUG", "1")
    code = app.run(["config", "show"])
    err = capsys.readouterr().err
    assert code == 6
    assert "Traceback (most recent call last)" in err
    assert "kaboom" in err
    # Plain tracebacks name frames and lines, never local variable values.
    assert "locals" not in err.lower()


def test_no_arguments_prints_help_and_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    code = app.run([])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "config" in out and "Usage" in out
