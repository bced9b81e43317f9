"""Headers for requests we send as if we were Terra: trigger and replay.

Terra sends `terra-signature: t=<unix seconds>,v1=<hex>`, a `terra-reference`
and a JSON content type. Replays keep every recorded header but swap in a
fresh signature (new timestamp, configured secret) unless told to keep the
original one. Pure functions; the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable

from terra_cli import __version__
from terra_cli.webhooks.signature import HEADER_NAMES, sign

USER_AGENT = f"terra-cli/{__version__}"


def event_headers(
    body: bytes, secret: str | None, timestamp: int, reference: str
) -> list[tuple[str, str]]:
    """Headers for a new event: signed with `secret` unless it is None."""
    headers = [
        ("Content-Type", "application/json"),
        ("terra-reference", reference),
        ("User-Agent", USER_AGENT),
    ]
    if secret is not None:
        headers.insert(0, ("terra-signature", sign(secret, body, timestamp)))
    return headers


def resigned(
    recorded: Iterable[tuple[str, str]], body: bytes, secret: str, timestamp: int
) -> list[tuple[str, str]]:
    """Recorded headers with every signature header replaced by a fresh one.

    The name Terra used is kept (`terra-signature` or `x-terra-signature`);
    an unsigned original gets `terra-signature` added.
    """
    value = sign(secret, body, timestamp)
    out: list[tuple[str, str]] = []
    replaced = False
    for name, old in recorded:
        if name.lower() in HEADER_NAMES:
            out.append((name, value))
            replaced = True
        else:
            out.append((name, old))
    if not replaced:
        out.insert(0, ("terra-signature", value))
    return out
