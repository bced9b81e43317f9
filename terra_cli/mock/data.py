"""Terra's data area: activity, body, daily, sleep, nutrition, menstruation and athlete.

The rules Terra documents: `user_id` of a connected user (404 otherwise),
`start_date` (required) and `end_date` as `YYYY-MM-DD` or 10-digit unix
seconds, `with_samples` (default false), `to_webhook` (default true). The
range is the days from `start_date` up to, not including, `end_date` (just the
start day when the end is omitted or equal), never past today; one request may
span at most 1,825 days (Terra's rate-limit rule r1, a 429). With
`to_webhook=false` the records come back in the answer; otherwise the answer
is an acknowledgement with a `reference` (also in the `terra-reference`
header) and the same records follow as webhooks: one data event, or for a
range over 28 days `large_request_processing`, `large_request_sending` and
chunks of at most 10 records, all sharing the reference.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from terra_cli.mock.http import Answer, Handler, Request, Route, json_answer, problem
from terra_cli.webhooks import samples
from terra_cli.webhooks.sample_records import VERSION

if TYPE_CHECKING:
    from terra_cli.mock.service import MockService
    from terra_cli.mock.state import MockUser

DATED_TYPES = ("activity", "body", "daily", "sleep", "nutrition", "menstruation")
MAX_SPAN_DAYS = 1825
LARGE_REQUEST_DAYS = 28
CHUNK_RECORDS = 10
LARGE_MESSAGE = (
    "Large request submitted. The data is being processed and will be sent to your "
    "destination in chunks"
)
NO_WEBHOOK = (
    "to_webhook is true but no destination is configured: start terra mock with "
    "--webhook URL, or pass to_webhook=false"
)


class BadInput(ValueError):
    """A query parameter Terra would reject with 400."""


@lru_cache(maxsize=8192)
def _day(
    kind: str, seed: int, user_id: str, provider: str, day: date, with_samples: bool
) -> tuple[dict[str, Any], ...]:
    """One day's records, built once: they depend on nothing else, and building a night
    with samples costs ~1.5 ms. Callers never modify them (answers are encoded as is)."""
    user = {"user_id": user_id, "provider": provider}
    return tuple(samples.day_records(kind, seed, user, day, with_samples))


def records(
    kind: str, seed: int, user: dict[str, Any], days: list[date], with_samples: bool
) -> dict[str, Any]:
    """The `kind` data event for `user` over `days`, as the sample builders make it."""
    data = [
        r
        for day in days
        for r in _day(kind, seed, user["user_id"], user["provider"], day, with_samples)
    ]
    return {"type": kind, "user": user, "data": data, "version": VERSION}


def parse_bool(request: Request, name: str, default: bool) -> bool:
    """A boolean query parameter: true/false (any case) or 1/0."""
    text = request.query.get(name)
    if text is None or text == "":
        return default
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise BadInput(f"invalid {name}: expected true or false")


def parse_date(text: str, name: str) -> date:
    """`YYYY-MM-DD` or 10-digit unix seconds (taken in UTC)."""
    value = text.strip()
    if value.isdigit() and len(value) == 10:
        return datetime.fromtimestamp(int(value), timezone.utc).date()
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"invalid {name}: use YYYY-MM-DD or unix seconds") from None


class _TooLong(Exception):
    """A range over Terra's 1,825-day limit (rule r1)."""


def _days(request: Request) -> tuple[list[date], int]:
    """The requested days up to today and the span asked for, or BadInput / _TooLong."""
    start_text = request.query.get("start_date")
    if not start_text:
        raise BadInput("start_date is required")
    start = parse_date(start_text, "start_date")
    end_text = request.query.get("end_date")
    end = parse_date(end_text, "end_date") if end_text else start
    if end < start:
        raise BadInput("invalid end_date: it is before start_date")
    span = (end - start).days
    if span > MAX_SPAN_DAYS:
        raise _TooLong()
    today = datetime.now(timezone.utc).date()
    count = max(span, 1)
    return [d for d in (start + timedelta(days=i) for i in range(count)) if d <= today], span


def _user(service: MockService, request: Request) -> MockUser | Answer:
    user_id = request.query.get("user_id")
    if not user_id:
        return problem(400, request, "user_id is required")
    user = service.state.get(user_id)
    if user is None:
        return problem(404, request, "user not found")
    return user


def _ack(
    service: MockService,
    kind: str,
    user: MockUser,
    payloads: list[dict[str, Any]],
    reference: str,
    large: bool,
) -> Answer:
    """Terra's DataSentToWebhook answer, with the deliveries to follow it."""
    body: dict[str, Any] = {
        "status": "success",
        "type": kind,
        "reference": reference,
        "trace_id": reference,
        "user": user.terra(),
    }
    if large:
        body["message"] = LARGE_MESSAGE
    after = service.webhooks(payloads, reference)
    if large:  # chunks: Terra's `<id>:chunk:<n>` trace ids (after processing and sending)
        for n, item in enumerate(after[2:], 1):
            item.trace_id = f"{reference}:chunk:{n}"
    return json_answer(
        body,
        headers=[("terra-reference", reference)],
        user_id=user.user_id,
        reference=reference,
        after=after,
    )


def _large(
    service: MockService, user: dict[str, Any], event: dict[str, Any], reference: str
) -> list[dict[str, Any]]:
    """A large request's deliveries: processing, sending (N), then N chunks."""
    now = datetime.now(timezone.utc)
    seed = service.config.seed
    records = event["data"]
    chunks = [records[i : i + CHUNK_RECORDS] for i in range(0, len(records), CHUNK_RECORDS)]
    out = [
        samples.user_event("large_request_processing", now, seed, user, reference=reference),
        samples.user_event(
            "large_request_sending",
            now,
            seed,
            user,
            reference=reference,
            expected_payloads=len(chunks),
        ),
    ]
    out += [{**event, "data": chunk} for chunk in chunks]
    return out


def dated(kind: str) -> Handler:
    """The handler for one dated data type."""

    def handle(service: MockService, request: Request) -> Answer:
        found = _user(service, request)
        if isinstance(found, Answer):
            return found
        try:
            to_webhook = parse_bool(request, "to_webhook", True)
            with_samples = parse_bool(request, "with_samples", False)
            days, span = _days(request)
        except BadInput as exc:
            return problem(400, request, str(exc))
        except _TooLong:
            answer = json_answer({"detail": "rate limit exceeded"}, 429, user_id=found.user_id)
            answer.headers.append(("X-Terra-RateLimit-Rule", "r1"))
            return answer
        user = found.terra()
        event = records(kind, service.config.seed, user, days, with_samples)
        if not to_webhook:
            return json_answer(
                {"user": user, "data": event["data"], "type": kind}, user_id=found.user_id
            )
        if service.scheduler is None:
            return problem(400, request, NO_WEBHOOK)
        reference = str(uuid.uuid4())
        large = span > LARGE_REQUEST_DAYS
        payloads = _large(service, user, event, reference) if large else [event]
        return _ack(service, kind, found, payloads, reference, large)

    return handle


def athlete(service: MockService, request: Request) -> Answer:
    """`GET /athlete`: the profile (no dates), in the answer or as an `athlete` event."""
    found = _user(service, request)
    if isinstance(found, Answer):
        return found
    try:
        to_webhook = parse_bool(request, "to_webhook", True)
    except BadInput as exc:
        return problem(400, request, str(exc))
    user = found.terra()
    event = samples.athlete_event(service.config.seed, user, datetime.now(timezone.utc))
    if not to_webhook:
        return json_answer(
            {"athlete": event["athlete"], "type": "athlete", "user": user}, user_id=found.user_id
        )
    if service.scheduler is None:
        return problem(400, request, NO_WEBHOOK)
    return _ack(service, "athlete", found, [event], str(uuid.uuid4()), False)


REST: dict[str, Route] = {f"/{kind}": Route({"GET": dated(kind)}) for kind in DATED_TYPES}
REST["/athlete"] = Route({"GET": athlete})
