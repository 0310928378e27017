"""Rooms their owners can keep: topics, locks, invitations, and who owns a room when its owner leaves."""

from __future__ import annotations

import random

import pytest

from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from test_accounts import FAST, Person
from test_operators import chatter, operator


@pytest.fixture
def hall(clock):
    return Hall(clock, Settings(flood_rate=0), rng=random.Random(1), passwords=FAST)


@pytest.fixture
def games(hall):
    """bob made games (so he owns it); carol is in the lobby."""
    bob, carol = chatter(hall, "bob"), chatter(hall, "carol")
    bob.say("/join games")
    return bob, carol


def test_whoever_makes_a_room_is_told_they_own_it_and_whoever_comes_in_after_is_not(hall):
    bob, carol = chatter(hall, "bob"), chatter(hall, "carol")
    assert bob.say("/join games") == (
        "*** You are in games, alone.\r\n"
        "*** You own games, as you made it: /topic, /lock, /unlock and /invite are yours.\r\n"
    )
    assert "You own" not in carol.say("/join games")


def test_the_owner_sets_a_topic_shown_to_whoever_comes_in_and_in_list(hall, games):
    bob, carol = games
    assert "*** bob set the topic: Chess on Fridays\r\n" in bob.say("/topic Chess on Fridays")
    assert "Topic: Chess on Fridays" in carol.say("/join games")
    listed = carol.say("/list")
    assert "Rooms: lobby (0), games (2)" in listed and "  games: Chess on Fridays" in listed


def test_a_topic_change_is_told_to_the_room(hall, games):
    bob, carol = games
    carol.say("/join games")
    bob.say("/topic Quiet please")
    assert "*** bob set the topic: Quiet please" in carol.peer.text()
    bob.say("/topic")
    assert "*** bob cleared the topic." in carol.peer.text()
    assert "Topic:" not in chatter(hall, "dave").say("/join games")


def test_only_the_owner_and_operators_may_run_the_owners_commands(hall, games):
    bob, carol = games
    carol.say("/join games")
    for line in ("/topic mine now", "/lock k", "/unlock", "/invite bob"):
        word = line.split()[0]
        assert carol.say(line) == f"*** Error: {word} is for the owner of games (bob) and for operators.\r\n"
    alice = operator(hall)
    alice.say("/join games")
    alice.say("/topic set by an operator")
    assert "alice set the topic: set by an operator" in bob.peer.text()


def test_the_lobby_belongs_to_everyone(hall, games):
    _, carol = games
    assert carol.say("/lock k") == "*** Error: The lobby belongs to everyone: /lock is for the rooms people make.\r\n"
    alice = operator(hall)
    assert "The lobby belongs to everyone" in alice.say("/lock k")  # an operator too


def test_a_locked_room_takes_its_key_and_never_shows_it(hall, games):
    bob, carol = games
    dave = chatter(hall, "dave")
    dave.say("/join games")
    dave.peer.text()
    assert bob.say("/lock s3cret").endswith("*** games is locked: come in with /join games s3cret\r\n")
    told = dave.peer.text()
    assert "*** bob locked the room: coming in takes its key, or an invitation.\r\n" in told
    assert "s3cret" not in told  # the key is for the owner to give
    assert carol.say("/join games") == (
        "*** Error: games is locked: come in with /join games KEY, or ask its owner to /invite you.\r\n"
    )
    assert carol.say("/join games nope") == (
        "*** Error: games is locked: that is not its key, or ask its owner to /invite you.\r\n"
    )
    assert "Rooms: lobby (1), games (2, locked)" in carol.say("/list") and "s3cret" not in carol.say("/list")
    assert "You are in games with bob, dave." in carol.say("/join games s3cret")
    assert dave.session.room.name == "games"  # who was in stays


def test_an_invitation_lets_someone_in_once(hall, games):
    bob, carol = games
    bob.say("/lock s3cret")
    assert bob.say("/invite carol") == "*** carol may come into games once, without its key.\r\n"
    assert carol.peer.text().endswith("*** bob invites you to games: /join games\r\n")
    assert "You are in games with bob." in carol.say("/join games")
    carol.say("/leave")
    assert "games is locked" in carol.say("/join games")
    assert bob.say("/invite nobody") == "*** Error: Nobody called 'nobody' is online. /who lists who is.\r\n"


def test_unlock_opens_it_again(hall, games):
    bob, carol = games
    bob.say("/lock s3cret", "/unlock")
    assert "You are in games with bob." in carol.say("/join games")


def test_operators_come_into_locked_rooms(hall, games):
    bob, _ = games
    bob.say("/lock s3cret")
    assert "You are in games with bob." in operator(hall).say("/join games")


def test_the_room_passes_to_whoever_has_been_in_longest(hall, games):
    bob, carol = games
    dave = chatter(hall, "dave")
    carol.say("/join games")
    dave.say("/join games")
    bob.say("/leave")
    assert "You now own games: /topic, /lock, /unlock and /invite are yours." in carol.peer.text()
    assert "You now own" not in dave.peer.text()
    carol.say("/lock k2")
    assert "carol locked the room" in dave.peer.text()
    assert "games is locked" in bob.say("/join games")


def test_a_key_given_for_a_room_that_does_not_exist_says_so(hall):
    carol = chatter(hall, "carol")
    assert carol.say("/join newroom key") == (
        "*** Error: There is no room newroom to open with a key: /join newroom makes it, and /lock KEY locks it.\r\n"
    )


def test_a_key_is_one_word(hall, games):
    bob, _ = games
    assert bob.say("/lock two words") == "*** Error: A key is one word, with no spaces.\r\n"


def test_the_lobby_has_no_owner_to_pass_on(hall):
    alice = Person(hall)
    alice.say("alice", "blue")
    assert hall.lobby.owner is None
