"""Header rules shared by the receiver and outgoing deliveries."""

from __future__ import annotations

# Hop-by-hop fields (RFC 9110 §7.6.1): they describe one connection, so they
# never cross a proxy in either direction.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "trailers",
        "transfer-encoding",
        "upgrade",
    }
)
