"""Moderation by people, in the core: what operators can do, and what everyone else is told."""

from __future__ import annotations

import random

import pytest
from loguru import logger

from chatroom.core.hall import Hall
from chatroom.core.names import name_key
from chatroom.core.operators import BANS_REFRESH
from chatroom.core.settings import Settings
from chatroom.server.service import SanctionsRefresh
from chatroom.store.interface import NAME, Account, Ban
from chatroom.store.memory import MemoryStore
from test_accounts import FAST, Person

OPERATOR_COMMANDS = ["/kick eve", "/mute eve", "/unmute eve", "/ban eve", "/unban eve", "/bans", "/announce hi",
                     "/motd hi", "/moderate on"]  # fmt: skip


@pytest.fixture
def store():
    return MemoryStore()


@pytest.fixture
def hall(clock, store):
    return Hall(clock, Settings(flood_rate=0), rng=random.Random(1), store=store, passwords=FAST)


@pytest.fixture
def log():
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO", format="{extra} | {message}")
    yield lines
    logger.remove(sink)


def operator(hall: Hall, name: str = "alice", host: str = "10.0.0.1") -> Person:
    """Someone the host made an operator (chatroom-admin op), logged in with their password."""
    hall.store.save_account(Account(name_key(name), name, FAST.hasher.hash("op-password"), "red", 0.0, True))
    person = Person(hall, host)
    person.say(name, "op-password")
    return person


def chatter(hall: Hall, name: str, host: str = "10.0.0.9") -> Person:
    person = Person(hall, host)
    person.say(name, "blue")
    return person


def refreshing(hall: Hall, clock) -> SanctionsRefresh:
    """The hall as the server starts it: restored from the store, then its bans and mutes read again every
    BANS_REFRESH seconds (the first read at once)."""
    hall.restore()
    service = SanctionsRefresh(hall, clock)
    service.startService()
    return service


def test_help_shows_operator_commands_to_operators_only(hall):
    alice, eve = operator(hall), chatter(hall, "eve")
    assert "/kick NAME [REASON]" in alice.say("/help") and "For operators:" in alice.say("/help")
    help_text = eve.say("/help")
    assert "/kick" not in help_text and "For operators" not in help_text
    assert "/lock KEY" in help_text  # anyone may own a room


@pytest.mark.parametrize("line", OPERATOR_COMMANDS)
def test_anyone_else_is_told_the_command_is_for_operators(hall, line):
    chatter(hall, "eve")
    bob = chatter(hall, "bob")
    word = line.split()[0]
    assert bob.say(line) == f"*** Error: {word} is for operators.\r\n"
    assert hall.find("eve") is not None and not hall.moderation.bans and not hall.moderation.mutes


def test_an_operator_is_told_so_and_marked_in_who(hall):
    alice = Person(hall)
    hall.store.save_account(Account(name_key("alice"), "alice", FAST.hasher.hash("op-password"), "red", 0.0, True))
    welcome = alice.say("alice", "op-password")
    assert "You are an operator: /help lists what operators can do." in welcome
    chatter(hall, "bob")
    assert "lobby: @alice, bob" in alice.say("/who")


def test_an_operators_wrong_password_is_a_wrong_password(hall):
    operator(hall).say("/quit")
    impostor = Person(hall)
    impostor.say("alice")
    assert impostor.say("guess") == "*** Wrong password for alice.\r\n*** Password for alice:\r\n"
    assert not impostor.session.operator


def test_kick_tells_them_and_their_room_why_and_by_whom(hall, log):
    alice, eve, bob = operator(hall), chatter(hall, "eve"), chatter(hall, "bob")
    alice.peer.text(), bob.peer.text()
    assert "eve is kicked." in alice.say("/kick eve spamming links")
    assert eve.peer.text().endswith("*** You have been kicked by alice: spamming links.\r\n") and eve.peer.disconnected
    assert "eve was kicked by alice (spamming links)." in bob.peer.text()
    assert any("'event': 'kick', 'user': 'eve', 'by': 'alice'" in line for line in log)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("/kick alice", "That is you."),
        ("/kick carol", "carol is an operator: operators are answerable to the host, not to each other."),
        ("/kick nobody", "Nobody called 'nobody' is online. /who lists who is."),
        ("/kick", "Usage: /kick NAME [REASON]"),
        ("/mute bad!name", "A name may use only letters, digits, '-', '_' and '.'."),
    ],
)
def test_operators_cannot_act_on_themselves_other_operators_or_nobody(hall, line, problem):
    alice = operator(hall)
    operator(hall, "carol")
    assert alice.say(line) == f"*** Error: {problem}\r\n"


def test_mute_stops_room_lines_and_all_for_its_time_but_not_private_messages(hall, clock):
    alice, eve, bob = operator(hall), chatter(hall, "eve"), chatter(hall, "bob")
    eve.peer.text()
    assert alice.say("/mute eve 10m being rude") == "*** eve is muted for 10 minutes.\r\n"
    assert eve.peer.text() == ("*** You have been muted by alice for 10 minutes: being rude: you cannot speak in rooms "
                               "or to all; private messages still go.\r\n")  # fmt: skip
    bob.peer.text()
    for line in ("hello?", "/me sulks", "/all anyone?"):
        assert "You are muted for another 10 minutes" in eve.say(line) and "your line was not sent" in eve.say(line)
    clock.advance(570)
    assert "You are muted for another 30 seconds: your line was not sent." in eve.say("now?")
    eve.say("/msg bob sorry")
    assert bob.peer.text().count("sorry") == 1 and "hello?" not in bob.peer.text()
    clock.advance(30)
    assert eve.peer.text() == "*** Your mute has ended: you can speak again.\r\n"  # told, without having to try
    eve.say("I'm back")
    assert "eve: I'm back" in bob.peer.text()


def test_unmute_lifts_it_and_a_mute_follows_the_name(hall):
    alice, bob = operator(hall), chatter(hall, "bob")
    assert alice.say("/mute eve") == "*** eve is muted until it is lifted.\r\n"  # not online: the name is
    eve = chatter(hall, "eve")
    assert "You are muted until it is lifted" in eve.say("hello")
    assert alice.say("/unmute eve") == "*** eve may speak again.\r\n"
    assert "alice lifted your mute" in eve.peer.text()
    eve.say("hello")
    assert "eve: hello" in bob.peer.text()
    assert alice.say("/unmute eve") == "*** Error: eve is not muted.\r\n"


def test_a_ban_shuts_out_the_name_and_its_address_until_it_ends(hall, clock):
    alice, eve = operator(hall), chatter(hall, "eve", host="10.6.6.6")
    assert "*** eve is banned for 2 hours, and the address they came from.\r\n" in alice.say("/ban eve 2h trolling")
    assert eve.peer.text().endswith("*** You have been banned by alice for 2 hours: trolling. Goodbye!\r\n")
    clock.advance(60)
    again = Person(hall, host="10.6.6.6")
    assert again.peer.disconnected and not again.session.online
    assert again.peer.events[-1].text == ("Your address is banned from this server for another 1 hour and 59 "
                                          "minutes (trolling). Goodbye!")  # fmt: skip
    elsewhere = Person(hall, host="10.7.7.7")
    assert "The name eve is banned for another 1 hour and 59 minutes (trolling)." in elsewhere.say("EVE")
    assert "Pick a colour" in elsewhere.say("eve2")
    clock.advance(2 * 3600 - 59)
    assert "Pick a colour" in Person(hall, host="10.6.6.6").say("eve")


def test_bans_lists_them_and_unban_lifts_an_address_alone_or_a_name_with_its_address(hall):
    alice = operator(hall)
    chatter(hall, "eve", host="10.6.6.6")
    alice.say("/ban eve 7d spam")
    assert alice.say("/bans") == (
        "*** Bans in force:\r\n"
        "***   eve (name) for another 1 week, by alice: spam\r\n"
        "***   10.6.6.6 (address) for another 1 week, by alice: spam\r\n"
    )
    assert alice.say("/unban 10.6.6.6") == "*** The ban of 10.6.6.6 is lifted.\r\n"
    assert "The name eve is banned" in Person(hall, "10.6.6.6").say("eve")  # the address alone
    alice.say("/ban mallory", "/unban mallory")
    chatter(hall, "dave", host="10.8.8.8")
    alice.say("/ban dave")
    assert alice.say("/unban dave") == "*** The ban of dave is lifted.\r\n"
    assert "Pick a colour" in Person(hall, "10.8.8.8").say("dave")  # the name, and the address banned with it
    alice.say("/unban eve")
    assert alice.say("/bans") == "*** No bans are in force.\r\n"
    assert alice.say("/unban eve") == "*** eve is not banned. /bans lists the bans.\r\n"


def test_an_operator_bans_the_name_but_not_their_own_address(hall):
    alice = operator(hall, host="10.1.1.1")
    bob = chatter(hall, "bob", host="10.1.1.1")  # behind the same school NAT
    eve = chatter(hall, "eve", host="10.1.1.1")
    assert "(the name only: they came from your own address)" in alice.say("/ban eve")
    assert eve.peer.disconnected and not bob.peer.disconnected and alice.session.online


def test_bans_and_mutes_outlast_a_restart(store, clock):
    before = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    alice = operator(before)
    chatter(before, "eve", host="10.6.6.6")
    alice.say("/ban eve", "/mute bob 1h")
    after = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    after.restore()
    assert Person(after, host="10.6.6.6").peer.disconnected
    assert "You are muted" in chatter(after, "bob").say("hi")


def test_announce_reaches_everyone_online_in_every_room(hall):
    alice, bob, carol = operator(hall), chatter(hall, "bob"), chatter(hall, "carol")
    carol.say("/join games")
    bob.peer.text(), carol.peer.text()
    alice.say("/announce The server restarts at noon.")
    for person in (bob, carol):
        assert person.peer.text() == "*** Announcement from alice: The server restarts at noon.\r\n"


def test_motd_is_set_and_cleared(hall):
    alice = operator(hall)
    assert alice.say("/motd Exams on Friday!") == "*** The message of the day is now: Exams on Friday!\r\n"
    assert "*** Exams on Friday!\r\n" in Person(hall).say("bob", "blue")
    assert alice.say("/motd") == "*** There is no message of the day now.\r\n"
    assert "Exams" not in Person(hall).say("carol", "blue")


def test_moderate_lets_only_operators_and_room_owners_speak(hall):
    alice, bob, carol = operator(hall), chatter(hall, "bob"), chatter(hall, "carol")
    carol.say("/join study")  # carol owns study
    bob.peer.text()
    alice.say("/moderate on")
    assert "alice asks for quiet" in bob.peer.text() and "alice asks for quiet" in carol.peer.text()
    assert "only operators and room owners speak" in bob.say("can I talk?")
    bob.say("/msg carol psst")
    assert "carol: in my own room" in carol.say("in my own room")
    assert "only operators" in carol.say("/all to everyone")  # an owner speaks in their room only
    alice.say("quiet please")
    assert "alice: quiet please" in bob.peer.text()
    alice.say("/moderate off")
    assert "everyone may speak again" in bob.peer.text()
    bob.say("finally")
    assert "bob: finally" in alice.peer.text()
    assert alice.say("/moderate maybe") == "*** Error: Usage: /moderate on|off\r\n"


def test_a_ban_made_beside_the_server_shows_out_whom_it_covers_at_the_next_read_and_only_new_bans_are_checked(
    hall, store, clock, monkeypatch
):
    refreshing(hall, clock)
    eve, bob = chatter(hall, "eve"), chatter(hall, "bob", host="10.0.0.8")
    store.add_ban(Ban(NAME, name_key("eve"), "eve", "admin", "", clock.seconds(), None))  # chatroom-admin's way
    clock.advance(BANS_REFRESH)
    assert eve.peer.disconnected and "The name eve is banned" in eve.peer.text()
    assert not bob.peer.disconnected
    looked_at = []
    monkeypatch.setattr(hall, "ban_of", lambda session: looked_at.append(session))
    clock.advance(BANS_REFRESH)  # the same bans: nobody online needs looking at again
    assert looked_at == []


def ban_name_meanwhile(hall, store, clock, name: str, banned_by: str) -> None:
    if banned_by == "an operator":
        operator(hall).say(f"/ban {name} 1h rude")
    else:
        store.add_ban(Ban(NAME, name_key(name), name, "admin", "", clock.seconds(), None))
        clock.advance(BANS_REFRESH)  # the server reads the bans again while the person is still at a prompt


@pytest.mark.parametrize("banned_by", ["an operator", "chatroom-admin"])
def test_a_name_banned_while_its_owner_types_the_password_does_not_come_in(hall, store, clock, banned_by):
    refreshing(hall, clock)
    store.save_account(Account(name_key("troll"), "troll", FAST.hasher.hash("troll-password"), "red", 0.0, False))
    troll = Person(hall, "10.0.0.66")
    troll.say("troll")  # the password prompt: the name was not banned when it was checked
    ban_name_meanwhile(hall, store, clock, "troll", banned_by)
    troll.session.line("troll-password")
    assert "The name troll is banned" in troll.peer.text() and troll.peer.disconnected
    assert hall.find("troll") is None


@pytest.mark.parametrize("banned_by", ["an operator", "chatroom-admin"])
def test_a_name_banned_while_its_holder_picks_a_colour_does_not_come_in(hall, store, clock, banned_by):
    refreshing(hall, clock)
    eve = Person(hall, "10.0.0.67")
    eve.say("eve")  # the colour prompt
    ban_name_meanwhile(hall, store, clock, "eve", banned_by)
    eve.session.line("blue")
    assert "The name eve is banned" in eve.peer.text() and eve.peer.disconnected
    assert hall.find("eve") is None
