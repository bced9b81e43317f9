"""Routing by event type: `terra listen --forward-to [TYPES=]URL`, repeated.

Each `--forward-to` is a route: `sleep,daily=http://127.0.0.1:3000/sleep`
sends those types to that URL; a bare URL is the route without types. An
event goes to the first route whose types include its type, else to the route
without types, else nowhere (the receiver then answers 200 itself and logs
it). The chosen route's answer goes back to the sender, as with one URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from terra_cli.errors import InputError
from terra_cli.webhooks.events import summarize
from terra_cli.webhooks.forward import DEFAULT_TIMEOUT, AppForwarder

if TYPE_CHECKING:
    from terra_cli.webhooks.receiver import ForwardOutcome

_EXAMPLE = (
    "--forward-to sleep,daily=http://127.0.0.1:3000/sleep --forward-to http://127.0.0.1:3000/hooks"
)


@dataclass(frozen=True)
class Route:
    """One `--forward-to`: the types it takes (empty: any type) and where they go."""

    types: tuple[str, ...]
    url: str

    @property
    def label(self) -> str | None:
        """How the route is named in the log and on screen: its types, or None (any type)."""
        return ",".join(self.types) if self.types else None

    def describe(self) -> str:
        """`sleep,daily -> URL` or `any other type -> URL`, for the banner and doctor."""
        return f"{self.label or 'any other type'} -> {self.url}"


def parse_route(spec: str) -> Route:
    """`[TYPES=]URL` to a Route; a malformed spec is exit 3 with an example."""
    from terra_cli.webhooks.forward import check_url

    text = spec.strip()
    types: tuple[str, ...] = ()
    head, sep, rest = text.partition("=")
    # A URL's query may hold '=': only a head without '://' names types.
    if sep and "://" not in head:
        names = [n.strip().lower() for n in head.split(",")]
        if not head.strip() or any(not n for n in names):
            raise InputError(
                f"--forward-to '{spec}': the types before '=' are empty or have an empty name.",
                hint=f"Write TYPES=URL with comma-separated types, e.g. {_EXAMPLE}",
            )
        bad = [n for n in names if not all(c.isalnum() or c in "_.-" for c in n)]
        if bad:
            raise InputError(
                f"--forward-to '{spec}': '{bad[0]}' is not an event type name.",
                hint=f"Write TYPES=URL, e.g. {_EXAMPLE}",
            )
        types = tuple(dict.fromkeys(names))
        text = rest.strip()
    try:
        url = check_url(text, "--forward-to")
    except InputError as exc:
        raise InputError(exc.message, hint=f"Write [TYPES=]URL, e.g. {_EXAMPLE}") from None
    return Route(types, url)


def parse_routes(specs: Sequence[str]) -> list[Route]:
    """Every `--forward-to`, in order; more than one route without types is exit 3."""
    routes = [parse_route(s) for s in specs]
    untyped = [r for r in routes if not r.types]
    if len(untyped) > 1:
        raise InputError(
            f"--forward-to is given {len(untyped)} times without types "
            f"({untyped[0].url}, {untyped[1].url}); only the first could ever be used.",
            hint="Give types to all but one, e.g. --forward-to sleep=URL.",
        )
    return routes


def choose(routes: Sequence[Route], event_type: str | None) -> Route | None:
    """The first route whose types include `event_type`, else the route without types."""
    wanted = (event_type or "").lower()
    fallback: Route | None = None
    for route in routes:
        if not route.types:
            fallback = fallback or route
        elif wanted and wanted in route.types:
            return route
    return fallback


class RouteForwarder:
    """The receiver's Forwarder for one or more routes: picks one per event and sends."""

    def __init__(self, routes: Sequence[Route], timeout: float = DEFAULT_TIMEOUT) -> None:
        self.routes = list(routes)
        self.timeout = timeout
        self._senders = {r.url: AppForwarder(r.url, timeout) for r in self.routes}
        # The body's type is worked out only when some route depends on it.
        self._typed = any(r.types for r in self.routes)

    @property
    def url(self) -> str:
        """The first route's URL (what a single --forward-to shows)."""
        return self.routes[0].url

    def forward(
        self, method: str, path: str, headers: list[tuple[str, str]], body: bytes
    ) -> ForwardOutcome | None:
        """Send to the chosen route; None when no route takes this event's type."""
        event_type = summarize(body, headers).type if self._typed else None
        route = choose(self.routes, event_type)
        if route is None:
            return None
        outcome = self._senders[route.url].forward(method, path, headers, body)
        from dataclasses import replace

        return replace(outcome, route=route.label)

    def points_at(self, host: str, port: int) -> Route | None:
        """The route that would send events back to the listener itself, if any."""
        for route in self.routes:
            if self._senders[route.url].points_at(host, port):
                return route
        return None
