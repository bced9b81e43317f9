"""The mock's request handling, independent of any HTTP server: Request in, Answer out.

REST paths are served under both `/v2` (api.tryterra.co) and `/api/v2`
(access.tryterra.co); the widget session paths and the mock's own widget pages
at the root. Every REST path but the public integrations lists needs the
`dev-id` and `x-api-key` the mock was started with (Terra's 401 otherwise;
the widget spec's 403 on its own paths). Unknown paths get 404 and known paths
with the wrong method 405, both as Problem Details.
"""

from __future__ import annotations

import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from terra_cli.mock.http import Answer, Request, Route, legacy_error, problem
from terra_cli.mock.scheduler import Outgoing, Scheduler
from terra_cli.mock.state import MockState

REST_PREFIXES = ("/api/v2", "/v2")
DEFAULT_DEV_ID = "mock-dev"
DEFAULT_API_KEY = "mock-key"


@dataclass(frozen=True)
class MockConfig:
    """Everything a mock run is started with."""

    dev_id: str = DEFAULT_DEV_ID
    api_key: str = DEFAULT_API_KEY
    webhook: str | None = None
    seed: int = 0


class MockService:
    """Holds the config, the users and the scheduler; answers one request at a time."""

    def __init__(self, config: MockConfig, scheduler: Scheduler | None = None) -> None:
        """`scheduler` None: no webhooks (to_webhook requests get Terra's 400)."""
        from terra_cli.mock import auth, data, users, workouts

        self.config = config
        self.state = MockState(config.seed)
        self.scheduler = scheduler
        self.rest: dict[str, Route] = {
            **auth.REST,
            **data.REST,
            **users.REST,
            **workouts.REST,
        }
        self.root: dict[str, Route] = dict(auth.ROOT)
        self.pages: dict[str, Route] = dict(auth.PAGES)

    def webhooks(self, payloads: list[dict[str, Any]], reference: str | None) -> list[Outgoing]:
        """Deliveries for `payloads`, sharing one terra-reference; none without --webhook."""
        if self.scheduler is None:
            return []
        ref = reference or str(uuid.uuid4())
        return [Outgoing(p, ref) for p in payloads]

    def find(self, path: str) -> tuple[Route | None, str]:
        """The route for a request path, and the path without its REST prefix."""
        for prefix in REST_PREFIXES:
            if path.startswith(prefix + "/"):
                rest = path[len(prefix) :]
                return self.rest.get(rest.rstrip("/") or rest), rest
        if path in self.root:
            return self.root[path], path
        for prefix, route in self.pages.items():
            if path.startswith(prefix):
                return route, path
        return None, path

    def credentials_ok(self, request: Request) -> bool | None:
        """True when both headers match, False when one is wrong, None when one is missing."""
        dev_id, api_key = request.header("dev-id"), request.header("x-api-key")
        if not dev_id or not api_key:
            return None
        same_dev = hmac.compare_digest(dev_id.encode(), self.config.dev_id.encode())
        same_key = hmac.compare_digest(api_key.encode(), self.config.api_key.encode())
        return same_dev and same_key

    def handle(self, request: Request) -> Answer:
        """Route, check credentials, run the handler; a bug answers 500, never crashes."""
        route, request.path = self.find(request.path)
        if route is None:
            return problem(404, request, f"no such endpoint: {request.method} {request.path}")
        handler = route.methods.get(request.method)
        if handler is None:
            answer = problem(405, request, f"{request.path} does not accept {request.method}")
            answer.headers.append(("Allow", ", ".join(sorted(route.methods))))
            return answer
        if route.auth != "public":
            verdict = self.credentials_ok(request)
            if verdict is not True and route.auth == "widget":
                return legacy_error(403, "dev-id and x-api-key are invalid")
            if verdict is None:
                return problem(401, request, "dev-id or x-api-key headers are missing")
            if verdict is False:
                return problem(401, request, "dev-id or x-api-key is invalid")
        try:
            return handler(self, request)
        except Exception as exc:  # a bug in the mock: answer like a server, keep serving
            return problem(500, request, f"terra mock hit an internal error ({type(exc).__name__})")
