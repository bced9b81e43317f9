"""One `terra mock` run: the service, its HTTP server and its webhook scheduler, started
and stopped together, with counts for the closing line.

The command builds a `MockRun` from plain values, shows where it listens,
waits, and closes it; every request and delivery attempt goes to the sinks it
passed in (the command renders them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from terra_cli.mock.scheduler import DeliveryRecord, Outgoing, Scheduler
from terra_cli.mock.server import MockServer, RequestRecord
from terra_cli.mock.service import MockConfig, MockService


@dataclass(frozen=True)
class Summary:
    """What a run did, for the closing line."""

    requests: int
    delivered: int
    given_up: int
    undelivered: int


class MockRun:
    """Binds at once (a busy port raises LocalResourceError); serves after `start()`."""

    def __init__(
        self,
        config: MockConfig,
        host: str,
        port: int,
        secret: str | None,
        delays: tuple[float, ...],
        on_request: Callable[[RequestRecord], None],
        on_delivery: Callable[[DeliveryRecord], None],
    ) -> None:
        self._lock = threading.Lock()
        self._requests = self._delivered = self._given_up = 0
        self._on_request = on_request
        self._on_delivery = on_delivery
        self.service = MockService(config)
        self.server = MockServer(self.service, host, port, self._request)
        if config.webhook is not None:
            self.service.scheduler = Scheduler(
                config.webhook, secret, self._delivery, delays, on_sent=self._sent
            )

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.server.start()

    def close(self, grace: float = 1.0) -> Summary:
        """Stop serving, give queued webhooks up to `grace` seconds, and sum up."""
        self.server.close()
        scheduler = self.service.scheduler
        left = scheduler.stop(grace=grace) if scheduler is not None else 0
        with self._lock:
            return Summary(self._requests, self._delivered, self._given_up, left)

    def _request(self, record: RequestRecord) -> None:
        with self._lock:
            self._requests += 1
        self._on_request(record)

    def _delivery(self, record: DeliveryRecord) -> None:
        with self._lock:
            if record.ok:
                self._delivered += 1
            elif record.retry_in is None:
                self._given_up += 1
        self._on_delivery(record)

    def _sent(self, item: Outgoing) -> None:
        if item.user_id:
            self.service.state.touched(item.user_id, datetime.now(timezone.utc))
