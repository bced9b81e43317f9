"""The `terra check` cases: what Terra would send a handler, and how to judge the answers.

Each `Case` is a pure pair: `plan(run)` gives the requests to send (built
from the sample builders, signed as Terra signs, with today's headers) and
`judge(exchanges, judging)` turns the answers into pass, fail or warn with
what came back. Only what an answer shows is judged: its status code and how
long it took. `run_cases` sends every request through the project's one
delivery path (`outgoing.event_headers` + `forward.deliver`).

Every event carries references that start `terra-check-<run id>-` (the
`Terra-Reference` header, the trace id, and the user's `reference_id`), so a
handler's owner can find and delete what a check left behind.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from terra_cli.errors import InputError, NetworkError
from terra_cli.webhooks import samples
from terra_cli.webhooks.events import human_size
from terra_cli.webhooks.forward import Delivery, ErrorKind, deliver, describe
from terra_cli.webhooks.outgoing import LEGACY_SIGNATURE_HEADER, SIGNATURE_HEADER, event_headers
from terra_cli.webhooks.signature import HEADER_NAMES

Status = Literal["pass", "fail", "warn"]
Signing = Literal["secret", "forged", "none"]

BIG_BYTES = 30 * 1024 * 1024  # the `big` case's payload size
BIG_ENV = "TERRA_CHECK_BIG_MB"  # overrides it (in MB), e.g. to keep a test suite fast
STALE_SECONDS = 600  # twice the 300 s tolerance of Terra's SDKs
INFORMATIONAL = (
    "healthcheck",
    "processing",
    "large_request_processing",
    "large_request_sending",
    "rate_limit_hit",
)
UNKNOWN_TYPE = "terra_check.new_type"
CHUNKS = 3
# No HTTP answer at all on the first request: the URL is not reachable.
UNREACHABLE: frozenset[ErrorKind] = frozenset({"refused", "dns", "tls", "unreachable", "protocol"})


def answer_wait(timeout: float) -> float:
    """How long to wait for an answer: past `timeout`, so a late answer is still seen."""
    return max(timeout * 2, timeout + 1)


# ---------------------------------------------------------------- the run


@dataclass(frozen=True)
class Run:
    """One check run: its id (in every reference), the clock and seed for the samples."""

    run_id: str
    now: datetime
    seed: int = 0
    big_bytes: int = BIG_BYTES

    @property
    def prefix(self) -> str:
        """The start of every reference this run sends: `terra-check-<run id>`."""
        return f"terra-check-{self.run_id}"

    def reference(self, case: str, n: int | None = None) -> str:
        """The `Terra-Reference` for one event of a case."""
        return f"{self.prefix}-{case}" if n is None else f"{self.prefix}-{case}-{n}"

    def trace(self, case: str, n: int | str) -> str:
        """The `X-Terra-Trace-Id` for one delivery of a case."""
        return f"{self.prefix}-trace-{case}-{n}"

    @property
    def options(self) -> samples.SampleOptions:
        """One recognisable user for the whole run."""
        return samples.SampleOptions(
            user_id=str(uuid.uuid5(uuid.NAMESPACE_URL, self.prefix)),
            reference_id=f"{self.prefix}-user",
        )

    def sample(self, type_name: str, days_back: int = 0, seed: int = 0) -> dict[str, Any]:
        """A sample event of `type_name` from the project's builders, about this run's user."""
        when = self.now - timedelta(days=days_back)
        return samples.build(type_name, when, self.seed + seed, self.options)


def new_run(now: datetime, big_bytes: int = BIG_BYTES) -> Run:
    """A run with a fresh short id."""
    token = uuid.uuid4()
    return Run(run_id=token.hex[:8], now=now, seed=token.int % 2**32, big_bytes=big_bytes)


def big_bytes_from_env(value: str | None) -> int:
    """The `big` payload size: BIG_BYTES, or `TERRA_CHECK_BIG_MB` megabytes; exit 3 if malformed."""
    if value is None or not value.strip():
        return BIG_BYTES
    try:
        mb = float(value)
    except ValueError:
        mb = -1.0
    if not 0 < mb <= 1024:
        raise InputError(
            f"{BIG_ENV} must be a size in MB between 0 and 1024, got '{value}'.",
            hint=f"Unset {BIG_ENV} to send the default 30 MB, or set e.g. {BIG_ENV}=2.",
        )
    return int(mb * 1024 * 1024)


# ---------------------------------------------------------------- what is sent


@dataclass(frozen=True)
class Probe:
    """One request a case sends: the exact body, its references, and how it is signed."""

    label: str
    body: bytes
    reference: str
    trace_id: str
    signing: Signing = "secret"
    skew: int = 0  # seconds added to the signature timestamp (stale deliveries)
    signed_body: bytes | None = None  # sign these bytes but send `body` (a tampered body)
    only_header: str | None = None  # keep just this one of the two signature headers

    def headers(self, secret: str, now: int) -> list[tuple[str, str]]:
        """The headers Terra would send, signed at `now` (+ skew) as `signing` says."""
        key = {"secret": secret, "forged": f"forged-{self.reference}", "none": None}[self.signing]
        body = self.body if self.signed_body is None else self.signed_body
        headers = event_headers(body, key, now + self.skew, self.reference, trace_id=self.trace_id)
        if self.only_header is None:
            return headers
        keep = self.only_header.lower()
        return [(k, v) for k, v in headers if k.lower() not in HEADER_NAMES or k.lower() == keep]


def _probe(run: Run, case: str, n: int, label: str, payload: Any, **kw: Any) -> Probe:
    """A probe for `payload` serialised as Terra's bodies are, with this run's references."""
    return Probe(
        label=label,
        body=samples.encode(payload),
        reference=run.reference(case, n),
        trace_id=run.trace(case, n),
        **kw,
    )


@dataclass(frozen=True)
class Exchange:
    """One request of a case and the answer it got."""

    case: str
    probe: Probe
    answer: Delivery


@dataclass(frozen=True)
class Judging:
    """What a judge may look at besides its own exchanges: the limit and the whole run."""

    timeout: float
    history: Sequence[Exchange] = ()


@dataclass(frozen=True)
class Outcome:
    """A case's verdict and what came back, in a few words."""

    status: Status
    detail: str
    why: str | None = None  # instead of the case's own, when the answer failed otherwise
    fix: str | None = None


Planner = Callable[[Run], list[Probe]]
Judge = Callable[[Sequence[Exchange], Judging], Outcome]


@dataclass(frozen=True)
class Case:
    """One behaviour Terra needs from a handler: what to send and how to judge the answers."""

    name: str
    sends: str  # what is sent, in a few words ({size} is the big payload's size)
    why: str  # why it matters
    fix: str  # the fix in one line, shown when it fails
    plan: Planner
    judge: Judge

    def describe(self, run: Run, timeout: float) -> str:
        """`sends` with the run's figures filled in."""
        return self.sends.format(
            size=human_size(run.big_bytes), timeout=f"{timeout:g}", types=len(_signed_types())
        )


@dataclass(frozen=True)
class CaseResult:
    """A case after it ran: its outcome and every exchange."""

    case: Case
    outcome: Outcome
    sent: str
    exchanges: tuple[Exchange, ...] = field(default_factory=tuple)
    elapsed_ms: float = 0.0  # building, sending and judging, for the time each case adds

    @property
    def status(self) -> Status:
        return self.outcome.status

    @property
    def why(self) -> str:
        """Why this outcome matters: the case's reason, or the outcome's own."""
        return self.outcome.why or self.case.why

    @property
    def fix(self) -> str:
        """The fix for this outcome."""
        return self.outcome.fix or self.case.fix

    def as_json(self) -> dict[str, Any]:
        """The contract's `{"name", "status", "detail", "requests"}` and a few more fields."""
        times = [e.answer.latency_ms for e in self.exchanges if e.answer.status is not None]
        return {
            "name": self.case.name,
            "status": self.status,
            "detail": self.outcome.detail,
            "requests": len(self.exchanges),
            "sent": self.sent,
            "why": self.why,
            "fix": self.fix if self.status != "pass" else None,
            "slowest_ms": round(max(times), 1) if times else None,
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


# ---------------------------------------------------------------- judging

_LATE_WHY = "Terra waits about 8 s per delivery, then retries and throttles the destination"
_LATE_FIX = "answer 2xx at once and do the work afterwards (a queue or background task)"


def _answer(d: Delivery) -> str:
    """An answer in a few characters: `200`, or `no answer (timeout)`."""
    return str(d.status) if d.status is not None else f"no answer ({d.error})"


def _ms(d: Delivery) -> str:
    ms = d.latency_ms
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def _late(d: Delivery, timeout: float) -> bool:
    """Answered (or given up on) after Terra's deadline."""
    return d.latency_ms > timeout * 1000 or d.error == "timeout"


def _listing(items: Sequence[Exchange], show: Callable[[Exchange], str], most: int = 3) -> str:
    """`a → 500, b → 500, +4 more`."""
    text = ", ".join(show(e) for e in items[:most])
    return text + (f", +{len(items) - most} more" if len(items) > most else "")


def _late_warning(exchanges: Sequence[Exchange], judging: Judging) -> Outcome | None:
    late = [e for e in exchanges if _late(e.answer, judging.timeout)]
    if not late:
        return None
    shown = _listing(late, lambda e: f"{e.probe.label}: {e.answer.status} in {_ms(e.answer)}")
    return Outcome(
        "warn",
        f"{shown}, later than --timeout {judging.timeout:g} s",
        why=_LATE_WHY,
        fix=_LATE_FIX,
    )


def accepts(exchanges: Sequence[Exchange], judging: Judging) -> Outcome:
    """Every request must get a 2xx (Terra retries anything else for about a day)."""
    bad = [e for e in exchanges if not e.answer.ok]
    if len(exchanges) == 1:
        d = exchanges[0].answer
        if bad:
            return Outcome("fail", f"answered {d.status}" if d.status else _answer(d))
        return _late_warning(exchanges, judging) or Outcome("pass", f"{d.status} in {_ms(d)}")
    if bad:
        shown = _listing(bad, lambda e: f"{e.probe.label} → {_answer(e.answer)}")
        others = len(exchanges) - len(bad)
        tail = f"; {others} other{'s' if others != 1 else ''} 2xx" if others else ""
        return Outcome("fail", shown + tail)
    codes = "/".join(sorted({str(e.answer.status) for e in exchanges}))
    slowest = max(exchanges, key=lambda e: e.answer.latency_ms).answer
    return _late_warning(exchanges, judging) or Outcome("pass", f"all {codes} (max {_ms(slowest)})")


def rejects(exchanges: Sequence[Exchange], judging: Judging) -> Outcome:
    """Every request must be refused, ideally with 401 or 403."""
    accepted = [e for e in exchanges if e.answer.ok]
    if accepted:
        shown = _listing(accepted, lambda e: f"{e.probe.label} → {e.answer.status}")
        return Outcome("fail", f"accepted: {shown}")
    silent = [e for e in exchanges if e.answer.status is None]
    if silent:
        return Outcome("fail", _listing(silent, lambda e: f"{e.probe.label} → {_answer(e.answer)}"))
    odd = [e for e in exchanges if e.answer.status not in (401, 403)]
    if odd:
        shown = _listing(odd, lambda e: f"{e.probe.label} → {e.answer.status}")
        return Outcome("warn", f"refused, but {shown}; 401 or 403 tells you why in your logs")
    codes = ", ".join(str(e.answer.status) for e in exchanges)
    return _late_warning(exchanges, judging) or Outcome("pass", codes)


def within_deadline(exchanges: Sequence[Exchange], judging: Judging) -> Outcome:
    """Every answer of the run (this case's too) must come within the deadline."""
    seen = list(judging.history) or list(exchanges)
    late = [e for e in seen if _late(e.answer, judging.timeout)]
    limit = f"{judging.timeout:g} s"
    if late:
        late.sort(key=lambda e: -e.answer.latency_ms)

        def show(e: Exchange) -> str:
            took = "no answer" if e.answer.status is None else _ms(e.answer)
            return f"{e.case} ({e.probe.label}) {took}"

        return Outcome(
            "fail", f"{len(late)} of {len(seen)} answers over {limit}: {_listing(late, show)}"
        )
    slowest = max(seen, key=lambda e: e.answer.latency_ms)
    if slowest.answer.status is None:
        return Outcome("fail", f"{slowest.case} ({slowest.probe.label}): {_answer(slowest.answer)}")
    return Outcome(
        "pass",
        f"{len(seen)} within {limit} (max {_ms(slowest.answer)}, {slowest.case})",
    )


# ---------------------------------------------------------------- plans


def _signed_types() -> list[str]:
    """Every documented type but those with a case of their own (informational, athlete)."""
    own = {*INFORMATIONAL, "athlete"}
    return [n for n in samples.EVENT_TYPES if n not in own]


def _signed(run: Run) -> list[Probe]:
    """One valid event of each documented type."""
    return [_probe(run, "signed", i, n, run.sample(n)) for i, n in enumerate(_signed_types(), 1)]


def _header_names(run: Run) -> list[Probe]:
    payload = run.sample("daily")
    return [
        _probe(run, "header-names", 1, f"only {SIGNATURE_HEADER}", payload,
               only_header=SIGNATURE_HEADER),
        _probe(run, "header-names", 2, f"only {LEGACY_SIGNATURE_HEADER}", payload,
               only_header=LEGACY_SIGNATURE_HEADER),
    ]  # fmt: skip


def _bad_signature(run: Run) -> list[Probe]:
    payload = run.sample("activity")
    original = samples.encode(payload)
    payload["data"][0]["calories_data"]["total_burned_calories"] = 99999
    return [
        _probe(run, "bad-signature", 1, "wrong secret", run.sample("activity"), signing="forged"),
        _probe(run, "bad-signature", 2, "body changed after signing", payload,
               signed_body=original),
    ]  # fmt: skip


def _missing_signature(run: Run) -> list[Probe]:
    return [_probe(run, "missing-signature", 1, "unsigned", run.sample("sleep"), signing="none")]


def _stale(run: Run) -> list[Probe]:
    payload = run.sample("body")
    return [
        _probe(run, "stale", 1, f"{STALE_SECONDS} s old", payload, skew=-STALE_SECONDS),
        _probe(run, "stale", 2, f"{STALE_SECONDS} s ahead", payload, skew=STALE_SECONDS),
    ]


def _raw_bytes(run: Run) -> list[Probe]:
    """Non-ASCII text and whitespace no serialiser reproduces, signed over the exact bytes."""
    payload = run.sample("activity")
    payload["data"][0]["metadata"]["name"] = "Café run — 5 km ✓ “Morning” 🏃 Zürich–Köln"
    text = json.dumps(payload, ensure_ascii=False, indent="\t").replace("\n", "\r\n") + "\r\n"
    return [
        Probe(
            label="tabs, CRLF, non-ASCII",
            body=text.encode("utf-8"),
            reference=run.reference("raw-bytes", 1),
            trace_id=run.trace("raw-bytes", 1),
        )
    ]


def _retry(run: Run) -> list[Probe]:
    first = _probe(run, "retry", 1, "first delivery", run.sample("daily"))
    again = Probe("retry", first.body, first.reference, first.trace_id)
    return [first, again]


def _chunks(run: Run) -> list[Probe]:
    """A large request as Terra delivers it: announced, then chunks under one reference."""
    reference = run.reference("chunks")
    base = run.trace("chunks", "request")
    processing = run.sample("large_request_processing")
    processing["reference"] = reference
    sending = run.sample("large_request_sending")
    sending["reference"] = reference
    sending["expected_payloads"] = CHUNKS
    probes = [
        Probe("processing", samples.encode(processing), reference, f"{base}-processing"),
        Probe("sending", samples.encode(sending), reference, f"{base}-sending"),
    ]
    for k in range(1, CHUNKS + 1):
        chunk = run.sample("activity", days_back=3 * (k - 1), seed=k)
        probes.append(Probe(f"chunk {k}", samples.encode(chunk), reference, f"{base}:chunk:{k}"))
    return probes


def _informational(run: Run) -> list[Probe]:
    return [
        _probe(run, "informational", i, n, run.sample(n)) for i, n in enumerate(INFORMATIONAL, 1)
    ]


def _unknown_type(run: Run) -> list[Probe]:
    payload = run.sample("daily")
    payload["type"] = UNKNOWN_TYPE
    return [_probe(run, "unknown-type", 1, UNKNOWN_TYPE, payload)]


def _empty_data(run: Run) -> list[Probe]:
    payload = run.sample("daily")
    payload["data"] = []
    return [_probe(run, "empty-data", 1, "daily, data []", payload)]


def _athlete_shape(run: Run) -> list[Probe]:
    payload = run.sample("athlete")
    payload.pop("data", None)
    return [_probe(run, "athlete-shape", 1, "athlete", payload)]


def _activity_type_zero(run: Run) -> list[Probe]:
    payload = run.sample("activity")
    payload["data"][0]["metadata"]["type"] = 0
    return [_probe(run, "activity-type-zero", 1, "activity type 0", payload)]


def _missing_user(run: Run) -> list[Probe]:
    payload = run.sample("sleep")
    payload.pop("user", None)
    return [_probe(run, "missing-user", 1, "sleep without user", payload)]


def _big(run: Run) -> list[Probe]:
    body = big_activity(run, run.big_bytes)
    return [
        Probe(
            label=human_size(len(body)),
            body=body,
            reference=run.reference("big", 1),
            trace_id=run.trace("big", 1),
        )
    ]


def _deadline(run: Run) -> list[Probe]:
    return [_probe(run, "deadline", 1, "daily", run.sample("daily"))]


# ---------------------------------------------------------------- the big payload


def _per_second(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's minute heart-rate samples as one a second (bpm interpolated)."""
    minutes = record.get("heart_rate_data", {}).get("detailed", {}).get("hr_samples") or []
    if not minutes:
        return []
    start = datetime.fromisoformat(minutes[0]["timestamp"])
    dense: list[dict[str, Any]] = []
    last = len(minutes) - 1
    for m, sample in enumerate(minutes):
        low, high = sample.get("bpm", 0), minutes[min(m + 1, last)].get("bpm", 0)
        for s in range(60):
            second = m * 60 + s
            item = dict(sample)
            item["timestamp"] = (start + timedelta(seconds=second)).isoformat(
                timespec="microseconds"
            )
            item["bpm"] = round(low + (high - low) * s / 60)
            if "timer_duration_seconds" in item:
                item["timer_duration_seconds"] = second
            dense.append(item)
    return dense


def big_activity(run: Run, target: int) -> bytes:
    """An activity event of about `target` bytes: sample workouts, heart rate each second.

    Workouts come from the activity builder (one seed, so one user and time
    zone), three days at a time further back, until the body reaches the
    size; each gets its own summary_id; oldest first, as Terra orders data.
    """
    payload = run.sample("activity")
    size = len(samples.encode({**payload, "data": []}))
    batches: list[list[dict[str, Any]]] = []
    back = count = 0
    while size < target:
        batch: list[dict[str, Any]] = []
        for record in run.sample("activity", days_back=back)["data"]:
            if size >= target:
                break
            count += 1
            record.setdefault("metadata", {})["summary_id"] = str(
                uuid.uuid5(uuid.NAMESPACE_URL, f"{run.prefix}-big-{count}")
            )
            dense = _per_second(record)
            detailed = record.setdefault("heart_rate_data", {}).setdefault("detailed", {})
            detailed["hr_samples"] = []
            size += len(samples.encode(record)) + 2
            if dense:
                ends = len(samples.encode(dense[0])) + len(samples.encode(dense[-1]))
                size += len(dense) * (ends // 2 + 2)
                detailed["hr_samples"] = dense
            batch.append(record)
        batches.append(batch)
        back += 3
        if back > 365 * 50:  # a builder without heart-rate samples: stop growing
            break
    payload["data"] = [record for batch in reversed(batches) for record in batch]
    return samples.encode(payload)


# ---------------------------------------------------------------- the cases

_SIG_FIX = (
    "compute HMAC-SHA256(secret, t + '.' + raw body), compare with each v1 in constant time, "
    "answer 401 when none matches"
)

CASES: tuple[Case, ...] = (
    Case(
        "signed",
        "{types} documented types, signed",
        "Terra sends all of these; any answer but 2xx is retried for about a day",
        "acknowledge every validly signed event with 2xx, whatever its type; process it later",
        _signed,
        accepts,
    ),
    Case(
        "header-names",
        f"only {SIGNATURE_HEADER}; only {LEGACY_SIGNATURE_HEADER}",
        "Terra sends X-Terra-Signature and a deprecated Terra-Signature; the docs name only one",
        "read x-terra-signature, else terra-signature (header names are case-insensitive)",
        _header_names,
        accepts,
    ),
    Case(
        "bad-signature",
        "wrong secret; body changed after signing",
        "anyone can POST to your URL; only the signature proves Terra sent it",
        _SIG_FIX,
        _bad_signature,
        rejects,
    ),
    Case(
        "missing-signature",
        "no signature header",
        "a request without a signature is not from Terra",
        "answer 401 when neither x-terra-signature nor terra-signature is present",
        _missing_signature,
        rejects,
    ),
    Case(
        "stale",
        f"signed {STALE_SECONDS} s ago; {STALE_SECONDS} s ahead",
        "a captured delivery replayed later must not be accepted (Terra's SDKs allow 300 s)",
        "after the MAC, reject when |now - t| > 300 s",
        _stale,
        rejects,
    ),
    Case(
        "raw-bytes",
        "tabs, CRLF, non-ASCII; signed over the bytes",
        "Terra signs the exact bytes; verifying re-serialised JSON fails on real deliveries",
        "verify over the raw request body, before parsing (express.raw(), request.get_data())",
        _raw_bytes,
        accepts,
    ),
    Case(
        "retry",
        "one delivery twice, same X-Terra-Trace-Id",
        "Terra retries after a timeout or any answer >= 400; a retry must be acknowledged",
        "dedupe on X-Terra-Trace-Id and answer 2xx to a delivery you already have",
        _retry,
        accepts,
    ),
    Case(
        "chunks",
        f"processing, sending, {CHUNKS} chunks; one reference",
        "every chunk of a large request shares one Terra-Reference; deduping on it drops chunks",
        "dedupe on X-Terra-Trace-Id (each chunk has its own), never on Terra-Reference",
        _chunks,
        accepts,
    ),
    Case(
        "informational",
        "healthcheck, processing, large_request_*, rate_limit_hit",
        "these carry no data; throwing on them makes Terra retry and can disable the destination",
        "answer 2xx to every type; send only data types on to processing",
        _informational,
        accepts,
    ),
    Case(
        "unknown-type",
        f"type '{UNKNOWN_TYPE}'",
        "Terra adds event types; throwing on a new one means a day of retries",
        "acknowledge types you do not know with 2xx and log them",
        _unknown_type,
        accepts,
    ),
    Case(
        "empty-data",
        "daily event with data []",
        "empty data arrays happen; reading data[0] throws",
        "loop over data, which may be empty, instead of reading data[0]",
        _empty_data,
        accepts,
    ),
    Case(
        "athlete-shape",
        "athlete object, no data array",
        "athlete carries an athlete object, not a data array",
        "read body['athlete'] for athlete events; do not assume every event has data",
        _athlete_shape,
        accepts,
    ),
    Case(
        "activity-type-zero",
        "activity with metadata.type 0",
        "0 is a valid activity type; a falsy check drops or rejects it",
        "test for a missing type with 'is None' (or === undefined), not by truthiness",
        _activity_type_zero,
        accepts,
    ),
    Case(
        "missing-user",
        "sleep event without user",
        "deliveries without a user happen; reading user.user_id throws",
        "treat user as optional: acknowledge, and log what you could not attribute",
        _missing_user,
        accepts,
    ),
    Case(
        "big",
        "~{size} activity, byte-exact",
        "large requests arrive in payloads this big; a body limit or slow parse loses them",
        "allow bodies over 30 MB (e.g. express.json({limit: '50mb'})) and answer before processing",
        _big,
        accepts,
    ),
    Case(
        "deadline",
        "all answers vs --timeout {timeout} s",
        _LATE_WHY,
        _LATE_FIX,
        _deadline,
        within_deadline,
    ),
)

CASE_NAMES: tuple[str, ...] = tuple(c.name for c in CASES)


def select(only: str | None) -> list[Case]:
    """The cases named in `--only` (comma-separated), in the suite's order; all when None."""
    if only is None:
        return list(CASES)
    wanted = [w.strip().lower() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in CASE_NAMES]
    if unknown or not wanted:
        what = f"Unknown case '{unknown[0]}'" if unknown else "No case named"
        raise InputError(
            f"{what} in --only.",
            hint=f"Name one or more of: {', '.join(CASE_NAMES)} (e.g. --only signed,stale).",
        )
    return [c for c in CASES if c.name in wanted]


# ---------------------------------------------------------------- running


def run_cases(
    url: str,
    cases: Sequence[Case],
    secret: str,
    timeout: float,
    run: Run,
    *,
    clock: Callable[[], float] = time.time,
    on_start: Callable[[Case, int], None] | None = None,
    on_done: Callable[[CaseResult], None] | None = None,
) -> list[CaseResult]:
    """Send every case's requests in turn and judge them; NetworkError when nothing answers."""
    wait = answer_wait(timeout)
    history: list[Exchange] = []
    results: list[CaseResult] = []
    for index, case in enumerate(cases):
        if on_start is not None:
            on_start(case, index)
        began = time.perf_counter()
        exchanges: list[Exchange] = []
        for probe in case.plan(run):
            answer = deliver(url, "POST", probe.headers(secret, int(clock())), probe.body, wait)
            if not history and answer.error is not None and answer.error in UNREACHABLE:
                raise NetworkError(describe(answer.error, url, wait), hint=answer.hint)
            exchange = Exchange(case.name, probe, answer)
            exchanges.append(exchange)
            history.append(exchange)
        outcome = case.judge(exchanges, Judging(timeout, tuple(history)))
        took = (time.perf_counter() - began) * 1000
        result = CaseResult(case, outcome, case.describe(run, timeout), tuple(exchanges), took)
        results.append(result)
        if on_done is not None:
            on_done(result)
    if history and all(e.answer.status is None for e in history):
        first = history[0].answer
        raise NetworkError(
            f"{url} never answered ({len(history)} requests, {first.error}).",
            hint=first.hint,
        )
    return results


def report(url: str, run: Run, results: Sequence[CaseResult], seconds: float) -> dict[str, Any]:
    """The `--json` document: the contract's fields, plus the run id and totals."""
    return {
        "url": url,
        "run_id": run.run_id,
        "reference_prefix": f"{run.prefix}-",
        "cases": [r.as_json() for r in results],
        "passed": sum(1 for r in results if r.status == "pass"),
        "failed": sum(1 for r in results if r.status == "fail"),
        "warned": sum(1 for r in results if r.status == "warn"),
        "requests": sum(len(r.exchanges) for r in results),
        "seconds": round(seconds, 2),
    }
