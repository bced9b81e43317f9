"""Terra's webhook signature: parse, sign and verify `terra-signature` headers.

Header form: `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`. The MAC is
HMAC-SHA256(secret, f"{t}.".encode() + raw_body), lower-case hex. Any `v1`
may match; other schemes (v0, ...) are ignored so nobody can downgrade.
Pure functions: no I/O, the clock is passed in.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

# Terra's current name first: when both are present, `x-terra-signature` is the one read.
HEADER_NAMES = ("x-terra-signature", "terra-signature")
DEFAULT_TOLERANCE = 300


class Verdict(str, Enum):
    """What the signature check concluded, about the signature alone."""

    OK = "ok"
    BAD = "bad"
    STALE = "stale"
    UNSIGNED = "unsigned"
    UNCHECKED = "unchecked"

    @property
    def failed(self) -> bool:
        """Bad, stale, or unsigned while a secret is configured."""
        return self in (Verdict.BAD, Verdict.STALE, Verdict.UNSIGNED)


@dataclass(frozen=True)
class ParsedHeader:
    """The parts of a signature header that matter: the timestamp text and the v1 MACs."""

    timestamp: str | None
    signatures: tuple[str, ...]


def parse_header(header: str) -> ParsedHeader:
    """Split `t=...,v1=...` leniently: spaces trimmed, unknown schemes ignored, several v1 kept."""
    timestamp: str | None = None
    sigs: list[str] = []
    for part in header.split(","):
        name, sep, value = part.partition("=")
        if not sep:
            continue
        name, value = name.strip(), value.strip()
        if name == "t" and timestamp is None:
            timestamp = value
        elif name == "v1" and value:
            sigs.append(value)
    return ParsedHeader(timestamp, tuple(sigs))


def compute(secret: str, timestamp: str, body: bytes) -> str:
    """The lower-case hex HMAC-SHA256 of `timestamp.body` under `secret`."""
    msg = timestamp.encode("utf-8") + b"." + body
    return hmac.digest(secret.encode("utf-8"), msg, "sha256").hex()


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """A header value exactly as Terra sends it."""
    return f"t={timestamp},v1={compute(secret, str(timestamp), body)}"


def find_header(headers: Mapping[str, str]) -> str | None:
    """The signature header, whichever of Terra's two names carries it (case-insensitive)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in HEADER_NAMES:
        if name in lowered:
            return lowered[name]
    return None


@dataclass(frozen=True)
class Check:
    """A verdict and, when it is not ok, why: e.g. stale "in the future" vs "too old"."""

    verdict: Verdict
    detail: str | None = None


def check(
    header: str | None,
    body: bytes,
    secret: str | None,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Check:
    """Judge a delivery and say why: signature first, then the timestamp window (both ways)."""
    if not secret:
        return Check(Verdict.UNCHECKED, "no signing secret configured")
    if header is None or not header.strip():
        return Check(Verdict.UNSIGNED, "no signature header")
    parsed = parse_header(header)
    if parsed.timestamp is None:
        return Check(Verdict.BAD, "no t= timestamp in the signature header")
    if not parsed.signatures:
        return Check(Verdict.BAD, "no v1= signature in the signature header")
    expected = compute(secret, parsed.timestamp, body).encode("ascii")
    matched = False
    for candidate in parsed.signatures:
        # compare_digest needs equal types; encode lets any text be compared safely.
        if hmac.compare_digest(expected, candidate.lower().encode("utf-8", "replace")):
            matched = True
    if not matched:
        return Check(Verdict.BAD, "no v1 signature matches the body and signing secret")
    try:
        ts = int(parsed.timestamp)
    except ValueError:
        return Check(Verdict.BAD, f"the timestamp t={parsed.timestamp[:20]} is not a number")
    skew = now - ts
    if skew < -tolerance:
        return Check(
            Verdict.STALE,
            f"in the future: signed {_span(-skew)} ahead of this clock, "
            f"tolerance {tolerance:.0f} s",
        )
    if skew > tolerance:
        return Check(
            Verdict.STALE, f"too old: signed {_span(skew)} ago, tolerance {tolerance:.0f} s"
        )
    return Check(Verdict.OK)


def _span(seconds: float) -> str:
    """A clock difference as a person reads it: "45 s", "15 min", "3 h", "2 days"."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} days"


def verify(
    header: str | None,
    body: bytes,
    secret: str | None,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Verdict:
    """Judge a delivery: signature first, then the timestamp window (both directions)."""
    return check(header, body, secret, now, tolerance).verdict
