"""Who may talk to the inspector: the token, the Host check, the Origin check.

The page shows health data, so it is treated like a credential: every
request must carry the random token, name the inspector's own loopback
address in `Host` (a page on another site that rebinds its DNS name to
127.0.0.1 sends its own name there), and state-changing requests must be
POSTs carrying the token in a header (a cross-site form cannot set one) from
no other origin. Pure functions, no I/O.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping

TOKEN_HEADER = "x-inspect-token"  # noqa: S105 - a header name, not a secret


def new_token() -> str:
    """A fresh random token for one run (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def allowed_hosts(port: int) -> frozenset[str]:
    """The only `Host` values the inspector answers: its own loopback address."""
    return frozenset({f"127.0.0.1:{port}", f"localhost:{port}"})


def host_ok(host: str | None, port: int) -> bool:
    """True when `Host` names this inspector on loopback (case-insensitive name)."""
    return host is not None and host.strip().lower() in allowed_hosts(port)


def origin_ok(origin: str | None, port: int) -> bool:
    """True when a request came from the page itself, or carries no Origin at all."""
    if origin is None:
        return True
    return origin.strip().lower() in {f"http://{h}" for h in allowed_hosts(port)}


def token_ok(given: str | None, token: str) -> bool:
    """Constant-time comparison of the token a request carries with this run's."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def query_token(query: Mapping[str, list[str]]) -> str | None:
    """The `token` query parameter, when given exactly once."""
    values = query.get("token")
    if not values or len(values) != 1:
        return None
    return values[0]


# Sent with every answer: nothing may be framed, sniffed, cached, or loaded from elsewhere,
# and the token in the page's URL never leaves in a Referer.
SECURITY_HEADERS = (
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-store"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
