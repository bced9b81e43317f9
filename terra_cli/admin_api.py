"""AdminClient: every call terra makes to Terra's Admin API (v3), and where its errors map.

The Admin API lives beside the data API (`admin-url`, default
`https://access.tryterra.co/api/v3/admin`) and takes a personal access token
(`Authorization: Bearer terra_at_...`) from the RFC 8628 device flow. Requests
go through the data client's transport (`TerraClient.send`): the same
timeouts, bounded retries with `Retry-After`, network-error wording and secret
scrubbing. Errors are problem+json with a stable `code`; they map to the
contract's exit codes here: a missing or rejected token 2 (`terra login`), a
missing scope 2 naming `terra login --scope NAME`, an unknown environment 3,
everything else 1 in Terra's words. The OAuth endpoints speak the OAuth error
envelope instead (`{error, error_description}`). httpx is never imported here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from terra_cli.api import ClientOptions, RetryNotice, TerraClient, _json_or_none
from terra_cli.errors import AuthError, InputError, RemoteError, TerraError
from terra_cli.settings import mask

if TYPE_CHECKING:
    import httpx

DEFAULT_ADMIN_URL = "https://access.tryterra.co/api/v3/admin"
CLIENT_ID = "terra-cli"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # seconds, when the device answer has no `interval` (RFC 8628)

LOGIN_HINT = "Run 'terra login' (or set TERRA_ADMIN_TOKEN to a token from Terra's dashboard)."
_SCOPE_IN_TEXT = re.compile(r"\b([a-z_]+:[a-z_]+)\b")
_NOT_AUTHENTICATED = frozenset({"unauthorized", "token_expired", "token_not_found"})
_UNKNOWN_ENVIRONMENT = frozenset({"dev_id_not_found", "audience_restricted"})
_MISSING_SCOPE = frozenset({"scope_missing", "insufficient_scope"})

#: What `_call(ok_missing=True)` returns when Terra answers 404 for the thing itself.
GONE: Any = object()


def scope_hint(scope: str) -> str:
    """How to get a token that holds `scope`."""
    return f"Run 'terra login --scope {scope}' and approve the extra scope."


@dataclass(frozen=True)
class DeviceStart:
    """The answer to `POST /auth/device`: what the user types where, and how often to poll."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float


@dataclass(frozen=True)
class TokenGrant:
    """A minted admin token (`POST /auth/token` 200)."""

    access_token: str
    scopes: tuple[str, ...]
    expires_in: int | None
    token_id: str | None


@dataclass(frozen=True)
class Destination:
    """A webhook destination (`DestinationSummary`); the secret only in a create answer."""

    id: str
    type: str
    url: str
    active: bool
    event_types: tuple[str, ...] | None
    signing_secret: str | None = None

    @classmethod
    def from_json(cls, body: Any) -> Destination:
        if not isinstance(body, dict) or not isinstance(body.get("url"), str):
            raise RemoteError(
                "Terra's destination answer has no url.",
                hint="Run the command again; if it persists, report the answer to Terra.",
            )
        types = body.get("event_types")
        secret = body.get("signing_secret")
        return cls(
            id=str(body.get("id")),
            type=str(body.get("type") or "webhook"),
            url=body["url"],
            active=bool(body.get("active", True)),
            event_types=tuple(str(t) for t in types) if isinstance(types, list) else None,
            signing_secret=secret if isinstance(secret, str) and secret else None,
        )


@dataclass(frozen=True)
class Problem:
    """Terra's problem+json error body, the fields terra reads."""

    code: str | None
    detail: str | None
    title: str | None
    remediation: str | None

    @classmethod
    def parse(cls, body: Any) -> Problem:
        if not isinstance(body, dict):
            return cls(None, None, None, None)

        def text(name: str) -> str | None:
            value = body.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        return cls(text("code"), text("detail"), text("title"), text("remediation"))

    def words(self) -> str:
        """`code: detail`, Terra's own words for a message."""
        said = self.detail or self.title
        if self.code and said:
            return f"{self.code}: {said}"
        return self.code or said or ""


class AdminClient:
    """One client for the Admin API: bearer token, retries, problem+json mapping."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        on_retry: Callable[[RetryNotice], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        options = ClientOptions(
            api_url=self.base_url,
            access_url=self.base_url,
            dev_id=None,
            api_key=None,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries=retries,
            backoff=backoff,
            max_wait=max_wait,
            bearer=token,
            url_keys="admin-url",
            url_env="TERRA_ADMIN_URL",
        )
        self._transport = TerraClient(options, on_retry=on_retry, sleep=sleep)

    def close(self) -> None:
        self._transport.close()

    def brisk(self, seconds: float = 3.0) -> AdminClient:
        """The same client with short timeouts and at most one retry: for work done while
        stopping (deleting a destination), which must not hold a Ctrl-C up for long."""
        o = self._transport.options
        return AdminClient(
            self.base_url,
            self.token,
            connect_timeout=min(o.connect_timeout, seconds),
            read_timeout=min(o.read_timeout, seconds),
            retries=min(o.retries, 1),
            backoff=min(o.backoff, 0.2),
            max_wait=min(o.max_wait, seconds),
            on_retry=self._transport._on_retry,
        )

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self.base_url + path

    def _scrub(self, text: str) -> str:
        return self._transport._scrub(text)

    def _require_token(self) -> None:
        if not self.token:
            raise AuthError("You are not logged in to Terra's Admin API.", hint=LOGIN_HINT)

    def _call(
        self,
        method: str,
        path: str,
        doing: str,
        *,
        scope: str | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        idempotency_key: str | None = None,
        ok_missing: bool = False,
    ) -> Any:
        """One authenticated call: its parsed JSON, None for 204, GONE for a 404 when ok_missing."""
        self._require_token()
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        response = self._transport.send(
            method, self._url(path), params=params, json_body=json_body, headers=headers
        )
        if ok_missing and response.status_code == 404:
            problem = Problem.parse(_json_or_none(response))
            if problem.code not in _UNKNOWN_ENVIRONMENT:
                return GONE
        if not 200 <= response.status_code < 300:
            raise self._fail(response, doing, scope)
        if response.status_code == 204 or not response.content:
            return None
        body = _json_or_none(response)
        if body is None:
            raise RemoteError(
                f"Terra answered HTTP {response.status_code} while {doing}, but not with JSON.",
                hint="Check that admin-url points at Terra's Admin API ('terra config show').",
            )
        return body

    def _fail(self, response: httpx.Response, doing: str, scope: str | None) -> TerraError:
        """Map an error answer to the contract's exit codes, in Terra's words."""
        status = response.status_code
        problem = Problem.parse(_json_or_none(response))
        words = self._scrub(problem.words())
        said = f": {words}" if words else ""
        if status == 401 or problem.code in _NOT_AUTHENTICATED:
            return AuthError(
                f"Terra rejected the admin token while {doing} (HTTP {status}{said}).",
                hint=LOGIN_HINT,
            )
        if problem.code in _UNKNOWN_ENVIRONMENT:
            return InputError(
                f"Terra knows no such environment for this token while {doing} "
                f"(HTTP {status}{said}).",
                hint="Check the dev-id (--env, or 'terra config set dev-id'); "
                "'terra login --status' lists the environments this token reaches.",
            )
        if problem.code in _MISSING_SCOPE or (status == 403 and scope and not problem.code):
            named = _SCOPE_IN_TEXT.findall(problem.detail or "")
            missing = named[-1] if named else scope
            what = f"the scope {missing}" if missing else "a scope this needs"
            return AuthError(
                f"The admin token lacks {what}, needed for {doing} (HTTP {status}{said}).",
                hint=scope_hint(missing) if missing else LOGIN_HINT,
            )
        if status == 403:
            return AuthError(
                f"Terra refused the admin token while {doing} (HTTP 403{said}).",
                hint=LOGIN_HINT,
            )
        hint = self._scrub(problem.remediation) if problem.remediation else None
        if status == 404 and problem.code is None:
            hint = "Check that admin-url points at Terra's Admin API ('terra config show')."
        elif status == 429:
            hint = hint or "Wait a minute, then run the command again."
        elif status >= 500:
            hint = hint or "Try again in a minute; if it persists, check Terra's status page."
        return RemoteError(
            f"Terra refused the request while {doing} (HTTP {status}{said}).",
            hint=hint or "Check the command's arguments against 'terra COMMAND --help'.",
        )

    # -- the device flow (OAuth wire format, no token) -------------------------

    def _oauth(self, path: str, form: Mapping[str, str], doing: str) -> tuple[int, Any]:
        response = self._transport.send("POST", self._url(path), data=form)
        body = _json_or_none(response)
        if response.status_code == 200 and isinstance(body, dict):
            return 200, body
        if response.status_code == 400 and isinstance(body, dict) and "error" in body:
            return 400, body
        if response.status_code == 429:  # still limited after the transport's retries
            return 429, body if isinstance(body, dict) else {}
        if response.status_code == 400 or response.status_code >= 500:
            problem = Problem.parse(body)
            said = f": {self._scrub(problem.words())}" if problem.words() else ""
            raise RemoteError(
                f"Terra refused the request while {doing} (HTTP {response.status_code}{said}).",
                hint="Try 'terra login' again in a minute.",
            )
        raise RemoteError(
            f"Terra answered HTTP {response.status_code} while {doing}, not the OAuth answer "
            "terra expects.",
            hint="Check that admin-url points at Terra's Admin API ('terra config show').",
        )

    def start_device(self, scopes: list[str], dev_ids: list[str]) -> DeviceStart:
        """`POST /auth/device`: a user code to approve on the dashboard."""
        form = {"client_id": CLIENT_ID}
        if scopes:
            form["scope"] = " ".join(scopes)
        if dev_ids:
            form["requested_dev_ids"] = " ".join(dev_ids)
        status, body = self._oauth("/auth/device", form, "starting the login")
        if status == 429:
            raise RemoteError(
                "Terra is rate limiting login attempts (HTTP 429).",
                hint="Wait a minute, then run 'terra login' again.",
            )
        if status == 400:
            error = str(body.get("error"))
            said = _oauth_words(body)
            if error == "invalid_scope":
                raise InputError(
                    f"Terra refused the requested scopes ({said}).",
                    hint="Give admin scopes such as destinations:write with --scope; "
                    "without --env, or with fewer scopes, if Terra says they cannot be "
                    "combined with an environment.",
                )
            raise RemoteError(f"Terra refused to start the login ({said}).", hint=LOGIN_HINT)
        try:
            interval = body.get("interval")
            return DeviceStart(
                device_code=str(body["device_code"]),
                user_code=str(body["user_code"]),
                verification_uri=str(body["verification_uri"]),
                verification_uri_complete=(
                    str(body["verification_uri_complete"])
                    if body.get("verification_uri_complete")
                    else None
                ),
                expires_in=float(body["expires_in"]),
                interval=float(interval)
                if isinstance(interval, (int, float))
                else DEFAULT_INTERVAL,
            )
        except (KeyError, TypeError, ValueError):
            raise RemoteError(
                "Terra's device-login answer lacks a required field.",
                hint="Check that admin-url points at Terra's Admin API ('terra config show').",
            ) from None

    def poll_token(self, device_code: str) -> TokenGrant | str:
        """`POST /auth/token` once: the token, or the OAuth error word
        (`authorization_pending`, `slow_down`, `expired_token`, `access_denied`)."""
        form = {"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": CLIENT_ID}
        status, body = self._oauth("/auth/token", form, "waiting for the login")
        if status == 429:
            return "slow_down"  # polling too fast, in HTTP's words: wait longer, as RFC 8628 says
        if status == 400:
            error = str(body.get("error"))
            if error in ("authorization_pending", "slow_down", "expired_token", "access_denied"):
                return error
            raise RemoteError(
                f"Terra refused the login ({_oauth_words(body)}).",
                hint="Run 'terra login' again.",
            )
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise RemoteError(
                "Terra's token answer has no access_token.",
                hint="Run 'terra login' again; if it persists, report it to Terra.",
            )
        scope = body.get("scope")
        expires = body.get("expires_in")
        token_id = body.get("token_id")
        return TokenGrant(
            access_token=token,
            scopes=tuple(scope.split()) if isinstance(scope, str) else (),
            expires_in=expires if isinstance(expires, int) else None,
            token_id=token_id if isinstance(token_id, str) else None,
        )

    # -- tokens and environments ----------------------------------------------

    def me(self) -> dict[str, Any]:
        """`GET /me`: the token's own properties (scope-free)."""
        body = self._call("GET", "/me", "reading the token (GET /me)")
        if not isinstance(body, dict):
            raise RemoteError("Terra's /me answer is not an object.", hint=LOGIN_HINT)
        return body

    def revoke_self(self) -> None:
        """`DELETE /tokens/self`: the token stops working at once."""
        self._call("DELETE", "/tokens/self", "revoking the token")

    def environments(self) -> list[dict[str, Any]]:
        """`GET /environments` (account:read), every page."""
        return self._pages("/environments", "listing environments", "account:read")

    def environment(self, dev_id: str) -> dict[str, Any]:
        """`GET /environments/{dev_id}` (account:read); exit 3 when Terra knows no such one."""
        body = self._call(
            "GET",
            f"/environments/{_seg(dev_id)}",
            f"reading environment {mask(dev_id)}",
            scope="account:read",
        )
        return body if isinstance(body, dict) else {}

    def _pages(
        self, path: str, doing: str, scope: str, params: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            query = dict(params or {})
            if cursor:
                query["cursor"] = cursor
            body = self._call("GET", path, doing, scope=scope, params=query or None)
            items, cursor = _page(body, doing)
            out.extend(items)
            if not cursor or cursor in seen:
                return out
            seen.add(cursor)

    # -- destinations ----------------------------------------------------------

    def _destinations_path(self, dev_id: str) -> str:
        return f"/environments/{_seg(dev_id)}/unified-api/destinations"

    def destinations(self, dev_id: str) -> list[Destination]:
        """Every destination of an environment (destinations:read)."""
        items = self._pages(
            self._destinations_path(dev_id),
            f"listing the destinations of {mask(dev_id)}",
            "destinations:read",
        )
        return [Destination.from_json(item) for item in items]

    def create_destination(
        self,
        dev_id: str,
        url: str,
        idempotency_key: str,
        event_types: list[str] | None = None,
    ) -> Destination:
        """Create a webhook destination; the answer carries its signing secret, once."""
        body: dict[str, Any] = {"type": "webhook", "url": url, "active": True}
        if event_types:
            body["event_types"] = event_types
        answer = self._call(
            "POST",
            self._destinations_path(dev_id),
            f"creating a destination in {mask(dev_id)}",
            scope="destinations:write",
            json_body=body,
            idempotency_key=idempotency_key,
        )
        return Destination.from_json(answer)

    def delete_destination(self, dev_id: str, destination_id: str) -> bool:
        """Delete one destination; False when Terra no longer has it."""
        answer = self._call(
            "DELETE",
            f"{self._destinations_path(dev_id)}/{_seg(destination_id)}",
            f"deleting destination {destination_id} in {mask(dev_id)}",
            scope="destinations:write",
            ok_missing=True,
        )
        return answer is not GONE

    # -- delivery record ----------------------------------------------------------

    def webhook_events(
        self,
        dev_id: str,
        *,
        outcome: str | None = None,
        since: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """One page of Terra's delivery record (events:read) and the next cursor."""
        params: dict[str, str] = {}
        for name, value in (("outcome", outcome), ("since", since), ("cursor", cursor)):
            if value:
                params[name] = value
        if limit is not None:
            params["limit"] = str(limit)
        body = self._call(
            "GET",
            f"/environments/{_seg(dev_id)}/webhook-events",
            f"listing deliveries of {mask(dev_id)}",
            scope="events:read",
            params=params or None,
        )
        return _page(body, "listing deliveries")

    def payload(self, dev_id: str, event_id: str) -> Any:
        """The stored body of one delivery (payloads:read); GONE when Terra no longer has it."""
        return self._call(
            "GET",
            f"/environments/{_seg(dev_id)}/webhook-events/{_seg(event_id)}/payload",
            f"reading the payload of delivery {event_id}",
            scope="payloads:read",
            ok_missing=True,
        )


def _seg(value: str) -> str:
    """One path segment, escaped: a dev-id is user input."""
    return quote(value, safe="")


def _page(body: Any, doing: str) -> tuple[list[dict[str, Any]], str | None]:
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise RemoteError(
            f"Terra's answer while {doing} is not a page of results.",
            hint="Check that admin-url points at Terra's Admin API ('terra config show').",
        )
    cursor = body.get("next_cursor")
    more = body.get("has_more")
    items = [item for item in body["data"] if isinstance(item, dict)]
    return items, cursor if isinstance(cursor, str) and cursor and more is not False else None


def _oauth_words(body: Mapping[str, Any]) -> str:
    error = str(body.get("error") or "error")
    description = body.get("error_description")
    return f"{error}: {description}" if isinstance(description, str) and description else error
