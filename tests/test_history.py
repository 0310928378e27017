"""History in the core: what rooms said, kept in the store, back after a restart, and /history."""

from __future__ import annotations

import json
import random
import re

import pytest

from chatroom.core import archive
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from chatroom.store.memory import MemoryStore
from conftest import Chatter, WebPeer


@pytest.fixture
def store():
    return MemoryStore()


def hall_on(store, clock, **settings) -> Hall:
    """A hall on `store`, as a server starts: its history back from the store before anyone connects."""
    hall = Hall(clock, Settings(**settings), rng=random.Random(1), store=store)
    hall.restore()
    return hall


def chat(hall: Hall, clock, name: str, *lines: str) -> Chatter:
    person = Chatter(hall, name)
    for line in lines:
        person.say(line)
        clock.advance(1)  # at a pace flood control lets through
    return person


def test_a_restart_gives_the_rooms_their_last_lines_back(store, clock):
    before = hall_on(store, clock)
    chat(before, clock, "alice", "in the lobby", "/join games", "in games", "/me waves in games")
    last_id = before.stamp().id
    after = hall_on(store, clock)
    bob = Chatter(after, "bob")  # Chatter clears the welcome: log in by hand to read it
    welcome = _welcome(after, "carol")
    assert "*** The last lines said in the lobby:\r\n" in welcome and "alice: in the lobby\r\n" in welcome
    assert "in games" not in welcome
    joined = bob.say("/join games")
    assert "alice: in games\r\n" in joined and "* alice waves in games\r\n" in joined
    assert after.stamp().id > last_id  # ids go on from where they were


def test_private_messages_are_never_stored(store, clock):
    hall = hall_on(store, clock)
    alice = chat(hall, clock, "alice")
    chat(hall, clock, "bob", "/msg alice a secret between us", "said aloud")
    assert "a secret" in alice.read()
    assert [line.text for line in store._lines] == ["said aloud"]


def test_a_line_to_all_is_stored_once_and_shown_in_every_room(store, clock):
    hall = hall_on(store, clock)
    chat(hall, clock, "alice", "/join games", "anyone for chess?")
    chat(hall, clock, "bob", "/all hello everyone")
    assert [line.room for line in store._lines] == ["games", "*"]
    after = hall_on(store, clock)
    assert "[all] bob: hello everyone" in _welcome(after, "carol")
    dave = Chatter(after, "dave")
    assert "[all] bob: hello everyone" not in dave.say("/join games")  # the lobby showed it to him
    assert "[all] bob: hello everyone" in dave.say("/history")


@pytest.mark.parametrize("restart", [False, True])
def test_a_room_made_after_a_line_to_all_never_shows_it(store, clock, restart):
    hall = hall_on(store, clock)
    chat(hall, clock, "bob", "/all hello everyone", "/join later", "said in later", "/leave")
    if restart:
        hall = hall_on(store, clock)
    carol = Chatter(hall, "carol")
    later = carol.say("/join later")
    assert "said in later" in later and "hello everyone" not in later
    assert "hello everyone" not in carol.say("/history")
    newest = carol.say("/join newest")
    assert "hello everyone" not in newest + carol.say("/history")


def test_history_shows_the_last_n_lines_with_dates_on_earlier_days(store, clock):
    hall = hall_on(store, clock)
    alice = chat(hall, clock, "alice", *[f"old line {i}" for i in range(3)])
    clock.advance(2 * 86400)
    chat(hall, clock, "bob", *[f"new line {i}" for i in range(3)])
    alice.read()
    shown = alice.say("/history 4")
    lines = shown.splitlines()
    assert lines[0] == "*** The last lines said in the lobby:"
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\d \d\d:\d\d\] alice: old line 2", lines[1])  # another day: dated
    assert [re.fullmatch(r"\[\d\d:\d\d\] bob: new line \d", line) is not None for line in lines[2:5]] == [True] * 3
    assert lines[5] == "*** (end of recent lines)"
    everything = alice.say("/history")  # 50 by default: all there is
    assert everything.count(": old line") == 3 and everything.count(": new line") == 3


@pytest.mark.parametrize("count", ["0", "ten", "-3", "\u00b2"])
def test_history_takes_a_number_of_lines(store, clock, count):
    alice = chat(hall_on(store, clock), clock, "alice")
    assert alice.say(f"/history {count}") == (
        "*** Error: /history takes a number of lines (at most 500); without one it shows 50.\r\n"
    )


@pytest.mark.parametrize("count", ["501", "1000"])
def test_history_of_more_than_500_lines_shows_the_500_allowed_and_says_so(store, clock, count):
    alice = chat(hall_on(store, clock, history=5), clock, "alice", *[f"line {i}" for i in range(510)])
    shown = alice.say(f"/history {count}")
    assert shown.startswith("*** /history shows at most 500 lines.\r\n*** The last lines said in the lobby:\r\n")
    assert shown.count("alice: line") == 500 and "line 9\r\n" not in shown and "line 10\r\n" in shown


def test_history_of_a_room_where_nothing_was_said(store, clock):
    alice = chat(hall_on(store, clock), clock, "alice", "/join quiet")
    assert alice.say("/history") == "*** Nothing has been said in quiet yet.\r\n"


def test_history_reads_beyond_the_lines_kept_in_memory(store, clock):
    hall = hall_on(store, clock, history=5)
    alice = chat(hall, clock, "alice", *[f"line {i}" for i in range(30)])
    shown = alice.say("/history 25")
    assert shown.count("alice: line") == 25 and "line 5\r\n" in shown


def test_a_room_whose_lines_left_memory_gets_them_from_the_store(store, clock, monkeypatch):
    monkeypatch.setattr(archive, "KEPT_ROOMS", 2)
    hall = hall_on(store, clock)
    alice = chat(hall, clock, "alice", "/join first", "said in first", "/join second", "/join third", "/leave")
    assert "first" not in hall.archive._kept  # pushed out of memory by the rooms after it
    bob = Chatter(hall, "bob")
    assert "alice: said in first" in bob.say("/join first")
    carol = Chatter(hall, "carol")
    assert "alice: said in first" in carol.say("/join first")  # and kept in memory again
    alice.read()
    assert "said in first" not in alice.say("/join first")  # she has seen it


def test_the_page_gets_history_as_events_and_can_ask_for_what_it_missed(store, clock):
    hall = hall_on(store, clock)
    chat(hall, clock, "alice", "one", "two", "three")
    page = Chatter(hall, "page", peer=WebPeer)
    page.session.line("/history 2")
    [history] = [json.loads(data) for data in page.peer.sent]
    assert history["type"] == "history" and [line["text"] for line in history["lines"]] == ["two", "three"]
    page.peer.sent.clear()
    hall.missed(page.session, history["lines"][0]["id"])
    [missed] = page.peer.messages()
    assert [line["text"] for line in missed["lines"]] == ["three"]


def _welcome(hall: Hall, name: str) -> str:
    person = Chatter.__new__(Chatter)
    from conftest import FakePeer

    person.peer = FakePeer()
    session = hall.connect(person.peer)
    session.line(name)
    session.line("blue")
    return person.peer.text()


def test_moving_between_rooms_shows_only_the_lines_not_seen_yet(store, clock):
    hall = hall_on(store, clock)
    bob = chat(hall, clock, "bob", "first in the lobby", "/join games", "games one")
    alice = chat(hall, clock, "alice")  # her welcome showed the lobby's lines
    assert "games one" in alice.say("/join games")
    carol = chat(hall, clock, "carol", "said while alice was away")
    carol.say("/all to every room")
    assert "[all] carol: to every room" in alice.read()  # live, in games
    back = alice.say("/leave")
    assert "said while alice was away" in back
    assert "first in the lobby" not in back and "to every room" not in back
    again = alice.say("/join games")
    assert "The last lines" not in again  # nothing new in games: no history at all
    alice.say("/leave")
    bob.say("games two")
    assert re.findall(r"(?:bob|carol): (.*)\r\n", alice.say("/join games")) == ["games two"]
    assert "games one" in alice.say("/history")  # asked for: shown whole


def test_the_lobby_has_every_line_to_every_room_even_one_said_before_anything_else(store, clock):
    hall = hall_on(store, clock)
    chat(hall, clock, "bob", "/all the first words on this server", "/join games", "in games")
    alice = chat(hall, clock, "alice")
    shown = alice.say("/history")
    assert "[all] bob: the first words on this server" in shown and "in games" not in shown
    carol = chat(hall_on(store, clock), clock, "carol")  # after a restart
    assert "[all] bob: the first words on this server" in carol.say("/history")


def test_what_a_session_remembers_of_the_rooms_it_left_stays_bounded(store, clock):
    from chatroom.core.session import SEEN_ROOMS

    hall = hall_on(store, clock, flood_rate=0)
    tourist = Chatter(hall, "tourist")
    for number in range(SEEN_ROOMS + 50):
        tourist.say(f"/join room{number}")
    assert len(tourist.session._seen) == SEEN_ROOMS
    assert "room1" not in tourist.session._seen and f"room{SEEN_ROOMS + 48}" in tourist.session._seen
