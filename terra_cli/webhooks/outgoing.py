"""Headers for requests we send as if we were Terra: trigger, replay, check, mock.

Terra's platform today sends `X-Terra-Signature: t=<unix seconds>,v1=<hex>`
plus a deprecated `Terra-Signature` duplicate with the same value, a
`Terra-Reference` (the API request a delivery belongs to), an
`X-Terra-Trace-Id` (one per delivery, the same on a retry), an
`X-Terra-Ordering-Timestamp` (unix milliseconds when Terra emitted the
payload) and a JSON content type. Replays keep every recorded header but swap
in a fresh signature (new timestamp, configured secret) unless told to keep
the original one. Pure functions; the clock and the ids are passed in.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from terra_cli import __version__
from terra_cli.webhooks.signature import HEADER_NAMES, sign

USER_AGENT = f"terra-cli/{__version__}"

SIGNATURE_HEADER = "X-Terra-Signature"
LEGACY_SIGNATURE_HEADER = "Terra-Signature"
REFERENCE_HEADER = "Terra-Reference"
TRACE_HEADER = "X-Terra-Trace-Id"
ORDERING_HEADER = "X-Terra-Ordering-Timestamp"


def new_trace_id() -> str:
    """A fresh delivery id, unique per delivery (a retry repeats the old one)."""
    return str(uuid.uuid4())


def with_headers(
    headers: Iterable[tuple[str, str]], extra: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """`headers` with each of `extra` replacing a header of the same name, else appended."""
    out = list(headers)
    for name, value in extra:
        lower = name.lower()
        at = [i for i, (n, _) in enumerate(out) if n.lower() == lower]
        if at:
            out[at[0]] = (name, value)
            for i in reversed(at[1:]):
                del out[i]
        else:
            out.append((name, value))
    return out


def event_headers(
    body: bytes,
    secret: str | None,
    timestamp: int,
    reference: str,
    *,
    trace_id: str | None = None,
    ordering_ms: int | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """Headers for a new delivery, as Terra sends them: signed with `secret` unless None.

    `trace_id` None makes a fresh one; `ordering_ms` None uses `timestamp` in
    milliseconds; `extra` adds or replaces headers by name (case-insensitive).
    """
    headers: list[tuple[str, str]] = []
    if secret is not None:
        value = sign(secret, body, timestamp)
        headers += [(SIGNATURE_HEADER, value), (LEGACY_SIGNATURE_HEADER, value)]
    headers += [
        (REFERENCE_HEADER, reference),
        (TRACE_HEADER, trace_id if trace_id is not None else new_trace_id()),
        (ORDERING_HEADER, str(ordering_ms if ordering_ms is not None else timestamp * 1000)),
        ("Content-Type", "application/json"),
        ("User-Agent", USER_AGENT),
    ]
    return with_headers(headers, extra)


def resigned(
    recorded: Iterable[tuple[str, str]], body: bytes, secret: str, timestamp: int
) -> list[tuple[str, str]]:
    """Recorded headers with every signature header replaced by a fresh one.

    The names Terra used are kept (`x-terra-signature`, `terra-signature` or
    both); an unsigned original gets both of today's names added.
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
        out[:0] = [(SIGNATURE_HEADER, value), (LEGACY_SIGNATURE_HEADER, value)]
    return out
