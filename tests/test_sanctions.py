"""Mutes and bans in time: how a TIME is written, how long is said, the end of a mute, and the bans and mutes
read again from the store (chatroom-admin's, or another process's) without losing what was done meanwhile."""

from __future__ import annotations

import random

import pytest
from twisted.internet.defer import Deferred

from chatroom.core.durations import BadTime, how_long, split_time
from chatroom.core.hall import Hall
from chatroom.core.names import name_key
from chatroom.core.operators import BANS_REFRESH
from chatroom.core.settings import Settings
from chatroom.store.interface import NAME, Ban, Mute
from chatroom.store.memory import MemoryStore
from test_accounts import FAST, Person
from test_operators import chatter, operator

MUTED = "you cannot speak in rooms or to all; private messages still go."


def refreshing(hall: Hall, clock):
    """The hall as the server starts it: restored, then its bans and mutes read again every BANS_REFRESH s."""
    from chatroom.server.service import SanctionsRefresh

    hall.restore()
    service = SanctionsRefresh(hall, clock)
    service.startService()
    return service


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def hall(clock, store):
    return Hall(clock, Settings(flood_rate=0), rng=random.Random(1), store=store, passwords=FAST)


# How a TIME is written.


@pytest.mark.parametrize(
    ("text", "seconds", "reason"),
    [
        ("30s", 30, ""),
        ("10m being rude", 600, "being rude"),
        ("10min", 600, ""),
        ("10 minutes being rude", 600, "being rude"),
        ("1 minute", 60, ""),
        ("2h", 7200, ""),
        ("2 HOURS", 7200, ""),
        ("1d", 86400, ""),
        ("1w", 604800, ""),
        ("1h30m spam", 5400, "spam"),
        ("1h 30m spam", 5400, "spam"),
        ("1.5h", 5400, ""),
        ("for 10 minutes spam", 600, "spam"),
        ("10m 3rd warning", 600, "3rd warning"),  # the time ends where a word is not one
        ("being rude", None, "being rude"),
        ("for spamming", None, "for spamming"),
        ("", None, ""),
    ],
)
def test_a_time_is_a_number_and_a_unit_and_what_follows_is_the_reason(text, seconds, reason):
    assert split_time(text) == (seconds, reason)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("30x", "'30x' is not a time"),
        ("10", "'10' is not a time"),  # ten what?
        ("10 mississippi", "'10' is not a time"),
        ("0s", "'0s' is less than a second"),
        ("400d", "'400d' is more than a year"),
        ("99999999999d", "'99999999999d' is not a time"),
        ("five minutes", "'five minutes' is not a time: write its number in digits"),
        ("for a minute", "'a minute' is not a time: write its number in digits"),
    ],
)
def test_a_time_not_understood_is_an_error_that_names_the_forms_accepted(text, problem):
    with pytest.raises(BadTime) as raised:
        split_time(text)
    assert str(raised.value).startswith(problem + ":" if "digits" not in problem else problem + ";")
    assert "30s, 10m (or 10min, 10 minutes), 2h, 1d, 1w, or several (1h30m)" in str(raised.value)


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (1, "1 second"),
        (30, "30 seconds"),
        (90, "1 minute and 30 seconds"),
        (600, "10 minutes"),
        (599.2, "10 minutes"),  # what is left, rounded up: never 'for another 0 seconds'
        (3600 + 59, "1 hour"),  # the largest unit and the next one down, no more
        (5400, "1 hour and 30 minutes"),
        (36 * 3600, "1 day and 12 hours"),
        (10 * 86400, "1 week and 3 days"),
    ],
)
def test_how_long_is_said_in_the_largest_unit_and_the_next(seconds, said):
    assert how_long(seconds) == said


# In the chat.


@pytest.mark.parametrize(
    "line", ["/mute eve 30x", "/mute eve 10", "/mute eve 0s", "/mute eve five minutes", "/ban zz 30x", "/ban zz 400d"]
)
def test_a_mute_or_ban_whose_time_is_not_understood_is_refused_and_nothing_is_done(hall, store, line):
    alice, eve = operator(hall), chatter(hall, "eve")
    answer = alice.say(line)
    assert answer.startswith("*** Error: '") and ("is not a time" in answer or "than a" in answer)
    assert "a TIME is a number and a unit: 30s, 10m (or 10min, 10 minutes)" in answer
    assert answer.endswith(" Nothing was done.\r\n")
    assert not hall.moderation.mutes and not hall.moderation.bans
    assert store.in_force(0) == ([], [])
    assert eve.session.online and "eve: still here" in alice.peer.text() + eve.say("still here")


def test_a_mute_of_10_minutes_written_out_lasts_10_minutes(hall, clock):
    alice, eve = operator(hall), chatter(hall, "eve")
    eve.peer.text()
    assert alice.say("/mute eve 10 minutes calm down") == "*** eve is muted for 10 minutes.\r\n"
    assert eve.peer.text() == f"*** You have been muted by alice for 10 minutes: calm down: {MUTED}\r\n"
    clock.advance(599)
    assert "You are muted for another 1 second" in eve.say("now?")
    clock.advance(1)
    assert eve.peer.text() == "*** Your mute has ended: you can speak again.\r\n"


def test_a_ban_of_10min_lasts_10_minutes_and_a_mute_of_30s_says_30_seconds(hall, clock):
    alice = operator(hall)
    chatter(hall, "eve")
    assert (
        alice.say("/ban zz 10min") == "*** zz is banned for 10 minutes (not online: the name only, not an address).\r\n"
    )
    assert alice.say("/bans") == "*** Bans in force:\r\n***   zz (name) for another 10 minutes, by alice\r\n"
    assert alice.say("/mute eve 30s") == "*** eve is muted for 30 seconds.\r\n"
    clock.advance(600)
    assert alice.say("/bans") == "*** No bans are in force.\r\n"


def test_a_mute_lifted_or_set_again_before_its_end_is_not_said_to_end(hall, clock):
    alice, eve = operator(hall), chatter(hall, "eve")
    alice.say("/mute eve 1m", "/unmute eve")
    assert "alice lifted your mute" in eve.peer.text()
    clock.advance(60)
    assert eve.peer.text() == ""
    alice.say("/mute eve 1m", "/mute eve 10m")
    eve.peer.text()
    clock.advance(60)
    assert eve.peer.text() == "" and "You are muted for another 9 minutes" in eve.say("hi")
    clock.advance(540)
    assert eve.peer.text() == "*** Your mute has ended: you can speak again.\r\n"


def test_a_mute_kept_from_before_a_restart_ends_with_its_person_told(hall, store, clock):
    store.add_mute(Mute(name_key("eve"), "eve", "alice", "", clock.seconds(), clock.seconds() + 30))
    hall.restore()
    eve = chatter(hall, "eve")
    assert "You are muted for another 30 seconds" in eve.say("hi")
    clock.advance(30)
    assert eve.peer.text() == "*** Your mute has ended: you can speak again.\r\n"


# Read again from the store.


class HeldStore(MemoryStore):
    """A store whose reads of the bans and mutes answer only when the test says (`answer`), each with the store
    as it was when it was asked: SqliteStore's one thread reads and writes in the order they were asked.

    With `hold_writes`, the writes of bans and mutes also wait (`write`): a pool of connections may finish a
    write after a read that was asked for later.
    """

    def __init__(self, hold_writes: bool = False):
        super().__init__()
        self.reads: list[tuple[Deferred, list]] = []
        self.writes: list[tuple[Deferred, Deferred]] | None = [] if hold_writes else None

    def bans(self, now):
        return self._held(super().bans(now).result)

    def mutes(self, now):
        return self._held(super().mutes(now).result)

    def _held(self, snapshot: list) -> Deferred:
        read: Deferred = Deferred()
        self.reads.append((read, snapshot))
        return read

    def answer(self) -> None:
        reads, self.reads = self.reads, []
        for read, snapshot in reads:
            read.callback(snapshot)

    def add_ban(self, ban):
        return self._write(lambda: super(HeldStore, self).add_ban(ban))

    def add_mute(self, mute):
        return self._write(lambda: super(HeldStore, self).add_mute(mute))

    def _write(self, work) -> Deferred:
        if self.writes is None:
            return work()
        written: Deferred = Deferred()
        self.writes.append((work, written))
        return written

    def write(self) -> None:
        writes, self.writes = self.writes, []
        for work, written in writes:
            work().chainDeferred(written)


def banned(hall: Hall, name: str, host: str) -> bool:
    """Whether a newcomer from `host` is shown out at once, or, from elsewhere, refused the name `name`."""
    at_the_door = Person(hall, host).peer.disconnected
    return at_the_door and "is banned" in Person(hall, "10.9.9.9").say(name)


def test_a_ban_made_while_the_store_is_read_is_not_lost_when_the_read_answers(clock):
    store = HeldStore()
    hall = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    alice = operator(hall)
    chatter(hall, "eve", host="10.6.6.6")
    hall.moderation.refresh()  # asked before the ban: its answer has no ban
    alice.say("/ban eve 1h spam")
    store.answer()
    assert banned(hall, "eve", "10.6.6.6")
    hall.moderation.refresh()
    store.answer()  # a read asked after it: the store has it
    assert banned(hall, "eve", "10.6.6.6")


def test_an_unban_made_while_the_store_is_read_does_not_come_back_when_the_read_answers(clock):
    store = HeldStore()
    hall = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    alice = operator(hall)
    chatter(hall, "eve", host="10.6.6.6")
    alice.say("/ban eve 1h spam")
    hall.moderation.refresh()  # asked after the ban, before the unban: its answer has the ban
    assert alice.say("/unban eve") == "*** The ban of eve is lifted.\r\n"
    store.answer()
    assert hall.moderation.bans == []
    assert "Pick a colour" in Person(hall, "10.6.6.6").say("eve")


def test_a_mute_or_unmute_made_while_the_store_is_read_holds_when_the_read_answers(clock):
    store = HeldStore()
    hall = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    alice, eve, bob = operator(hall), chatter(hall, "eve"), chatter(hall, "bob")
    hall.moderation.refresh()
    alice.say("/mute eve 10m")
    store.answer()
    assert "You are muted" in eve.say("hi")
    hall.moderation.refresh()
    alice.say("/unmute eve")
    store.answer()
    bob.peer.text()
    eve.say("free")
    assert "eve: free" in bob.peer.text()


def test_a_ban_written_after_a_read_asked_later_holds_and_then_gives_way_to_the_store(clock):
    """With a pool of connections a write may finish after a later read began: the ban is kept over such a
    read, and only until a read begun after its write shows it; from then the store decides (chatroom-admin
    may lift it)."""
    store = HeldStore(hold_writes=True)
    hall = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    alice = operator(hall)
    chatter(hall, "eve", host="10.6.6.6")
    alice.say("/ban eve spam")  # its write waits
    hall.moderation.refresh()
    store.answer()
    assert banned(hall, "eve", "10.6.6.6")
    store.write()
    hall.moderation.refresh()
    store.answer()
    assert banned(hall, "eve", "10.6.6.6")
    store.lift_bans(name_key("eve"))  # chatroom-admin unban eve
    hall.moderation.refresh()
    store.answer()
    assert hall.moderation.bans == [] and "Pick a colour" in Person(hall, "10.6.6.6").say("eve")


def test_a_mute_and_an_unmute_made_with_chatroom_admin_reach_the_person_online_at_the_next_read(hall, store, clock):
    refreshing(hall, clock)
    eve, bob = chatter(hall, "eve"), chatter(hall, "bob")
    eve.peer.text()
    store.add_mute(Mute(name_key("eve"), "eve", "host", "spam", clock.seconds(), clock.seconds() + 600))
    clock.advance(BANS_REFRESH)
    assert eve.peer.text() == f"*** You have been muted by host for 10 minutes: spam: {MUTED}\r\n"
    assert "You are muted for another" in eve.say("hi")
    clock.advance(BANS_REFRESH)  # the same mute read again: not said again
    assert eve.peer.text() == ""
    store.lift_mute(name_key("eve"))
    clock.advance(BANS_REFRESH)
    assert eve.peer.text() == "*** Your mute was lifted: you can speak again.\r\n"
    bob.peer.text()
    eve.say("thanks")
    assert "eve: thanks" in bob.peer.text()
    clock.advance(600)
    assert eve.peer.text() == ""  # the mute that was lifted never 'ends'


def test_the_reads_stop_with_the_service(hall, store, clock):
    service = refreshing(hall, clock)
    eve = chatter(hall, "eve")
    service.stopService()
    store.add_ban(Ban(NAME, name_key("eve"), "eve", "host", "", clock.seconds(), None))
    clock.advance(10 * BANS_REFRESH)
    assert eve.session.online and clock.getDelayedCalls() == []


def test_a_read_that_fails_is_logged_and_the_reads_go_on(hall, store, clock, monkeypatch):
    from twisted.internet.defer import fail

    refreshing(hall, clock)
    eve = chatter(hall, "eve")
    monkeypatch.setattr(store, "bans", lambda now: fail(OSError("disk gone")))
    clock.advance(BANS_REFRESH)
    monkeypatch.undo()
    store.add_ban(Ban(NAME, name_key("eve"), "eve", "host", "", clock.seconds(), None))
    clock.advance(BANS_REFRESH)
    assert not eve.session.online


def test_a_mute_that_ends_while_a_read_is_out_is_not_brought_back_by_its_answer(clock):
    store = HeldStore()
    hall = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    alice, eve = operator(hall), chatter(hall, "eve")
    hall.moderation.refresh()  # a slow read, asked before the mute
    alice.say("/mute eve 1s")
    eve.peer.text()
    clock.advance(1)
    assert eve.peer.text() == "*** Your mute has ended: you can speak again.\r\n"
    store.answer()
    clock.advance(1)
    assert eve.peer.text() == "" and hall.moderation.mutes == {}


def test_an_error_acting_on_what_was_read_is_logged_and_the_reads_go_on(hall, store, clock, monkeypatch):
    refreshing(hall, clock)
    eve = chatter(hall, "eve")
    store.add_ban(Ban(NAME, name_key("eve"), "eve", "host", "", clock.seconds(), None))
    with monkeypatch.context() as patched:
        patched.setattr(hall, "ban_of", lambda session: 1 / 0)
        clock.advance(BANS_REFRESH)
    assert eve.session.online
    store.lift_bans(name_key("eve"))
    clock.advance(BANS_REFRESH)  # the loop still runs: this read sees the lifting, the next a new ban
    store.add_ban(Ban(NAME, name_key("eve"), "eve", "host", "again", clock.seconds(), None))
    clock.advance(BANS_REFRESH)
    assert not eve.session.online and "(again)" in eve.peer.text()
