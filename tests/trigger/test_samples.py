"""Sample builders: every type, coherent, reproducible, dated just before now."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime, timedelta, timezone

import pytest

from terra_cli.errors import ExitCode, InputError
from terra_cli.webhooks import samples

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
DATA_TYPES = (
    "activity",
    "body",
    "daily",
    "sleep",
    "nutrition",
    "menstruation",
    "planned_workout",
    "hormone",
    "health_observation",
)
DOCUMENTED = (
    "auth",
    "auth_cancelled",
    "deauth",
    "user_reauth",
    "access_revoked",
    "connection_error",
    "google_no_datasource",
    "permission_change",
    "processing",
    "large_request_processing",
    "large_request_sending",
    "rate_limit_hit",
    "healthcheck",
    "s3_payload",
    "athlete",
    "lab_report.completed",
    "lab_report.failed",
    *DATA_TYPES,
)


def _times(obj: object) -> list[datetime]:
    """Every ISO timestamp with an offset found anywhere in a payload."""
    out: list[datetime] = []
    if isinstance(obj, dict):
        for v in obj.values():
            out += _times(v)
    elif isinstance(obj, list):
        for v in obj:
            out += _times(v)
    elif isinstance(obj, str) and len(obj) >= 25 and obj[4] == "-" and obj[10] in "T ":
        with contextlib.suppress(ValueError):
            out.append(datetime.fromisoformat(obj))
    return out


def test_every_documented_type_is_offered() -> None:
    missing = set(DOCUMENTED) - set(samples.EVENT_TYPES)
    assert not missing


@pytest.mark.parametrize("name", sorted(samples.EVENT_TYPES))
def test_each_type_builds_a_json_event_of_that_type(name: str) -> None:
    payload = samples.build(name, NOW, seed=7)
    body = samples.encode(payload)
    assert json.loads(body) == payload
    # Contract change (issue 11): bodies carry the type Terra sends.
    aliases = {"auth_error": "auth_cancelled", "s3_upload": "s3_payload"}
    assert payload["type"] == aliases.get(name, name)


@pytest.mark.parametrize("name", sorted(samples.EVENT_TYPES))
def test_same_seed_same_payload_other_seed_other_ids(name: str) -> None:
    a = samples.encode(samples.build(name, NOW, seed=1))
    assert a == samples.encode(samples.build(name, NOW, seed=1))
    if name != "healthcheck":  # healthcheck has no ids, only the clock and a count
        assert a != samples.encode(samples.build(name, NOW, seed=2))


@pytest.mark.parametrize("name", DATA_TYPES)
def test_data_events_carry_several_records_dated_around_now(name: str) -> None:
    payload = samples.build(name, NOW, seed=3)
    assert len(payload["data"]) >= 2
    assert payload["version"] == "2022-03-16"
    stamps = _times(payload["data"])
    assert stamps, "records carry timestamps"
    if name != "planned_workout":  # plans are for the coming days
        assert all(NOW - timedelta(days=5) <= t <= NOW for t in stamps), name


def test_user_options_reach_every_user_object() -> None:
    opts = samples.SampleOptions(user_id="u-1", reference_id="ref-9", provider="oura")
    for name in ("activity", "auth", "deauth", "user_reauth", "athlete"):
        payload = samples.build(name, NOW, seed=1, options=opts)
        user = payload.get("user") or payload["new_user"]
        assert (user["user_id"], user["reference_id"], user["provider"]) == ("u-1", "ref-9", "OURA")
    auth = samples.build("auth", NOW, seed=1, options=opts)
    assert auth["reference_id"] == "ref-9"
    reauth = samples.build("user_reauth", NOW, seed=1, options=opts)
    assert reauth["old_user"]["user_id"] != "u-1"


def test_series_present_by_default_and_optional() -> None:
    sleep = samples.build("sleep", NOW, seed=4)
    stages = sleep["data"][0]["sleep_durations_data"]["hypnogram_samples"]
    assert len(stages) > 60 and {s["level"] for s in stages} >= {1, 4, 5, 6}
    activity = samples.build("activity", NOW, seed=4)
    hr = activity["data"][0]["heart_rate_data"]["detailed"]["hr_samples"]
    assert len(hr) >= 25 and all(40 < s["bpm"] < 220 for s in hr)
    bare = samples.build("sleep", NOW, seed=4, options=samples.SampleOptions(samples=False))
    assert bare["data"][0]["sleep_durations_data"]["hypnogram_samples"] == []


def test_sleep_durations_agree_with_the_stages() -> None:
    record = samples.build("sleep", NOW, seed=5)["data"][0]
    d = record["sleep_durations_data"]
    deep = sum(300 for s in d["hypnogram_samples"] if s["level"] == 5)
    assert d["asleep"]["duration_deep_sleep_state_seconds"] == deep


def test_unknown_type_is_an_input_error() -> None:
    with pytest.raises(InputError) as info:
        samples.build("activites", NOW)
    assert info.value.exit_code == ExitCode.INPUT
    assert "terra trigger --list" in (info.value.hint or "")


def test_encode_uses_terras_separators() -> None:
    assert samples.encode({"a": 1, "b": [1, 2]}) == b'{"a": 1, "b": [1, 2]}'


@pytest.mark.parametrize(
    ("assignment", "path", "value"),
    [
        ("user.active=false", ("user", "active"), False),
        ("data.0.metadata.name=Lunch run", ("data", 0, "metadata", "name"), "Lunch run"),
        (
            "data.-1.calories_data.total_burned_calories=512.5",
            ("data", -1, "calories_data", "total_burned_calories"),
            512.5,
        ),
        ('extra.nested={"k": [1]}', ("extra", "nested"), {"k": [1]}),
        ("user.reference_id=null", ("user", "reference_id"), None),
        ("message=has=equals", ("message",), "has=equals"),
    ],
)
def test_apply_set(assignment: str, path: tuple[object, ...], value: object) -> None:
    payload = samples.build("activity", NOW, seed=1)
    samples.apply_set(payload, assignment)
    node: object = payload
    for part in path:
        node = node[part]  # type: ignore[index]
    assert node == value


@pytest.mark.parametrize(
    "assignment",
    ["no-equals-sign", "=value", "user..id=1", "data.x.name=1", "data.7.name=1", "type.inner=1"],
)
def test_bad_set_is_an_input_error_and_changes_nothing(assignment: str) -> None:
    payload = samples.build("activity", NOW, seed=1)
    before = json.dumps(payload)
    with pytest.raises(InputError):
        samples.apply_set(payload, assignment)
    assert json.dumps(payload) == before
