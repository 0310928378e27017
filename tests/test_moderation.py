"""Shouting: what counts, the warning, the kick, and the two options."""

from __future__ import annotations

import pytest

from chatroom.core.hall import Hall
from chatroom.core.moderation import is_shout
from chatroom.core.settings import Settings
from conftest import Chatter


@pytest.mark.parametrize(
    "text, shouts",
    [
        ("HELLO EVERYONE", True),
        ("HELLO", True),
        ("HELLO!!! 123", True),
        ("ÉCOLE ÜBER", True),
        ("OK", False),  # too few letters
        ("HELL", False),
        ("I like NASA", False),
        ("Hello everyone", False),
        ("12345 !!!!!", False),  # no letters at all
        ("中文中文中文", False),  # letters without case
        ("HELLO EVERYONE 中", True),  # ...that cannot hide a shout either
        ("", False),
    ],
)
def test_what_counts_as_a_shout(text, shouts):
    assert is_shout(text, 5) is shouts


def test_first_shout_is_warned_privately_and_not_sent(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    warning = alice.say("HELLO EVERYONE")
    assert "don't shout" in warning and "next shout gets you kicked" in warning
    assert bob.read() == ""
    assert alice.session.online


def test_second_shout_is_kicked_and_the_room_is_told(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("HELLO EVERYONE")
    alice.say("quiet now")
    bob.read()
    assert "kicked for shouting" in alice.say("I SAID HELLO")
    assert alice.peer.disconnected
    assert "alice was kicked for shouting." in bob.read()
    assert hall.find("alice") is None


@pytest.mark.parametrize("line", ["/me SCREAMS LOUDLY", "/all HELLO EVERYONE", "@all HELLO EVERYONE"])
def test_public_commands_are_checked_too(make_chatter, line):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    assert "don't shout" in alice.say(line)
    assert bob.read() == ""


def test_private_messages_are_not_policed(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("@bob HAPPY BIRTHDAY")
    assert "HAPPY BIRTHDAY" in bob.read()


def test_both_numbers_are_settings(clock):
    hall = Hall(clock, Settings(shout_min_letters=3, shout_strikes=3))
    alice = Chatter(hall, "alice")
    assert "2 more shouts" in alice.say("HEY")
    assert "next shout gets you kicked" in alice.say("HEY YOU")
    assert alice.session.online
    alice.say("STOP")
    assert alice.peer.disconnected


def test_one_strike_kicks_at_once(clock):
    hall = Hall(clock, Settings(shout_strikes=1))
    alice = Chatter(hall, "alice")
    assert "kicked for shouting" in alice.say("HELLO EVERYONE")
    assert alice.peer.disconnected
