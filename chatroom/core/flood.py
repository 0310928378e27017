"""The token bucket behind flood control: a paste goes through at once, a flood is slowed."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime


_SLACK = 1e-9  # floating-point dust: 0.999999999 tokens is a token
_SHORTEST_WAIT = 0.001


class TokenBucket:
    """Up to `burst` lines at once, then `rate` lines a second.

    The bucket holds `burst` tokens and gains `rate` a second; each line takes
    one. Idle time refills it, so someone who pastes, then talks, is never slowed.
    """

    def __init__(self, rate: float, burst: int, clock: IReactorTime):
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = float(burst)
        self.stamp = clock.seconds()

    def take(self) -> bool:
        """Spend a token if there is one."""
        self._refill()
        if self.tokens < 1 - _SLACK:
            return False
        self.tokens -= 1
        return True

    def fill(self) -> None:
        """A whole burst again."""
        self.tokens = float(self.burst)
        self.stamp = self.clock.seconds()

    def wait(self) -> float:
        """Seconds until the next token: never zero, so a timer set for it always finds time has passed."""
        self._refill()
        return max(_SHORTEST_WAIT, (1 - self.tokens) / self.rate)

    def _refill(self) -> None:
        now = self.clock.seconds()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
