"""Flood control and the login timeout: a paste goes through, a flood is slowed then kicked."""

from __future__ import annotations

import random

from twisted.internet.task import Clock

from chatroom.core.flood import TokenBucket
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from conftest import Chatter, FakePeer

RATE, BURST = Settings.flood_rate, Settings.flood_burst
QUEUE = Settings().flood_queue


def test_a_paste_of_a_burst_goes_through_at_once_and_unremarked(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    answers = "".join(alice.say(f"pasted line {i}") for i in range(BURST))
    assert BURST >= 8  # the promise: a paste of 8 lines is never slowed
    assert "Slow down" not in answers
    got = bob.read()
    assert all(f"alice: pasted line {i}\r\n" in got for i in range(BURST))


def test_past_the_burst_lines_wait_and_follow_in_order_with_one_notice(make_chatter, clock):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    answers = "".join(alice.say(f"line {i}") for i in range(BURST + 10))
    assert answers.count("Slow down") == 1
    assert f"more than {RATE} lines a second" in answers
    assert "line 10" not in bob.read()
    clock.advance(1)
    assert bob.read().count("alice: line") == RATE
    clock.advance(10)
    got = bob.read()
    assert "Slow down" not in got  # the notice is the sender's alone
    later = [f"alice: line {i}\r\n" for i in range(BURST + RATE, BURST + 10)]
    assert all(line in got for line in later)
    assert [got.index(line) for line in later] == sorted(got.index(line) for line in later)


def test_an_idle_sender_gets_a_whole_burst_again(make_chatter, clock):
    alice = make_chatter("alice")
    for i in range(BURST):
        alice.say(f"first {i}")
    clock.advance(BURST / RATE)
    assert "Slow down" not in "".join(alice.say(f"second {i}") for i in range(BURST))


def test_someone_who_keeps_flooding_is_kicked_and_the_room_is_told(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    for i in range(BURST + QUEUE):
        alice.say(f"spam {i}")
    assert not alice.peer.disconnected
    answer = alice.say("one too many")
    assert "You have been kicked for flooding." in answer
    assert alice.peer.disconnected
    assert "alice was kicked for flooding." in bob.read()


def test_a_kicked_flooders_waiting_lines_never_arrive(make_chatter, clock):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    for i in range(BURST + QUEUE + 1):
        alice.say(f"spam {i}")
    bob.read()
    clock.advance(QUEUE)
    assert "spam" not in bob.read()


def test_others_are_heard_at_once_while_someone_floods(make_chatter, clock):
    alice, bob, carol = make_chatter("alice"), make_chatter("bob"), make_chatter("carol")
    for i in range(BURST + 20):
        alice.say(f"spam {i}")
    carol.read()
    bob.say("can we talk?")
    assert "bob: can we talk?" in carol.read()


def test_blank_lines_cost_nothing(make_chatter):
    alice = make_chatter("alice")
    for _ in range(100):
        alice.say("")
    assert "Slow down" not in alice.say("hello")


def test_a_rate_of_zero_turns_flood_control_off(clock):
    hall = Hall(clock, Settings(flood_rate=0), rng=random.Random(1))
    alice, bob = Chatter(hall, "alice"), Chatter(hall, "bob")
    alice.read()
    for i in range(2000):
        alice.say(f"line {i}")
    assert bob.read().count("alice: line") == 2000
    assert not alice.peer.disconnected


def test_a_connection_that_does_not_log_in_in_time_is_told_and_dropped(hall, clock):
    peer = FakePeer()
    session = hall.connect(peer)
    session.line("alice")  # a name, but never a colour
    clock.advance(Settings.login_timeout - 1)
    assert not peer.disconnected
    clock.advance(1)
    assert f"You did not log in within {Settings.login_timeout} s (a name and a colour). Goodbye!" in peer.text()
    assert peer.disconnected
    assert session not in hall.sessions and hall.find("alice") is None


def test_the_login_timeout_spares_those_who_logged_in(make_chatter, clock):
    alice = make_chatter("alice")
    clock.advance(Settings.login_timeout * 2)
    assert not alice.peer.disconnected
    assert "did not log in" not in alice.read()


def test_a_login_timeout_of_zero_waits_for_ever(clock):
    hall = Hall(clock, Settings(login_timeout=0))
    peer = FakePeer()
    hall.connect(peer)
    clock.advance(10**6)
    assert not peer.disconnected and not clock.getDelayedCalls()


def test_a_session_that_leaves_leaves_no_timer_behind(make_chatter, clock):
    alice = make_chatter("alice")
    for i in range(BURST + 5):
        alice.say(f"line {i}")
    alice.session.lost()
    assert not clock.getDelayedCalls()


def test_the_bucket_says_how_long_until_the_next_token():
    clock = Clock()
    bucket = TokenBucket(rate=4, burst=2, clock=clock)
    assert bucket.take() and bucket.take() and not bucket.take()
    assert bucket.wait() == 0.25
    clock.advance(0.25)
    assert bucket.take() and not bucket.take()
    clock.advance(100)
    assert bucket.take() and bucket.take() and not bucket.take()  # never more than the burst


def test_waiting_as_long_as_the_bucket_says_always_earns_a_token():
    clock = Clock()
    clock.advance(1_700_000_000.123)  # a real epoch time: float steps are coarse here
    bucket = TokenBucket(rate=3, burst=10, clock=clock)
    for _ in range(10):
        bucket.take()
    for _ in range(1000):
        for _ in range(3):  # a timer that finds no token asks again; it must not be asked for ever
            clock.advance(bucket.wait())
            if bucket.take():
                break
        else:
            raise AssertionError(f"no token after waiting: {bucket.tokens!r}")
