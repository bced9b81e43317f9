"""Terra's planned workouts, read side: `GET /plannedWorkouts` lists a user's workouts.

The mock's users have only provider-side (external) workouts, from the
sample builders, so each carries its full body under `details` and, as on
Terra, is not addressable by id. The window is `start_date`..`end_date`
(`YYYY-MM-DD`, end inclusive); without either, the trailing 30 days.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from terra_cli.mock.http import Answer, Request, Route, json_answer, problem
from terra_cli.webhooks import samples

if TYPE_CHECKING:
    from terra_cli.mock.service import MockService

MAX_WINDOW_DAYS = 366


def _date(request: Request, name: str) -> date | None:
    text = request.query.get(name)
    if not text:
        return None
    try:
        if len(text.strip()) != 10:
            raise ValueError(text)
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"invalid {name}: use YYYY-MM-DD") from None


def _external(body: dict[str, Any]) -> dict[str, Any]:
    """A PlannedWorkout for a provider-side workout: only the provider's id, body in details."""
    meta = body["metadata"]
    return {
        "planned_workout_id": None,
        "workout_id": None,
        "planned_date": meta["planned_date"],
        "provider_workout_id": meta["id"],
        "coercion_warnings": None,
        "created_at": meta["created_date"],
        "last_updated_at": meta["created_date"],
        "is_external": True,
        "athlete_metrics": None,
        "details": body,
    }


def planned_workouts(service: MockService, request: Request) -> Answer:
    """`GET /plannedWorkouts?user_id=[&start_date=&end_date=]`: a list, oldest first."""
    user_id = request.query.get("user_id")
    if not user_id:
        return problem(400, request, "user_id is required")
    user = service.state.get(user_id)
    if user is None:
        return problem(404, request, "user not found")
    try:
        start, end = _date(request, "start_date"), _date(request, "end_date")
    except ValueError as exc:
        return problem(400, request, str(exc))
    if start is None:
        end = end or datetime.now(timezone.utc).date()
        start = end - timedelta(days=30)
    elif end is None:
        end = start + timedelta(days=30)
    if end < start:
        return problem(400, request, "invalid end_date: it is before start_date")
    if (end - start).days > MAX_WINDOW_DAYS:
        return problem(400, request, f"the window may span at most {MAX_WINDOW_DAYS} days")
    terra_user = user.terra()
    found = []
    for n in range((end - start).days + 1):
        body = samples.planned_on(service.config.seed, terra_user, start + timedelta(days=n))
        if body is not None:
            found.append(_external(body))
    return json_answer(found, user_id=user_id)


REST: dict[str, Route] = {"/plannedWorkouts": Route({"GET": planned_workouts})}
