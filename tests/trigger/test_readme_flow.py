"""README's offline main job on a fresh home: set any secret, listen, trigger."""

from __future__ import annotations

from tests.conftest import Home
from tests.listen.conftest import start_plain_listener


def test_fresh_machine_sees_a_signed_activity_arrive(home: Home) -> None:
    assert home.run("config", "set", "signing-secret", input="local-dev-secret\n").code == 0
    # Piped: one unwrapped line, whatever the width.
    listener, _ = start_plain_listener(home, "--max-events", "1")
    sent = home.run("trigger", "activity", "--to", listener.ready["url"])
    code, out, err = listener.finish()
    assert sent.code == 0, sent.stderr
    assert code == 0, err
    (line,) = out.splitlines()
    assert " activity " in line and "3 activity records" in line
    assert line.split()[1] == "ok"  # the one verdict vocabulary (was "✓ signed")
    assert f"ref:{sent.stdout.strip()}" in line  # the terra-reference trigger printed
    assert "local-dev-secret" not in out + err + sent.stdout + sent.stderr
