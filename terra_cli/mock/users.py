"""Terra's user and integrations areas: userInfo, subscriptions, bulkUserInfo, integrations.

The integrations lists are public (no credentials), as on Terra; the mock
offers the providers its sample builders know, plus Terra's SDK-only ones.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from terra_cli.mock.http import Answer, Request, Route, json_answer, problem
from terra_cli.mock.state import utc_text
from terra_cli.webhooks.sample_records import PROVIDERS

if TYPE_CHECKING:
    from terra_cli.mock.service import MockService
    from terra_cli.mock.state import MockUser

CLOUD_PROVIDERS = (*PROVIDERS, "GOOGLE")
SDK_PROVIDERS = ("APPLE", "SAMSUNG", "HEALTH_CONNECT")
ALL_PROVIDERS = frozenset(CLOUD_PROVIDERS + SDK_PROVIDERS)
_NAMES = {
    "GARMIN": "Garmin",
    "FITBIT": "Fitbit",
    "OURA": "Oura",
    "POLAR": "Polar",
    "WITHINGS": "Withings",
    "WHOOP": "WHOOP",
    "SUUNTO": "Suunto",
    "COROS": "COROS",
    "GOOGLE": "Google Fit",
    "APPLE": "Apple Health",
    "SAMSUNG": "Samsung Health",
    "HEALTH_CONNECT": "Health Connect",
}
_NO_CYCLES = {"GARMIN", "POLAR", "SUUNTO", "COROS", "WHOOP"}
DEFAULT_PER_PAGE = 500


def display_name(slug: str) -> str:
    """The provider's name as Terra shows it ("Oura" for OURA)."""
    return _NAMES.get(slug, slug.replace("_", " ").title())


def _int(request: Request, name: str, default: int | None, low: int) -> int | None:
    text = request.query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"invalid {name}: expected an integer") from None
    if value < low:
        raise ValueError(f"invalid {name}: must be at least {low}")
    return value


def _with_polling(user: MockUser) -> dict[str, Any]:
    """userInfo's user: the base fields plus Terra's polling metadata."""
    body = user.terra()
    now = datetime.now(timezone.utc)
    body["last_polled_at"] = utc_text(now - timedelta(minutes=5))
    body["most_recent_data_at"] = utc_text(now - timedelta(hours=1))
    return body


def user_info(service: MockService, request: Request) -> Answer:
    """`GET /userInfo?user_id=` (one user) or `?reference_id=` (a list, maybe empty)."""
    user_id = request.query.get("user_id")
    reference_id = request.query.get("reference_id")
    if user_id:
        user = service.state.get(user_id)
        if user is None:
            return problem(404, request, "user not found")
        return json_answer(
            {"user": _with_polling(user), "status": "success", "is_authenticated": user.active},
            user_id=user_id,
        )
    if reference_id:
        return json_answer([u.terra() for u in service.state.by_reference(reference_id)])
    return problem(400, request, "user_id or reference_id is required")


def subscriptions(service: MockService, request: Request) -> Answer:
    """`GET /subscriptions`: every user, or one page of them with `page`."""
    try:
        page = _int(request, "page", None, 0)
        per_page = _int(request, "per_page", DEFAULT_PER_PAGE, 1) or DEFAULT_PER_PAGE
    except ValueError as exc:
        return problem(400, request, str(exc))
    users = [u.terra() for u in service.state.all()]
    if page is None:
        return json_answer({"users": users})
    max_page = max(0, math.ceil(len(users) / per_page) - 1)
    results = users[page * per_page : (page + 1) * per_page]
    return json_answer(
        {
            "data": {
                "next": page + 1 if page < max_page else None,
                "max_page": max_page,
                "results": results,
            }
        }
    )


def bulk_user_info(service: MockService, request: Request) -> Answer:
    """`POST /bulkUserInfo` with a JSON array of user ids: those users (404 for an unknown)."""
    try:
        ids = json.loads(request.body) if request.body.strip() else None
    except ValueError:
        return problem(400, request, "the request body is not valid JSON")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return problem(400, request, "the request body must be a JSON array of user ids")
    found = []
    for user_id in ids:
        user = service.state.get(user_id)
        if user is None:
            return problem(404, request, f"user not found: {user_id}")
        found.append(user.terra())
    return json_answer(found)


def integrations(service: MockService, request: Request) -> Answer:
    """`GET /integrations`: provider slugs, cloud and SDK."""
    return json_answer(
        {
            "providers": list(CLOUD_PROVIDERS),
            "sdk_providers": list(SDK_PROVIDERS),
            "status": "success",
        }
    )


def integrations_detailed(service: MockService, request: Request) -> Answer:
    """`GET /integrations/detailed[?sdk=true]`: every provider with its data types."""
    sdk = (request.query.get("sdk") or "").strip().lower() in ("true", "1")
    names = list(CLOUD_PROVIDERS) + (list(SDK_PROVIDERS) if sdk else [])
    providers = [
        {
            "provider": slug,
            "name": display_name(slug),
            "icon": f"{request.base_url}/widget/icons/{slug.lower()}.svg",
            "setup": "SDK" if slug in SDK_PROVIDERS else "API_KEYS_MANAGED",
            "enabled": True,
            "types": {
                "activity": True,
                "body": True,
                "nutrition": slug in ("FITBIT", "GOOGLE", "APPLE", "SAMSUNG", "HEALTH_CONNECT"),
                "daily": True,
                "sleep": True,
                "menstruation": slug not in _NO_CYCLES,
            },
        }
        for slug in names
    ]
    return json_answer({"status": "success", "providers": providers})


REST: dict[str, Route] = {
    "/userInfo": Route({"GET": user_info}),
    "/subscriptions": Route({"GET": subscriptions}),
    "/bulkUserInfo": Route({"POST": bulk_user_info}),
    "/integrations": Route({"GET": integrations}, auth="public"),
    "/integrations/detailed": Route({"GET": integrations_detailed}, auth="public"),
}
