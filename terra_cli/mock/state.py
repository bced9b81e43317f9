"""The mock's memory: connected users and open widget / authentication flows.

Users exist once connected (through the mock's widget page or an
authenticateUser link). Ids come from the seed and a counter, so the same
seed and the same sequence of calls give the same user ids, and with them the
same data. Everything is guarded by one lock: the HTTP server is threaded.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Literal

from terra_cli.webhooks.sample_records import PROVIDERS

SESSION_SECONDS = 900  # Terra's widget sessions last 15 minutes

# The scopes Terra records for a connection, per provider (debugging metadata).
_SCOPES = {
    "GARMIN": "ACTIVITY_EXPORT,HEALTH_EXPORT",
    "FITBIT": "activity,heartrate,sleep,profile,weight,nutrition",
    "OURA": "daily,heartrate,personal,session,workout",
    "WITHINGS": "user.activity,user.metrics,user.info",
    "WHOOP": "read:recovery,read:cycles,read:sleep,read:workout,read:profile",
}


def utc_text(when: datetime) -> str:
    """Terra's user timestamps: ISO 8601 UTC with microseconds."""
    return when.astimezone(timezone.utc).isoformat(timespec="microseconds")


@dataclass
class MockUser:
    """One connected wearable account."""

    user_id: str
    provider: str
    reference_id: str | None
    created_at: str
    last_webhook_update: str | None = None
    active: bool = True

    def terra(self) -> dict[str, Any]:
        """The TerraUser object, with every field of the spec."""
        return {
            "user_id": self.user_id,
            "provider": self.provider,
            "reference_id": self.reference_id,
            "scopes": _SCOPES.get(self.provider, "activity,sleep,daily,body"),
            "active": self.active,
            "created_at": self.created_at,
            "last_webhook_update": self.last_webhook_update,
        }


@dataclass
class Flow:
    """An open widget session or authenticateUser link, waiting for the user's choice."""

    flow_id: str
    kind: Literal["widget", "auth"]
    providers: list[str]
    reference_id: str | None
    success_url: str | None
    failure_url: str | None
    language: str | None
    user_id: str | None = None  # authenticateUser hands the id out before the login
    opened: float = field(default_factory=time.monotonic)

    @property
    def expired(self) -> bool:
        return time.monotonic() - self.opened > SESSION_SECONDS


class MockState:
    """Users and flows, behind one lock."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.lock = threading.Lock()
        self.users: dict[str, MockUser] = {}
        self.flows: dict[str, Flow] = {}
        self._counters: dict[str, int] = {}

    def _next_id(self, what: str) -> str:
        """The next id of kind `what`: a UUID from (seed, kind, counter)."""
        n = self._counters.get(what, 0)
        self._counters[what] = n + 1
        rng = random.Random(f"{what}:{self.seed}:{n}")  # noqa: S311 - ids for test data
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def open_flow(
        self,
        kind: Literal["widget", "auth"],
        providers: list[str],
        reference_id: str | None,
        success_url: str | None,
        failure_url: str | None,
        language: str | None,
    ) -> Flow:
        """Start a widget session or an authenticateUser link."""
        with self.lock:
            flow = Flow(
                flow_id=self._next_id("session" if kind == "widget" else "flow"),
                kind=kind,
                providers=providers or list(PROVIDERS),
                reference_id=reference_id,
                success_url=success_url,
                failure_url=failure_url,
                language=language,
            )
            if kind == "auth":
                flow.user_id = self._next_id("user")
            self.flows[flow.flow_id] = flow
            return flow

    def flow(self, flow_id: str) -> Flow | None:
        with self.lock:
            return self.flows.get(flow_id)

    def connect(self, flow: Flow, provider: str, now: datetime) -> MockUser:
        """The user chose `provider` and logged in: a connected user exists from now on."""
        with self.lock:
            user_id = flow.user_id or self._next_id("user")
            user = self.users.get(user_id)
            if user is None:
                user = MockUser(user_id, provider, flow.reference_id, utc_text(now))
                self.users[user_id] = user
            return user

    def get(self, user_id: str) -> MockUser | None:
        with self.lock:
            return self.users.get(user_id)

    def by_reference(self, reference_id: str) -> list[MockUser]:
        with self.lock:
            return [u for u in self.users.values() if u.reference_id == reference_id]

    def all(self) -> list[MockUser]:
        with self.lock:
            return list(self.users.values())

    def remove(self, user_id: str) -> MockUser | None:
        with self.lock:
            return self.users.pop(user_id, None)

    def touched(self, user_id: str, now: datetime) -> None:
        """A webhook about the user went out: `last_webhook_update` moves."""
        with self.lock:
            user = self.users.get(user_id)
            if user is not None:
                user.last_webhook_update = utc_text(now)
