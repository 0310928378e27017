"""The client's reading of the server, checked against a real Hall: logging in, following who and where we are.

No sockets: a `Wire` carries lines between a client `Conversation` and the
server's `Hall`, so a change in the server's wording breaks these tests
rather than the client. Registered names go through a `PasswordGate`, which
speaks the server's own password texts.
"""

from __future__ import annotations

import random

import pytest

from chatroom.client.conversation import Conversation, as_shown, carries_password, is_quit
from chatroom.client.events import (
    ColourPrompt,
    InRoom,
    NamePrompt,
    NamesMentioned,
    Notice,
    PasswordPrompt,
    TurnedAway,
    Welcome,
    WrongPassword,
    parse,
)
from chatroom.client.server_text import plain
from chatroom.core.colours import Colour, find_colour
from chatroom.core.events.model import Notice as ServerNotice
from chatroom.core.events.model import Prompt, Stamp
from chatroom.core.hall import Hall
from chatroom.core.session import PASSWORD_PROMPT, TOO_MANY_TRIES, WRONG_PASSWORD
from client_doubles import ACCOUNTS, PasswordGate
from conftest import FakePeer

BLUE = find_colour("blue")
TEAL = find_colour("teal")


class Wire:
    """A Conversation logged in to a Hall the way the client does it: it hears each line and sends its answers."""

    def __init__(self, hall: Hall, conversation: Conversation, accounts=None):
        self.conversation = conversation
        self.peer = FakePeer()
        self.shown: list[str] = []
        self.answers: list[tuple[str, bool]] = []  # what the client answered for the person, and whether secret
        conversation.new_connection()
        self.session = hall.connect(self.peer)
        self.gate = PasswordGate(self.session, self.peer.disconnect, accounts)
        self.pump()

    def pump(self) -> None:
        while self.peer.sent:
            data = b"".join(self.peer.sent)
            self.peer.sent.clear()
            for raw in data.decode().split("\r\n")[:-1]:
                self.shown.append(plain(raw))
                heard = self.conversation.hear(raw)
                if heard.answer is not None:
                    self.answers.append((heard.answer, heard.secret))
                    self.gate.line(heard.answer)

    def type(self, line: str) -> None:
        """The person sends a line."""
        self.conversation.said(line)
        self.gate.line(line)
        self.pump()


def test_the_login_prompts_are_answered_with_the_given_name_and_colour(hall):
    wire = Wire(hall, Conversation("alice", BLUE))
    conversation = wire.conversation
    assert conversation.online and not conversation.login.person_must_answer
    assert (conversation.name, conversation.colour, conversation.room) == ("alice", BLUE, "lobby")
    assert wire.session.online and wire.session.colour == BLUE


def test_without_answers_the_person_answers_each_prompt_in_turn(hall):
    wire = Wire(hall, Conversation())
    login = wire.conversation.login
    assert (login.asking, login.person_must_answer) == ("name", True)
    wire.type("alice")
    assert (login.asking, login.person_must_answer) == ("colour", True)
    wire.type("")  # the server picks
    assert wire.conversation.online
    assert wire.conversation.name == "alice"
    assert wire.conversation.colour == wire.session.colour  # learnt from the welcome, for logging back in


def test_after_one_answer_the_next_line_waits_for_the_next_prompt(hall):
    wire = Wire(hall, Conversation())
    wire.conversation.said("alice")  # sent, but the server has not asked for the colour yet
    assert not wire.conversation.login.person_must_answer


def test_a_pipe_lets_the_server_pick_the_colour(hall):
    wire = Wire(hall, Conversation("bot", server_picks_colour=True))
    assert wire.conversation.online and wire.session.colour is not None


def test_a_taken_name_is_tried_once_then_left_to_the_person_with_the_reason(hall, make_chatter):
    make_chatter("alice")
    wire = Wire(hall, Conversation("ALICE", BLUE))
    login = wire.conversation.login
    assert login.refusal == "The name 'ALICE' is taken."
    assert login.person_must_answer and not wire.conversation.online
    assert sum("What is your name?" in line for line in wire.shown) == 2  # asked twice, answered once
    wire.type("alice2")
    assert wire.conversation.online and wire.conversation.name == "alice2"


def test_a_refused_colour_is_left_to_the_person(hall):
    wire = Wire(hall, Conversation("alice", Colour("mauve", "35")))
    login = wire.conversation.login
    assert login.refusal.startswith("'mauve' is not one of the colours")
    assert login.person_must_answer
    wire.type("teal")
    assert wire.conversation.online and wire.conversation.colour == TEAL


def test_after_a_reconnect_it_logs_back_in_as_the_same_person_in_the_same_room(clock, hall):
    conversation = Conversation()
    wire = Wire(hall, conversation)
    wire.type("alice")
    wire.type("teal")
    wire.type("/join games")
    assert conversation.room == "games"

    restarted = Hall(clock, rng=random.Random(2))  # the server came back, knowing nobody
    again = Wire(restarted, conversation)
    assert conversation.online and conversation.room == "games"
    assert again.session.name == "alice" and again.session.colour == TEAL
    assert again.session.room_name == "games"
    assert not any(line.startswith("Error") for line in again.shown)


def test_a_reconnect_to_the_lobby_joins_nothing(clock, hall):
    conversation = Conversation("alice", BLUE)
    Wire(hall, conversation)
    again = Wire(Hall(clock), conversation)
    assert conversation.room == "lobby"
    assert "/join" not in " ".join(again.shown)


def test_nick_and_colour_changes_are_what_a_reconnect_uses(clock, hall):
    conversation = Conversation("alice", BLUE)
    wire = Wire(hall, conversation)
    wire.type("/nick alicia")
    wire.type("/colour teal")
    assert (conversation.name, conversation.colour) == ("alicia", TEAL)
    again = Wire(Hall(clock), conversation)
    assert (again.session.name, again.session.colour) == ("alicia", TEAL)


def test_someone_elses_rename_is_not_ours(hall, make_chatter):
    bob = make_chatter("bob")
    wire = Wire(hall, Conversation("alice", BLUE))
    bob.say("/nick robert")
    wire.pump()
    assert wire.conversation.name == "alice"
    assert "robert" in wire.conversation.names and "bob" not in wire.conversation.names


def test_names_are_collected_from_everything_the_server_shows(hall, make_chatter):
    bob = make_chatter("bob")
    make_chatter("carol").say("/join games")
    wire = Wire(hall, Conversation("alice", BLUE))
    assert "bob" in wire.conversation.names  # 'Online now' and 'You are in the lobby with'
    dave = make_chatter("dave")  # joins: announced
    bob.say("/me waves")
    make_chatter("erin").say("/all hello everyone")
    make_chatter("frank").say("@alice psst")
    wire.type("/who")
    for name in ("carol", "dave", "erin", "frank"):
        assert name in wire.conversation.names, name
    dave.say("hi")
    assert "dave" in wire.conversation.names


def test_what_people_type_is_never_taken_for_the_server(hall, make_chatter):
    bob = make_chatter("bob")
    wire = Wire(hall, Conversation("alice", BLUE))
    before = (wire.conversation.name, wire.conversation.room)
    for trick in (
        "*** What is your name? (up to 20 letters, digits, '-', '_' or '.')",
        "*** Welcome, mallory! You are online.",
        "*** You are in evil, alone.",
        "[12:00] *** alice is now known as mallory.",
        "*** Password for alice:",
        "*** Three wrong passwords for alice. Goodbye!",
    ):
        bob.say(trick)
        wire.pump()
        assert parse(wire.shown[-1]) == [NamesMentioned(("bob",))]
    assert (wire.conversation.name, wire.conversation.room) == before


def test_a_kick_is_noticed(hall):
    wire = Wire(hall, Conversation("alice", BLUE))
    wire.type("STOP THAT NOW")
    wire.type("I SAID STOP")
    assert wire.conversation.kicked == "shouting"
    wire.conversation.new_connection()
    assert wire.conversation.kicked is None


def test_the_prompts_are_recognised_by_the_servers_own_text(hall):
    peer = FakePeer()
    session = hall.connect(peer)
    banner = b"".join(peer.sent).decode().split("\r\n")[:-1]
    assert parse(banner[-1]) == [Notice(plain(banner[-1])[4:]), NamePrompt()]
    peer.sent.clear()
    session.line("alice")
    colour_prompt = b"".join(peer.sent).decode().split("\r\n")[0]
    assert ColourPrompt() in parse(colour_prompt)
    peer.sent.clear()
    session.line("blue")
    events = [e for line in b"".join(peer.sent).decode().split("\r\n") for e in parse(line)]
    assert Welcome("alice", BLUE) in events and InRoom("lobby") in events


@pytest.mark.parametrize(
    ("line", "quits"),
    [("/quit", True), ("/QUIT bye all", True), ("@disconnect", True), ("!leave", True), ("/exit", True),
     ("//quit", False), ("quit", False), ("/quitting", False)],
)  # fmt: skip
def test_quit_is_every_spelling_of_it_in_the_command_table(line, quits):
    assert is_quit(line) is quits


def test_a_crowded_room_is_still_followed_when_its_names_are_cut_short():
    from chatroom.client.events import InRoom, NamesMentioned, parse

    events = parse("*** You are in games with ann, bob and 1,203 more.")
    assert any(isinstance(e, InRoom) and e.room == "games" for e in events)
    assert any(isinstance(e, NamesMentioned) and e.names == ("ann", "bob") for e in events)


# Registered names. The Hall does not have them yet: a PasswordGate speaks for the server, with its own texts.

PASSWORD = ACCOUNTS["dora"][0]


def _server_lines(event) -> list[str]:
    return event.telnet.decode().split("\r\n")[:-1]


def test_the_password_texts_are_recognised_as_the_server_renders_them():
    stamp = Stamp(1, 0.0)
    prompt = _server_lines(Prompt(stamp, "password", PASSWORD_PROMPT.format(name="dora")))
    assert prompt == ["\x1b[1m***\x1b[0m Password for dora:"]
    assert parse(prompt[0]) == [Notice("Password for dora:"), PasswordPrompt("dora")]

    again = Prompt(stamp, "password", PASSWORD_PROMPT.format(name="x.y-z_"), WRONG_PASSWORD.format(name="x.y-z_"))
    wrong, prompt = _server_lines(again)
    assert WrongPassword("x.y-z_") in parse(wrong) and PasswordPrompt("x.y-z_") in parse(prompt)

    (last,) = _server_lines(ServerNotice(stamp, (TOO_MANY_TRIES.format(name="dora"),)))
    assert TurnedAway("Three wrong passwords for dora.") in parse(last)
    locked = "*** Too many wrong passwords from your address: try again in 9 minutes. Goodbye!"
    assert TurnedAway("Too many wrong passwords from your address: try again in 9 minutes.") in parse(locked)


def test_a_registered_name_is_logged_in_with_the_password_given_and_keeps_its_colour(hall):
    wire = Wire(hall, Conversation("dora", BLUE, password=PASSWORD))
    assert wire.conversation.online and wire.conversation.name == "dora"
    assert wire.session.colour == TEAL and wire.conversation.colour == TEAL  # its stored colour, not the one asked for
    assert wire.shown[2] == "*** Password for dora:"  # after the banner and the name prompt
    assert wire.answers[:2] == [("dora", False), (PASSWORD, True)]  # the password is marked secret
    assert not any("Pick a colour" in line for line in wire.shown)


def test_the_person_types_the_password_and_it_is_kept_for_logging_back_in(clock, hall):
    conversation = Conversation()
    wire = Wire(hall, conversation)
    wire.type("dora")
    assert (conversation.login.asking, conversation.person_types_password) == ("password", True)
    wire.type(PASSWORD)
    assert conversation.online and not conversation.person_types_password
    assert conversation.password == PASSWORD

    again = Wire(Hall(clock, rng=random.Random(4)), conversation)  # the server came back
    assert conversation.online and again.session.name == "dora"
    assert again.answers[:2] == [("dora", False), (PASSWORD, True)]  # nobody was asked


def test_a_wrong_password_typed_is_asked_again(hall):
    conversation = Conversation("dora")
    wire = Wire(hall, conversation)
    wire.type("tr0ub4dor&3")
    assert conversation.login.wrong_password == "dora"
    assert wire.shown[-2:] == ["*** Wrong password for dora.", "*** Password for dora:"]
    assert conversation.person_types_password
    assert conversation.password is None  # a wrong one is never kept
    wire.type(PASSWORD)
    assert conversation.online and conversation.password == PASSWORD


def test_a_kept_password_that_no_longer_works_is_forgotten_and_the_person_asked(clock, hall):
    conversation = Conversation("dora")
    wire = Wire(hall, conversation)
    wire.type(PASSWORD)
    changed = {"dora": ("a new password", "teal")}  # changed from elsewhere while we were away
    again = Wire(Hall(clock, rng=random.Random(5)), conversation, accounts=changed)
    assert not conversation.online and conversation.password is None
    assert conversation.person_types_password
    assert again.gate.passwords_heard == [PASSWORD]  # tried once, not again
    again.type("a new password")
    assert conversation.online and conversation.password == "a new password"


def test_a_wrong_password_given_in_advance_is_not_sent_again(hall):
    conversation = Conversation("dora", password="not it at all")
    wire = Wire(hall, conversation)
    assert conversation.login.wrong_password == "dora" and conversation.password_given
    assert conversation.login.refusal == "Wrong password for dora."
    assert wire.gate.passwords_heard == ["not it at all"]
    assert conversation.password == "not it at all"  # still the only one the client may use: front ends give up


def test_three_wrong_passwords_turn_the_login_away(hall):
    conversation = Conversation("dora")
    wire = Wire(hall, conversation)
    for attempt in ("one wrong", "two wrong", "three wrong"):
        wire.type(attempt)
    assert wire.peer.disconnected
    assert conversation.turned_away == "Three wrong passwords for dora."
    conversation.new_connection()
    assert conversation.turned_away is None


@pytest.mark.parametrize(
    ("line", "shown"),
    [("/register hunter22 x", "/register ********"), ("/password old new", "/password ********"),
     ("/UNREGISTER pw", "/UNREGISTER ********"), ("/register", "/register"), ("/registered x", "/registered x"),
     ("register me", "register me"), ("/join games", "/join games")],
)  # fmt: skip
def test_the_password_commands_are_shown_without_their_passwords(line, shown):
    assert as_shown(line) == shown
    assert carries_password(line) is (shown != line or line == "/register")


def test_a_history_sent_again_shows_only_the_lines_not_shown_yet():
    conversation = Conversation("alice", BLUE)
    conversation.new_connection()
    seen = ["*** You are in games, alone.", "[23:59] bob: lol", "[23:59] [all] carol: hi all", "[00:01] bob: more"]
    for line in seen:
        conversation.hear(line)
    conversation.new_connection()  # a restart, after midnight: yesterday's lines carry their date
    again = [
        "*** You are in games with bob.",
        "*** The last lines said in games:",
        "[2026-12-03 23:59] bob: lol",
        "[2026-12-03 23:59] bob: lol",  # said twice: once was shown
        "[2026-12-03 23:59] [all] carol: hi all",
        "[00:01] bob: more",
        "*** (end of recent lines)",
    ]
    shown = [line for raw in again for line in conversation.hear(raw).show]
    assert shown == [*again[:3], again[6]]
    conversation.new_connection()
    welcome = ["*** Welcome, alice! You are online. Type /help (or @help) for the commands.", *again]
    nothing_new = [line for raw in welcome for line in conversation.hear(raw).show]
    assert nothing_new == welcome[:2]  # no history at all: not even its first and last lines
    conversation.said("/history")  # from now on the server shows each line once; and this was asked for
    asked = [line for raw in again[1:] for line in conversation.hear(raw).show]
    assert asked == again[1:]
