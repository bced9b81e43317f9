"""`terra init` on a real pseudo-terminal and without one, against the fake Terra API."""

from __future__ import annotations

import stat
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import Home
from tests.fakes.terminal import Terminal
from tests.fakes.terra_api import API_KEY, DEV_ID, FakeTerra, unused_port

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECRET = "whsec_init_0123456789abcdef0123"
NGROK = "2abcDEFghiJKLmnoPQRstuVWXyz_0123456789ab"
DOMAIN = "my-app.ngrok-free.app"


@pytest.fixture
def terra_api() -> Iterator[FakeTerra]:
    fake = FakeTerra().start()
    try:
        yield fake
    finally:
        fake.stop()


def _env(home: Home, api_url: str, **extra: str) -> dict[str, str]:
    env = dict(home.env)
    env.update(
        TERRA_API_URL=api_url,
        NO_COLOR="1",
        TERRA_RETRIES="0",
        TERRA_TIMEOUT="5",
        NO_PROXY="127.0.0.1",
        no_proxy="127.0.0.1",
    )
    env.update(extra)
    return env


def _init(home: Home, env: dict[str, str], *args: str) -> Terminal:
    return Terminal(["init", *args], env)


def _profile(home: Home, name: str = "default") -> dict[str, str]:
    data = tomllib.loads(home.config_file.read_text())
    return dict(data["profiles"][name])


def _answer_all(term: Terminal) -> None:
    term.expect("Terra's dashboard")
    term.expect("dev-id: ")
    term.send(DEV_ID)
    term.expect("api-key (input hidden): ")
    term.send(API_KEY)
    term.expect("Terra accepted the dev-id and API key.")
    term.expect("Connections -> Destinations")
    term.expect("signing-secret (input hidden): ")
    term.send(SECRET)
    term.expect("Your Authtoken")
    term.expect("ngrok-authtoken (input hidden): ")
    term.send(NGROK)
    term.expect("ngrok-domain: ")
    term.send(DOMAIN)


def test_accepted_credentials_are_saved_0600_with_masked_echoes(
    home: Home, terra_api: FakeTerra
) -> None:
    term = _init(home, _env(home, terra_api.api_url))
    _answer_all(term)
    assert term.wait() == 0, term.output
    assert _profile(home) == {
        "dev_id": DEV_ID,
        "api_key": API_KEY,
        "signing_secret": SECRET,
        "ngrok_authtoken": NGROK,
        "ngrok_domain": DOMAIN,
    }
    assert stat.S_IMODE(home.config_file.stat().st_mode) == 0o600
    # Hidden input is never echoed; the masked form is.
    for secret in (API_KEY, SECRET, NGROK):
        assert secret not in term.output
    assert f"api-key: {API_KEY[:4]}…{API_KEY[-4:]}" in term.output
    assert f"ngrok-domain: {DOMAIN}" in term.output
    # One authenticated call, the one terra doctor makes.
    [req] = terra_api.requests
    assert (req.method, req.path, req.query) == (
        "GET",
        "/v2/subscriptions",
        {"page": "0", "per_page": "1"},
    )
    assert req.headers["dev-id"] == DEV_ID and req.headers["x-api-key"] == API_KEY
    tail = term.output.split("Next:", 1)[1]
    assert "terra listen " in tail and "--no-tunnel" not in tail
    assert "terra trigger activity" in tail and "terra events list" in tail


def test_rejected_credentials_save_nothing_and_exit_2(home: Home, terra_api: FakeTerra) -> None:
    term = _init(home, _env(home, terra_api.api_url))
    term.expect("dev-id: ")
    term.send("wrong-dev-id-1234")
    term.expect("api-key (input hidden): ")
    term.send(API_KEY)
    code = term.wait()
    assert code == 2, term.output
    assert "Error: Terra rejected the dev-id and API key" in term.output
    assert "nothing was saved" in term.output and "Hint:" in term.output
    assert "signing-secret" not in term.output  # it stopped at once
    assert not home.config_file.exists()
    assert API_KEY not in term.output


@pytest.mark.parametrize(("answer", "code"), [("n", 7), ("y", 0)])
def test_terra_unreachable_asks_whether_to_save_unverified(
    home: Home, answer: str, code: int
) -> None:
    term = _init(home, _env(home, f"http://127.0.0.1:{unused_port()}/v2"))
    term.expect("dev-id: ")
    term.send(DEV_ID)
    term.expect("api-key (input hidden): ")
    term.send(API_KEY)
    term.expect("Could not check them with Terra")
    term.expect("Save them unverified? [y/N]: ")
    term.send(answer)
    if answer == "y":
        term.expect("signing-secret (input hidden): ")
        term.send("")
        term.expect("ngrok-authtoken (input hidden): ")
        term.send("")
        term.expect("--no-tunnel")
        term.expect("ngrok-domain: ")
        term.send("")
    assert term.wait() == code, term.output
    if answer == "n":
        assert "Nothing saved: Terra could not be reached" in term.output
        assert "--no-verify" in term.output
        assert not home.config_file.exists()
    else:
        assert _profile(home) == {"dev_id": DEV_ID, "api_key": API_KEY}
        assert "were not checked" in term.output
        assert "terra listen --no-tunnel" in term.output.split("Next:", 1)[1]


def test_rerun_shows_values_masked_and_keeps_them_on_enter(
    home: Home, terra_api: FakeTerra
) -> None:
    first = _init(home, _env(home, terra_api.api_url))
    _answer_all(first)
    assert first.wait() == 0
    before = home.config_file.read_bytes()
    term = _init(home, _env(home, terra_api.api_url))
    term.expect(f"dev-id [{DEV_ID[:4]}…{DEV_ID[-4:]}]: ")
    term.send("")
    term.expect(f"api-key (input hidden) [{API_KEY[:4]}…{API_KEY[-4:]}]: ")
    term.send("")
    term.expect("Terra accepted")
    term.expect("signing-secret (input hidden) [")
    term.send("")
    term.expect("ngrok-authtoken (input hidden) [")
    term.send("")
    term.expect(f"ngrok-domain [{DOMAIN}]: ")
    term.send("other-app.ngrok-free.app")
    assert term.wait() == 0, term.output
    profile = _profile(home)
    assert profile["ngrok_domain"] == "other-app.ngrok-free.app"
    assert {k: v for k, v in profile.items() if k != "ngrok_domain"} == {
        "dev_id": DEV_ID,
        "api_key": API_KEY,
        "signing_secret": SECRET,
        "ngrok_authtoken": NGROK,
    }
    assert before != home.config_file.read_bytes()
    for secret in (DEV_ID, API_KEY, SECRET, NGROK):
        assert secret not in term.output
    assert len(terra_api.requests) == 2  # checked again, with the kept values
    assert terra_api.requests[1].headers["x-api-key"] == API_KEY


def test_a_malformed_answer_is_asked_again(home: Home, terra_api: FakeTerra) -> None:
    term = _init(home, _env(home, terra_api.api_url), "--profile", "work")
    term.expect("dev-id: ")
    term.send("")
    term.expect("dev-id is needed")
    term.expect("dev-id: ")
    term.send(DEV_ID)
    term.expect("api-key (input hidden): ")
    term.send(API_KEY)
    term.expect("signing-secret (input hidden): ")
    term.send("")
    term.expect("ngrok-authtoken (input hidden): ")
    term.send("short!")
    term.expect("does not look like an ngrok authtoken")
    term.expect("ngrok-authtoken (input hidden): ")
    term.send(NGROK)
    term.expect("ngrok-domain: ")
    term.send("https://Bad Domain")
    term.expect("is not a domain name")
    term.expect("ngrok-domain: ")
    term.send("https://my-app.ngrok-free.app/")
    assert term.wait() == 0, term.output
    assert _profile(home, "work")["ngrok_domain"] == DOMAIN
    assert "terra config use work" in term.output
    assert "terra --profile work listen" in term.output


def test_no_terminal_takes_the_environment_verifies_and_saves(
    home: Home, terra_api: FakeTerra
) -> None:
    env = terra_api.env(TERRA_SIGNING_SECRET=SECRET, NGROK_AUTHTOKEN=NGROK, TERRA_RETRIES="0")
    r = home.run("init", env=env, input="this is never read as an answer\n")
    assert r.code == 0, r.stderr
    assert _profile(home) == {
        "dev_id": DEV_ID,
        "api_key": API_KEY,
        "signing_secret": SECRET,
        "ngrok_authtoken": NGROK,
    }
    assert stat.S_IMODE(home.config_file.stat().st_mode) == 0o600
    assert "Terra accepted" in r.stderr and r.stdout == ""
    assert len(terra_api.calls("subscriptions")) == 1


def test_no_terminal_names_the_missing_variables_and_saves_nothing(home: Home) -> None:
    r = home.run("init", env={"TERRA_API_KEY": API_KEY})
    assert r.code == 3
    assert "TERRA_DEV_ID" in r.stderr.splitlines()[0]
    assert "TERRA_API_KEY" not in r.stderr.splitlines()[0]  # it was given
    assert "Hint:" in r.stderr and "?" not in r.stderr  # no question asked
    assert not home.config_file.exists()


def test_no_terminal_rejected_or_unreachable_saves_nothing(
    home: Home, terra_api: FakeTerra
) -> None:
    rejected = home.run("init", env=terra_api.env(TERRA_API_KEY="wrong-key-123456789"))
    assert rejected.code == 2 and "nothing was saved" in rejected.stderr
    down = home.run(
        "init",
        env={
            "TERRA_DEV_ID": DEV_ID,
            "TERRA_API_KEY": API_KEY,
            "TERRA_API_URL": f"http://127.0.0.1:{unused_port()}/v2",
            "TERRA_RETRIES": "0",
        },
    )
    assert down.code == 8 and "Nothing was saved" in down.stderr and "--no-verify" in down.stderr
    assert not home.config_file.exists()
    unverified = home.run(
        "init", "--no-verify", env={"TERRA_DEV_ID": DEV_ID, "TERRA_API_KEY": API_KEY}
    )
    assert unverified.code == 0 and "not checked" in unverified.stderr
    assert _profile(home) == {"dev_id": DEV_ID, "api_key": API_KEY}
