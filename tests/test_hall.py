"""The chat core, called directly: rooms, messages, commands and their aliases."""

from __future__ import annotations

import re
import time

import pytest

from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from conftest import Chatter, FakePeer, plain

STAMP = r"\[\d\d:\d\d\]"


def test_a_plain_line_goes_to_everyone_in_the_room_with_time_and_name(make_chatter, clock):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    echo = alice.say("hello there")
    expected = time.strftime("[%H:%M]", time.localtime(clock.seconds())) + " alice: hello there\r\n"
    assert bob.read() == expected
    assert echo == expected  # the sender sees how it went out


def test_the_name_is_shown_in_its_colour(make_chatter):
    alice, bob = make_chatter("alice", "red"), make_chatter("bob")
    alice.say("hi")
    assert b"\x1b[38;5;196malice\x1b[0m: hi" in bob.peer.sent[0]


def test_a_broadcast_is_rendered_once_and_shared_by_every_recipient(make_chatter):
    people = [make_chatter(f"user{i}") for i in range(5)]
    people[0].session.line("one line")
    received = [p.peer.sent[-1] for p in people]
    assert all(data is received[0] for data in received)


def test_rooms_keep_their_messages_to_their_members(make_chatter):
    alice, bob, carol = make_chatter("alice"), make_chatter("bob"), make_chatter("carol")
    bob.say("/join games")
    carol.say("/join games")
    alice.read(), bob.read()
    carol.say("in games")
    assert "carol: in games" in bob.read()
    assert alice.read() == ""
    alice.say("in lobby")
    assert bob.read() == "" and carol.read() == ""


def test_join_creates_the_room_and_it_disappears_with_its_last_member(hall, make_chatter):
    alice = make_chatter("alice")
    assert "You are in Games, alone." in alice.say("/join #Games")
    assert "games" in hall.rooms
    assert "Rooms: lobby (0), Games (1)" in alice.say("/list")
    alice.say("/leave")
    assert "games" not in hall.rooms
    assert "Rooms: lobby (1)" in alice.say("/list")


def test_join_and_leave_are_announced_to_the_rooms(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    bob.say("/join games")
    assert "bob left the room." in alice.read()
    assert "You are in games with bob." in alice.say("/join GAMES")
    assert "alice joined games." in bob.read()


def test_join_needs_a_valid_room_name(make_chatter):
    alice = make_chatter("alice")
    assert "Usage: /join ROOM" in alice.say("/join")
    assert "There is no room two to open with a key" in alice.say("/join two words")  # ROOM KEY, see test_rooms
    assert "already in the lobby" in alice.say("/join lobby")
    assert "already in the lobby" in alice.say("/leave")


def test_lobby_history_is_shown_to_a_newcomer(make_chatter, clock):
    alice = make_chatter("alice")
    for i in range(25):
        alice.say(f"line {i}")
        clock.advance(1)  # at a pace the flood limit lets through
    peer = FakePeer()
    session = alice.session.hall.connect(peer)
    session.line("bob")
    session.line("red")
    welcome = peer.text()
    assert "line 4\r\n" not in welcome
    assert "alice: line 5\r\n" in welcome and "alice: line 24\r\n" in welcome
    assert welcome.index("line 5") < welcome.index("line 24")


def test_history_size_is_a_setting(clock):
    hall = Hall(clock, Settings(history=0))
    alice = Chatter(hall, "alice")
    alice.say("before")
    bob_peer = FakePeer()
    bob = hall.connect(bob_peer)
    bob.line("bob")
    bob.line("red")
    assert "before" not in bob_peer.text()


def test_who_lists_everyone_by_room_under_every_spelling(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    bob.say("/join games")
    for spelling in ("/who", "/online", "@online", "/WHO"):
        answer = alice.say(spelling)
        assert "2 online" in answer
        assert "lobby: alice" in answer and "games: bob" in answer


def test_help_lists_every_command_under_both_spellings(make_chatter):
    alice = make_chatter("alice")
    for spelling in ("/help", "@help"):
        answer = alice.say(spelling)
        for command in (
            "/help",
            "/who",
            "/msg",
            "/reply",
            "/all",
            "/join",
            "/leave",
            "/list",
            "/me",
            "/nick",
            "/color",
            "/time",
            "/quit",
        ):
            assert f"  {command}" in answer
        for alias in (
            "@help",
            "/online",
            "@online",
            "@NAME TEXT",
            "!private NAME TEXT",
            "@all TEXT",
            "/colour",
            "/exit",
            "@disconnect",
            "!leave",
        ):
            assert alias in answer


@pytest.mark.parametrize("line", ["/msg bob psst", "@bob psst", "!private bob psst", "/MSG BOB psst"])
def test_private_messages_reach_only_their_recipient_wherever_they_are(make_chatter, line):
    alice, bob, carol = make_chatter("alice"), make_chatter("bob"), make_chatter("carol")
    bob.say("/join games")
    alice.read(), carol.read()
    echo = alice.say(line)
    assert re.fullmatch(STAMP + r" \[private\] alice -> bob: psst\r\n", echo)
    assert bob.read() == echo
    assert carol.read() == ""


def test_private_message_errors_go_to_the_sender_only(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    assert "Nobody called 'zed' is online" in alice.say("/msg zed hi")
    assert "Nobody called 'zed' is online" in alice.say("@zed hi")
    assert "Usage: /msg NAME TEXT" in alice.say("/msg bob")
    assert "Usage: /msg NAME TEXT" in alice.say("@bob")
    assert "That is you." in alice.say("/msg alice hi")
    assert bob.read() == ""


def test_reply_answers_the_last_private_sender(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    assert "Nobody has sent you a private message yet" in bob.say("/reply hi")
    alice.say("@bob are you there?")
    bob.read()
    bob.say("/reply yes")
    assert "[private] bob -> alice: yes" in alice.read()


def test_reply_to_someone_who_left(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("@bob hi")
    alice.session.lost()
    assert "alice is no longer online" in bob.say("/reply hi")


def test_all_reaches_every_room(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    bob.say("/join games")
    for spelling in ("/all", "@all"):
        alice.say(f"{spelling} dinner is ready")
        assert "[all] alice: dinner is ready" in bob.read()


def test_me_shows_an_action(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("/me waves")
    assert re.fullmatch(STAMP + r" \* alice waves\r\n", bob.read())


def test_nick_renames_and_tells_the_room(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("/nick Alicia")
    assert "alice is now known as Alicia." in bob.read()
    assert hall.find("alicia") is alice.session
    assert hall.find("alice") is None
    assert "is taken" in alice.say("/nick BOB")
    assert "cannot contain spaces" in alice.say("/nick a b")
    assert "already Alicia" in alice.say("/nick Alicia")
    make_chatter("alice")  # the old name is free


def test_colour_changes_under_both_spellings(make_chatter):
    alice = make_chatter("alice")
    alice.say("/color green")
    assert alice.session.colour.name == "green"
    alice.say("/colour light blue")
    assert alice.session.colour.name == "light blue"
    assert "'plaid' is not one of the colours" in alice.say("/color plaid")


def test_time_shows_the_server_clock(make_chatter, clock):
    alice = make_chatter("alice")
    assert time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(clock.seconds())) in alice.say("/time")


@pytest.mark.parametrize("spelling", ["/quit", "/exit", "@disconnect", "!leave"])
def test_quit_under_every_spelling_tells_the_room(hall, make_chatter, spelling):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    assert "Goodbye" in alice.say(spelling)
    assert alice.peer.disconnected
    assert "alice left the chat." in bob.read()
    assert hall.find("alice") is None
    assert alice.session not in hall.sessions


def test_a_goodbye_message_is_said_in_the_quitters_own_voice(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("/quit bye). The server is going down. Goodbye!")
    seen = bob.read().splitlines()
    assert re.fullmatch(STAMP + r" alice: bye\)\. The server is going down\. Goodbye!", seen[0])
    assert re.fullmatch(STAMP + r" \*\*\* alice left the chat\.", seen[1])


def test_a_shouted_goodbye_is_moderated_like_any_line(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("WHAT A NOISE")
    alice.say("/quit BYE EVERYONE")
    seen = bob.read()
    assert "alice was kicked for shouting." in seen
    assert "BYE" not in seen


def test_lines_after_quitting_are_ignored(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("/quit")
    alice.say("still here?")
    assert "still here" not in bob.read()


def test_a_dropped_connection_is_announced(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.session.lost()
    alice.session.lost()  # connectionLost after a kick or quit: harmless
    assert bob.read().count("alice left the chat.") == 1


def test_unknown_commands_are_errors_to_the_sender_only(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    assert "There is no command /dance" in alice.say("/dance")
    assert bob.read() == ""


def test_lines_that_only_look_like_commands_are_said(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("!wow")
    alice.say("//shrug")
    alice.say("@ everyone look")
    text = bob.read()
    assert "alice: !wow" in text and "alice: /shrug" in text and "alice: @ everyone look" in text


def test_empty_and_blank_lines_are_not_said(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("")
    alice.say("   \t ")
    assert bob.read() == ""


def test_control_characters_and_escapes_never_reach_others(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("\x1b[2J\x1b[Hhi\x07 there\r*** server: fake")
    line = bob.peer.sent[-1]
    assert b"\x07" not in line and b"\x1b[2J" not in line and b"\r*" not in line
    assert plain(line).startswith("[") and "alice: hi there *** server: fake" in plain(line)


def test_shutdown_tells_everyone_and_disconnects_them(hall, make_chatter):
    people = [make_chatter(n) for n in ("alice", "bob")]
    hall.shutdown()
    for person in people:
        text = person.read()
        assert "The server is going down" in text
        assert "left the chat" not in text
        assert person.peer.disconnected
    assert not hall.sessions and not hall.names and not hall.lobby.members


def test_a_gone_session_lets_go_of_whoever_wrote_to_it(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    alice.say("@bob hi")
    bob.session.lost()
    assert bob.session.reply_to is None


def test_a_big_room_does_not_announce_each_join_and_leave(clock):
    hall = Hall(clock, Settings(announce_limit=3, flood_rate=0))
    first, second = Chatter(hall, "first"), Chatter(hall, "second")
    assert "second joined the lobby" in first.read()
    third = Chatter(hall, "third")  # three in the room: still announced
    assert "third joined the lobby" in first.read()
    fourth = Chatter(hall, "fourth")
    assert "joined" not in first.read()  # four: past the limit
    fourth.session.lost()
    assert "left" not in first.read()
    third.session.lost()  # back to three, counting the one who leaves
    assert "third left the chat" in first.read()
    second.say("still talking")
    assert "second: still talking" in first.read()


def test_a_welcome_to_a_crowd_names_twenty_and_counts_the_rest(clock):
    hall = Hall(clock, Settings(flood_rate=0))
    for i in range(30):
        Chatter(hall, f"user{i}")
    newcomer = hall.connect(FakePeer())
    newcomer.line("newcomer")
    newcomer.peer.sent.clear()
    newcomer.line("red")
    welcome = newcomer.peer.text()
    assert "Online now: user0, user1," in welcome and "user19 and 10 more." in welcome
    assert "You are in the lobby with user0," in welcome and "user20" not in welcome


def test_the_log_says_a_connection_closed_before_login_and_counts_in_good_english(hall, make_chatter):
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(lines.append, format="{message}")
    try:
        at_the_name = FakePeer("10.0.0.7:4000")
        hall.connect(at_the_name).lost()
        make_chatter("alice")
        at_the_colour = FakePeer("10.0.0.8:4000")
        session = hall.connect(at_the_colour)
        session.line("zed")  # a name, then nothing
        session.lost()
        hall.shutdown()
    finally:
        logger.remove(sink)
    text = "".join(lines)
    assert "connection from 10.0.0.7:4000 closed before login" in text
    assert "connection from 10.0.0.8:4000 closed before login" in text
    assert " left the chat" not in text  # nobody without a name left
    assert "shutting down: telling 1 connection\n" in text
