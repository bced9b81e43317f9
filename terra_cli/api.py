"""TerraClient: every call terra makes to Terra's API, and the one place errors are mapped.

Base URLs come from settings (`api-url`, `access-url`); every request carries
`dev-id`, `x-api-key` and `User-Agent: terra-cli/<version>`. Connection
errors, timeouts and 429/502/503/504 are retried a bounded number of times
with backoff, honouring `Retry-After`; other 4xx never are. The client never
prints: a retry is reported through the `on_retry` callback, and every
failure is raised as a TerraError carrying Terra's own words and a hint.
httpx is imported inside the functions that use it so `terra --help` stays fast.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from terra_cli import __version__
from terra_cli.errors import AuthError, NetworkError, RemoteError, TerraError

if TYPE_CHECKING:
    import httpx

# Endpoint paths, relative to `access-url` (widget) or `api-url` (everything else).
WIDGET_SESSION_PATH = "/api/widget/session"  # the docs' path
SPEC_WIDGET_SESSION_PATH = "/widget/api/session"  # the path in Terra's published widget spec
LEGACY_WIDGET_SESSION_PATH = "/auth/generateWidgetSession"
AUTHENTICATE_USER_PATH = "/auth/authenticateUser"
DEAUTHENTICATE_USER_PATH = "/auth/deauthenticateUser"
USER_INFO_PATH = "/userInfo"
SUBSCRIPTIONS_PATH = "/subscriptions"
INTEGRATIONS_DETAILED_PATH = "/integrations/detailed"

#: Data types with a `GET /<type>` endpoint; every one but athlete takes dates.
DATA_TYPES = ("activity", "body", "daily", "sleep", "nutrition", "menstruation", "athlete")
DATED_TYPES = frozenset(DATA_TYPES) - {"athlete"}

#: Statuses worth another try: rate limited, or a gateway in front of Terra failed.
RETRY_STATUSES = frozenset({429, 502, 503, 504})

#: How many subscriptions to ask for per page when listing users.
USERS_PER_PAGE = 500

AUTH_HINT = (
    "dev-id and api-key must come from the same Terra environment (testing, staging or "
    "production); check them with 'terra config show' and fix them with "
    "'terra config set dev-id' / 'terra config set api-key' (or TERRA_DEV_ID / TERRA_API_KEY)."
)
WIDGET_HTML_500 = (
    "Terra answered HTTP 500 with an HTML page while creating the widget session; Terra "
    "documents this as the sign that no data sources (providers) are enabled for this "
    "environment."
)
WIDGET_HTML_500_HINT = (
    "Enable at least one provider for this environment in Terra's dashboard, then run "
    "'terra widget' again."
)


@dataclass(frozen=True)
class ClientOptions:
    """Where to send requests, with which credentials, and how patiently."""

    api_url: str
    access_url: str
    dev_id: str | None
    api_key: str | None
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    max_wait: float = 60.0
    #: A bearer token (the Admin API's); sent as `Authorization` and scrubbed like the keys.
    bearer: str | None = None
    #: The settings (and variables) that move the base URLs, named in hints.
    url_keys: str = "api-url / access-url"
    url_env: str = "TERRA_API_URL / TERRA_ACCESS_URL"


@dataclass(frozen=True)
class RetryNotice:
    """Why the client is about to wait and try again, for the user on stderr."""

    attempt: int
    retries: int
    wait: float
    reason: str


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, headers (lower-case names) and parsed JSON body."""

    status: int
    headers: Mapping[str, str]
    body: Any


@dataclass(frozen=True)
class WidgetSession:
    """A created widget session and which endpoint made it."""

    url: str
    session_id: str | None
    expires_in: int | None
    legacy: bool
    new_endpoint_status: int | None = None  # what the spec's path answered before the legacy one
    endpoint: str = WIDGET_SESSION_PATH  # the path that created the session


@dataclass(frozen=True)
class WidgetRequest:
    """The widget options, named as Terra names its body fields."""

    reference_id: str | None = None
    providers: str | None = None
    language: str | None = None
    auth_success_redirect_url: str | None = None
    auth_failure_redirect_url: str | None = None
    use_terra_avengers_app: bool = False

    def body(self) -> dict[str, Any]:
        """The JSON body: only the fields that were given (Terra wants at least `{}`)."""
        out: dict[str, Any] = {}
        for name in (
            "reference_id",
            "providers",
            "language",
            "auth_success_redirect_url",
            "auth_failure_redirect_url",
        ):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.use_terra_avengers_app:
            out["use_terra_avengers_app"] = True
        return out


@dataclass(frozen=True)
class DataRequest:
    """One data read: `start`/`end` already validated and formatted for Terra."""

    data_type: str
    user_id: str
    start: str | None
    end: str | None
    to_webhook: bool
    with_samples: bool

    def params(self) -> dict[str, str]:
        params = {"user_id": self.user_id, "to_webhook": _bool(self.to_webhook)}
        if self.data_type in DATED_TYPES:
            params["with_samples"] = _bool(self.with_samples)
            if self.start is not None:
                params["start_date"] = self.start
            if self.end is not None:
                params["end_date"] = self.end
        return params


@dataclass(frozen=True)
class DataReply:
    """Terra's answer to a data read, and the `terra-reference` tying it to deliveries."""

    body: Any
    reference: str | None


def _bool(value: bool) -> str:
    return "true" if value else "false"


def terra_words(body: Any, text: str = "") -> str | None:
    """Terra's own explanation from either error shape: `{status, message}` or problem+json."""
    if isinstance(body, dict):
        message = body.get("message")
        detail = body.get("detail")
        title = body.get("title")
        if isinstance(message, str) and message.strip():
            return message.strip()
        if isinstance(detail, str) and detail.strip():
            if isinstance(title, str) and title.strip():
                return f"{title.strip()}: {detail.strip()}"
            return detail.strip()
        if isinstance(title, str) and title.strip():
            return title.strip()
    if text and not _looks_like_html(text):
        line = " ".join(text.split())
        return line[:200] if line else None
    return None


def _looks_like_html(text: str) -> bool:
    head = text.lstrip()[:200].lower()
    return head.startswith("<!doctype html") or head.startswith("<html") or "<body" in head


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or url


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (delta seconds, or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class TerraClient:
    """One client for every Terra call: headers, timeouts, retries and error mapping."""

    def __init__(
        self,
        options: ClientOptions,
        on_retry: Callable[[RetryNotice], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.options = options
        self._on_retry = on_retry
        self._sleep = sleep
        self._http: httpx.Client | None = None

    # -- plumbing -------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            import httpx

            o = self.options
            self._http = httpx.Client(
                timeout=httpx.Timeout(o.read_timeout, connect=o.connect_timeout),
                follow_redirects=False,
                trust_env=True,
            )
        return self._http

    def close(self) -> None:
        """Release the connection pool."""
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> TerraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"terra-cli/{__version__}", "Accept": "application/json"}
        if self.options.dev_id:
            headers["dev-id"] = self.options.dev_id
        if self.options.api_key:
            headers["x-api-key"] = self.options.api_key
        if self.options.bearer:
            headers["Authorization"] = f"Bearer {self.options.bearer}"
        return headers

    def _scrub(self, text: str) -> str:
        """Never let a credential value into a message, whatever the server echoed."""
        for secret in (self.options.dev_id, self.options.api_key, self.options.bearer):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "****")
        return text

    def send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """Send one request with retries; return the final response (any status).

        `data` is a form body (the OAuth endpoints); `headers` add to the usual
        ones (an `Idempotency-Key`, which also makes retrying a POST safe).

        Raises NetworkError when the host cannot be reached after every try, and
        RemoteError when Terra keeps answering 429/502/503/504 or asks for a wait
        longer than `max_wait`.
        """
        import httpx

        o = self.options
        attempt = 0
        while True:
            try:
                response = self._client().request(
                    method,
                    url,
                    params=params,
                    headers={**self._headers(), **(headers or {})},
                    json=json_body,
                    data=data,
                )
            except httpx.TransportError as exc:
                error = self._network_error(exc, url)
                if attempt >= o.retries:
                    raise error from None
                wait = min(o.max_wait, o.backoff * (2**attempt))
                attempt += 1
                self._notify(attempt, wait, error.message.rstrip("."))
                continue
            except httpx.HTTPError as exc:  # e.g. a body that fails to decompress
                raise RemoteError(
                    f"{_host(url)} sent an answer terra cannot read ({_short(str(exc))}).",
                    hint=f"Check that {o.url_keys} point at Terra ('terra config show').",
                ) from None
            if response.status_code not in RETRY_STATUSES:
                return response
            retry_after = _parse_retry_after(response.headers.get("retry-after"))
            if response.status_code == 429 and retry_after is None and _rule(response) == "r1":
                return response  # the span limit: another try cannot succeed
            if retry_after is not None and retry_after > o.max_wait:
                limited = response.status_code == 429
                raise RemoteError(
                    f"Terra is {'rate limiting these requests' if limited else 'unavailable'} "
                    f"and asks to wait {retry_after:.0f} s before the next one "
                    f"(HTTP {response.status_code}{self._words_suffix(response)}).",
                    hint=f"Run the command again after {retry_after:.0f} s"
                    + (
                        "; Terra counts requested days per user per hour, so shorter date "
                        "ranges help."
                        if limited
                        else "."
                    ),
                )
            if attempt >= o.retries:
                return response
            wait = retry_after if retry_after is not None else o.backoff * (2**attempt)
            wait = min(o.max_wait, wait)
            attempt += 1
            reason = f"Terra answered HTTP {response.status_code}"
            if retry_after is not None:
                reason += f" and asked to wait {retry_after:g} s"
            self._notify(attempt, wait, reason)

    def _notify(self, attempt: int, wait: float, reason: str) -> None:
        if self._on_retry is not None:
            self._on_retry(RetryNotice(attempt, self.options.retries, wait, self._scrub(reason)))
        self._sleep(wait)

    def _words_suffix(self, response: httpx.Response) -> str:
        words = terra_words(_json_or_none(response), response.text)
        return f": {self._scrub(words)}" if words else ""

    def _network_error(self, exc: Exception, url: str) -> NetworkError:
        """Name what went wrong reaching the host: DNS, refused, timeout, TLS, closed."""
        import httpx

        host = _host(url)
        text = str(exc)
        lowered = text.lower()
        o = self.options
        hint = (
            f"Check your network connection, and that {o.url_keys} "
            f"('terra config show', {o.url_env}) point at Terra."
        )
        if isinstance(exc, httpx.TimeoutException):
            if isinstance(exc, httpx.ConnectTimeout):
                what = f"Connecting to {host} timed out after {self.options.connect_timeout:g} s."
            else:
                what = f"{host} did not answer within {self.options.read_timeout:g} s."
            hint = "Try again; raise the limit with TERRA_TIMEOUT=SECONDS if the network is slow."
        elif "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
            what = f"The TLS handshake with {host} failed ({_short(text)})."
            hint = (
                "Check the system clock and any proxy that intercepts HTTPS "
                "(SSL_CERT_FILE can point at its CA bundle)."
            )
        elif (
            "name or service not known" in lowered
            or "nodename nor servname" in lowered
            or ("name resolution" in lowered or "getaddrinfo" in lowered or "no address" in lowered)
        ):
            what = f"Cannot resolve {host} (DNS lookup failed)."
        elif "refused" in lowered:
            what = f"{host} refused the connection."
        elif isinstance(exc, httpx.RemoteProtocolError):
            what = f"{host} closed the connection without answering."
        else:
            what = f"Cannot reach {host}: {_short(text)}."
        return NetworkError(self._scrub(what), hint=hint)

    def _fail(self, response: httpx.Response, doing: str) -> TerraError:
        """Map a non-2xx response to the contract's errors, in Terra's own words."""
        status = response.status_code
        words = terra_words(_json_or_none(response), response.text)
        said = f": {self._scrub(words)}" if words else ""
        if status in (401, 403):
            return AuthError(
                f"Terra rejected the credentials while {doing} (HTTP {status}{said}).",
                hint=AUTH_HINT,
            )
        if 300 <= status < 400:
            where = response.headers.get("location") or "another address"
            return RemoteError(
                f"Terra redirected the request while {doing} (HTTP {status} to {where}).",
                hint="Set api-url / access-url to the address Terra redirects to "
                "('terra config set api-url URL', TERRA_API_URL / TERRA_ACCESS_URL).",
            )
        if status == 429:
            if _rule(response) == "r1":
                return RemoteError(
                    f"Terra refused the request while {doing}: one request may span at most "
                    f"1,825 days (HTTP 429{said}).",
                    hint="Use a shorter range with --start/--end.",
                )
            return RemoteError(
                f"Terra is still rate limiting after every retry while {doing} (HTTP 429{said}).",
                hint="Wait a while, or raise TERRA_RETRIES, then run the command again.",
            )
        if status >= 500:
            return RemoteError(
                f"Terra had a server error while {doing} (HTTP {status}{said}).",
                hint="Try again in a minute; if it persists, check Terra's status page.",
            )
        return RemoteError(
            f"Terra refused the request while {doing} (HTTP {status}{said}).",
            hint="Check the command's arguments against 'terra COMMAND --help'.",
        )

    def _json(self, response: httpx.Response, doing: str) -> Any:
        body = _json_or_none(response)
        if body is None:
            raise RemoteError(
                f"Terra answered HTTP {response.status_code} while {doing}, but not with JSON.",
                hint="Check that api-url / access-url point at Terra ('terra config show').",
            )
        return body

    def _call(
        self,
        method: str,
        url: str,
        doing: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> Reply:
        response = self.send(method, url, params=params, json_body=json_body)
        if not 200 <= response.status_code < 300:
            raise self._fail(response, doing)
        return Reply(
            response.status_code,
            {k.lower(): v for k, v in response.headers.items()},
            self._json(response, doing),
        )

    def _api(self, path: str) -> str:
        return self.options.api_url.rstrip("/") + path

    # -- endpoints ------------------------------------------------------------

    def widget_session(self, request: WidgetRequest) -> WidgetSession:
        """Create a widget session, trying Terra's three endpoints in the contract's order.

        The docs' path first; on 404/405 the path in Terra's published widget
        spec (same host); on 404/405 again the legacy endpoint on `api-url`.
        """
        doing = "creating the widget session"
        access = self.options.access_url.rstrip("/")
        new_url = access + WIDGET_SESSION_PATH
        response = self.send("POST", new_url, json_body=request.body())
        legacy = False
        new_status: int | None = None
        endpoint = WIDGET_SESSION_PATH
        if response.status_code in (404, 405):
            endpoint = SPEC_WIDGET_SESSION_PATH
            first_status = response.status_code
            response = self.send(
                "POST", access + SPEC_WIDGET_SESSION_PATH, json_body=request.body()
            )
            if response.status_code in (404, 405):
                new_status = response.status_code
                legacy = True
                endpoint = LEGACY_WIDGET_SESSION_PATH
                response = self.send(
                    "POST", self._api(LEGACY_WIDGET_SESSION_PATH), json_body=request.body()
                )
                if response.status_code == 410:
                    words = terra_words(_json_or_none(response), response.text)
                    said = f" ({self._scrub(words)})" if words else ""
                    raise RemoteError(
                        f"The widget endpoints {WIDGET_SESSION_PATH} and "
                        f"{SPEC_WIDGET_SESSION_PATH} on {_host(new_url)} answered "
                        f"{first_status} and {new_status}, and the legacy "
                        f"{LEGACY_WIDGET_SESSION_PATH} answered 410 Gone: it is retired for "
                        f"this account{said}.",
                        hint="Point access-url at Terra's access host "
                        "('terra config set access-url https://access.tryterra.co' or "
                        "TERRA_ACCESS_URL), then run 'terra widget' again.",
                    )
        if response.status_code == 500 and _looks_like_html(response.text):
            raise RemoteError(WIDGET_HTML_500, hint=WIDGET_HTML_500_HINT)
        if not 200 <= response.status_code < 300:
            raise self._fail(response, doing)
        body = self._json(response, doing)
        url = body.get("url") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url:
            raise RemoteError(
                "Terra's widget answer has no session URL.",
                hint="Run 'terra widget' again; if it persists, report the answer to Terra.",
            )
        session_id = body.get("session_id")
        expires_in = body.get("expires_in")
        return WidgetSession(
            url=url,
            session_id=session_id if isinstance(session_id, str) else None,
            expires_in=expires_in if isinstance(expires_in, int) else None,
            legacy=legacy,
            new_endpoint_status=new_status,
            endpoint=endpoint,
        )

    def integrations(self) -> list[dict[str, Any]]:
        """The providers enabled for this developer (`GET /integrations/detailed` with dev-id)."""
        reply = self._call("GET", self._api(INTEGRATIONS_DETAILED_PATH), "listing integrations")
        providers = reply.body.get("providers") if isinstance(reply.body, dict) else None
        if not isinstance(providers, list):
            raise RemoteError(
                "Terra's integrations answer has no provider list.",
                hint="Check that api-url points at Terra ('terra config show').",
            )
        return [p for p in providers if isinstance(p, dict)]

    def users_page(self, page: int, per_page: int = USERS_PER_PAGE) -> tuple[list[Any], int | None]:
        """One page of `GET /subscriptions`: its users and the next page number (or None)."""
        reply = self._call(
            "GET",
            self._api(SUBSCRIPTIONS_PATH),
            "listing users",
            params={"page": str(page), "per_page": str(per_page)},
        )
        body = reply.body
        if isinstance(body, dict) and isinstance(body.get("data"), dict):
            data = body["data"]
            results = data.get("results")
            nxt = data.get("next")
            return (
                results if isinstance(results, list) else [],
                nxt if isinstance(nxt, int) and nxt > page else None,
            )
        if isinstance(body, dict) and isinstance(body.get("users"), list):
            return body["users"], None
        raise RemoteError(
            "Terra's subscriptions answer has an unexpected shape.",
            hint="Check that api-url points at Terra ('terra config show').",
        )

    def users(self) -> list[dict[str, Any]]:
        """Every user of this developer, following pages until Terra says there are no more."""
        out: list[dict[str, Any]] = []
        page: int | None = 0
        seen: set[int] = set()
        while page is not None and page not in seen:
            seen.add(page)
            results, page = self.users_page(page)
            out.extend(u for u in results if isinstance(u, dict))
        return out

    def user(self, user_id: str) -> dict[str, Any]:
        """`GET /userInfo?user_id=`: `{"user": ..., "is_authenticated": ...}`."""
        reply = self._call(
            "GET",
            self._api(USER_INFO_PATH),
            f"looking up user {user_id}",
            params={"user_id": user_id},
        )
        if not isinstance(reply.body, dict) or not isinstance(reply.body.get("user"), dict):
            raise RemoteError(
                f"Terra's answer for user {user_id} has no user.",
                hint="List the users with 'terra users list'.",
            )
        return reply.body

    def users_by_reference(self, reference_id: str) -> list[dict[str, Any]]:
        """`GET /userInfo?reference_id=`: every user created with that reference."""
        reply = self._call(
            "GET",
            self._api(USER_INFO_PATH),
            f"looking up reference {reference_id}",
            params={"reference_id": reference_id},
        )
        body = reply.body
        if isinstance(body, dict) and isinstance(body.get("users"), list):
            body = body["users"]
        if isinstance(body, dict) and isinstance(body.get("user"), dict):
            body = [body["user"]]
        if not isinstance(body, list):
            raise RemoteError(
                f"Terra's answer for reference {reference_id} has an unexpected shape.",
                hint="List the users with 'terra users list'.",
            )
        return [u for u in body if isinstance(u, dict)]

    def deauthenticate(self, user_id: str) -> None:
        """`DELETE /auth/deauthenticateUser?user_id=`: Terra then sends a `deauth` event."""
        self._call(
            "DELETE",
            self._api(DEAUTHENTICATE_USER_PATH),
            f"deauthenticating user {user_id}",
            params={"user_id": user_id},
        )

    def authenticate_user(self, provider: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /auth/authenticateUser?resource=PROVIDER`: the provider's auth URL and user id."""
        reply = self._call(
            "POST",
            self._api(AUTHENTICATE_USER_PATH),
            f"starting authentication with {provider}",
            params={"resource": provider},
            json_body=dict(body),
        )
        if not isinstance(reply.body, dict) or not isinstance(reply.body.get("auth_url"), str):
            raise RemoteError(
                "Terra's authentication answer has no auth_url.",
                hint="Check the provider name with 'terra integrations'.",
            )
        return reply.body

    def data(self, request: DataRequest) -> DataReply:
        """`GET /<type>`: data in the answer, or an acknowledgement and a `terra-reference`."""
        reply = self._call(
            "GET",
            self._api("/" + request.data_type),
            f"requesting {request.data_type} data",
            params=request.params(),
        )
        reference = reply.headers.get("terra-reference")
        if not reference and isinstance(reply.body, dict):
            ref = reply.body.get("reference")
            reference = ref if isinstance(ref, str) else None
        return DataReply(reply.body, reference or None)

    def check_credentials(self) -> None:
        """One cheap authenticated call (a one-user page of subscriptions) to prove the keys."""
        self.users_page(0, per_page=1)


def _rule(response: httpx.Response) -> str | None:
    value = response.headers.get("x-terra-ratelimit-rule")
    return value.strip().lower() if value else None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None


def _short(text: str) -> str:
    line = " ".join(text.split())
    return line[:160] if line else "unknown error"
