"""How long to wait before trying the server again."""

from __future__ import annotations

from collections.abc import Callable


class Backoff:
    """Waits of `first` seconds, doubling up to `longest`, so a server that is down is not hammered.

    A connection that stayed up for `settled` seconds starts the waits over:
    a server restarted after weeks is tried again at once, while one that
    accepts and then drops us at once keeps the waits growing. The clock is
    injected so tests can move time.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        first: float = 1.0,
        longest: float = 10.0,
        settled: float = 30.0,
    ):
        self.clock = clock
        self.first = first
        self.longest = longest
        self.settled = settled
        self._next = first
        self._connected_at: float | None = None

    def connected(self) -> None:
        self._connected_at = self.clock()

    def next_wait(self) -> float:
        """The wait before the next try; call once per try."""
        if self._connected_at is not None and self.clock() - self._connected_at >= self.settled:
            self._next = self.first
        self._connected_at = None
        wait = self._next
        self._next = min(self._next * 2, self.longest)
        return wait
