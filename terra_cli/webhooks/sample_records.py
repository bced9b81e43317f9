"""The data inside sample events: users, devices, series and records, built by us.

`Context` carries one payload's random source, clock, time zone and user, so
every record of an event agrees with the others. Record builders take the
context and how many days back (or ahead) the record sits. Series follow
Terra's data models: heart rate as `heart_rate_data.detailed.hr_samples`
(`bpm`), sleep stages as `sleep_durations_data.hypnogram_samples` (`level`:
1 awake, 4 light, 5 deep, 6 REM). Summaries are computed from the series they
sit beside (min/avg/max heart rate, stage durations, meal totals), distances
are rounded, and day-scoped records run from a local midnight to the next.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
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
    memo: dict[str, Any] = field(default_factory=dict)  # values shared by a payload's records

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


def _day_hr_series(ctx: Context, start: datetime, resting: int) -> list[dict[str, Any]]:
    """A whole day of heart rate, every 15 minutes: low at night, higher by day."""
    out: list[dict[str, Any]] = []
    for i in range(96):
        hour = i / 4
        awake = 7 <= hour < 23
        bpm = resting + (ctx.rng.uniform(12, 30) if awake else ctx.rng.uniform(0, 5))
        if awake and ctx.rng.random() < 0.06:  # the odd brisk walk or stairs
            bpm += ctx.rng.uniform(25, 45)
        out.append({"timestamp": ctx.ts(start + timedelta(minutes=15 * i)), "bpm": round(bpm)})
    return out


def hr_summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """min/avg/max of a heart-rate series, as Terra's `heart_rate_data.summary` holds them."""
    bpm = [s["bpm"] for s in samples]
    return {
        "min_hr_bpm": min(bpm),
        "avg_hr_bpm": round(sum(bpm) / len(bpm), 1),
        "max_hr_bpm": max(bpm),
    }


# Terra's SleepLevel: 0 unknown, 1 awake, 2 sleeping, 3 out of bed, 4 light, 5 deep, 6 REM.
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
    """Seconds spent in each stage: each 5-minute sample holds until the next one."""
    counts = {_AWAKE: 0, _LIGHT: 0, _DEEP: 0, _REM: 0}
    for sample in hypnogram:
        counts[sample["level"]] += 300
    return counts


# ---------------------------------------------------------------- records

# Activity codes with a pace (metres a minute), steps per metre and heart-rate peak.
_ACTIVITIES = (
    (8, "Running", 165, 1.0, 172),
    (1, "Biking", 410, 0.0, 160),
    (80, "Walking", 85, 1.3, 118),
)


def activity(ctx: Context, days_ago: int) -> dict[str, Any]:
    """One workout on the day `days_ago` days back, with a heart-rate series."""
    code, name, pace, steps_per_m, max_hr = ctx.rng.choice(_ACTIVITIES)
    start = ctx.day_start(days_ago) + timedelta(hours=ctx.rng.randint(6, 18))
    minutes = ctx.rng.randint(25, 70)
    end = start + timedelta(minutes=minutes)
    metres = round(minutes * pace * ctx.rng.uniform(0.92, 1.08), 1)
    series = _hr_series(ctx, start, minutes, 95, max_hr - 6)
    summary = hr_summary(series)
    summary["resting_hr_bpm"] = ctx.rng.randint(48, 62)
    kcal = round(minutes * {8: 11.5, 1: 9.0, 80: 4.5}[code], 1)
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
            "total_burned_calories": kcal,
            "net_activity_calories": round(kcal * 0.85, 1),
        },
        "distance_data": {
            "summary": {"distance_meters": metres, "steps": round(metres * steps_per_m)}
        },
        "heart_rate_data": {
            "summary": summary,
            "detailed": {"hr_samples": series if ctx.samples else []},
        },
        "device_data": ctx.device(),
    }


def _day_window(ctx: Context, days_ago: int) -> tuple[datetime, datetime]:
    """A day-scoped record's window: local midnight to the midnight that closes the day."""
    start = ctx.day_start(days_ago)
    return start, start + timedelta(days=1)


def daily(ctx: Context, days_ago: int) -> dict[str, Any]:
    """One day's totals, from midnight to the next midnight, with the day's heart rate."""
    start, end = _day_window(ctx, days_ago)
    steps = ctx.rng.randint(4000, 14000)
    resting = ctx.rng.randint(50, 64)
    series = _day_hr_series(ctx, start, resting)
    summary = hr_summary(series)
    summary["resting_hr_bpm"] = resting
    bmr = ctx.rng.randint(1500, 1800)
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(end), "upload_type": 1},
        "distance_data": {"steps": steps, "distance_meters": round(steps * 0.74, 1)},
        "calories_data": {
            "total_burned_calories": bmr + round(steps * 0.045),
            "BMR_calories": bmr,
        },
        "active_durations_data": {"activity_seconds": round(steps * 0.55)},
        "heart_rate_data": {
            "summary": summary,
            "detailed": {"hr_samples": series if ctx.samples else []},
        },
        "scores": {"recovery": ctx.rng.randint(40, 95), "activity": ctx.rng.randint(40, 95)},
        "device_data": ctx.device(),
    }


def sleep(ctx: Context, days_ago: int) -> dict[str, Any]:
    """The night before day `days_ago`: stages, durations that agree with them, heart rate."""
    bed = ctx.day_start(days_ago) - timedelta(hours=1, minutes=ctx.rng.randint(0, 60))
    end = bed + timedelta(hours=7, minutes=5 * ctx.rng.randint(0, 15))
    hypnogram = _hypnogram(ctx, bed, end)
    spent = _durations(hypnogram)
    in_bed = int((end - bed).total_seconds())
    series = _hr_series(ctx, bed, in_bed // 60, 58, 50)[::5]
    summary = hr_summary(series)
    summary["resting_hr_bpm"] = summary["min_hr_bpm"]
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
            "other": {"duration_in_bed_seconds": in_bed},
            "sleep_efficiency": round(100 * (1 - spent[_AWAKE] / max(in_bed, 1)), 1),
            "hypnogram_samples": hypnogram if ctx.samples else [],
        },
        "heart_rate_data": {
            "summary": summary,
            "detailed": {"hr_samples": series if ctx.samples else []},
        },
        "data_enrichment": {"sleep_score": ctx.rng.randint(55, 95)},
        "device_data": ctx.device(),
    }


def body(ctx: Context, days_ago: int) -> dict[str, Any]:
    """One day's body metrics: a morning weigh-in and the resting heart rate around it."""
    start, end = _day_window(ctx, days_ago)
    weighed = start + timedelta(hours=7, minutes=ctx.rng.randint(0, 50))
    weight = round(68 + ctx.rng.uniform(-0.6, 0.6), 1)
    series = _hr_series(ctx, weighed, 10, 60, 66)
    summary = hr_summary(series)
    summary["resting_hr_bpm"] = summary["min_hr_bpm"]
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(end)},
        "measurements_data": {
            "measurements": [
                {
                    "measurement_time": ctx.ts(weighed),
                    "weight_kg": weight,
                    "BMI": round(weight / 1.74**2, 1),
                    "bodyfat_percentage": round(ctx.rng.uniform(15, 22), 1),
                }
            ]
        },
        "heart_data": {
            "heart_rate_data": {
                "summary": summary,
                "detailed": {"hr_samples": series if ctx.samples else []},
            }
        },
        "device_data": ctx.device(),
    }


# (hour, name, Terra's MealType, grams, kcal)
_MEALS = (
    (8, "Oatmeal with berries", 1, 250, 380),
    (13, "Chicken salad", 3, 320, 560),
    (19, "Salmon with rice", 5, 380, 720),
)


def nutrition(ctx: Context, days_ago: int) -> dict[str, Any]:
    """A day's logged meals, and totals that add them up."""
    start, end = _day_window(ctx, days_ago)
    meals: list[dict[str, Any]] = []
    for hour, name, meal_type, grams, kcal in _MEALS:
        meals.append(
            {
                "id": ctx.uuid(),
                "name": name,
                "type": meal_type,
                "timestamp": ctx.ts(start + timedelta(hours=hour, minutes=ctx.rng.randint(0, 40))),
                "quantity": {"amount": grams, "unit": 1},  # NutritionUnits 1: grams
                "macros": {
                    "calories": kcal,
                    "protein_g": round(kcal * 0.06, 1),
                    "carbohydrates_g": round(kcal * 0.11, 1),
                    "fat_g": round(kcal * 0.03, 1),
                },
                "micros": {"sodium_mg": round(kcal * 1.2), "potassium_mg": round(kcal * 1.5)},
            }
        )
    totals = {
        key: round(sum(m["macros"][key] for m in meals), 1)
        for key in ("calories", "protein_g", "carbohydrates_g", "fat_g")
    }
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(end)},
        "summary": {"macros": totals, "water_ml": 100 * ctx.rng.randint(12, 26)},
        "meals": meals,
    }


# Terra's MenstruationInterval phases by day of a 28-day cycle.
_PERIOD, _FOLLICULAR, _FERTILE, _OVULATION, _LUTEAL = 1, 2, 3, 4, 5
_PHASES = ((1, 5, _PERIOD), (6, 10, _FOLLICULAR), (11, 13, _FERTILE), (14, 14, _OVULATION))


def _phase(day: int) -> tuple[int, int, int]:
    """The phase on cycle day `day`, how long it lasts, and the days until the next one."""
    for first, last, phase in _PHASES:
        if first <= day <= last:
            return phase, last - first + 1, last - day + 1
    return _LUTEAL, 14, 28 - day + 1


def menstruation(ctx: Context, days_ago: int) -> dict[str, Any]:
    """One cycle-tracking day; the records of one payload follow one cycle."""
    start, end = _day_window(ctx, days_ago)
    if "cycle_start" not in ctx.memo:  # the day the current cycle began
        ctx.memo["cycle_start"] = ctx.day_start(days_ago + ctx.rng.randint(0, 20)).date()
    begun = ctx.memo["cycle_start"]
    day = (start.date() - begun).days % 28 + 1
    period_start = start.date() - timedelta(days=day - 1)
    phase, length, until_next = _phase(day)
    return {
        "metadata": {"start_time": ctx.ts(start), "end_time": ctx.ts(end)},
        "menstruation_data": {
            "day_in_cycle": day,
            "cycle_length_days": 28,
            "period_length_days": 5,
            "current_phase": phase,
            "length_of_current_phase_days": length,
            "days_until_next_phase": until_next,
            "period_start_date": period_start.isoformat(),
            "predicted_cycle_length_days": 28,
            "is_predicted_cycle": False,
            "ovulation_day": (period_start + timedelta(days=13)).isoformat(),
        },
    }


def planned(ctx: Context, days_ahead: int) -> dict[str, Any]:
    """A structured run planned `days_ahead` days from now, as Terra's PlannedWorkout."""
    day = ctx.day_start(-days_ahead).date().isoformat()
    warm, main, cool = 600, 1500, 600
    workout_id = ctx.uuid()
    return {
        "planned_workout_id": str(ctx.rng.randint(1000, 99999)),
        "workout_id": workout_id,
        "planned_date": day,
        "provider_workout_id": str(ctx.rng.randint(10**8, 10**9 - 1)),
        "created_at": ctx.utc(ctx.now - timedelta(hours=ctx.rng.randint(1, 48))),
        "last_updated_at": ctx.utc(ctx.now - timedelta(minutes=ctx.rng.randint(1, 50))),
        "is_external": False,
        "details": {
            "metadata": {
                "id": workout_id,
                "provider": ctx.provider,
                "name": ctx.rng.choice(("Tempo run", "Threshold intervals", "Easy recovery")),
                "type": 8,
                "planned_date": day,
                "created_date": ctx.ts(ctx.now),
                "estimated_duration_seconds": warm + main + cool,
                "estimated_distance_meters": 7500,
            },
            "steps": [
                {
                    "order": 1,
                    "type": 0,
                    "name": "Warm up",
                    "intensity": 1,
                    "durations": [{"duration_type": 0, "seconds": warm}],
                },
                {
                    "order": 2,
                    "type": 0,
                    "name": "Main set",
                    "intensity": 3,
                    "durations": [{"duration_type": 0, "seconds": main}],
                    "targets": [{"target_type": 0, "hr_bpm_low": 150, "hr_bpm_high": 165}],
                },
                {
                    "order": 3,
                    "type": 0,
                    "name": "Cool down",
                    "intensity": 1,
                    "durations": [{"duration_type": 0, "seconds": cool}],
                },
            ],
        },
    }


def hormone(ctx: Context, days_ago: int) -> dict[str, Any]:
    """One test's hormone readings, as Terra's HormoneSample (unmeasured ones are null)."""
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
    """One blood-glucose reading, as Terra's HealthObservation (category 5: lab & metrics)."""
    when = ctx.day_start(days_ago) + timedelta(hours=9, minutes=ctx.rng.randint(0, 30))
    return {
        "metadata": {
            "summary_id": ctx.uuid(),
            "start_time": ctx.ts(when),
            "end_time": ctx.ts(when),
        },
        "observation_data": {
            "category": 5,
            "observation_type": "blood_glucose",
            "codes": [{"system": "loinc", "code": "2339-0", "display": "Glucose [Mass/volume]"}],
            "value": {
                "value_type": 1,
                "quantity": round(ctx.rng.uniform(80, 110), 1),
                "unit": "mg/dL",
            },
            "status": 1,
        },
    }


# (key, display name, LOINC, value range, units): common panel results for lab reports.
_BIOMARKERS = (
    ("hemoglobin", "Hemoglobin", "718-7", (12.5, 16.5), "g/dL"),
    ("hba1c", "Hemoglobin A1c", "4548-4", (4.8, 5.9), "%"),
    ("ldl_cholesterol", "LDL Cholesterol", "13457-7", (70.0, 160.0), "mg/dL"),
)


def lab_result(ctx: Context, index: int, collected: str) -> dict[str, Any]:
    """One lab-report result in Terra's layers: source, biomarker, measurement, interpretation."""
    key, display, loinc, (low, high), units = _BIOMARKERS[index % len(_BIOMARKERS)]
    value = round(ctx.rng.uniform(low, high), 1)
    return {
        "source": {
            "name": display,
            "value": f"{value}",
            "units": units,
            "collection_date": collected,
        },
        "biomarker": {"key": key, "display_name": display, "loinc_code": loinc},
        "measurement": {"type": "numeric", "numeric": value, "units": units, "ucum_code": units},
        "interpretation": {"flag": "normal", "source": "report"},
    }
