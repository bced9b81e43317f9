"""Realistic, Terra-shaped sample events for `terra trigger`, built by us.

Every documented webhook type has a builder. Builders are pure: the clock
(`now`) and a random seed come in, a JSON-ready dict comes out, so the same
inputs always give the same payload. Ids are coherent within one event (the
user, reference and records agree), dates sit just before `now`, data events
carry several records and, unless turned off, sample series such as heart
rate and sleep stages (hypnogram levels).

Field names follow Terra's published event templates and data models
(TERRA-API.md §4). Where Terra documents a type but not its body in detail
(hormone, health observations, lab reports), the fields are our illustration
and say so in the type's description.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from terra_cli.errors import InputError

VERSION = "2022-03-16"
PROVIDERS = ("GARMIN", "FITBIT", "OURA", "POLAR", "WITHINGS", "WHOOP", "SUUNTO", "COROS")
_SCOPES = {
    "GARMIN": "ACTIVITY_EXPORT,HEALTH_EXPORT,WORKOUT_IMPORT",
    "FITBIT": "activity,heartrate,sleep,profile,weight,nutrition",
    "OURA": "daily,heartrate,personal,session,workout",
    "POLAR": "accesslink.read_all",
    "WITHINGS": "user.activity,user.metrics,user.info",
    "WHOOP": "read:recovery,read:cycles,read:sleep,read:workout,read:profile",
    "GOOGLE": "fitness.activity.read,fitness.body.read,fitness.sleep.read",
}
_DEVICES = {
    "GARMIN": ("Garmin", "Forerunner 965"),
    "FITBIT": ("Fitbit", "Charge 6"),
    "OURA": ("Oura", "Oura Ring Gen3"),
    "POLAR": ("Polar", "Vantage V3"),
    "WITHINGS": ("Withings", "ScanWatch 2"),
    "WHOOP": ("WHOOP", "WHOOP 4.0"),
    "SUUNTO": ("Suunto", "Suunto Race"),
    "COROS": ("COROS", "PACE 3"),
    "GOOGLE": ("Google", "Pixel Watch 2"),
}
_OFFSETS = (0, 1, 2, -5, -8, 9)  # hours; each user lives in one time zone
_FIRST_NAMES = ("Ada", "Grace", "Alan", "Katherine", "Tim", "Linus", "Radia", "Barbara")
_LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Johnson", "Berners-Lee", "Perlman", "Liskov")


@dataclass(frozen=True)
class SampleOptions:
    """What the caller may pin down; everything left as None is generated."""

    user_id: str | None = None
    reference_id: str | None = None
    provider: str | None = None
    samples: bool = True


@dataclass
class _Ctx:
    """Shared state for one payload: the random source, clock and the user it is about."""

    rng: random.Random
    now: datetime
    tz: timezone
    provider: str
    user_id: str
    reference_id: str
    samples: bool

    def uuid(self) -> str:
        """A version-4 UUID drawn from the seeded random source."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def ts(self, when: datetime) -> str:
        """A Terra-style timestamp in the user's zone: microseconds and an offset."""
        return when.astimezone(self.tz).isoformat(timespec="microseconds")

    def utc(self, when: datetime) -> str:
        """An ISO timestamp in UTC with microseconds."""
        return when.astimezone(timezone.utc).isoformat(timespec="microseconds")

    def day_start(self, days_ago: int) -> datetime:
        """Midnight in the user's zone, `days_ago` days before now."""
        local = (self.now - timedelta(days=days_ago)).astimezone(self.tz)
        return local.replace(hour=0, minute=0, second=0, microsecond=0)

    def user(self, **over: Any) -> dict[str, Any]:
        """The TerraUser object for this event, with optional overrides."""
        created = self.now - timedelta(days=30 + self.rng.randint(0, 300))
        user: dict[str, Any] = {
            "user_id": self.user_id,
            "provider": self.provider,
            "reference_id": self.reference_id,
            "scopes": _SCOPES.get(self.provider),
            "active": True,
            "created_at": self.utc(created),
            "last_webhook_update": self.utc(self.now - timedelta(minutes=self.rng.randint(5, 600))),
        }
        user.update(over)
        return user

    def device(self) -> dict[str, Any]:
        """The wearable that recorded the data, matching the provider."""
        maker, name = _DEVICES.get(self.provider, (self.provider.title(), "Wearable"))
        return {
            "manufacturer": maker,
            "name": name,
            "serial_number": f"{self.provider[:2]}{self.rng.randint(10**8, 10**9 - 1)}",
            "software_version": f"{self.rng.randint(3, 22)}.{self.rng.randint(0, 40)}",
            "hardware_version": f"v{self.rng.randint(1, 4)}",
            "data_provided": ["HEART_RATE", "STEPS", "CALORIES"],
        }


Builder = Callable[[_Ctx], dict[str, Any]]


@dataclass(frozen=True)
class EventType:
    """One event type `terra trigger` can send."""

    name: str
    description: str
    build: Builder


# ---------------------------------------------------------------- series


def _hr_series(ctx: _Ctx, start: datetime, minutes: int, base: int, peak: int) -> list[Any]:
    """One heart-rate sample a minute: a warm-up, a plateau near `peak`, a cool-down."""
    out: list[dict[str, Any]] = []
    for i in range(minutes):
        phase = i / max(minutes - 1, 1)
        shape = min(1.0, phase * 4, (1 - phase) * 5)
        bpm = base + (peak - base) * shape + ctx.rng.uniform(-4, 4)
        out.append(
            {
                "timestamp": ctx.ts(start + timedelta(minutes=i)),
                "bpm": round(bpm),
                "timer_duration_seconds": i * 60,
            }
        )
    return out


# Terra's SleepLevel: 1 awake, 4 light, 5 deep, 6 REM (0 unknown, 2 asleep, 3 out of bed).
_AWAKE, _LIGHT, _DEEP, _REM = 1, 4, 5, 6


def _hypnogram(ctx: _Ctx, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Sleep stages every 5 minutes in ~90-minute cycles: deep early, REM late."""
    out: list[dict[str, Any]] = []
    total = int((end - start).total_seconds() // 300)
    for i in range(total):
        minute = i * 5
        cycle, within = divmod(minute, 90)
        if i == 0 or ctx.rng.random() < 0.03:
            level = _AWAKE
        elif within < 20:
            level = _LIGHT
        elif within < 50:
            level = _DEEP if cycle < 3 else _LIGHT
        elif within < 70:
            level = _LIGHT
        else:
            level = _REM
        out.append({"timestamp": ctx.ts(start + timedelta(minutes=minute)), "level": level})
    return out


def _durations(hypnogram: list[dict[str, Any]]) -> dict[int, int]:
    """Seconds spent in each stage, from 5-minute hypnogram samples."""
    counts = {_AWAKE: 0, _LIGHT: 0, _DEEP: 0, _REM: 0}
    for sample in hypnogram:
        counts[sample["level"]] += 300
    return counts


# ---------------------------------------------------------------- records


def _activity(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """One workout on the day `days_ago` days back, with a heart-rate series."""
    kinds = ((8, "Running", 148, 172), (1, "Biking", 132, 160), (80, "Walking", 98, 118))
    code, name, avg_hr, max_hr = ctx.rng.choice(kinds)
    start = ctx.day_start(days_ago) + timedelta(hours=ctx.rng.randint(6, 18))
    minutes = ctx.rng.randint(25, 70)
    end = start + timedelta(minutes=minutes)
    km = round(minutes * {8: 0.18, 1: 0.42, 80: 0.09}[code], 2)
    hr: dict[str, Any] = {
        "summary": {
            "avg_hr_bpm": avg_hr,
            "max_hr_bpm": max_hr,
            "min_hr_bpm": 88,
            "resting_hr_bpm": ctx.rng.randint(48, 62),
        },
        "detailed": {
            "hr_samples": _hr_series(ctx, start, minutes, 95, max_hr - 6) if ctx.samples else []
        },
    }
    return {
        "metadata": {
            "summary_id": ctx.uuid(),
            "name": f"Morning {name}" if start.hour < 12 else f"Afternoon {name}",
            "type": code,
            "start_time": ctx.ts(start),
            "end_time": ctx.ts(end),
            "upload_type": 1,
        },
        "active_durations_data": {
            "activity_seconds": minutes * 60,
            "moderate_intensity_seconds": minutes * 40,
            "vigorous_intensity_seconds": minutes * 20,
        },
        "calories_data": {
            "total_burned_calories": round(minutes * 11.5, 1),
            "net_activity_calories": round(minutes * 9.8, 1),
        },
        "distance_data": {"summary": {"distance_meters": km * 1000, "steps": int(km * 1350)}},
        "heart_rate_data": hr,
        "device_data": ctx.device(),
    }


def _daily(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """One day's totals; today's record ends now."""
    start = ctx.day_start(days_ago)
    end = start + timedelta(days=1) if days_ago else ctx.now.astimezone(ctx.tz)
    steps = ctx.rng.randint(4000, 14000)
    samples = []
    if ctx.samples:
        samples = _hr_series(ctx, start + timedelta(hours=8), 60, 62, 96)
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(end), "upload_type": 1},
        "distance_data": {"steps": steps, "distance_meters": round(steps * 0.74, 1)},
        "calories_data": {
            "total_burned_calories": ctx.rng.randint(1900, 2900),
            "BMR_calories": ctx.rng.randint(1500, 1800),
        },
        "heart_rate_data": {
            "summary": {
                "resting_hr_bpm": ctx.rng.randint(50, 64),
                "avg_hr_bpm": ctx.rng.randint(68, 80),
                "max_hr_bpm": ctx.rng.randint(120, 170),
            },
            "detailed": {"hr_samples": samples},
        },
        "scores": {"recovery": ctx.rng.randint(40, 95), "activity": ctx.rng.randint(40, 95)},
        "device_data": ctx.device(),
    }


def _sleep(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """The night before day `days_ago`: stages, durations that agree with them, heart rate."""
    bed = ctx.day_start(days_ago) - timedelta(hours=1, minutes=ctx.rng.randint(0, 60))
    end = bed + timedelta(hours=7, minutes=ctx.rng.randint(0, 75))
    hypnogram = _hypnogram(ctx, bed, end)
    spent = _durations(hypnogram)
    hr = _hr_series(ctx, bed, int((end - bed).total_seconds() // 60), 58, 50)[::5]
    return {
        "metadata": {
            "summary_id": ctx.uuid(),
            "start_time": ctx.ts(bed),
            "end_time": ctx.ts(end),
            "is_nap": False,
            "upload_type": 1,
        },
        "sleep_durations_data": {
            "asleep": {
                "duration_asleep_state_seconds": spent[_LIGHT] + spent[_DEEP] + spent[_REM],
                "duration_light_sleep_state_seconds": spent[_LIGHT],
                "duration_deep_sleep_state_seconds": spent[_DEEP],
                "duration_REM_sleep_state_seconds": spent[_REM],
            },
            "awake": {"duration_awake_state_seconds": spent[_AWAKE]},
            "other": {"duration_in_bed_seconds": int((end - bed).total_seconds())},
            "sleep_efficiency": round(1 - spent[_AWAKE] / max((end - bed).total_seconds(), 1), 2),
            "hypnogram_samples": hypnogram if ctx.samples else [],
        },
        "heart_rate_data": {
            "summary": {"avg_hr_bpm": 55, "resting_hr_bpm": ctx.rng.randint(44, 56)},
            "detailed": {"hr_samples": hr if ctx.samples else []},
        },
        "data_enrichment": {"sleep_score": ctx.rng.randint(55, 95)},
        "device_data": ctx.device(),
    }


def _body(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """A morning weigh-in and resting heart rate."""
    start = ctx.day_start(days_ago) + timedelta(hours=7, minutes=ctx.rng.randint(0, 50))
    weight = round(68 + ctx.rng.uniform(-0.6, 0.6), 1)
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(start + timedelta(minutes=1))},
        "measurements_data": {
            "measurements": [
                {
                    "measurement_time": ctx.ts(start),
                    "weight_kg": weight,
                    "BMI": round(weight / 1.74**2, 1),
                    "bodyfat_percentage": round(ctx.rng.uniform(15, 22), 1),
                }
            ]
        },
        "heart_data": {
            "heart_rate_data": {
                "summary": {"resting_hr_bpm": ctx.rng.randint(50, 62)},
                "detailed": {
                    "hr_samples": _hr_series(ctx, start, 10, 60, 66) if ctx.samples else []
                },
            }
        },
        "device_data": ctx.device(),
    }


def _nutrition(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """Two logged meals and the day's totals."""
    start = ctx.day_start(days_ago)
    meals: list[dict[str, Any]] = []
    for hour, name, kcal in ((8, "Oatmeal with berries", 380), (13, "Chicken salad", 560)):
        meals.append(
            {
                "id": ctx.uuid(),
                "name": name,
                "type": {8: 1, 13: 2}[hour],
                "timestamp": ctx.ts(start + timedelta(hours=hour)),
                "quantity": {"amount": 1, "unit": 1},
                "macros": {
                    "calories": kcal,
                    "protein_g": round(kcal * 0.06, 1),
                    "carbohydrates_g": round(kcal * 0.11, 1),
                    "fat_g": round(kcal * 0.03, 1),
                },
            }
        )
    total = sum(m["macros"]["calories"] for m in meals)
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(start + timedelta(days=1))},
        "summary": {
            "macros": {"calories": total, "protein_g": round(total * 0.06, 1)},
            "water_ml": ctx.rng.randint(1200, 2600),
        },
        "meals": meals,
    }


def _menstruation(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """One cycle-tracking day."""
    start = ctx.day_start(days_ago)
    day = ctx.rng.randint(1, 27)
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(start + timedelta(days=1))},
        "menstruation_data": {
            "day_in_cycle": day,
            "cycle_length_days": 28,
            "period_length_days": 5,
            "current_phase": "menstrual" if day <= 5 else "follicular" if day < 14 else "luteal",
            "period_start_date": (start - timedelta(days=day - 1)).date().isoformat(),
            "predicted_cycle_length_days": 28,
            "is_predicted_cycle": False,
        },
    }


def _planned(ctx: _Ctx, days_ahead: int) -> dict[str, Any]:
    """A structured run planned `days_ahead` days from now."""
    planned = ctx.day_start(-days_ahead) + timedelta(hours=7)
    return {
        "metadata": {
            "id": ctx.uuid(),
            "name": ctx.rng.choice(("Tempo run", "Intervals 6x800m", "Easy recovery")),
            "type": 8,
            "provider": ctx.provider,
            "created_date": ctx.ts(ctx.now),
            "planned_date": planned.date().isoformat(),
            "estimated_duration_seconds": 2700,
        },
        "steps": [
            {
                "order": 1,
                "type": 0,
                "name": "Warm up",
                "intensity": 1,
                "durations": [{"duration_type": 0, "seconds": 600}],
            },
            {
                "order": 2,
                "type": 0,
                "name": "Main set",
                "intensity": 3,
                "durations": [{"duration_type": 0, "seconds": 1500}],
                "targets": [{"target_type": 0, "hr_bpm_low": 150, "hr_bpm_high": 165}],
            },
            {
                "order": 3,
                "type": 0,
                "name": "Cool down",
                "intensity": 1,
                "durations": [{"duration_type": 0, "seconds": 600}],
            },
        ],
    }


def _hormone(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """One test event's hormone readings (unmeasured ones are null)."""
    when = ctx.day_start(days_ago) + timedelta(hours=7, minutes=30)
    return {
        "timestamp": ctx.ts(when),
        "lh_mIU_per_ml": round(ctx.rng.uniform(3, 12), 1),
        "e3g_ng_per_ml": round(ctx.rng.uniform(60, 160), 1),
        "pdg_ug_per_ml": round(ctx.rng.uniform(1, 6), 1),
        "hcg_mIU_per_ml": None,
        "fsh_mIU_per_ml": None,
    }


def _observation(ctx: _Ctx, days_ago: int) -> dict[str, Any]:
    """One point observation (our illustration of the 2026 type)."""
    when = ctx.day_start(days_ago) + timedelta(hours=9)
    return {
        "timestamp": ctx.ts(when),
        "observation_type": "blood_glucose",
        "value": round(ctx.rng.uniform(80, 110), 1),
        "unit": "mg/dL",
        "source": ctx.provider,
    }


# ---------------------------------------------------------------- events


def _data_event(kind: str, record: Callable[[_Ctx, int], dict[str, Any]], n: int) -> Builder:
    """A builder for a data event: `n` records, oldest first."""
    def build(ctx: _Ctx) -> dict[str, Any]:
        return {
            "type": kind,
            "user": ctx.user(),
            "data": [record(ctx, n - i) for i in range(n)],
            "version": VERSION,
        }

    return build


def _status_event(kind: str, status: str, message: str, **extra: Any) -> Builder:
    """A builder for a user event with a fixed status and message."""
    def build(ctx: _Ctx) -> dict[str, Any]:
        body: dict[str, Any] = {"type": kind, "status": status, "message": message}
        body["user"] = ctx.user()
        body.update(extra)
        body["version"] = VERSION
        return body

    return build


def _auth(ctx: _Ctx) -> dict[str, Any]:
    """A successful widget connection."""
    return {
        "type": "auth",
        "status": "success",
        "widget_session_id": ctx.uuid(),
        "user": ctx.user(last_webhook_update=None, created_at=ctx.utc(ctx.now)),
        "reference_id": ctx.reference_id,
        "message": "User has successfully authenticated",
        "version": VERSION,
    }


def _auth_error(ctx: _Ctx, kind: str = "auth") -> dict[str, Any]:
    """A failed connection; the 2026 schema calls it `auth_cancelled`."""
    return {
        "type": kind,
        "status": "error",
        "user": ctx.user(scopes=None, last_webhook_update=None, active=False),
        "provider": ctx.provider,
        "message": "User failed to authenticate and has been deleted",
        "reason": "auth_cancelled",
        "reference_id": ctx.reference_id,
        "widget_session_id": ctx.uuid(),
        "version": VERSION,
    }


def _user_reauth(ctx: _Ctx) -> dict[str, Any]:
    """A reconnection: the old user id is replaced by a new one."""
    old = ctx.user(user_id=ctx.uuid(), active=False)
    return {
        "type": "user_reauth",
        "status": "warning",
        "message": "User has reauthenticated and old ID has been deleted",
        "old_user": old,
        "new_user": ctx.user(created_at=ctx.utc(ctx.now), last_webhook_update=None),
        "version": VERSION,
    }


def _permission_change(ctx: _Ctx) -> dict[str, Any]:
    """Scopes added and removed at the provider."""
    body = _status_event("permission_change", "warning", "User permissions have been modified")(ctx)
    body["scopes_added"] = "fitness.blood_glucose.read"
    body["scopes_removed"] = "fitness.oxygen_saturation.read"
    return body


def _processing(ctx: _Ctx) -> dict[str, Any]:
    """Terra asks the caller to retry later."""
    return {
        "type": "processing",
        "status": "success",
        "message": "Request is processing, try again later",
        "user": ctx.user(),
        "retry_after_seconds": 30,
    }


def _large_processing(ctx: _Ctx) -> dict[str, Any]:
    """A large request was accepted; its chunks will share `reference`."""
    return {
        "type": "large_request_processing",
        "status": "processing",
        "message": "Large request is processing",
        "user": ctx.user(),
        "reference": ctx.uuid(),
        "version": VERSION,
    }


def _large_sending(ctx: _Ctx) -> dict[str, Any]:
    """Chunks of a large request are about to arrive."""
    return {
        "type": "large_request_sending",
        "user": ctx.user(),
        "reference": ctx.uuid(),
        "message": "Large request is being sent",
        "expected_payloads": ctx.rng.randint(2, 9),
        "version": VERSION,
    }


def _rate_limit_hit(ctx: _Ctx) -> dict[str, Any]:
    """A provider's rate limit delayed an async request."""
    return {
        "type": "rate_limit_hit",
        "user": ctx.user(),
        "start_date": ctx.utc(ctx.day_start(90)),
        "end_date": ctx.utc(ctx.day_start(0)),
        "retrying_at": ctx.utc(ctx.now + timedelta(minutes=15)),
        "message": "Rate limit reached whilst processing async query",
    }


def _healthcheck(ctx: _Ctx) -> dict[str, Any]:
    """Terra's periodic destination ping (no user)."""
    return {
        "type": "healthcheck",
        "status": "normal",
        "creation_timestamp": ctx.now.astimezone(timezone.utc).isoformat(
            sep=" ", timespec="microseconds"
        ),
        "trend_percentage": 0,
        "sent_webhooks_last_hour": ctx.rng.randint(0, 400),
        "version": VERSION,
    }


def _s3(kind: str) -> Builder:
    """A builder for ping-mode events whose payload waits at a signed URL."""
    def build(ctx: _Ctx) -> dict[str, Any]:
        key = ctx.uuid()
        return {
            "type": kind,
            "status": "success",
            "url": f"https://terra-payloads.s3.amazonaws.com/{ctx.user_id}/{key}.json"
            f"?X-Amz-Expires=3600&X-Amz-Signature={ctx.rng.getrandbits(128):032x}",
            "expires_in": 3600,
        }

    return build


def _athlete(ctx: _Ctx) -> dict[str, Any]:
    """The user's profile: an `athlete` object rather than a data array."""
    first, last = ctx.rng.choice(_FIRST_NAMES), ctx.rng.choice(_LAST_NAMES)
    born = ctx.now.date() - timedelta(days=365 * ctx.rng.randint(22, 60))
    return {
        "type": "athlete",
        "user": ctx.user(),
        "athlete": {
            "first_name": first,
            "last_name": last,
            "gender": ctx.rng.choice(("female", "male")),
            "sex": ctx.rng.choice(("female", "male")),
            "date_of_birth": born.isoformat(),
            "age": ctx.now.year - born.year,
            "country": "GB",
            "city": "London",
            "email": f"{first.lower()}@example.com",
        },
        "version": VERSION,
    }


def _planned_workout(ctx: _Ctx) -> dict[str, Any]:
    """Two planned workouts in the coming days."""
    return {
        "type": "planned_workout",
        "user": ctx.user(),
        "data": [_planned(ctx, 1), _planned(ctx, 3)],
        "version": VERSION,
    }


def _lab_report(kind: str, status: str) -> Builder:
    """A builder for lab-report events (2026 types; data fields illustrative)."""
    def build(ctx: _Ctx) -> dict[str, Any]:
        data: dict[str, Any] = {
            "session_id": ctx.uuid(),
            "user_id": ctx.user_id,
            "reference_id": ctx.reference_id,
            "status": status,
        }
        if status == "completed":
            data["results"] = [
                {"name": "HbA1c", "value": 5.2, "unit": "%"},
                {"name": "LDL cholesterol", "value": 2.9, "unit": "mmol/L"},
            ]
        else:
            data["reason"] = "sample_insufficient"
        return {
            "type": kind,
            "event_id": ctx.uuid(),
            "occurred_at": ctx.utc(ctx.now - timedelta(minutes=2)),
            "data": data,
        }

    return build


_TYPES: tuple[EventType, ...] = (
    EventType("auth", "a user connected a wearable through the widget", _auth),
    EventType("auth_error", "a connection attempt failed (type auth, status error)", _auth_error),
    EventType(
        "auth_cancelled",
        "the 2026 name for a failed connection attempt",
        lambda ctx: _auth_error(ctx, "auth_cancelled"),
    ),
    EventType(
        "deauth",
        "the user was disconnected through Terra",
        _status_event("deauth", "success", "User has deauthenticated"),
    ),
    EventType("user_reauth", "the same account connected again under a new user id", _user_reauth),
    EventType(
        "access_revoked",
        "the user revoked access at the provider",
        _status_event("access_revoked", "warning", "User revoked access"),
    ),
    EventType(
        "connection_error",
        "the provider rejected Terra's credentials (401/403/412)",
        _status_event("connection_error", "warning", "User connection degraded"),
    ),
    EventType(
        "google_no_datasource",
        "a Google Fit user has no data source",
        _status_event(
            "google_no_datasource", "warning", "User has no data sources attached to the account"
        ),
    ),
    EventType("permission_change", "the user changed granted scopes", _permission_change),
    EventType("processing", "the provider needs more time (normally an HTTP reply)", _processing),
    EventType("large_request_processing", "a large data request was accepted", _large_processing),
    EventType("large_request_sending", "chunks of a large request are on the way", _large_sending),
    EventType("rate_limit_hit", "a provider rate limit delayed an async request", _rate_limit_hit),
    EventType("healthcheck", "Terra's periodic destination health ping", _healthcheck),
    EventType("s3_payload", "ping mode: the payload waits at a download URL", _s3("s3_payload")),
    EventType("s3_upload", "the 2026 name of s3_payload", _s3("s3_upload")),
    EventType("activity", "workouts with heart-rate series", _data_event("activity", _activity, 3)),
    EventType("body", "weigh-ins and resting heart rate", _data_event("body", _body, 3)),
    EventType("daily", "daily totals with a heart-rate series", _data_event("daily", _daily, 3)),
    EventType("sleep", "nights with sleep stages and heart rate", _data_event("sleep", _sleep, 2)),
    EventType("nutrition", "logged meals and totals", _data_event("nutrition", _nutrition, 2)),
    EventType("menstruation", "cycle tracking days", _data_event("menstruation", _menstruation, 2)),
    EventType("athlete", "the user's profile (an athlete object, no data array)", _athlete),
    EventType("planned_workout", "structured workouts planned ahead", _planned_workout),
    EventType(
        "hormone",
        "hormone test readings (2026 type)",
        _data_event("hormone", _hormone, 3),
    ),
    EventType(
        "health_observation",
        "point observations such as blood glucose (2026 type; fields illustrative)",
        _data_event("health_observation", _observation, 3),
    ),
    EventType(
        "lab_report.completed",
        "a lab report is ready (2026 type; data fields illustrative)",
        _lab_report("lab_report.completed", "completed"),
    ),
    EventType(
        "lab_report.failed",
        "a lab report could not be produced (2026 type; data fields illustrative)",
        _lab_report("lab_report.failed", "failed"),
    ),
)

EVENT_TYPES: dict[str, EventType] = {t.name: t for t in _TYPES}

# Types whose user is a Google one whatever the seed says.
_FIXED_PROVIDER = {"google_no_datasource": "GOOGLE", "permission_change": "GOOGLE"}


def get_type(name: str) -> EventType:
    """The event type called `name`, or exit 3 naming `terra trigger --list`."""
    found = EVENT_TYPES.get(name.strip().lower())
    if found is None:
        raise InputError(
            f"Unknown event type '{name}'.",
            hint="Run 'terra trigger --list' to see the event types.",
        )
    return found


def build(
    name: str, now: datetime, seed: int = 0, options: SampleOptions | None = None
) -> dict[str, Any]:
    """A sample event of type `name`, happening at `now`, reproducible from `seed`."""
    event_type = get_type(name)
    options = options or SampleOptions()
    rng = random.Random(f"{event_type.name}:{seed}")  # noqa: S311 - sample data, not keys
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    provider = options.provider or _FIXED_PROVIDER.get(event_type.name) or rng.choice(PROVIDERS)
    ctx = _Ctx(
        rng=rng,
        now=now,
        tz=timezone(timedelta(hours=rng.choice(_OFFSETS))),
        provider=provider.upper(),
        user_id=options.user_id or str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        reference_id=options.reference_id or f"user-{rng.randint(1000, 9999)}@example.com",
        samples=options.samples,
    )
    return event_type.build(ctx)


def encode(payload: Any) -> bytes:
    """Serialise a payload the way Terra's bodies look: `", "` and `": "` separators."""
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


# ---------------------------------------------------------------- --set


def parse_value(text: str) -> Any:
    """A `--set` value: JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def apply_set(payload: Any, assignment: str) -> None:
    """Apply one `dotted.path=VALUE` to `payload` in place; list items by index (`data.0.x`)."""
    path, sep, raw = assignment.partition("=")
    hint = (
        "Use --set dotted.path=VALUE, e.g. --set data.0.metadata.name=Run "
        "or --set user.active=false."
    )
    if not sep or not path.strip():
        raise InputError(f"--set '{assignment}' is not of the form dotted.path=VALUE.", hint=hint)
    parts = path.strip().split(".")
    if any(not p for p in parts):
        raise InputError(f"--set '{assignment}' has an empty path segment.", hint=hint)
    node = payload
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            if last:
                node[part] = parse_value(raw)
                return
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        elif isinstance(node, list):
            if not part.lstrip("-").isdigit():
                raise InputError(
                    f"--set '{assignment}': '{'.'.join(parts[:depth])}' is a list, "
                    f"so '{part}' must be a number.",
                    hint=hint,
                )
            index = int(part)
            if not -len(node) <= index < len(node):
                raise InputError(
                    f"--set '{assignment}': index {index} is outside the list "
                    f"(it has {len(node)} items).",
                    hint=hint,
                )
            if last:
                node[index] = parse_value(raw)
                return
            node = node[index]
        else:
            raise InputError(
                f"--set '{assignment}': '{'.'.join(parts[:depth]) or '(top)'}' is a "
                f"{type(node).__name__}, not an object or list.",
                hint=hint,
            )
