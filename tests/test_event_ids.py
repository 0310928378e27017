"""Event ids: unique across the processes sharing a store, in the order events happen, safe in a page's numbers."""

from __future__ import annotations

from twisted.internet.task import Clock

from chatroom.core.events.model import TICKS_PER_SECOND, Stamper
from chatroom.store.interface import SLOTS


def test_two_processes_never_make_the_same_id_and_each_ids_follow_the_clock():
    clock = Clock()
    clock.advance(1_700_000_000)
    first, second = Stamper(clock, lambda: 3), Stamper(clock, lambda: 200)
    made = []
    for _ in range(1000):  # a burst: many events in one tick of the clock
        made += [first().id, second().id]
        clock.advance(0.0001)
    assert len(set(made)) == len(made)
    assert {i % SLOTS for i in made} == {3, 200}
    ones = [i for i in made if i % SLOTS == 3]
    assert ones == sorted(ones)
    clock.advance(10)  # later is larger, whichever process says it
    assert first().id > max(made) and second().id > max(made)


def test_ids_never_go_back_with_the_clock_and_follow_what_was_seen():
    clock = Clock()
    clock.advance(1_700_000_000)
    stamp = Stamper(clock)
    before = stamp().id
    clock.rightNow -= 3600  # the clock was set back an hour
    assert stamp().id > before
    seen = stamp().id + 10**9  # another process's line, from ahead of us
    stamp.follow(seen)
    assert stamp().id > seen


def test_ids_go_on_from_a_store_numbered_before_ids_were_times_and_stay_below_2_to_the_53():
    clock = Clock()
    clock.advance(1_700_000_000)
    stamp = Stamper(clock)
    stamp.follow(123_456)  # a SQLite store's last id from before: 1, 2, 3, ...
    assert stamp().id > 123_456
    clock.advance(7_000_000_000 - clock.seconds())  # the year 2191
    assert stamp().id < 2**53
    assert int(clock.seconds() * TICKS_PER_SECOND) * SLOTS < 2**53
