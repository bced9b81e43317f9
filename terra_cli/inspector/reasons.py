"""Why an event got its verdict, in words, from what the log kept. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from terra_cli.webhooks.signature import DEFAULT_TOLERANCE, parse_header


def _received(record: dict[str, Any]) -> float | None:
    stamp = record.get("received_at")
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def verdict_reason(record: dict[str, Any], tolerance: float = DEFAULT_TOLERANCE) -> str:
    """One sentence that explains the record's `verdict`."""
    verdict = record.get("verdict")
    headers = record.get("headers") if isinstance(record.get("headers"), dict) else {}
    assert isinstance(headers, dict)
    header = headers.get("terra-signature") or headers.get("x-terra-signature")
    parsed = parse_header(header) if isinstance(header, str) else None
    age = None
    received = _received(record)
    if parsed is not None and parsed.timestamp and received is not None:
        try:
            age = received - int(parsed.timestamp)
        except ValueError:
            age = None
    if verdict == "ok":
        when = f", signed {age:.0f} s before it arrived" if age is not None else ""
        return f"The signature matches the body under the signing secret{when}."
    if verdict == "bad":
        if parsed is None or parsed.timestamp is None or not parsed.signatures:
            return "The signature header has no t= timestamp or no v1= signature."
        return (
            "No v1 signature matches HMAC-SHA256 of t.body under the configured signing "
            "secret: a different secret, or the body was changed on the way."
        )
    if verdict == "stale":
        if age is not None and age < 0:
            return (
                f"The signature is valid but its timestamp is {-age:.0f} s in the future "
                f"(tolerance {tolerance:g} s)."
            )
        old = f"{age:.0f} s old" if age is not None else "too old"
        return f"The signature is valid but {old} when it arrived (tolerance {tolerance:g} s)."
    if verdict == "unsigned":
        return (
            "No terra-signature or x-terra-signature header, while a signing secret is configured."
        )
    if verdict == "unchecked":
        if record.get("status") == 413:
            return "The body was over the size limit and refused unread (413)."
        return "No signing secret was configured, so the signature was not checked."
    return "A replay sent from the inspector: its target judged it, not this listener."
