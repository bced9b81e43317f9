"""AdminClient against the fake Admin API: Terra's error codes to the contract's exit codes."""

from __future__ import annotations

import pytest

from terra_cli.admin_api import AdminClient
from terra_cli.api import RetryNotice
from terra_cli.errors import AuthError, ExitCode, InputError, NetworkError, RemoteError
from tests.admin.conftest import ALL_SCOPES, DEV_ID
from tests.fakes.admin_api import FakeAdmin

URL = "https://example.ngrok.app/consumeTerraWebhook"


def _client(admin: FakeAdmin, scopes: list[str] | None = None) -> AdminClient:
    token = admin.mint(ALL_SCOPES if scopes is None else scopes)
    return AdminClient(admin.base, token, retries=0)


def test_idempotency_key_replays_the_create_and_refuses_another_body(admin: FakeAdmin) -> None:
    with _client(admin) as client:
        first = client.create_destination(DEV_ID, URL, "key-1")
        again = client.create_destination(DEV_ID, URL, "key-1")
        assert again == first and first.signing_secret
        assert len(admin.destinations[DEV_ID]) == 1
        with pytest.raises(RemoteError) as err:
            client.create_destination(DEV_ID, URL + "/other", "key-1")
    assert err.value.exit_code == ExitCode.REMOTE
    assert (
        "idempotency_key_reuse: Idempotency-Key reused with a different body" in err.value.message
    )
    [sent, *_] = admin.requests("POST", "/unified-api/destinations")
    assert sent.headers["idempotency-key"] == "key-1"
    assert sent.headers["authorization"].startswith("Bearer terra_at_")


def test_a_listed_destination_never_carries_the_secret(admin: FakeAdmin) -> None:
    with _client(admin) as client:
        made = client.create_destination(DEV_ID, URL, "key-2")
        [listed] = client.destinations(DEV_ID)
    assert made.signing_secret and listed.signing_secret is None
    assert (listed.id, listed.url, listed.active) == (made.id, URL, True)


def test_pages_are_followed(admin: FakeAdmin) -> None:
    for n in range(5):
        admin.add_destination(DEV_ID, f"https://x{n}.example/hook")
    admin.max_page = 2
    with _client(admin) as client:
        assert len(client.destinations(DEV_ID)) == 5
    assert len(admin.requests("GET", "/unified-api/destinations")) == 3


def test_error_codes_map_to_exit_codes(admin: FakeAdmin) -> None:
    with _client(admin, scopes=["destinations:read"]) as client:
        with pytest.raises(AuthError) as missing:
            client.create_destination(DEV_ID, URL, "k")
        with pytest.raises(InputError) as unknown:
            client.destinations("no-such-dev-id")
    assert "the scope destinations:write" in missing.value.message
    assert missing.value.hint == (
        "Run 'terra login --scope destinations:write' and approve the extra scope."
    )
    assert unknown.value.exit_code == ExitCode.INPUT
    assert "dev_id_not_found: dev-id not found" in unknown.value.message
    stranger = AdminClient(admin.base, "terra_at_unknown", retries=0)
    with stranger, pytest.raises(AuthError) as rejected:
        stranger.me()
    assert "unauthorized: unknown access token" in rejected.value.message
    with AdminClient(admin.base, None, retries=0) as nobody, pytest.raises(AuthError):
        nobody.me()
    assert not any(s.path.endswith("/me") and "authorization" not in s.headers for s in admin.seen)


def test_retries_through_the_shared_transport_and_never_echo_the_token(admin: FakeAdmin) -> None:
    token = admin.mint(ALL_SCOPES)
    notices: list[RetryNotice] = []
    admin.fail_next = [503, 429]
    with AdminClient(
        admin.base, token, retries=2, on_retry=notices.append, sleep=lambda s: None
    ) as c:
        assert c.me()["scopes"] == ALL_SCOPES
    assert [n.reason for n in notices] == [
        "Terra answered HTTP 503 and asked to wait 0 s",
        "Terra answered HTTP 429 and asked to wait 0 s",
    ]
    admin.fail_next = [500]
    with AdminClient(admin.base, token, retries=0) as c, pytest.raises(RemoteError) as err:
        c.me()
    assert "service_unavailable" in err.value.message
    assert token not in err.value.message and "****" in err.value.message


def test_unreachable_admin_url_is_a_network_error_naming_admin_url(admin: FakeAdmin) -> None:
    base = admin.base
    admin.stop()
    with AdminClient(base, "terra_at_x", retries=0) as client, pytest.raises(NetworkError) as err:
        client.me()
    assert err.value.exit_code == ExitCode.NETWORK
    assert "admin-url" in (err.value.hint or "") and "TERRA_ADMIN_URL" in (err.value.hint or "")


def test_a_wrong_admin_url_is_not_taken_for_an_unknown_environment(admin: FakeAdmin) -> None:
    token = admin.mint(ALL_SCOPES)
    wrong = f"http://127.0.0.1:{admin.port}/api/v2"
    with AdminClient(wrong, token, retries=0) as client, pytest.raises(RemoteError) as err:
        client.me()
    assert err.value.exit_code == ExitCode.REMOTE
    assert "not_found: no such route" in err.value.message
