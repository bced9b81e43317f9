"""The mock's webhook deliveries: signed like Terra, sent in order, retried with backoff.

Each delivery goes out through the project's one delivery path
(`outgoing.event_headers` + `forward.deliver`) with Terra's headers. A
timeout, a refused connection or any answer of 400 or above is retried after
each of `retry_delays` seconds (Terra backs off over a day; a mock for tests
backs off over seconds), with the same `X-Terra-Trace-Id` and ordering
timestamp and a fresh signature. Every attempt becomes a record for the sink.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from terra_cli.errors import InputError
from terra_cli.webhooks import samples
from terra_cli.webhooks.forward import deliver
from terra_cli.webhooks.outgoing import event_headers, new_trace_id

RETRY_ENV = "TERRA_MOCK_RETRY_DELAYS"
DEFAULT_RETRY_DELAYS = (1.0, 3.0, 9.0)


def retry_delays(env: dict[str, str] | None = None) -> tuple[float, ...]:
    """The backoff schedule: TERRA_MOCK_RETRY_DELAYS (seconds, comma-separated) or 1,3,9."""
    text = (os.environ if env is None else env).get(RETRY_ENV, "").strip()
    if not text:
        return DEFAULT_RETRY_DELAYS
    try:
        delays = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        delays = ()
    if any(d < 0 for d in delays) or (not delays and text not in ("0", "none")):
        raise InputError(
            f"{RETRY_ENV}='{text}' is not a list of seconds.",
            hint=f"Set {RETRY_ENV} to comma-separated seconds, e.g. 0.5,1,2 (none: no retries).",
        )
    return delays


@dataclass
class Outgoing:
    """One webhook to deliver: the payload and the ids Terra keeps across retries."""

    payload: dict[str, Any]
    reference: str
    trace_id: str = field(default_factory=new_trace_id)
    ordering_ms: int = field(default_factory=lambda: int(time.time() * 1000))
    attempt: int = 0

    @property
    def type(self) -> str:
        return str(self.payload.get("type"))

    @property
    def user_id(self) -> str | None:
        user = self.payload.get("user")
        return str(user["user_id"]) if isinstance(user, dict) and "user_id" in user else None


@dataclass(frozen=True)
class DeliveryRecord:
    """One delivery attempt, for the request log."""

    type: str
    url: str
    reference: str
    trace_id: str
    attempt: int
    status: int | None
    error: str | None
    latency_ms: float
    retry_in: float | None
    size: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        return {
            "kind": "webhook",
            "type": self.type,
            "url": self.url,
            "terra_reference": self.reference,
            "trace_id": self.trace_id,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "latency_ms": round(self.latency_ms, 1),
            "retry_in": self.retry_in,
            "size": self.size,
        }


class Scheduler:
    """A worker thread sending queued webhooks when they are due, oldest first."""

    def __init__(
        self,
        url: str,
        secret: str | None,
        sink: Callable[[DeliveryRecord], None],
        delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS,
        timeout: float = 8.0,
        on_sent: Callable[[Outgoing], None] | None = None,
    ) -> None:
        self.url = url
        self.secret = secret
        self.sink = sink
        self.delays = delays
        self.timeout = timeout
        self.on_sent = on_sent
        self._queue: list[tuple[float, int, Outgoing]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="terra-mock-webhooks", daemon=True)
        self._thread.start()

    def submit(self, items: list[Outgoing]) -> None:
        """Queue deliveries to go now, in the given order."""
        now = time.monotonic()
        with self._wake:
            for item in items:
                heapq.heappush(self._queue, (now, next(self._order), item))
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def stop(self, grace: float = 0.0) -> int:
        """Stop the worker (after up to `grace` seconds to drain); the count left undelivered."""
        deadline = time.monotonic() + grace
        while grace and self.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._wake:
            self._stopped = True
            left = len(self._queue)
            self._wake.notify()
        self._thread.join(timeout=self.timeout + 1)
        return left

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped and (
                    not self._queue or self._queue[0][0] > time.monotonic()
                ):
                    wait = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._wake.wait(timeout=wait)
                if self._stopped:
                    return
                _, _, item = heapq.heappop(self._queue)
            self._send(item)

    def _send(self, item: Outgoing) -> None:
        body = samples.encode(item.payload)
        headers = event_headers(
            body,
            self.secret,
            int(time.time()),
            item.reference,
            trace_id=item.trace_id,
            ordering_ms=item.ordering_ms,
        )
        item.attempt += 1
        result = deliver(self.url, "POST", headers, body, self.timeout)
        failed = not result.ok  # Terra retries on no answer, a timeout, 3xx, 4xx and 5xx
        retry_in = None
        if failed and item.attempt <= len(self.delays):
            retry_in = self.delays[item.attempt - 1]
        self.sink(
            DeliveryRecord(
                type=item.type,
                url=self.url,
                reference=item.reference,
                trace_id=item.trace_id,
                attempt=item.attempt,
                status=result.status,
                error=result.error,
                latency_ms=result.latency_ms,
                retry_in=retry_in,
                size=len(body),
            )
        )
        if not failed and self.on_sent is not None:
            self.on_sent(item)
        if retry_in is not None:
            with self._wake:
                due = time.monotonic() + retry_in
                heapq.heappush(self._queue, (due, next(self._order), item))
                self._wake.notify()
