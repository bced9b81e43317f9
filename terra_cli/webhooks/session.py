"""One `terra listen` run: the receiver, the queue to the screen, and when to stop.

The receiver puts each answered `Delivery` on a queue; one display thread
summarises it (`build_event`) and hands the events to the sink (the renderer)
in batches: whatever queued up while the last batch was written goes out in
one write, so a burst costs few system calls.
A slow or blocked terminal therefore only delays the screen, never an answer.
The backlog is bounded: while the screen is stuck (a paused terminal, a pipe
nobody reads), deliveries wait with their bodies, and past BACKLOG_EVENTS or
BACKLOG_BYTES new ones are counted but not queued for display (the event log
has them all), so memory stays bounded however long the screen stalls.
The run stops on `--max-events`, `--timeout`, a stop request (signal, closed
stdout) or a fatal receiver failure, and reports counts by verdict.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from terra_cli.webhooks.events import ChunkCounter, Delivery, Event, LargeRequest, build_event
from terra_cli.webhooks.receiver import Forwarder, Receiver, ReceiverConfig
from terra_cli.webhooks.signature import Verdict
from terra_cli.webhooks.store import EventStore

_FAILED = frozenset(v.value for v in Verdict if v.failed)
BATCH_WAIT = 0.005  # seconds an event may wait to be shown with the ones right behind it
BACKLOG_EVENTS = 5_000  # deliveries waiting for the screen, at most...
BACKLOG_BYTES = 32 * 1024 * 1024  # ...and their bodies together (one larger body still waits)


@dataclass
class Outcome:
    """How a run ended and what it saw."""

    reason: str = ""  # max-events, timeout, stopped, stdout-closed, failure
    events: int = 0
    shown: int = 0
    by_verdict: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    unshown: int = 0  # received and logged, not shown: the screen fell too far behind
    elapsed: float = 0.0
    large_requests: list[LargeRequest] = field(default_factory=list)  # chunks vs announced

    @property
    def failed(self) -> int:
        """How many events had a failed verdict (bad, stale, unsigned with a secret)."""
        return sum(n for v, n in self.by_verdict.items() if v in _FAILED)


class ListenSession:
    """Wires receiver -> queue -> display thread -> sink, and decides when to stop."""

    def __init__(
        self,
        config: ReceiverConfig,
        store: EventStore | None,
        sink: Callable[[list[Event]], None],
        forwarder: Forwarder | None = None,
        keep_body: bool = False,
        types: frozenset[str] | None = None,
        max_events: int | None = None,
        exclude: frozenset[str] | None = None,
        observer: Callable[[Delivery, Event], None] | None = None,
    ) -> None:
        self._queue: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        self._pending = 0  # deliveries queued for the screen, and their body bytes
        self._pending_bytes = 0
        self.receiver = Receiver(config, store, self._enqueue, forwarder)
        self._store = store
        self.sink = sink
        self.keep_body = keep_body
        self.types = types
        self.exclude = exclude or frozenset()  # `--exclude`: hidden from the screen, still logged
        self.max_events = max_events
        # Sees every summarised event, shown or filtered out (the inspector's feed);
        # called on the display thread, so it never delays an answer.
        self.observer = observer
        self.outcome = Outcome()
        self._stop = threading.Event()
        self._signalled = False  # set by a signal handler, which must take no lock
        self._lock = threading.Lock()
        self._display: threading.Thread | None = None
        self._sink_broken = False
        self.chunks = ChunkCounter()  # used by the display thread only

    def start(self) -> None:
        """Bind the receiver (exit 9 when the port is taken) and start the display thread."""
        self.receiver.start()
        self._display = threading.Thread(target=self._pump, name="terra-display", daemon=True)
        self._display.start()

    def request_stop(self, reason: str) -> None:
        """Ask the run to end (from a signal handler or any thread); the first reason wins."""
        with self._lock:
            if not self.outcome.reason:
                self.outcome.reason = reason
        self._stop.set()

    def request_stop_from_signal(self, reason: str) -> None:
        """Ask the run to end from a signal handler, taking no lock.

        A handler runs in the main thread between two bytecodes, possibly while
        that thread holds a lock inside `threading.Event.wait()` (the stop
        event's own): `Event.set()` or any lock there can deadlock. So only the
        reason is recorded; `run` sees it within one tick.
        """
        if not self.outcome.reason:
            self.outcome.reason = reason
        self._signalled = True

    def run(
        self,
        timeout: float | None = None,
        should_stop: Callable[[], bool] | None = None,
        tick: float = 0.1,
    ) -> Outcome:
        """Wait until something ends the run, then stop everything and return the outcome."""
        started = time.monotonic()
        deadline = started + timeout if timeout is not None else None
        while not self._stop.is_set():
            if self._signalled:
                self.request_stop("stopped")
                break
            if self.receiver.failed.is_set():
                self.request_stop("failure")
                break
            if deadline is not None and time.monotonic() >= deadline:
                self.request_stop("timeout")
                break
            if should_stop is not None and should_stop():
                self.request_stop("stdout-closed")
                break
            self._stop.wait(tick)
        self.close()
        self.outcome.elapsed = time.monotonic() - started
        return self.outcome

    def close(self, grace: float = 1.0) -> None:
        """Stop the receiver, then let the display thread show what is still queued."""
        self.receiver.stop(grace=grace)
        self._queue.put(None)
        if self._display is not None:
            self._display.join(timeout=grace)
        self.outcome.dropped = self.receiver.stats.snapshot()["dropped"]
        self.outcome.large_requests = self.chunks.report()

    def _enqueue(self, delivery: Delivery) -> None:
        """The receiver's `emit`: count the event, queue it for the screen unless the
        backlog is full. Never blocks."""
        size = len(delivery.body)
        with self._lock:
            outcome = self.outcome
            outcome.events += 1
            counts = outcome.by_verdict
            counts[delivery.verdict] = counts.get(delivery.verdict, 0) + 1
            reached = self.max_events is not None and outcome.events >= self.max_events
            full = self._pending > 0 and (
                self._pending >= BACKLOG_EVENTS or self._pending_bytes + size > BACKLOG_BYTES
            )
            if full:
                outcome.unshown += 1
            else:
                self._pending += 1
                self._pending_bytes += size
        if not full:
            self._queue.put(delivery)
        if reached:
            self.request_stop("max-events")

    def _pump(self) -> None:
        done = False
        while not done:
            batch = [self._queue.get()]
            # Let a burst gather for a moment: one wake-up per batch instead of one per
            # event keeps the display thread from fighting receiver threads for the GIL.
            time.sleep(BATCH_WAIT)
            while len(batch) < 512:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            shown: list[Event] = []
            for delivery in batch:
                if delivery is None:
                    done = True
                    break
                event = self.chunks.observe(build_event(delivery, keep_body=self.keep_body))
                if self._store is not None:  # the index writer reuses this summary
                    self._store.note_facts(event.id, event.type, event.user_id, event.provider)
                if self.observer is not None:
                    self.observer(delivery, event)
                if (self.types is None or event.type in self.types) and (
                    event.type not in self.exclude
                ):
                    shown.append(event)
            waited = [d for d in batch if d is not None]
            with self._lock:  # summarised: the bodies are no longer needed
                self._pending -= len(waited)
                self._pending_bytes -= sum(len(d.body) for d in waited)
            del batch, waited
            if shown and not self._sink_broken:
                try:
                    self.sink(shown)
                    self.outcome.shown += len(shown)
                except (BrokenPipeError, ValueError):
                    # The reader of stdout went away (`| head -1`): stop quietly.
                    self._sink_broken = True
                    self.request_stop("stdout-closed")
