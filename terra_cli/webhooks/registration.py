"""`terra listen --register`: a Terra webhook destination that follows the tunnel.

Once the public URL is known, `Registration.attach(url)` makes Terra deliver
there: a destination with exactly that URL (a reserved domain) is reused,
otherwise a webhook destination is created (with an `Idempotency-Key`) and
its signing secret, shown once by Terra, is handed to the receiver at once.
Every destination terra creates is recorded before and after the create in
`<data dir>/registrations/*.json` (0600, atomic), with its id, URL, secret
and the pid of the run; the run deletes it on stop unless it is kept. A run
that dies leaves its record, so `leftovers()` can name the destination and
`cleanup()` can delete it. A destination terra did not create is never
changed or deleted. The URL of a destination cannot change, so when the
tunnel's URL changes mid-run, `move(url)` creates the new one, switches the
secret, then deletes the old. Nothing here prints: notices go to `notify`.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from terra_cli.admin_api import AdminClient, Destination, scope_hint
from terra_cli.errors import AuthError, TerraError
from terra_cli.settings import atomic_write, data_dir, mask

NEEDED_SCOPES = ("destinations:read", "destinations:write")


def registrations_dir() -> Path:
    """Where the records of destinations terra created live (the data dir moves it)."""
    return data_dir() / "registrations"


@dataclass
class Record:
    """One destination terra created (or is creating): enough to find and delete it later."""

    admin_url: str
    dev_id: str
    url: str
    idempotency_key: str
    pid: int
    state: str = "creating"  # creating -> active; kept once a run leaves it on purpose
    destination_id: str | None = None
    signing_secret: str | None = None
    created_at: str = ""
    environment: str = ""  # the environment's name (or its masked dev-id), for messages

    @property
    def path(self) -> Path:
        return registrations_dir() / f"{self.idempotency_key}.json"

    def save(self) -> None:
        atomic_write(self.path, json.dumps(asdict(self), indent=2).encode())

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    @property
    def running(self) -> bool:
        """True while the run that made the record is alive (and it is not this one)."""
        return self.pid != os.getpid() and _pid_alive(self.pid)

    def describe(self) -> dict[str, Any]:
        """The record without its secret, for messages and `--json`."""
        return {
            "dev_id": mask(self.dev_id),
            "destination_id": self.destination_id,
            "url": self.url,
            "state": self.state,
            "created_at": self.created_at,
            "environment": self.label,
        }

    @property
    def label(self) -> str:
        """How messages name the environment: its name, else the masked dev-id."""
        return self.environment or mask(self.dev_id)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is gone for our purposes
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by the run that owned it
        return 0.0


def records(admin_url: str | None = None) -> list[Record]:
    """Every readable record (for one Admin API base when given), oldest first."""
    folder = registrations_dir()
    if not folder.is_dir():
        return []
    out: list[Record] = []
    for path in sorted(folder.glob("*.json"), key=_mtime):
        try:
            raw = json.loads(path.read_text())
            record = Record(**{k: raw[k] for k in raw if k in Record.__dataclass_fields__})
        except (OSError, ValueError, TypeError):
            continue
        if admin_url is None or record.admin_url.rstrip("/") == admin_url.rstrip("/"):
            out.append(record)
    return out


def leftovers(admin_url: str | None = None) -> list[Record]:
    """Destinations a run created and did not delete because it died (not kept ones)."""
    return [r for r in records(admin_url) if r.state != "kept" and not r.running]


def kept(admin_url: str | None = None) -> list[Record]:
    """Destinations a run left on purpose (`--keep-destination`, a reserved domain)."""
    return [r for r in records(admin_url) if r.state == "kept" and not r.running]


def cleanup(client: AdminClient, notify: Callable[[str], None]) -> list[Record]:
    """Delete every leftover destination (only ones terra created); the ones deleted."""
    done: list[Record] = []
    for record in leftovers(client.base_url):
        destination_id = record.destination_id
        if destination_id is None:
            # The run died around the create: the same Idempotency-Key and body give
            # back the create's answer (or make it now), so the id is known either way.
            created = client.create_destination(record.dev_id, record.url, record.idempotency_key)
            destination_id = created.id
        gone = client.delete_destination(record.dev_id, destination_id)
        record.remove()
        done.append(record)
        notify(
            f"Deleted destination {destination_id} ({record.url}) in environment "
            f"{record.label}" + ("" if gone else "; Terra no longer had it") + "."
        )
    return done


def _looks_like_production(detail: dict[str, Any]) -> bool:
    """Terra marks no environment as production; billable or a 'prod' name is the sign."""
    words = " ".join(str(detail.get(k) or "") for k in ("name", "label")).lower()
    return detail.get("billable") is True or "prod" in words


@dataclass(frozen=True)
class Attached:
    """Where Terra now delivers, and how this run came by the secret."""

    destination: Destination
    created: bool
    secret: str | None
    others: list[Destination]


class Registration:
    """One run's destination: attach to the tunnel URL, move with it, detach on stop."""

    def __init__(
        self,
        client: AdminClient,
        dev_id: str,
        *,
        keep: bool | None,
        reserved: bool,
        set_secret: Callable[[str], None],
        notify: Callable[[str], None],
        warn: Callable[[str], None],
        fallback_secret: str | None = None,
    ) -> None:
        self.client = client
        self.dev_id = dev_id
        self.label = mask(dev_id)
        self.keep = reserved if keep is None else keep
        self.reserved = reserved
        self._set_secret = set_secret
        self._notify = notify
        self._warn = warn
        self._fallback_secret = fallback_secret
        self._lock = threading.Lock()  # guards the fields below
        self._ops = threading.Lock()  # one attach or move at a time (main vs tunnel thread)
        self._record: Record | None = None  # set while this run owns a destination
        self.current: Destination | None = None
        self._mover: threading.Thread | None = None
        self._pending: str | None = None  # a new tunnel URL seen before the first attach
        self._closed = False

    def check(self) -> str:
        """Before the tunnel: the token may manage destinations and the environment exists.

        Returns the environment's name (its dev-id when the token may not read names).
        """
        scopes = self.client.me().get("scopes")
        if isinstance(scopes, list):
            for scope in NEEDED_SCOPES:
                if scope not in scopes:
                    raise AuthError(
                        f"The admin token lacks the scope {scope}, which --register needs.",
                        hint=scope_hint(scope),
                    )
        self.client.destinations(self.dev_id)  # exit 3 when Terra knows no such environment
        if isinstance(scopes, list) and "account:read" in scopes:
            with contextlib.suppress(TerraError):
                detail = self.client.environment(self.dev_id)
                found = detail.get("name")
                if isinstance(found, str) and found:
                    self.label = found
                if _looks_like_production(detail):
                    self._warn(
                        f"Environment {self.label} looks like production (billable, or named "
                        "so): its real users' events will be delivered here too. Prefer a "
                        "testing or staging dev-id with --env."
                    )
        return self.label

    def attach(self, url: str) -> Attached:
        """Make Terra deliver to `url`: reuse a destination with exactly that URL, else create."""
        with self._ops:
            attached = self._attach(url, moving=False)
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is not None and pending != url:
                self._move(pending)  # the tunnel moved while this attach was under way
            return attached

    def _attach(self, url: str, *, moving: bool) -> Attached:
        existing = self.client.destinations(self.dev_id)
        same = [d for d in existing if d.url == url]
        ours = {
            r.destination_id: r for r in records(self.client.base_url) if r.dev_id == self.dev_id
        }
        if same:
            chosen = same[0]
            record = ours.get(chosen.id)
            secret = record.signing_secret if record is not None else None
            if record is not None:
                record.pid = os.getpid()
                record.state = "active"
                record.save()
                with self._lock:
                    self._record = record
            self.current = chosen
            if secret:
                self._set_secret(secret)
            elif record is None:
                self._warn(
                    f"Reusing destination {chosen.id} with this URL; terra did not create it, "
                    "so it is left as it is on stop, and its signing secret cannot be read "
                    "through Terra's API"
                    + (
                        ": verdicts use the configured signing-secret."
                        if self._fallback_secret
                        else ": set it with 'terra config set signing-secret'."
                    )
                )
            if not chosen.active:
                self._warn(
                    f"Destination {chosen.id} is paused (active: false): Terra will not deliver "
                    "to it until it is turned on in Terra's dashboard."
                )
            attached = Attached(chosen, False, secret, [d for d in existing if d is not chosen])
        else:
            destination = self._create(url)
            attached = Attached(destination, True, destination.signing_secret, list(existing))
        others = [d for d in attached.others if d.active]
        if others and not moving:
            urls = ", ".join(d.url for d in others[:3]) + (" ..." if len(others) > 3 else "")
            self._warn(
                f"Terra also sends every event to {len(others)} other destination"
                f"{'s' if len(others) != 1 else ''} in this environment: {urls}"
            )
        return attached

    def _create(self, url: str) -> Destination:
        """Create a destination for `url`, recorded before and after, and switch the secret."""
        record = Record(
            admin_url=self.client.base_url,
            dev_id=self.dev_id,
            url=url,
            idempotency_key=str(uuid.uuid4()),
            pid=os.getpid(),
            environment=self.label,
            created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        record.save()  # before the create: a crash now still leaves a trace to clean
        try:
            destination = self.client.create_destination(self.dev_id, url, record.idempotency_key)
        except TerraError:
            record.remove()
            raise
        record.destination_id = destination.id
        record.signing_secret = destination.signing_secret
        record.state = "active"
        record.save()
        if destination.signing_secret:
            self._set_secret(destination.signing_secret)
        else:
            self._warn(
                f"Terra created destination {destination.id} but sent no signing secret; "
                "verdicts use the configured signing-secret."
            )
        with self._lock:
            self._record = record
        self.current = destination
        return destination

    def move(self, url: str) -> None:
        """The tunnel's URL changed: create the new destination, switch, delete the old."""
        with self._ops:
            self._move(url)

    def _move(self, url: str) -> None:
        with self._lock:
            if self._closed:
                return
            old = self._record
            previous = self.current
        if previous is None:  # not attached yet: attach() follows the URL when it is done
            with self._lock:
                self._pending = url
            return
        if previous.url == url:
            return
        try:
            self._attach(url, moving=True)
        except TerraError as exc:
            self._warn(f"Could not point Terra at the new URL {url}: {exc.message}")
            return
        removed = False
        if old is not None and old.destination_id and old.url != url:
            removed = self._delete(old)
        new = self.current
        self._notify(
            f"Terra delivers here now: {url} (destination {new.id if new else '?'}"
            + (
                f"; the previous one, {old.destination_id}, was deleted)"
                if removed and old
                else ")"
            )
        )

    def move_in_background(self, url: str) -> None:
        """`move` on its own thread, so the tunnel's supervisor is never held up."""
        thread = threading.Thread(target=self.move, args=(url,), name="terra-register", daemon=True)
        with self._lock:
            previous = self._mover
            self._mover = thread
        if previous is not None:
            previous.join()
        thread.start()

    def _delete(self, record: Record, client: AdminClient | None = None) -> bool:
        assert record.destination_id is not None
        try:
            (client or self.client).delete_destination(record.dev_id, record.destination_id)
        except TerraError as exc:
            self._warn(
                f"Could not delete destination {record.destination_id} ({record.url}): "
                f"{exc.message} It stays recorded; 'terra listen --cleanup' deletes it."
            )
            record.pid = -1  # no longer any run's: a leftover
            record.save()
            return False
        record.remove()
        return True

    def close(self) -> None:
        """On stop: delete the destination this run created, unless it is kept."""
        with self._lock:
            self._closed = True
            mover = self._mover
        if mover is not None:
            mover.join(timeout=30)
        with self._lock:
            record = self._record
        try:
            self._finish(record)
        finally:
            self.client.close()

    def _finish(self, record: Record | None) -> None:
        if record is None or record.destination_id is None:
            return
        if self.keep:
            record.state = "kept"
            record.pid = -1
            record.save()
            self._notify(
                f"Kept destination {record.destination_id} ({record.url}) in environment "
                f"{record.label}."
            )
            return
        with self.client.brisk() as quick:  # on stop: a slow Terra must not hold Ctrl-C up
            deleted = self._delete(record, quick)
        if deleted:
            self._notify(
                f"Deleted destination {record.destination_id} ({record.url}) from environment "
                f"{record.label}."
            )
