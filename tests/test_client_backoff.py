"""The reconnect waits grow, stop growing, and start over after a connection that lasted."""

from __future__ import annotations

from chatroom.client.backoff import Backoff


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_waits_double_up_to_the_longest():
    backoff = Backoff(FakeClock(), first=1, longest=10)
    assert [backoff.next_wait() for _ in range(6)] == [1, 2, 4, 8, 10, 10]


def test_a_connection_that_lasted_starts_the_waits_over():
    clock = FakeClock()
    backoff = Backoff(clock, first=1, longest=10, settled=30)
    for _ in range(4):
        backoff.next_wait()
    backoff.connected()
    clock.now += 31
    assert backoff.next_wait() == 1


def test_a_connection_dropped_at_once_keeps_the_waits_growing():
    clock = FakeClock()
    backoff = Backoff(clock, first=1, longest=10, settled=30)
    assert [backoff.next_wait(), backoff.next_wait()] == [1, 2]
    backoff.connected()
    clock.now += 5  # accepted, then dropped: a server in trouble
    assert backoff.next_wait() == 4
