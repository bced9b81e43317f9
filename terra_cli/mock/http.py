"""What a mock route sees and returns: a parsed request, an answer, Terra's error bodies.

Terra's 2026 REST spec answers every 4xx/5xx with Problem Details (RFC 9457,
`application/problem+json`: `type`, `title`, `instance`, optional `detail`);
the widget spec still uses `{"status": "error", "message": ...}`. Both are
built here so every route speaks the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from terra_cli.webhooks import samples

if TYPE_CHECKING:
    from terra_cli.mock.scheduler import Outgoing
    from terra_cli.mock.service import MockService

PROBLEM_TYPE = "application/problem+json"
JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class Request:
    """One request as a route sees it: `path` is the route path, without `/v2` or `/api/v2`."""

    method: str
    target: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base_url: str

    def header(self, name: str) -> str | None:
        """A header value by its lower-case name."""
        return self.headers.get(name.lower())

    def json(self) -> Any:
        """The body parsed as JSON (None when empty); ValueError when it is not JSON."""
        if not self.body.strip():
            return None
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        """An `application/x-www-form-urlencoded` body as a dict (first value wins)."""
        out: dict[str, str] = {}
        for key, value in parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True):
            out.setdefault(key, value)
        return out


@dataclass
class Answer:
    """What to send back, plus what the request log and the webhook scheduler need."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: list[tuple[str, str]] = field(default_factory=list)
    user_id: str | None = None
    reference: str | None = None
    after: list[Outgoing] = field(default_factory=list)


def json_answer(obj: Any, status: int = 200, **extra: Any) -> Answer:
    """A JSON answer, serialised the way Terra's bodies look."""
    return Answer(status, samples.encode(obj), JSON_TYPE, **extra)


def problem(status: int, request: Request, detail: str | None = None) -> Answer:
    """Terra's Problem Details error: `title` is the lower-cased status text."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase.lower(),
        "instance": request.target,
    }
    if detail:
        body["detail"] = detail
    return Answer(status, samples.encode(body), PROBLEM_TYPE)


def legacy_error(status: int, message: str) -> Answer:
    """The widget spec's error body: `{"status": "error", "message": ...}`."""
    return json_answer({"status": "error", "message": message}, status)


def html_answer(page: str, status: int = 200) -> Answer:
    """A small HTML page (the mock's widget)."""
    return Answer(status, page.encode("utf-8"), HTML_TYPE)


def redirect(location: str) -> Answer:
    """A 302 to `location`, as Terra's widget redirects to the app's URLs."""
    return Answer(302, b"", HTML_TYPE, headers=[("Location", location)])


Handler = Callable[["MockService", Request], Answer]


@dataclass(frozen=True)
class Route:
    """One path: its handler per method, and which credential rule applies.

    `auth`: "rest" (Terra's 401 Problem Details), "widget" (the widget spec's
    403 `{status, message}`) or "public" (no credentials needed).
    """

    methods: dict[str, Handler]
    auth: Literal["rest", "widget", "public"] = "rest"
