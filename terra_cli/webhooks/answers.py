"""What a page served on the receiver's event loop answers: a reply or a live stream.

The receiver parses every request on its loop, for webhooks and for the
inspector alike (one HTTP edge); a second listening socket hands its requests
to an `App`, whose `handle` is pure (method, target, headers, body in; an
answer out) and knows nothing of sockets. A `Reply` is sent at once; a
`Stream` keeps the connection open, and the loop asks it for more bytes when
the app signals news (and on its regular sweep), never blocking on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    """A whole answer: status, headers (Content-Type among them), body."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False  # close the connection after it


class Stream(Protocol):
    """An open-ended answer (server-sent events): a head, first bytes, then what `poll`
    returns while `ended` is False. `close` is called once the connection is gone."""

    headers: list[tuple[str, str]]
    first: bytes
    ended: bool
    due: float  # when it holds news back for its pace: the monotonic time to ask again


    def poll(self, now: float) -> bytes | None:
        """More bytes to send now (None: nothing yet); sets `ended` when the stream is over."""
        ...

    def close(self) -> None: ...


class App(Protocol):
    """Answers the requests of one listening socket of the receiver's loop."""

    max_body: int  # a POST body over this is not read: `handle` gets None and the
    # connection closes after the answer

    def inline(self, method: str, target: str) -> bool:
        """True when the answer is quick enough to make on the loop itself; other
        requests are answered on a worker thread, so webhook answers never wait."""
        ...

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], body: bytes | None
    ) -> Reply | Stream:
        """The answer to one request (`headers` by lower-case name)."""
        ...
