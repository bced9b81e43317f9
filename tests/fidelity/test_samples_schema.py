"""Every `terra trigger` sample against Terra's published schemas, and in our own words.

Two layers: when Terra's OpenAPI spec sits beside the checkout, every sample
of every type (several seeds) must validate against the schema of its webhook.
Independently of the spec, the tests below state the essential rules
themselves (body type, required fields, enum values, realistic numbers), so a
run without the spec still checks something real.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from terra_cli.webhooks import samples
from tests.fidelity import spec

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SEEDS = range(6)


# ---------------------------------------------------------------- against the spec


@pytest.mark.parametrize("name", sorted(samples.EVENT_TYPES))
def test_sample_validates_against_terras_schema(name: str) -> None:
    if name in spec.NO_SCHEMA:
        pytest.skip(f"Terra's spec has no schema for {name}; checked in our own words below")
    schema = spec.schema_for(name)
    assert schema is not None, f"{name} is neither schema-less nor mapped to a schema"
    for seed in SEEDS:
        for with_series in (True, False):
            options = samples.SampleOptions(samples=with_series)
            payload = samples.build(name, NOW, seed, options)
            problems = spec.errors(schema, payload)
            assert not problems, f"{name} seed {seed}: " + "; ".join(problems[:5])


def test_every_trigger_type_is_mapped_to_a_schema_or_known_to_have_none() -> None:
    mapped = set(spec.WEBHOOK_OF) | set(spec.COMPONENT_OF) | spec.NO_SCHEMA
    assert set(samples.EVENT_TYPES) == mapped


def test_every_webhook_of_the_spec_has_a_trigger_type() -> None:
    webhooks = set(spec.spec()["webhooks"])
    assert webhooks <= set(spec.WEBHOOK_OF.values())
    assert webhooks <= set(samples.EVENT_TYPES) | {"lab_report"}


def test_the_schemas_reject_what_they_should() -> None:
    """The validator is not a rubber stamp: known departures are caught."""
    s3 = samples.build("s3_upload", NOW, 1)
    assert spec.errors(spec.schema_for("s3_upload") or {}, {**s3, "type": "s3_upload"})
    menses = samples.build("menstruation", NOW, 1)
    menses["data"][0]["menstruation_data"]["current_phase"] = "luteal"
    assert spec.errors(spec.schema_for("menstruation") or {}, menses)
    failed = samples.build("lab_report.failed", NOW, 1)
    del failed["data"]["error"]["retriable"]
    assert spec.errors(spec.schema_for("lab_report.failed") or {}, failed)


# ---------------------------------------------------------------- in our own words

# The body `type` Terra sends for each trigger type.
BODY_TYPE = {
    "s3_upload": "s3_payload",
    "s3_payload": "s3_payload",
    "auth_error": "auth_cancelled",
}
# Top-level fields each body must carry (Terra's required fields, or the docs' template).
REQUIRED = {
    "auth": {"type", "status", "user"},
    "auth_cancelled": {"type", "status"},
    "deauth": {"type", "status", "user"},
    "user_reauth": {"type", "status", "new_user", "old_user"},
    "access_revoked": {"type", "status", "user"},
    "connection_error": {"type", "status", "user"},
    "permission_change": {"type", "status", "user", "scopes_added", "scopes_removed"},
    "google_no_datasource": {"type", "status", "user", "message"},
    "processing": {"type", "status", "user", "message", "retry_after_seconds"},
    "large_request_processing": {"type", "status", "user", "reference", "message"},
    "large_request_sending": {"type", "user", "reference", "message", "expected_payloads"},
    "rate_limit_hit": {"type", "user", "start_date", "end_date", "retrying_at", "message"},
    "healthcheck": {
        "type",
        "status",
        "creation_timestamp",
        "trend_percentage",
        "sent_webhooks_last_hour",
    },
    "s3_upload": {"type", "status", "url", "expires_in"},
    "athlete": {"type", "user", "athlete", "version"},
    "lab_report.completed": {"type", "event_id", "occurred_at", "data"},
    "lab_report.failed": {"type", "event_id", "occurred_at", "data"},
}
DATA = ("activity", "body", "daily", "sleep", "nutrition", "menstruation")
NEW_DATA = ("planned_workout", "hormone", "health_observation")
DAY_SCOPED = ("daily", "body", "nutrition", "menstruation")


def _build(name: str, seed: int = 3) -> dict[str, Any]:
    return samples.build(name, NOW, seed)


@pytest.mark.parametrize("name", sorted(samples.EVENT_TYPES))
def test_body_type_is_the_one_terra_sends(name: str) -> None:
    assert _build(name)["type"] == BODY_TYPE.get(name, name)


@pytest.mark.parametrize("name", sorted(samples.EVENT_TYPES))
def test_required_fields_are_present(name: str) -> None:
    payload = _build(name)
    key = {"auth_error": "auth_cancelled", "s3_payload": "s3_upload"}.get(name, name)
    wanted = REQUIRED.get(key, {"type", "data", "user", "version"})
    assert wanted <= set(payload), f"{name} lacks {sorted(wanted - set(payload))}"
    for holder in ("user", "new_user"):
        if holder in payload:
            user = payload[holder]
            assert isinstance(user["user_id"], str) and user["user_id"]
            assert isinstance(user["provider"], str) and user["provider"].isupper()


def test_auth_cancelled_has_no_user_and_a_reason() -> None:
    for name in ("auth_cancelled", "auth_error"):
        body = _build(name)
        assert body["status"] == "error" and "user" not in body
        assert isinstance(body["reason"], str) and body["reference_id"]


def test_lab_reports_are_report_scoped_with_terras_data() -> None:
    for name in ("lab_report.completed", "lab_report.failed"):
        body = _build(name)
        assert "user" not in body and "version" not in body
        assert body["event_id"].startswith("evt_")
        datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00"))
        assert isinstance(body["data"]["session_id"], str) and body["data"]["reference_id"]
    done = _build("lab_report.completed")["data"]
    assert done["results_count"] == len(done["results"]) > 0
    for result in done["results"]:
        assert {"source", "biomarker", "measurement", "interpretation"} <= set(result)
        assert result["measurement"]["numeric"] == float(result["source"]["value"])
    error = _build("lab_report.failed")["data"]["error"]
    assert set(error) == {"code", "message", "retriable"}
    assert isinstance(error["retriable"], bool)


@pytest.mark.parametrize("seed", SEEDS)
def test_menstruation_phases_are_terras_numbers_and_follow_the_cycle(seed: int) -> None:
    records = samples.build("menstruation", NOW, seed)["data"]
    days = [r["menstruation_data"]["day_in_cycle"] for r in records]
    for record in records:
        data = record["menstruation_data"]
        # MenstruationInterval: 1 period, 2 follicular, 3 fertile window, 4 ovulation, 5 luteal
        phase = data["current_phase"]
        assert isinstance(phase, int) and 0 <= phase <= 9
        day = data["day_in_cycle"]
        expected = 1 if day <= 5 else 2 if day <= 10 else 3 if day <= 13 else 4 if day == 14 else 5
        assert phase == expected, (day, phase)
        start = datetime.fromisoformat(record["metadata"]["start_time"]).date()
        assert data["period_start_date"] == (start - timedelta(days=day - 1)).isoformat()
    # consecutive days of one payload are consecutive days of one cycle
    assert all((b - a) % 28 == 1 for a, b in itertools.pairwise(days))


@pytest.mark.parametrize("seed", SEEDS)
def test_nutrition_meals_carry_terras_fields_and_add_up(seed: int) -> None:
    for record in samples.build("nutrition", NOW, seed)["data"]:
        meals = record["meals"]
        for meal in meals:
            assert {"micros", "type", "id", "timestamp", "quantity", "name", "macros"} <= set(meal)
            assert meal["type"] in range(7)  # MealType 0..6
            assert meal["quantity"]["unit"] in range(0, 20) and meal["quantity"]["amount"] > 0
        total = record["summary"]["macros"]
        for key in ("calories", "protein_g", "carbohydrates_g", "fat_g"):
            assert total[key] == pytest.approx(sum(m["macros"][key] for m in meals), abs=0.05)


@pytest.mark.parametrize("name", DAY_SCOPED)
@pytest.mark.parametrize("seed", SEEDS)
def test_day_records_run_from_midnight_to_the_midnight_closing_the_day(
    name: str, seed: int
) -> None:
    for record in samples.build(name, NOW, seed)["data"]:
        start = datetime.fromisoformat(record["metadata"]["start_time"])
        end = datetime.fromisoformat(record["metadata"]["end_time"])
        assert (start.hour, start.minute, start.second, start.microsecond) == (0, 0, 0, 0)
        assert end - start == timedelta(days=1) and end.utcoffset() == start.utcoffset()
        assert end <= NOW


def _decimals(value: float) -> int:
    text = repr(float(value))
    return len(text.split(".")[1]) if "." in text and "e" not in text else 99


@pytest.mark.parametrize("seed", SEEDS)
def test_numbers_are_rounded_like_a_device_reports_them(seed: int) -> None:
    for record in samples.build("activity", NOW, seed)["data"]:
        summary = record["distance_data"]["summary"]
        assert _decimals(summary["distance_meters"]) <= 1, summary
        assert isinstance(summary["steps"], int)
        assert _decimals(record["calories_data"]["total_burned_calories"]) <= 1
    for record in samples.build("daily", NOW, seed)["data"]:
        assert _decimals(record["distance_data"]["distance_meters"]) <= 1


def _hr(record: dict[str, Any]) -> dict[str, Any]:
    held = record.get("heart_data", record)
    hr: dict[str, Any] = held["heart_rate_data"]
    return hr


@pytest.mark.parametrize("name", ("activity", "daily", "sleep", "body"))
@pytest.mark.parametrize("seed", SEEDS)
def test_heart_rate_summary_agrees_with_its_samples(name: str, seed: int) -> None:
    for record in samples.build(name, NOW, seed)["data"]:
        hr = _hr(record)
        bpm = [s["bpm"] for s in hr["detailed"]["hr_samples"]]
        assert bpm, "samples present by default"
        summary = hr["summary"]
        assert summary["min_hr_bpm"] == min(bpm) and summary["max_hr_bpm"] == max(bpm)
        assert summary["avg_hr_bpm"] == pytest.approx(sum(bpm) / len(bpm), abs=0.05)
        assert min(bpm) <= summary["resting_hr_bpm"] <= max(bpm) or name in ("activity", "daily")
        start = datetime.fromisoformat(record["metadata"]["start_time"])
        end = datetime.fromisoformat(record["metadata"]["end_time"])
        stamps = [datetime.fromisoformat(s["timestamp"]) for s in hr["detailed"]["hr_samples"]]
        assert all(start <= t < end for t in stamps), "samples fall inside the record"


@pytest.mark.parametrize("seed", SEEDS)
def test_sleep_stages_use_terras_levels_and_agree_with_durations(seed: int) -> None:
    for record in samples.build("sleep", NOW, seed)["data"]:
        data = record["sleep_durations_data"]
        stages = data["hypnogram_samples"]
        assert all(s["level"] in range(7) for s in stages)
        end = datetime.fromisoformat(record["metadata"]["end_time"])
        stamps = [datetime.fromisoformat(s["timestamp"]) for s in stages] + [end]
        held: dict[int, float] = {}
        for sample, a, b in zip(stages, stamps, stamps[1:], strict=False):
            held[sample["level"]] = held.get(sample["level"], 0) + (b - a).total_seconds()
        asleep = data["asleep"]
        assert asleep["duration_deep_sleep_state_seconds"] == held.get(5, 0)
        assert asleep["duration_REM_sleep_state_seconds"] == held.get(6, 0)
        assert asleep["duration_light_sleep_state_seconds"] == held.get(4, 0)
        assert data["awake"]["duration_awake_state_seconds"] == held.get(1, 0)
        assert 0 <= data["sleep_efficiency"] <= 100


def test_new_data_types_carry_what_terra_defines() -> None:
    for record in _build("hormone")["data"]:
        datetime.fromisoformat(record["timestamp"])
        assert all(
            record[k] is None or isinstance(record[k], float)
            for k in ("lh_mIU_per_ml", "e3g_ng_per_ml", "pdg_ug_per_ml")
        )
    for record in _build("health_observation")["data"]:
        assert {"start_time", "summary_id"} <= set(record["metadata"])
        observed = record["observation_data"]
        assert observed["observation_type"] and observed["value"]["value_type"] in range(5)
        assert observed["category"] in range(9)
    for record in _build("planned_workout")["data"]:
        assert datetime.fromisoformat(record["planned_date"]).date() > NOW.date()
        steps = record["details"]["steps"]
        total = sum(d["seconds"] for s in steps for d in s["durations"])
        assert total == record["details"]["metadata"]["estimated_duration_seconds"]
        assert all("duration_type" in d for s in steps for d in s["durations"])


def test_s3_payload_url_expires_as_it_says() -> None:
    body = _build("s3_upload")
    assert body["url"].startswith("https://")
    assert f"X-Amz-Expires={body['expires_in']}" in body["url"]
