"""Compose and send one sample (or user-supplied) event, signed like Terra signs.

`compose` turns the command's inputs into the exact body bytes; `send` signs
them with a fresh timestamp and delivers them byte-exact. A user's own file
is sent unchanged unless an override (`--set`, `--user-id`, ...) asks to edit
it, in which case it is re-serialised.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from terra_cli.errors import InputError
from terra_cli.webhooks import samples
from terra_cli.webhooks.forward import SKIPPED_HEADERS, Delivery, deliver
from terra_cli.webhooks.outgoing import event_headers

DEFAULT_TARGET = "http://127.0.0.1:8080/consumeTerraWebhook"


@dataclass(frozen=True)
class Outgoing:
    """An event ready to sign: its type, exact body bytes, and terra-reference."""

    type: str | None
    body: bytes
    reference: str
    records: int | None


def _read_file(path: Path) -> tuple[bytes, Any]:
    """The file's exact bytes and its parsed JSON, or exit 3."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            f"The payload file {path} does not exist.",
            hint="Give the path of a JSON file with --file, or drop --file to send a sample.",
        ) from None
    except OSError as exc:
        raise InputError(
            f"Cannot read the payload file {path}: {exc.strerror or exc}.",
            hint="Check the path and its permissions (--file PAYLOAD.json).",
        ) from None
    try:
        return raw, json.loads(raw)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"The payload file {path} is not valid JSON ({exc}).",
            hint=f"Fix the file, or start from a sample: terra trigger TYPE --print > {path.name}",
        ) from None


def _override_user(payload: Any, options: samples.SampleOptions) -> bool:
    """Apply --user-id/--reference-id/--provider to a user's own payload; True when changed."""
    if not isinstance(payload, dict):
        return False
    changed = False
    for key in ("user", "new_user"):
        user = payload.get(key)
        if not isinstance(user, dict):
            continue
        for field, value in (
            ("user_id", options.user_id),
            ("reference_id", options.reference_id),
            ("provider", options.provider.upper() if options.provider else None),
        ):
            if value is not None:
                user[field] = value
                changed = True
    return changed


def compose(
    type_name: str | None,
    now: datetime,
    seed: int,
    options: samples.SampleOptions,
    assignments: Sequence[str] = (),
    file: Path | None = None,
) -> Outgoing:
    """The body to send: a fresh sample of `type_name`, or `file` (byte-exact when unedited)."""
    if file is None:
        if type_name is None:
            raise InputError(
                "Name the event type to send.",
                hint="Run 'terra trigger --list' to see the types, then e.g. "
                "'terra trigger activity'.",
            )
        payload: Any = samples.build(type_name, now, seed, options)
        for assignment in assignments:
            samples.apply_set(payload, assignment)
        body = samples.encode(payload)
    else:
        body, payload = _read_file(file)
        declared = payload.get("type") if isinstance(payload, dict) else None
        if type_name is not None:
            wanted = samples.get_type(type_name).name
            if isinstance(declared, str) and declared != wanted:
                raise InputError(
                    f"TYPE is '{wanted}' but {file} holds a '{declared}' event.",
                    hint="Drop TYPE when using --file; the file's own type is sent.",
                )
        edited = _override_user(payload, options)
        for assignment in assignments:
            samples.apply_set(payload, assignment)
            edited = True
        if edited:
            body = samples.encode(payload)
        type_name = declared if isinstance(declared, str) else type_name
    reference = None
    if isinstance(payload, dict) and isinstance(payload.get("reference"), str):
        reference = payload["reference"]
    data = payload.get("data") if isinstance(payload, dict) else None
    return Outgoing(
        type=type_name,
        body=body,
        reference=reference or str(uuid.uuid4()),
        records=len(data) if isinstance(data, list) else None,
    )


# RFC 9110 token characters: what a header name may be made of.
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEADER_HINT = "Use --header 'Name: value', e.g. --header 'X-Terra-Trace-Id: abc-123'."


def parse_header_option(text: str) -> tuple[str, str]:
    """One `--header 'Name: value'` as a (name, value) pair, or exit 3 saying what is wrong."""
    name, sep, value = text.partition(":")
    name, value = name.strip(), value.strip()
    if not sep or not name:
        raise InputError(f"--header '{text}' is not of the form 'Name: value'.", hint=_HEADER_HINT)
    if any(c not in _TOKEN for c in name):
        raise InputError(
            f"--header '{text}': '{name}' is not a valid header name (letters, digits and "
            "- _ . only; no spaces).",
            hint=_HEADER_HINT,
        )
    if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in value):
        raise InputError(
            f"--header '{name}': the value holds a control character (a line break?).",
            hint=_HEADER_HINT,
        )
    if name.lower() in SKIPPED_HEADERS:
        raise InputError(
            f"--header '{name}' cannot be set: the HTTP client computes it for each connection.",
            hint="Drop that --header; every other header can be added or replaced.",
        )
    return name, value


def check_trace_id(text: str) -> str:
    """A `--trace-id` value: visible ASCII without spaces, or exit 3."""
    value = text.strip()
    if not value or any(not 33 <= ord(c) <= 126 for c in value):
        raise InputError(
            f"--trace-id '{text}' is not a usable trace id (visible characters, no spaces).",
            hint="Pass the X-Terra-Trace-Id of the delivery to repeat, e.g. from "
            "'terra events show ID'.",
        )
    return value


def headers_for(
    event: Outgoing,
    secret: str | None,
    timestamp: int,
    trace_id: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """The headers Terra would send with `event` (signed unless `secret` is None)."""
    return event_headers(
        event.body, secret, timestamp, event.reference, trace_id=trace_id, extra=extra
    )


def send(
    event: Outgoing,
    url: str,
    secret: str | None,
    timestamp: int,
    timeout: float,
    *,
    trace_id: str | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> Delivery:
    """Sign (unless `secret` is None) with `timestamp` and deliver byte-exact to `url`.

    `trace_id` None gives the delivery a fresh X-Terra-Trace-Id; `extra` adds or
    replaces headers by name.
    """
    headers = headers_for(event, secret, timestamp, trace_id, extra)
    return deliver(url, "POST", headers, event.body, timeout)
