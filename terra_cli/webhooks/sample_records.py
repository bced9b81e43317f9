"""The data inside sample events: users, devices, series and records, built by us.

`Context` carries one payload's random source, clock, time zone and user, so
every record of an event agrees with the others. Record builders take the
context and how many days back (or ahead) the record sits. Series follow
Terra's data models: heart rate as `heart_rate_data.detailed.hr_samples`
(`bpm`), sleep stages as `sleep_durations_data.hypnogram_samples` (`level`:
1 awake, 4 light, 5 deep, 6 REM).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

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
OFFSETS = (0, 1, 2, -5, -8, 9)  # hours; each user lives in one time zone


@dataclass
class Context:
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


Record = Callable[[Context, int], dict[str, Any]]


# ---------------------------------------------------------------- series


def _hr_series(ctx: Context, start: datetime, minutes: int, base: int, peak: int) -> list[Any]:
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


def _hypnogram(ctx: Context, start: datetime, end: datetime) -> list[dict[str, Any]]:
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


def activity(ctx: Context, days_ago: int) -> dict[str, Any]:
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


def daily(ctx: Context, days_ago: int) -> dict[str, Any]:
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


def sleep(ctx: Context, days_ago: int) -> dict[str, Any]:
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


def body(ctx: Context, days_ago: int) -> dict[str, Any]:
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


def nutrition(ctx: Context, days_ago: int) -> dict[str, Any]:
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


def menstruation(ctx: Context, days_ago: int) -> dict[str, Any]:
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


def planned(ctx: Context, days_ahead: int) -> dict[str, Any]:
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


def hormone(ctx: Context, days_ago: int) -> dict[str, Any]:
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


def observation(ctx: Context, days_ago: int) -> dict[str, Any]:
    """One point observation (our illustration of the 2026 type)."""
    when = ctx.day_start(days_ago) + timedelta(hours=9)
    return {
        "timestamp": ctx.ts(when),
        "observation_type": "blood_glucose",
        "value": round(ctx.rng.uniform(80, 110), 1),
        "unit": "mg/dL",
        "source": ctx.provider,
    }
