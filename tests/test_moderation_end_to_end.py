"""Moderation by people, over real sockets against a real twistd on a real SQLite file.

An operator made with chatroom-admin kicks, mutes, bans (for seconds and for
good) from a line client; the banned come back from the same address and from
another (127.0.0.2 and up are this machine too), under the same name, a
look-alike and another; the server restarts and the bans and mutes hold; a
non-operator tries every operator command; a room's owner locks it and invites
a friend. The log says who did what.

The operator comes from an address of their own: an address ban covers
everyone from that address (README), which is whom these tests look at.
"""

from __future__ import annotations

import re
import signal
import time

import pytest
from moderation_lab import LEFT, WAIT, Lab, comes_in, refused_at_connect

from chatroom.core.commands import COMMANDS, OPERATORS
from chatroom.core.operators import BANS_REFRESH
from conftest import plain

PASSWORD = "Alice-Pass-5150"
OP, EVE, BOB, CAROL, ELSEWHERE = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"
MUTED = rf"Error: You are muted {LEFT}: your line was not sent\. Private messages still go\."
OPERATOR_EVENTS = r"event=(kick|ban|mute|unban|unmute|announce|motd|moderate) "


@pytest.fixture
def chat(lab):
    """A running server whose store has one operator, alice (made with chatroom-admin before it started)."""
    lab.make_operator("alice", PASSWORD)
    lab.start("--flood-burst", "100")  # the tests type faster than people, and check each answer with a /time
    return lab


def logged(lab: Lab, pattern: str) -> None:
    """A WARNING line of the log, its fields and its words, matches `pattern` (after the time and level)."""
    lab.log_text(r"^\S+ \S+ \| WARNING \| " + pattern + "$")


# An operator at work.


def test_an_operator_kicks_and_the_person_and_their_room_are_told_why_and_by_whom(chat):
    alice = chat.connect(OP).log_in("alice", PASSWORD)
    eve = chat.connect(EVE).login("eve")
    bob = chat.connect(BOB).login("bob")
    alice.send("/kick eve spamming links")
    eve.expect(r"\*\*\* You have been kicked by alice: spamming links\.\r\n")
    assert eve.closed()
    bob.expect(r"\*\*\* eve was kicked by alice \(spamming links\)\.")
    alice.expect(r"eve is kicked\.")
    assert "eve" not in alice.ask("/who").split("online:")[1]
    back = chat.connect(EVE).login("eve")  # a kick is not a ban: she may come straight back
    assert "Online now: alice, bob." in back.welcome
    logged(chat, r"event=kick user=eve by=alice room=lobby \| alice kicked eve \(spamming links\)")


def test_a_mute_for_seconds_stops_room_lines_and_all_but_not_private_messages_then_ends(chat):
    alice = chat.connect(OP).log_in("alice", PASSWORD)
    eve = chat.connect(EVE).login("eve")
    bob = chat.connect(BOB).login("bob")
    muted_at = time.time()
    alice.send("/mute eve 5s calm down")
    eve.expect(r"You have been muted by alice for 5 seconds: calm down: you cannot speak in rooms or to all; "
               r"private messages still go\.")  # fmt: skip
    alice.expect(r"eve is muted for 5 seconds\.")
    for line in ("anyone there?", "/all hello every room", "/me stamps her feet", "@all hello"):
        assert re.search(MUTED, eve.ask(line)), line
    eve.send("/msg bob psst, I am muted")
    bob.expect(r"\[private\] eve -> bob: psst, I am muted")
    eve.expect(r"\[private\] eve -> bob: psst, I am muted")
    bob.send("/reply I see")
    eve.expect(r"\[private\] bob -> eve: I see")
    eve.expect(r"\*\*\* Your mute has ended: you can speak again\.\r\n")  # told, without having to try
    assert time.time() - muted_at >= 4.5  # it lasted its time
    eve.send("can you hear me now?")
    bob.expect(r"eve: can you hear me now\?")
    heard = plain(bob.raw)
    for line in ("anyone there?", "hello every room", "stamps her feet", "hello"):
        assert f"eve: {line}" not in heard and f"eve {line}" not in heard
    logged(chat, r"event=mute user=eve by=alice \| alice muted eve for 5 seconds \(calm down\)")

    alice.send("/mute eve")  # for good, until lifted
    eve.expect(r"You have been muted by alice until it is lifted: you cannot speak")
    assert re.search(r"Error: You are muted until it is lifted: your line was not sent\.", eve.ask("still?"))
    alice.send("/unmute eve")
    eve.expect(r"alice lifted your mute: you may speak again\.")
    alice.expect(r"eve may speak again\.")
    eve.send("thank you")
    bob.expect("eve: thank you")
    logged(chat, r"event=unmute user=eve by=alice \| alice unmuted eve")


def test_a_ban_for_seconds_shuts_out_the_name_and_the_address_and_ends_by_itself(chat):
    server = chat.server
    alice = chat.connect(OP).log_in("alice", PASSWORD)
    eve = chat.connect(EVE).login("eve")
    bob = chat.connect(BOB).login("bob")
    banned_at = time.time()
    alice.send("/ban eve 6s cool off")
    eve.expect(r"You have been banned by alice for 6 seconds: cool off\. Goodbye!\r\n")
    assert eve.closed()
    bob.expect(r"eve was banned by alice \(cool off\)\.")
    alice.expect(r"eve is banned for 6 seconds, and the address they came from\.")
    assert "Server time" in bob.fence()  # bob, from another address, stays

    # Her address: one line saying for how long still, then closed, before any name is asked.
    refused = refused_at_connect(server.port, EVE)
    assert re.fullmatch(r"\*\*\* Your address is banned from this server for another [1-6] seconds? \(cool off\)\. "
                        r"Goodbye!\r\n", refused), refused  # fmt: skip
    # Her name, from another address: refused at the name prompt, which asks again.
    elsewhere = chat.connect(ELSEWHERE)
    elsewhere.expect("What is your name")
    elsewhere.send("eve")
    elsewhere.expect(rf"\*\*\* The name eve is banned {LEFT} \(cool off\)\.\r\n\*\*\* What is your name")

    back = comes_in(server.port, EVE)  # the ban ends by itself
    assert time.time() - banned_at >= 5.5
    back.send("eve")
    back.expect("Pick a colour")  # her name too
    back.send("")
    back.expect("You are in the lobby")
    logged(chat, r"event=ban user=eve by=alice kind=name \| alice banned eve for 6 seconds \(cool off\)")
    logged(chat, r"event=ban user=127\.0\.0\.3 by=alice kind=address \| alice banned 127\.0\.0\.3 for 6 seconds "
                 r"\(cool off\)")  # fmt: skip


def test_a_ban_for_good_is_listed_and_lifted_by_name_and_by_address(chat):
    server = chat.server
    alice = chat.connect(OP).log_in("alice", PASSWORD)
    eve = chat.connect(EVE).login("eve")
    alice.send("/ban eve being rude")
    eve.expect(r"You have been banned by alice until it is lifted: being rude\. Goodbye!")
    alice.expect(r"eve is banned until it is lifted, and the address they came from\.")
    assert alice.ask("/bans") == (
        "*** Bans in force:\r\n"
        "***   eve (name) until it is lifted, by alice: being rude\r\n"
        "***   127.0.0.3 (address) until it is lifted, by alice: being rude\r\n"
    )
    assert "until it is lifted (being rude)" in refused_at_connect(server.port, EVE)

    assert alice.ask("/unban 127.0.0.3") == "*** The ban of 127.0.0.3 is lifted.\r\n"
    back = comes_in(server.port, EVE, timeout=5)
    back.send("eve")
    back.expect(r"The name eve is banned until it is lifted \(being rude\)\.")
    assert alice.ask("/unban eve") == "*** The ban of eve is lifted.\r\n"
    back.send("eve")
    back.expect("Pick a colour")
    assert alice.ask("/bans") == "*** No bans are in force.\r\n"
    assert alice.ask("/unban eve") == "*** eve is not banned. /bans lists the bans.\r\n"
    logged(chat, r"event=unban user=127\.0\.0\.3 by=alice \| alice lifted the bans of 127\.0\.0\.3")
    logged(chat, r"event=unban user=eve by=alice \| alice lifted the bans of eve")


def test_announce_motd_and_moderate_reach_everyone_and_are_logged(chat):
    alice = chat.connect(OP).log_in("alice", PASSWORD)
    eve = chat.connect(EVE).login("eve")
    bob = chat.connect(BOB).login("bob")
    eve.send("/join games")  # she owns games
    eve.expect("You are in games, alone.")

    alice.send("/announce the server restarts at noon")
    for person in (alice, eve, bob):
        person.expect(r"\*\*\* Announcement from alice: the server restarts at noon\r\n")

    assert alice.ask("/motd Be kind to each other") == "*** The message of the day is now: Be kind to each other\r\n"
    assert "Be kind to each other" in chat.connect(CAROL).login("carol").welcome
    alice.fence()
    assert alice.ask("/motd") == "*** There is no message of the day now.\r\n"
    assert "Be kind to each other" not in chat.connect(ELSEWHERE).login("dave").welcome

    alice.send("/moderate on")
    for person in (eve, bob):
        person.expect(r"alice asks for quiet: until it ends, only operators and room owners speak\.")
    quiet = r"Error: While the chat is moderated only operators and room owners speak: your line was not sent\."
    assert re.search(quiet, bob.ask("may I?"))
    assert re.search(quiet, bob.ask("/all may I?"))
    assert re.search(quiet, eve.ask("/all owners speak in their rooms only"))
    eve.send("in my own room I may")
    eve.expect("eve: in my own room I may")
    alice.send("quiet please, everyone")
    bob.expect("alice: quiet please, everyone")
    alice.send("/moderate off")
    bob.expect(r"alice ended the quiet: everyone may speak again\.")
    bob.send("thanks")
    alice.expect("bob: thanks")
    assert "may I?" not in plain(alice.raw)

    logged(chat, r"event=announce by=alice \| alice announced: the server restarts at noon")
    logged(chat, r"event=motd by=alice \| alice set the message of the day: Be kind to each other")
    logged(chat, r"event=moderate by=alice \| alice turned moderation on")
    logged(chat, r"event=moderate by=alice \| alice turned moderation off")


def test_an_operators_ban_does_not_throw_out_the_operator_who_made_it(chat):
    """A host and a rude user on one machine (or one school's NAT): the ban covers the address they share."""
    alice = chat.connect("127.0.0.1").log_in("alice", PASSWORD)
    eve = chat.connect("127.0.0.1").login("eve")
    alice.send("/ban eve 10m spamming")
    eve.expect("You have been banned by alice")
    answer = alice.fence()  # the operator is still here to read the answer
    assert "eve is banned for 10 minutes" in answer, answer
    assert "Your address is banned" not in answer
    time.sleep(2 * BANS_REFRESH)  # the server has read the bans again meanwhile, and shown out whom they cover
    assert "Server time" in alice.fence()
    assert "alice was banned" not in chat.log.read_text()


# Bans that last.


def test_bans_and_mutes_survive_a_restart_and_a_timed_one_still_ends_by_itself(chat):
    alice = chat.connect(OP).log_in("alice", PASSWORD)
    eve = chat.connect(EVE).login("eve")
    sam = chat.connect(CAROL).login("sam")
    bob = chat.connect(BOB).login("bob")
    alice.send("/ban eve being rude")
    eve.expect("You have been banned by alice")
    banned_at = time.time()
    alice.send("/ban sam 30s cool off")
    sam.expect("You have been banned by alice")
    alice.send("/mute bob no more spam")
    bob.expect("You have been muted by alice")
    alice.fence()
    assert chat.stop() in (0, -signal.SIGTERM)  # twistd re-raises the signal that stopped it

    server = chat.start()  # the same --db
    assert refused_at_connect(server.port, EVE) == (
        "*** Your address is banned from this server until it is lifted (being rude). Goodbye!\r\n"
    )
    sams = refused_at_connect(server.port, CAROL)
    assert re.fullmatch(rf"\*\*\* Your address is banned from this server {LEFT} \(cool off\)\. Goodbye!\r\n",
                        sams), sams  # fmt: skip

    elsewhere = chat.connect(ELSEWHERE)  # her name, from an address nobody banned
    elsewhere.expect("What is your name")
    for name in ("eve", "EVE", "ｅｖｅ"):  # the name and its look-alikes
        elsewhere.send(name)
        elsewhere.expect(r"\*\*\* The name eve is banned until it is lifted \(being rude\)\.\r\n\*\*\* What is your")
    elsewhere.send("evelyn")  # another name from there is fine
    elsewhere.expect("Pick a colour")

    bob = chat.connect(BOB).login("bob")
    assert re.search(r"Error: You are muted until it is lifted: your line was not sent\.", bob.ask("I am back"))

    back = comes_in(server.port, CAROL, timeout=WAIT + 30)  # sam's 30 s end by themselves, restart or not
    assert time.time() - banned_at >= 29
    back.send("sam")
    back.expect("Pick a colour")
    assert refused_at_connect(server.port, EVE).startswith("*** Your address is banned")  # eve's has no end


def test_an_address_ban_seen_from_a_second_loopback_address(chat):
    """eve is banned from 127.0.0.1; she comes back from 127.0.0.2, as someone else and as herself."""
    server = chat.server
    alice = chat.connect("127.0.0.9").log_in("alice", PASSWORD)
    eve = chat.connect("127.0.0.1").login("eve")
    alice.send("/ban eve 10m flooding")
    eve.expect("You have been banned by alice")
    assert "Your address is banned" in refused_at_connect(server.port, "127.0.0.1")

    as_herself = chat.connect("127.0.0.2")
    as_herself.expect("What is your name")
    as_herself.send("eve")
    as_herself.expect(rf"The name eve is banned {LEFT} \(flooding\)\.\r\n\*\*\* What is your name")

    as_another = chat.connect("127.0.0.2").login("not_eve")
    assert "You are in the lobby with alice." in as_another.welcome
    alice.expect("not_eve joined the lobby.")
    assert "Your address is banned" in refused_at_connect(server.port, "127.0.0.1")  # still, under any name


# Who may do it.


def test_a_non_operator_tries_every_operator_command_and_nothing_happens(chat):
    mallory = chat.connect(OP).login("mallory")  # not registered, so not an operator
    eve = chat.connect(EVE).login("eve")
    mallory.fence()
    samples = {
        "/kick": "eve bye",
        "/mute": "eve 10m shh",
        "/unmute": "eve",
        "/ban": "eve 7d gone",
        "/unban": "eve",
        "/bans": "",
        "/announce": "free pizza",
        "/motd": "mallory was here",
        "/moderate": "on",
    }
    operators_commands = [command.name for command in COMMANDS if command.who == OPERATORS]
    assert sorted(operators_commands) == sorted(samples)  # every one of them, and a new one gets tried too
    lines = [f"{name} {samples[name]}".strip() for name in operators_commands]
    for line in lines[:-1]:  # as fast as a paste: within the flood limit's burst
        mallory.send(line)
    assert mallory.ask(lines[-1]) == "".join(f"*** Error: {name} is for operators.\r\n" for name in operators_commands)
    assert "For operators:" not in mallory.ask("/help")

    eve.fence()  # everything sent to her before now has come
    everything_eve_saw = plain(eve.raw)
    for word in ("kicked", "muted", "banned", "pizza", "mallory was here", "quiet"):
        assert word not in everything_eve_saw
    eve.send("still here and not muted")
    mallory.expect("eve: still here and not muted")
    assert "mallory was here" not in chat.connect(CAROL).login("carol").welcome
    assert chat.admin("bans").out == "No bans are in force.\n"
    chat.connect(EVE).login("eve2")  # her address is not banned
    assert not re.search(r"^\S+ \S+ \| WARNING \| " + OPERATOR_EVENTS, chat.log.read_text(), re.MULTILINE)


def test_an_operators_name_with_a_wrong_password_is_no_operator(chat):
    bob = chat.connect(BOB).login("bob")
    guesser = chat.connect(EVE)
    guesser.expect("What is your name")
    guesser.send("alice")
    guesser.expect("Password for alice:")
    guesser.send("Not-Her-Password-1")
    guesser.expect(r"\*\*\* Wrong password for alice\.\r\n\*\*\* Password for alice:")
    guesser.send("/kick bob")  # at the password prompt a line is a password, never a command
    guesser.expect(r"Wrong password for alice\.")
    guesser.send("/op")
    guesser.expect(r"\*\*\* Three wrong passwords for alice\. Goodbye!\r\n")
    assert guesser.closed()
    assert "Server time" in bob.fence()  # nobody was kicked

    other = chat.connect(EVE).login("mallory")  # back under another name
    assert "operator" not in other.welcome
    assert "For operators:" not in other.ask("/help")
    assert other.ask("/kick bob") == "*** Error: /kick is for operators.\r\n"
    assert re.search(r"lobby: bob, mallory\r\n", bob.ask("/who"))  # no @ for anyone
    chat.log_text(r"event=password user=alice addr=127\.0\.0\.3 \| wrong password for alice from 127\.0\.0\.3")
    assert "Not-Her-Password-1" not in chat.log.read_text()

    alice = chat.connect(OP).log_in("alice", PASSWORD)  # the real one still is
    assert "You are an operator" in alice.welcome


# Rooms and their owners.


def test_an_owner_locks_a_room_lets_in_whoever_has_the_key_and_invites_a_friend_once(chat):
    key = "s3cret-Key"
    bob = chat.connect(BOB).login("bob")
    carol = chat.connect(CAROL).login("carol")
    dave = chat.connect(ELSEWHERE).login("dave")
    bob.send("/join games")
    bob.expect("You are in games, alone.")
    bob.send("/lock two words")
    bob.expect("A key is one word, with no spaces.")
    bob.send(f"/lock {key}")
    bob.expect(rf"games is locked: come in with /join games {key}")

    carol.fence()
    assert carol.ask("/join games") == (
        "*** Error: games is locked: come in with /join games KEY, or ask its owner to /invite you.\r\n"
    )
    assert carol.ask("/join games wrong-key") == (
        "*** Error: games is locked: that is not its key, or ask its owner to /invite you.\r\n"
    )
    assert carol.ask("/list") == "*** Rooms: lobby (2), games (1, locked)\r\n"
    carol.send(f"/join games {key}")
    carol.expect("You are in games with bob.")
    bob.expect("carol joined games.")

    bob.send("/invite dave")
    dave.expect(r"bob invites you to games: /join games\r\n")
    bob.expect("dave may come into games once, without its key.")
    dave.send("/join games")
    dave.expect("You are in games with bob, carol.")
    dave.send("/leave")
    dave.expect("You are in the lobby")
    assert "games is locked" in dave.ask("/join games")  # once
    assert dave.ask("/list") == "*** Rooms: lobby (1), games (2, locked)\r\n"

    carol.fence()
    assert carol.ask("/lock mine-now") == "*** Error: /lock is for the owner of games (bob) and for operators.\r\n"
    carol.send("/leave")
    carol.expect("You are in the lobby")
    assert "*** Error: The lobby belongs to everyone: /lock is for the rooms people make." in carol.ask("/lock x")

    alice = chat.connect(OP).log_in("alice", PASSWORD)  # an operator walks into any room
    alice.send("/join games")
    alice.expect("You are in games with bob.")
    alice.send("/unlock")
    bob.expect("alice unlocked the room: anyone may come in.")
    dave.send("/join games")
    dave.expect("You are in games with bob, alice.")

    for person in (carol, dave, alice):
        assert key not in plain(person.raw)  # only the owner was ever told the key
    assert key not in chat.log.read_text()
    chat.log_text(r"event=lock by=bob room=games \| bob locked games")


def test_the_owner_leaving_passes_the_room_to_whoever_has_been_in_longest(chat):
    bob = chat.connect(BOB).login("bob")
    carol = chat.connect(CAROL).login("carol")
    dave = chat.connect(ELSEWHERE).login("dave")
    bob.send("/join games")
    bob.expect("You are in games")
    bob.send("/topic board games only")
    carol.send("/join games")
    carol.expect("Topic: board games only")
    dave.send("/join games")
    dave.expect("You are in games with bob, carol.")
    bob.send("/lock k3y-one")
    bob.expect("games is locked")
    bob.send("/quit")
    assert bob.closed()
    carol.expect(r"You now own games: /topic, /lock, /unlock and /invite are yours\.")
    dave.expect("bob left the chat.")
    assert "You now own" not in dave.fence()
    assert dave.ask("/unlock") == "*** Error: /unlock is for the owner of games (carol) and for operators.\r\n"
    carol.send("/topic anything goes")
    dave.expect("carol set the topic: anything goes")
    carol.send("/unlock")
    dave.expect("carol unlocked the room: anyone may come in.")
    dave.fence()
    assert dave.ask("/list") == "*** Rooms: lobby (0), games (2)\r\n***   games: anything goes\r\n"
    newcomer = chat.connect(BOB).login("erin")
    newcomer.send("/join games")
    newcomer.expect("You are in games with carol, dave.\r\n.*Topic: anything goes")
