"""Terra's Authentication area: widget sessions, authenticateUser, deauth, SDK tokens.

The widget and authenticateUser URLs the mock hands out point at a small page
it serves itself. Choosing a provider there (a form POST, or a plain GET with
`?provider=NAME` for scripts) connects a mock user, sends the `auth` event and
redirects to the session's success URL with `user_id` and `reference_id` in
its query, as Terra's widget does. `?cancel=1` plays a user giving up:
`auth_cancelled` goes out and the failure URL gets `reason`.
"""

from __future__ import annotations

import html
import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from terra_cli.mock.http import (
    Answer,
    Request,
    Route,
    html_answer,
    json_answer,
    legacy_error,
    problem,
    redirect,
)
from terra_cli.mock.state import SESSION_SECONDS, Flow
from terra_cli.mock.users import ALL_PROVIDERS, display_name
from terra_cli.webhooks import samples

if TYPE_CHECKING:
    from terra_cli.mock.service import MockService

WIDGET_PAGE = "/widget/session/"
AUTH_PAGE = "/widget/authorize/"
_FIELDS = (
    "providers",
    "language",
    "reference_id",
    "auth_success_redirect_url",
    "auth_failure_redirect_url",
)


class BadInput(ValueError):
    """A request field Terra would reject with 400."""


def _body_fields(request: Request, allowed: tuple[str, ...], required: bool) -> dict[str, Any]:
    """The JSON object body's string fields (nulls dropped), or BadInput."""
    try:
        body = request.json()
    except ValueError:
        raise BadInput("the request body is not valid JSON") from None
    if body is None:
        if required:
            raise BadInput("a JSON object body is required (send {} for the defaults)")
        return {}
    if not isinstance(body, dict):
        raise BadInput("the request body must be a JSON object")
    out: dict[str, Any] = {}
    for name, value in body.items():
        if value is None:
            continue
        if name in allowed and not isinstance(value, str):
            raise BadInput(f"{name} must be a string")
        if name in ("auth_success_redirect_url", "auth_failure_redirect_url") and not _is_url(
            value
        ):
            raise BadInput(f"{name} must be an absolute http(s) URL")
        out[name] = value
    return out


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _providers(text: str | None) -> list[str]:
    """The comma-separated provider list, upper-cased; BadInput naming an unknown one."""
    if not text:
        return []
    names = [p.strip().upper() for p in text.split(",") if p.strip()]
    unknown = [p for p in names if p not in ALL_PROVIDERS]
    if unknown:
        raise BadInput(f"unknown provider {unknown[0]}")
    return names


def _open_widget(service: MockService, request: Request) -> dict[str, Any]:
    """Start a widget session from the request body; the four fields Terra answers with."""
    fields = _body_fields(request, _FIELDS, required=True)
    flow = service.state.open_flow(
        "widget",
        _providers(fields.get("providers")),
        fields.get("reference_id"),
        fields.get("auth_success_redirect_url"),
        fields.get("auth_failure_redirect_url"),
        fields.get("language"),
    )
    return {
        "session_id": flow.flow_id,
        "url": f"{request.base_url}{WIDGET_PAGE}{flow.flow_id}",
        "status": "success",
        "expires_in": SESSION_SECONDS,
    }


def widget_session(service: MockService, request: Request) -> Answer:
    """`POST /api/widget/session` and `/widget/api/session`: the widget spec's shapes."""
    try:
        return json_answer(_open_widget(service, request))
    except BadInput as exc:
        return legacy_error(400, str(exc))


def generate_widget_session(service: MockService, request: Request) -> Answer:
    """`POST /auth/generateWidgetSession`: the legacy endpoint, errors as Problem Details."""
    try:
        return json_answer(_open_widget(service, request))
    except BadInput as exc:
        return problem(400, request, str(exc))


def authenticate_user(service: MockService, request: Request) -> Answer:
    """`POST /auth/authenticateUser?resource=P`: a user id now, a login link to finish."""
    resource = (request.query.get("resource") or "").strip().upper()
    if not resource:
        return problem(400, request, "resource is required (a provider such as FITBIT)")
    if resource not in ALL_PROVIDERS:
        return problem(404, request, f"unknown resource {resource}")
    try:
        fields = _body_fields(request, _FIELDS, required=False)
    except BadInput as exc:
        return problem(400, request, str(exc))
    flow = service.state.open_flow(
        "auth",
        [resource],
        fields.get("reference_id"),
        fields.get("auth_success_redirect_url"),
        fields.get("auth_failure_redirect_url"),
        fields.get("language"),
    )
    return json_answer(
        {
            "status": "success",
            "user_id": flow.user_id,
            "auth_url": f"{request.base_url}{AUTH_PAGE}{flow.flow_id}",
        },
        user_id=flow.user_id,
    )


def deauthenticate_user(service: MockService, request: Request) -> Answer:
    """`DELETE /auth/deauthenticateUser?user_id=`: the user goes, a `deauth` event follows."""
    user_id = request.query.get("user_id")
    if not user_id:
        return problem(400, request, "user_id is required")
    user = service.state.remove(user_id)
    if user is None:
        return problem(404, request, "user not found")
    user.active = False
    now = datetime.now(timezone.utc)
    payload = samples.user_event("deauth", now, service.config.seed, user.terra())
    return json_answer(
        {"status": "success"}, user_id=user_id, after=service.webhooks([payload], None)
    )


def generate_auth_token(service: MockService, request: Request) -> Answer:
    """`POST /auth/generateAuthToken`: a token for the mobile SDKs' initConnection()."""
    return json_answer({"status": "success", "token": secrets.token_hex(32), "expires_in": 180})


# ---------------------------------------------------------------- the widget page


def _with_query(url: str, **params: str | None) -> str:
    """`url` with `params` added to its query (existing ones kept)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit(parts._replace(query=urlencode(query)))


def connect_page(service: MockService, request: Request) -> Answer:
    """The widget page: pick a provider (or `?provider=`) to connect; `?cancel=1` gives up."""
    flow_id = request.path.rsplit("/", 1)[-1]
    flow = service.state.flow(flow_id)
    page = WIDGET_PAGE if flow is not None and flow.kind == "widget" else AUTH_PAGE
    if flow is None or request.path != f"{page}{flow_id}":
        return html_answer(_page("Session not found", "<p>This session does not exist.</p>"), 404)
    if flow.expired:
        return html_answer(_page("Session expired", "<p>Create a new session.</p>"), 410)
    choice = dict(request.query)
    if request.method == "POST":
        choice.update(request.form())
    if choice.get("cancel"):
        return _cancel(service, flow)
    provider = (choice.get("provider") or "").strip().upper()
    if not provider and flow.kind == "auth" and choice.get("connect"):
        provider = flow.providers[0]
    if not provider:
        return html_answer(_chooser(flow))
    if provider not in flow.providers:
        body = f"<p>{html.escape(provider)} is not offered by this session.</p>"
        return html_answer(_page("Unknown provider", body), 400)
    now = datetime.now(timezone.utc)
    user = service.state.connect(flow, provider, now)
    payload = samples.user_event(
        "auth",
        now,
        service.config.seed,
        user.terra(),
        reference_id=user.reference_id,
        widget_session_id=flow.flow_id,
    )
    after = service.webhooks([payload], None)
    if flow.success_url:
        answer = redirect(
            _with_query(flow.success_url, user_id=user.user_id, reference_id=user.reference_id)
        )
    else:
        text = (
            f"<p>Connected <b>{html.escape(provider)}</b> as user "
            f"<code id='user_id'>{user.user_id}</code>.</p>"
        )
        answer = html_answer(_page("Connected", text))
    answer.user_id, answer.after = user.user_id, after
    return answer


def _cancel(service: MockService, flow: Flow) -> Answer:
    """The user gave up: `auth_cancelled` goes out; to the failure URL with a reason."""
    now = datetime.now(timezone.utc)
    fake = {
        "user_id": flow.user_id or flow.flow_id,
        "provider": flow.providers[0],
        "reference_id": flow.reference_id,
    }
    payload = samples.user_event(
        "auth_cancelled",
        now,
        service.config.seed,
        fake,
        reference_id=flow.reference_id,
        flow_id=flow.flow_id,
        reason="access_denied",
    )
    payload.pop("user", None)  # the 2026 schema: no user on a cancelled attempt
    after = service.webhooks([payload], None)
    if flow.failure_url:
        answer = redirect(
            _with_query(flow.failure_url, reason="access_denied", reference_id=flow.reference_id)
        )
    else:
        answer = html_answer(_page("Cancelled", "<p>The connection was cancelled.</p>"))
    answer.after = after
    return answer


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} - terra mock</title><style>"
        "body{font:16px system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
        "button{font:inherit;padding:.6rem 1rem;margin:.25rem;min-width:9rem;cursor:pointer}"
        "small{color:#666}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{body}"
        "<p><small>terra mock: a local stand-in for Terra's widget. No real account is "
        "connected.</small></p></body></html>"
    )


def _chooser(flow: Flow) -> str:
    """The provider buttons (one form each) and a cancel button."""
    ref = f" for <code>{html.escape(flow.reference_id)}</code>" if flow.reference_id else ""
    buttons = "".join(
        f"<button name='provider' value='{html.escape(p)}'>{html.escape(display_name(p))}</button>"
        for p in flow.providers
    )
    title = "Connect a wearable" if flow.kind == "widget" else f"Authorize {flow.providers[0]}"
    return _page(
        title,
        f"<p>Choose the account to connect{ref}.</p><form method='post'>{buttons}</form>"
        "<form method='post'><button name='cancel' value='1'>Cancel</button></form>",
    )


REST: dict[str, Route] = {
    "/auth/authenticateUser": Route({"POST": authenticate_user}),
    "/auth/generateWidgetSession": Route({"POST": generate_widget_session}),
    "/auth/deauthenticateUser": Route({"DELETE": deauthenticate_user}),
    "/auth/generateAuthToken": Route({"POST": generate_auth_token}),
}
ROOT: dict[str, Route] = {
    "/api/widget/session": Route({"POST": widget_session}, auth="widget"),
    "/widget/api/session": Route({"POST": widget_session}, auth="widget"),
}
_PAGE = Route({"GET": connect_page, "POST": connect_page}, auth="public")
PAGES: dict[str, Route] = {WIDGET_PAGE: _PAGE, AUTH_PAGE: _PAGE}


def icon(service: MockService, request: Request) -> Answer:
    """`/widget/icons/<provider>.svg`: a plain badge, so icon URLs in answers resolve."""
    name = request.path.rsplit("/", 1)[-1].removesuffix(".svg").upper()
    if name not in ALL_PROVIDERS:
        return html_answer(_page("Not found", "<p>No such icon.</p>"), 404)
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' width='64' height='64' viewBox='0 0 64 64'>"
        "<rect width='64' height='64' rx='14' fill='#222'/><text x='32' y='40' font-size='18'"
        f" text-anchor='middle' fill='#fff' font-family='sans-serif'>{name[:3]}</text></svg>"
    )
    return Answer(200, svg.encode(), "image/svg+xml")


PAGES["/widget/icons/"] = Route({"GET": icon}, auth="public")
