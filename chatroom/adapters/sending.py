"""What goes out: gathered per connection and written once per pass, and bounded for a client that stops reading."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from loguru import logger
from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime


class Flushable(Protocol):
    def flush(self) -> None: ...


class WriteBatch:
    """The connections that were sent something since their last write, each written once.

    Twisted's transport.write does several checks and registrations per call;
    a busy room sends a recipient many lines at once. The batch is flushed at
    the end of each read (the protocols' dataReceived) and, for what timers
    send, at the end of the reactor pass: one write per recipient either way,
    whatever the number of lines.
    """

    def __init__(self, clock: IReactorTime):
        self.clock = clock
        self.dirty: list[Flushable] = []
        self.now = False  # while a read of one line is handled: its deliveries may go out at once
        self._call: IDelayedCall | None = None

    def add(self, connection: Flushable) -> None:
        if self._call is None:
            self._call = self.clock.callLater(0, self._end_of_pass)
        self.dirty.append(connection)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for connection in dirty:
            try:
                connection.flush()
            except Exception:  # one connection's trouble must not keep the others' lines from going out
                logger.bind(event="error").exception("error sending to a connection")

    def _end_of_pass(self) -> None:
        self._call = None
        self.flush()


@implementer(IPushProducer)
class SendBacklog:
    """Counts what is queued for a client after its socket buffer filled up.

    The transport pauses us when its buffer passes its own limit and resumes
    us once it has drained; past `limit` bytes queued while paused, the
    client is cut off rather than let the server's memory grow.
    """

    __slots__ = ("limit", "paused", "queued")  # one per connection, like TelnetFilter

    def __init__(self, limit: int):
        self.limit = limit
        self.paused = False
        self.queued = 0

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self.queued = 0

    def stopProducing(self) -> None:
        pass

    def overflows(self, size: int) -> bool:
        if not self.paused:
            return False
        self.queued += size
        return self.queued > self.limit
