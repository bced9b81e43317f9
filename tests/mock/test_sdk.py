"""Terra's official Python SDK (terra-python 1.1.0), unchanged but for its base URL,
against `terra mock`: widget session, authenticateUser, user info, data, deauth."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import Home
from tests.fakes.capture import capture_server
from tests.mock.conftest import DEV, KEY, Mock, call, start_mock

pytest.importorskip("terra", reason="terra-python is a test extra: pip install -e '.[test]'")

from terra import Terra  # after the skip above


def sdk(mock: Mock) -> Terra:
    """The SDK as a developer builds it, pointed at the mock."""
    return Terra(dev_id=DEV, api_key=KEY, base_url=f"{mock.url}/v2", timeout=10)


def test_widget_session_then_connect_then_user_info(shared: Mock) -> None:
    client = sdk(shared)
    session = client.authentication.generatewidgetsession(
        providers="GARMIN,OURA",
        reference_id="sdk-user",
        auth_success_redirect_url="https://app.example/connected",
    )
    assert session.status == "success" and session.expires_in == 900
    assert session.url is not None and session.session_id is not None
    done = call(shared.url, "GET", urlsplit(session.url).path, query={"provider": "OURA"})
    user_id = parse_qs(urlsplit(done.headers["location"]).query)["user_id"][0]

    info = client.user.getinfoforuserid(user_id=user_id)
    assert not isinstance(info, list)
    assert info.is_authenticated is True and info.user is not None
    assert info.user.user_id == user_id and info.user.provider == "OURA"
    assert info.user.reference_id == "sdk-user"
    by_ref = client.user.getinfoforuserid(reference_id="sdk-user")
    assert isinstance(by_ref, list) and [u.user_id for u in by_ref] == [user_id]

    everyone = client.user.getalluserids()
    assert user_id in json.dumps(everyone.dict(), default=str)
    bulk = client.user.getinfoformultipleuserids(request=[user_id])
    assert [u.user_id for u in bulk] == [user_id]


def test_authenticate_user_then_data_in_the_answer(shared: Mock) -> None:
    client = sdk(shared)
    started = client.authentication.authenticateuser(resource="FITBIT", reference_id="sdk-2")
    assert started.status == "success" and started.user_id and started.auth_url
    call(shared.url, "GET", urlsplit(started.auth_url).path, query={"provider": "FITBIT"})

    activity = client.activity.fetch(
        user_id=started.user_id, start_date="2026-07-01", end_date="2026-07-03",
        to_webhook=False, with_samples=True,
    )  # fmt: skip
    assert activity.type == "activity"
    records = activity.data
    assert records is not None and len(records) == 2
    # terra-python 1.1.0's models come from Terra's 2025 spec, where calories are integers;
    # the 2026 spec (and the samples) allow fractions, so the SDK hands such records over as
    # plain dicts, unchecked, as it does for any answer its models do not fit.
    first = records[0] if isinstance(records[0], dict) else records[0].dict()
    assert first["metadata"]["summary_id"]
    assert first["heart_rate_data"]["detailed"]["hr_samples"]  # samples asked for, came
    sleep = client.sleep.fetch(
        user_id=started.user_id, start_date="2026-07-01", to_webhook=False, with_samples=True
    )
    [night] = sleep.data
    assert night.metadata.start_time is not None  # a typed model: the SDK parsed it fully
    assert night.sleep_durations_data.hypnogram_samples
    athlete = client.athlete.fetch(user_id=started.user_id, to_webhook=False)
    assert athlete.athlete.first_name

    token = client.authentication.generateauthtoken()
    assert token.status == "success" and token.token and token.expires_in == 180
    detailed = client.integrations.detailedfetch()
    assert any(p.provider == "GARMIN" for p in detailed.providers or [])


def test_sdk_errors_for_unknown_users_and_wrong_keys(shared: Mock) -> None:
    from terra.errors.bad_request_error import BadRequestError
    from terra.errors.not_found_error import NotFoundError
    from terra.errors.unauthorized_error import UnauthorizedError

    client = sdk(shared)
    with pytest.raises(NotFoundError) as missing:
        client.activity.fetch(user_id="ghost", start_date="2026-07-01", to_webhook=False)
    assert missing.value.body["detail"] == "user not found"
    user_id = shared.connect()
    with pytest.raises(BadRequestError) as bad:
        client.activity.fetch(user_id=user_id, start_date="2026-02-30", to_webhook=False)
    assert "invalid start_date" in bad.value.body["detail"]
    wrong = Terra(dev_id=DEV, api_key="wrong", base_url=f"{shared.url}/v2")
    with pytest.raises(UnauthorizedError) as rejected:
        wrong.activity.fetch(user_id="ghost", start_date="2026-07-01", to_webhook=False)
    assert rejected.value.body["title"] == "unauthorized"


def test_to_webhook_and_deauth_through_the_sdk(home: Home, mocks: list[Mock]) -> None:
    with capture_server() as app:
        mock = start_mock(home, "--webhook", app.url)
        mocks.append(mock)
        client = sdk(mock)
        user_id = mock.connect("GARMIN", "sdk-hook")
        ack = client.daily.fetch(user_id=user_id, start_date="2026-07-01")
        assert ack.status == "success"
        reference = ack.reference
        gone = client.authentication.deauthenticateuser(user_id=user_id)
        assert gone.status == "success"
        auth, daily, deauth = app.wait_for(3)
    assert daily.header("terra-reference") == reference
    assert [json.loads(r.body)["type"] for r in (auth, daily, deauth)] == [
        "auth",
        "daily",
        "deauth",
    ]
