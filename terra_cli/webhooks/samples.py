"""Realistic, Terra-shaped sample events for `terra trigger`, built by us.

Every documented webhook type has a builder. Builders are pure: the clock
(`now`) and a random seed come in, a JSON-ready dict comes out, so the same
inputs always give the same payload. Ids are coherent within one event (the
user, reference and records agree), dates sit just before `now`, data events
carry several records and, unless turned off, sample series such as heart
rate and sleep stages (hypnogram levels).

Bodies are valid against Terra's published schema for each webhook (the
OpenAPI spec's `webhooks` and their component schemas, e.g. HormoneEvent), with
the body `type` Terra sends: `s3_payload` for the `s3_upload` webhook and
`auth_cancelled` for a failed connection. Types the spec has no schema for
(healthcheck, processing, rate_limit_hit, google_no_datasource) follow the
docs' event templates (TERRA-API.md §4).
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from terra_cli.errors import InputError
from terra_cli.webhooks import sample_records as records
from terra_cli.webhooks.sample_records import OFFSETS, PROVIDERS, VERSION, Context

_FIRST_NAMES = ("Ada", "Grace", "Alan", "Katherine", "Tim", "Linus", "Radia", "Barbara")
_LAST_NAMES = ("Lovelace", "Hopper", "Turing", "Johnson", "Berners-Lee", "Perlman", "Liskov")


@dataclass(frozen=True)
class SampleOptions:
    """What the caller may pin down; everything left as None is generated."""

    user_id: str | None = None
    reference_id: str | None = None
    provider: str | None = None
    samples: bool = True


Builder = Callable[[Context], dict[str, Any]]


@dataclass(frozen=True)
class EventType:
    """One event type `terra trigger` can send."""

    name: str
    description: str
    build: Builder


# ---------------------------------------------------------------- events


def _data_event(kind: str, record: records.Record, n: int) -> Builder:
    """A builder for a data event: `n` records, oldest first."""

    def build(ctx: Context) -> dict[str, Any]:
        return {
            "type": kind,
            "user": ctx.user(),
            "data": [record(ctx, n - i) for i in range(n)],
            "version": VERSION,
        }

    return build


def _status_event(kind: str, status: str, message: str, **extra: Any) -> Builder:
    """A builder for a user event with a fixed status and message."""

    def build(ctx: Context) -> dict[str, Any]:
        body: dict[str, Any] = {"type": kind, "status": status, "message": message}
        body["user"] = ctx.user()
        body.update(extra)
        body["version"] = VERSION
        return body

    return build


def _auth(ctx: Context) -> dict[str, Any]:
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


def _auth_cancelled(ctx: Context) -> dict[str, Any]:
    """A failed or cancelled connection: no user (it was never created), a reason."""
    return {
        "type": "auth_cancelled",
        "status": "error",
        "flow_id": ctx.uuid(),
        "reason": ctx.rng.choice(("access_denied", "user_cancelled")),
        "reference_id": ctx.reference_id,
    }


def _user_reauth(ctx: Context) -> dict[str, Any]:
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


def _permission_change(ctx: Context) -> dict[str, Any]:
    """Scopes added and removed at the provider."""
    body = _status_event("permission_change", "warning", "User permissions have been modified")(ctx)
    body["scopes_added"] = "fitness.blood_glucose.read"
    body["scopes_removed"] = "fitness.oxygen_saturation.read"
    return body


def _processing(ctx: Context) -> dict[str, Any]:
    """Terra asks the caller to retry later."""
    return {
        "type": "processing",
        "status": "success",
        "message": "Request is processing, try again later",
        "user": ctx.user(),
        "retry_after_seconds": 30,
    }


def _large_processing(ctx: Context) -> dict[str, Any]:
    """A large request was accepted; its chunks will share `reference`."""
    return {
        "type": "large_request_processing",
        "status": "processing",
        "message": "Large request is processing",
        "user": ctx.user(),
        "reference": ctx.uuid(),
        "version": VERSION,
    }


def _large_sending(ctx: Context) -> dict[str, Any]:
    """Chunks of a large request are about to arrive."""
    return {
        "type": "large_request_sending",
        "user": ctx.user(),
        "reference": ctx.uuid(),
        "message": "Large request is being sent",
        "expected_payloads": ctx.rng.randint(2, 9),
        "version": VERSION,
    }


def _rate_limit_hit(ctx: Context) -> dict[str, Any]:
    """A provider's rate limit delayed an async request."""
    return {
        "type": "rate_limit_hit",
        "user": ctx.user(),
        "start_date": ctx.utc(ctx.day_start(90)),
        "end_date": ctx.utc(ctx.day_start(0)),
        "retrying_at": ctx.utc(ctx.now + timedelta(minutes=15)),
        "message": "Rate limit reached whilst processing async query",
    }


def _healthcheck(ctx: Context) -> dict[str, Any]:
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


def _s3(ctx: Context) -> dict[str, Any]:
    """Ping mode: the payload waits at a pre-signed URL (Terra's body type `s3_payload`)."""
    key = ctx.uuid()
    day = ctx.day_start(1).date().isoformat()
    return {
        "type": "s3_payload",
        "status": "success",
        "url": f"https://terra-payloads.s3.eu-west-2.amazonaws.com/payloads/{ctx.user_id}/"
        f"activity-{day}-{key[:8]}.json?X-Amz-Expires=300"
        f"&X-Amz-Signature={ctx.rng.getrandbits(128):032x}",
        "expires_in": 300,
    }


def _athlete(ctx: Context) -> dict[str, Any]:
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


def _planned_workout(ctx: Context) -> dict[str, Any]:
    """Two planned workouts in the coming days."""
    return {
        "type": "planned_workout",
        "user": ctx.user(),
        "data": [records.planned(ctx, 1), records.planned(ctx, 3)],
        "version": VERSION,
    }


def _lab_report(kind: str) -> Builder:
    """A builder for lab-report events: report-scoped, so no user and no version."""

    def build(ctx: Context) -> dict[str, Any]:
        session = str(ctx.rng.randint(10**17, 10**18 - 1))
        occurred = (ctx.now - timedelta(minutes=2)).astimezone(timezone.utc)
        body: dict[str, Any] = {
            "type": kind,
            "event_id": f"evt_{ctx.uuid()}",
            "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if kind == "lab_report.completed":
            collected = ctx.day_start(3).date().isoformat()
            results = [records.lab_result(ctx, i, collected) for i in range(3)]
            body["upload_id"] = f"upl_{ctx.uuid().replace('-', '')[:12]}"
            body["data"] = {
                "session_id": session,
                "reference_id": ctx.reference_id,
                "report_date": ctx.day_start(2).date().isoformat(),
                "report_locale": "en-GB",
                "results_count": len(results),
                "results": results,
                "panels": [],
            }
        else:
            body["data"] = {
                "session_id": session,
                "reference_id": ctx.reference_id,
                "error": {
                    "code": "file_unreadable",
                    "message": "The uploaded file could not be read.",
                    "retriable": False,
                },
            }
        return body

    return build


_TYPES: tuple[EventType, ...] = (
    EventType("auth", "a user connected a wearable through the widget", _auth),
    EventType("auth_cancelled", "a connection attempt failed or was cancelled", _auth_cancelled),
    EventType(
        "auth_error",
        "the docs' older name of auth_cancelled (same body)",
        _auth_cancelled,
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
        "the provider refused Terra's access (401/403/412)",
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
    EventType("s3_upload", "ping mode: data waits at a download URL (s3_payload)", _s3),
    EventType("s3_payload", "the same as s3_upload, by its body type", _s3),
    EventType(
        "activity", "workouts with heart-rate series", _data_event("activity", records.activity, 3)
    ),
    EventType("body", "weigh-ins and resting heart rate", _data_event("body", records.body, 3)),
    EventType(
        "daily", "daily totals with a heart-rate series", _data_event("daily", records.daily, 3)
    ),
    EventType(
        "sleep", "nights with sleep stages and heart rate", _data_event("sleep", records.sleep, 2)
    ),
    EventType(
        "nutrition", "logged meals and totals", _data_event("nutrition", records.nutrition, 2)
    ),
    EventType(
        "menstruation", "cycle tracking days", _data_event("menstruation", records.menstruation, 2)
    ),
    EventType("athlete", "the user's profile (an athlete object, no data array)", _athlete),
    EventType("planned_workout", "structured workouts planned ahead", _planned_workout),
    EventType(
        "hormone",
        "hormone test readings (LH, E3G, PdG)",
        _data_event("hormone", records.hormone, 3),
    ),
    EventType(
        "health_observation",
        "point observations such as blood glucose",
        _data_event("health_observation", records.observation, 3),
    ),
    EventType(
        "lab_report.completed",
        "a lab report was processed: its results",
        _lab_report("lab_report.completed"),
    ),
    EventType(
        "lab_report.failed",
        "a lab report failed: an error code and message",
        _lab_report("lab_report.failed"),
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
    ctx = Context(
        rng=rng,
        now=now,
        tz=timezone(timedelta(hours=rng.choice(OFFSETS))),
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


# ---------------------------------------------------------------- per user and day (terra mock)
#
# `terra mock` serves the same records over REST and webhooks, so they must
# depend on nothing but (seed, user, day): each day gets its own random
# source, and the user's time zone comes from (seed, user) alone.

DAY_RECORDS: dict[str, records.Record] = {
    "activity": records.activity,
    "body": records.body,
    "daily": records.daily,
    "sleep": records.sleep,
    "nutrition": records.nutrition,
    "menstruation": records.menstruation,
}


def _user_zone(seed: int, user_id: str) -> timezone:
    """The time zone `user_id` lives in, for this seed."""
    hours = random.Random(f"tz:{seed}:{user_id}").choice(OFFSETS)  # noqa: S311 - sample data
    return timezone(timedelta(hours=hours))


def _user_context(
    seed: int, user: dict[str, Any], salt: str, now: datetime, samples: bool
) -> Context:
    """A Context for `user` (a TerraUser dict) whose randomness comes from (seed, user, salt)."""
    user_id = str(user["user_id"])
    return Context(
        rng=random.Random(f"{salt}:{seed}:{user_id}"),  # noqa: S311 - sample data, not keys
        now=now,
        tz=_user_zone(seed, user_id),
        provider=str(user.get("provider") or "GARMIN").upper(),
        user_id=user_id,
        reference_id=str(user.get("reference_id") or ""),
        samples=samples,
    )


def day_records(
    kind: str, seed: int, user: dict[str, Any], day: date, samples: bool
) -> list[dict[str, Any]]:
    """The `kind` records of `user` for local day `day`: the same for the same inputs."""
    build_record = DAY_RECORDS[kind]
    # Noon of the next local day, one day back: day_start(1) is local midnight of `day`.
    zone = _user_zone(seed, str(user["user_id"]))
    noon = datetime.combine(day + timedelta(days=1), time(12), tzinfo=zone)
    ctx = _user_context(seed, user, f"{kind}:{day.isoformat()}", noon, samples)
    return [build_record(ctx, 1)]


def athlete_event(seed: int, user: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The `athlete` event for `user`: the same profile for the same (seed, user)."""
    ctx = _user_context(seed, user, "athlete", now, True)
    body = _athlete(ctx)
    body["user"] = dict(user)
    return body


def user_event(
    name: str, now: datetime, seed: int, user: dict[str, Any], **fields: Any
) -> dict[str, Any]:
    """A sample event of type `name` about `user` (a TerraUser dict), `fields` set on top."""
    body = build(
        name,
        now,
        seed,
        SampleOptions(
            user_id=str(user["user_id"]),
            reference_id=user.get("reference_id"),
            provider=user.get("provider"),
        ),
    )
    if "user" in body:
        body["user"] = dict(user)
    body.update(fields)
    return body


def planned_on(seed: int, user: dict[str, Any], day: date) -> dict[str, Any] | None:
    """`user`'s provider-side planned workout on `day`, or None (about two days in five)."""
    user_id = str(user["user_id"])
    if random.Random(f"plan-day:{seed}:{user_id}:{day.isoformat()}").random() >= 0.4:  # noqa: S311
        return None
    zone = _user_zone(seed, user_id)
    # Noon of the day before, one day ahead: the planned date is `day`.
    noon = datetime.combine(day - timedelta(days=1), time(12), tzinfo=zone)
    ctx = _user_context(seed, user, f"planned:{day.isoformat()}", noon, True)
    # The provider's own workout (metadata and steps) is a PlannedWorkout's `details`.
    details: dict[str, Any] = records.planned(ctx, 1)["details"]
    return details
