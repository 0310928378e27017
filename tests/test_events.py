"""Messages as events: one event per message, rendered once for each kind of screen that receives it."""

from __future__ import annotations

import json
import time

import pytest

from chatroom.core.events import terminal, web
from chatroom.core.events.model import Bundle, Chat, Event, History, Members, Name, Notice, Rooms, Stamp, You
from conftest import FakePeer, WebPeer, plain

BLUE_ALICE = {"name": "alice", "colour": "blue"}


def every_kind() -> list[type[Event]]:
    """Every kind a screen renders: not a Bundle, which is its lines, shown as each of them is."""
    found, todo = [], [Event]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return [kind for kind in found if kind is not Bundle]


def test_every_kind_of_event_has_a_rendering_for_each_screen():
    kinds = {kind.kind for kind in every_kind()}
    assert kinds == set(terminal._RENDER) == set(web._FIELDS)


def test_a_line_goes_to_telnet_and_web_users_as_the_same_event_rendered_once_per_screen(make_chatter):
    alice = make_chatter("alice")
    bob, carol = make_chatter("bob", peer=WebPeer), make_chatter("carol", peer=WebPeer)
    dave = make_chatter("dave")
    for person in (alice, bob, carol, dave):
        person.peer.events.clear()
        person.peer.sent.clear()
    alice.session.line("hello <b>there</b>")
    event = dave.peer.events[-1]
    assert all(person.peer.events[-1] is event for person in (alice, bob, carol))  # one event for all
    assert dave.peer.sent[-1] is alice.peer.sent[-1]  # the telnet bytes, made once
    assert bob.peer.sent[-1] is carol.peer.sent[-1]  # the web bytes, made once
    said = json.loads(bob.peer.sent[-1])
    assert said == {
        "type": "chat",
        "id": event.stamp.id,
        "time": round(event.stamp.time, 3),
        "room": "lobby",
        "from": BLUE_ALICE,
        "text": "hello <b>there</b>",
    }
    assert b"\x1b" not in bob.peer.sent[-1]  # no ANSI for the page


def test_ids_grow_with_every_event(make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob", peer=WebPeer)
    bob.peer.sent.clear()
    alice.say("one")
    alice.say("/me waves")
    alice.say("/all three")
    ids = [message["id"] for message in bob.peer.messages()]
    assert ids == sorted(ids) and len(set(ids)) == len(ids) == 3


def test_names_inside_server_text_are_names_on_the_page_and_colours_on_a_terminal(hall):
    page = WebPeer()
    session = hall.connect(page)
    session.line("alice")
    session.line("blue")
    welcome = next(m for m in page.messages() if m["type"] == "notice" and m["lines"][0][0] == "Welcome, ")
    assert welcome["lines"][0] == ["Welcome, ", BLUE_ALICE, "! You are online. Type /help (or @help) for the commands."]
    assert terminal.render(Notice(Stamp(1, 0), (("Welcome, ", Name("alice", session.colour), "!"),))) == (
        b"\x1b[1m***\x1b[0m Welcome, \x1b[38;5;33malice\x1b[0m!\r\n"
    )


def test_the_page_is_asked_for_a_name_then_a_colour_as_prompts(hall):
    page = WebPeer()
    session = hall.connect(page)
    first = page.messages()
    assert first[0]["type"] == "notice" and first[0]["lines"] == ["Welcome to chatroom. Be kind, and please don't "
                                                                  "shout in capitals."]  # fmt: skip
    assert first[1]["type"] == "prompt" and first[1]["asks"] == "name" and first[1]["problem"] is None
    session.line("lobby")
    refused = page.messages()[-1]
    assert refused["asks"] == "name" and refused["problem"] == "The name 'lobby' is reserved."
    session.line("alice")
    colour = page.messages()[-1]
    assert colour["asks"] == "colour"
    assert {"name": "light blue", "colour": "light blue"} in colour["text"]


def test_a_room_keeps_events_and_each_newcomer_sees_them_rendered_for_its_screen(hall, make_chatter):
    alice = make_chatter("alice")
    alice.say("before you came")
    page = WebPeer()
    session = hall.connect(page)
    session.line("carol")
    session.line("red")
    history = next(m for m in page.messages() if m["type"] == "history")
    assert history["room"] == "lobby"
    assert [(line["type"], line["from"]["name"], line["text"]) for line in history["lines"]] == [
        ("chat", "alice", "before you came")
    ]
    dave = FakePeer()
    session = hall.connect(dave)
    session.line("dave")
    session.line("red")
    welcome = dave.text()
    assert "*** The last lines said in the lobby:\r\n[" in welcome
    assert "alice: before you came\r\n*** (end of recent lines)" in welcome


def test_a_page_back_from_a_drop_is_given_only_what_it_missed(make_chatter):
    alice, page = make_chatter("alice"), make_chatter("page", peer=WebPeer)
    alice.say("seen")
    seen = page.peer.messages()[-1]["id"]
    alice.say("missed one")
    alice.say("missed two")
    page.peer.sent.clear()
    page.session.hall.missed(page.session, seen)
    [history] = page.peer.messages()
    assert [line["text"] for line in history["lines"]] == ["missed one", "missed two"]
    page.session.hall.missed(page.session, 2**53)  # above any id (a page's numbers stop there)
    assert page.peer.messages() == []  # nothing missed: nothing sent


def test_panels_are_kept_current_once_per_pass_and_only_for_screens_that_have_them(hall, make_chatter, clock):
    alice = make_chatter("alice", peer=WebPeer)
    bob = make_chatter("bob")
    clock.advance(0)
    alice.peer.messages()
    for name in ("carol", "dave", "erin"):
        make_chatter(name)
    bob.say("/join games")
    assert not [m for m in alice.peer.messages() if m["type"] in ("rooms", "members")]  # nothing yet
    clock.advance(0)  # the end of the reactor pass
    news = alice.peer.messages()
    assert [m["type"] for m in news] == ["rooms", "members"]
    assert [(r["name"], r["count"]) for r in news[0]["rooms"]] == [("lobby", 4), ("games", 1)]
    assert [n["name"] for n in news[1]["names"]] == ["alice", "carol", "dave", "erin"] and news[1]["count"] == 4
    assert not any(isinstance(e, (Rooms, Members, You)) for e in bob.peer.events)  # a terminal has no panels


def test_you_follow_your_own_name_colour_and_room(make_chatter):
    alice = make_chatter("alice", peer=WebPeer)
    alice.peer.sent.clear()
    for line in ("/nick alicia", "/color red", "/join games"):
        alice.session.line(line)
    yous = [m for m in alice.peer.messages() if m["type"] == "you"]
    assert [(y["you"]["name"], y["you"]["colour"], y["room"]) for y in yous] == [
        ("alicia", "blue", "lobby"),
        ("alicia", "red", "lobby"),
        ("alicia", "red", "games"),
    ]


@pytest.mark.parametrize(
    ("line", "kind"),
    [("/me waves", "action"), ("/all to everyone", "all"), ("/nosuch", "error"), ("/time", "notice")],
)
def test_each_command_answers_the_page_in_its_own_kind(make_chatter, line, kind):
    alice = make_chatter("alice", peer=WebPeer)
    alice.peer.sent.clear()
    alice.session.line(line)
    assert alice.peer.messages()[-1]["type"] == kind


def test_a_private_message_names_both_ends(make_chatter):
    alice, bob = make_chatter("alice", peer=WebPeer), make_chatter("bob", "red")
    alice.peer.sent.clear()
    bob.say("/msg alice psst")
    [private] = alice.peer.messages()
    assert private["type"] == "private"
    assert private["from"] == {"name": "bob", "colour": "red"} and private["to"] == BLUE_ALICE
    assert private["text"] == "psst"


def test_a_kick_is_a_goodbye_that_says_the_server_stays(make_chatter):
    alice, shouter = make_chatter("alice"), make_chatter("shouter", peer=WebPeer)
    shouter.say("STOP IT NOW")
    shouter.peer.sent.clear()
    shouter.session.line("I SAID STOP")
    goodbye = shouter.peer.messages()[-1]
    assert goodbye["type"] == "goodbye" and goodbye["will_return"] is False
    assert goodbye["text"] == "You have been kicked for shouting."
    assert shouter.peer.disconnected
    assert "shouter was kicked for shouting." in alice.read()


def test_a_shutdown_is_a_goodbye_that_says_the_server_will_be_back(hall, make_chatter):
    alice = make_chatter("alice", peer=WebPeer)
    alice.peer.sent.clear()
    hall.shutdown()
    goodbye = alice.peer.messages()[-1]
    assert goodbye["type"] == "goodbye" and goodbye["will_return"] is True


def test_history_renders_its_lines_own_renderings():
    stamp = Stamp(9, time.mktime((2026, 12, 1, 14, 3, 0, 0, 0, -1)))
    line = Chat(stamp, "games", Name("alice"), "hi")
    history = History(Stamp(10, stamp.time), "games", "games", (line,))
    assert plain(history.telnet) == (
        "*** The last lines said in games:\r\n[14:03] alice: hi\r\n*** (end of recent lines)\r\n"
    )
    assert json.loads(history.web)["lines"] == [json.loads(line.web)]


# Lines that arrive together (one read of a connection): a run said to a room is one delivery per member.


def say_together(hall, chatter, *lines: str) -> None:
    for session in hall.sessions:
        session.peer.events.clear()
    with hall.together():
        for line in lines:
            chatter.session.line(line)


def test_a_run_of_lines_said_together_is_one_delivery_per_member_with_every_line_in_order(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    say_together(hall, alice, "one", "two", "three")
    for person in (alice, bob):
        assert len(person.peer.events) == 1 and isinstance(person.peer.events[0], Bundle)
    bundle = bob.peer.events[0]
    assert [line.text for line in bundle.lines] == ["one", "two", "three"]
    assert bundle.telnet == b"".join(line.telnet for line in bundle.lines)
    assert alice.peer.sent[0] is bob.peer.sent[0]  # made once for every terminal
    assert [line.text for line in hall.lobby.history][-3:] == ["one", "two", "three"]  # kept line by line


def test_a_single_line_said_together_is_posted_as_itself(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    say_together(hall, alice, "alone")
    assert isinstance(bob.peer.events[0], Chat)


def test_lines_said_outside_together_go_one_by_one(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    bob.peer.events.clear()
    alice.say("one")
    alice.say("two")
    assert [type(event) for event in bob.peer.events] == [Chat, Chat]


def test_a_command_amid_lines_said_together_comes_after_the_lines_before_it(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    say_together(hall, alice, "one", "two", "/me waves", "/msg bob psst", "three", "/who", "four")
    seen = plain(b"".join(bob.peer.sent))
    assert seen.index("alice: two") < seen.index("* alice waves") < seen.index("psst") < seen.index("alice: three")
    own = plain(b"".join(alice.peer.sent))
    assert own.index("alice: three") < own.index("alice, bob") < own.index("alice: four")


def test_a_refusal_amid_lines_said_together_comes_after_the_lines_before_it(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    say_together(hall, alice, "one", "PLEASE LISTEN TO ME", "two", "/nosuch", "three")
    own = plain(b"".join(alice.peer.sent))
    assert own.index("alice: one") < own.index("don't shout") < own.index("alice: two")
    assert own.index("alice: two") < own.index("no command /nosuch") < own.index("alice: three")
    assert "LISTEN" not in plain(b"".join(bob.peer.sent))


def test_a_kick_amid_lines_said_together_comes_after_the_lines_before_it(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    say_together(hall, alice, "one", "STOP SHOUTING NOW", "two", "THIS IS THE LAST TIME", "lost")
    seen = plain(b"".join(bob.peer.sent))
    assert seen.index("alice: one") < seen.index("alice: two") < seen.index("alice was kicked for shouting")
    assert "lost" not in seen and alice.peer.disconnected


def test_lines_said_together_then_a_move_stay_in_the_room_they_were_said_to(hall, make_chatter):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    say_together(hall, alice, "bye lobby", "/join games", "hello games")
    assert "alice: bye lobby" in plain(b"".join(bob.peer.sent))
    assert "hello games" not in plain(b"".join(bob.peer.sent))
    assert [line.text for line in hall.rooms["games"].history] == ["hello games"]


def test_a_page_gets_the_lines_of_a_run_one_by_one(hall, make_chatter):
    from chatroom.adapters.web import WebPeer as RealWebPeer

    sent = []
    page = RealWebPeer.__new__(RealWebPeer)  # only its deliver is under test: it queues each line's JSON
    page._queue = sent.append
    alice = make_chatter("alice")
    make_chatter("bob")
    say_together(hall, alice, "one", "two")
    page.deliver(alice.peer.events[-1])
    assert [json.loads(data)["text"] for data in sent] == ["one", "two"]


def test_the_log_keeps_the_order_of_lines_said_together(hall, make_chatter):
    from loguru import logger

    logged: list[str] = []
    sink = logger.add(lambda message: logged.append(message.record["message"]), level="INFO")
    try:
        alice = make_chatter("alice")
        make_chatter("bob")
        say_together(hall, alice, "first line", "STOP SHOUTING NOW", "second line", "THIS IS THE LAST TIME")
    finally:
        logger.remove(sink)
    said = [line for line in logged if line.startswith("[lobby]") or line.startswith(("alice warned", "alice kicked"))]
    assert said == [
        "[lobby] alice: first line",
        "alice warned for shouting (shout 1)",
        "[lobby] alice: second line",
        "alice kicked for shouting",
    ]


def test_trouble_posting_lines_said_together_is_logged_and_the_next_read_goes_on(hall, make_chatter, monkeypatch):
    alice, bob = make_chatter("alice"), make_chatter("bob")
    monkeypatch.setattr(type(hall.lobby), "post_together", lambda room, lines: 1 / 0)
    say_together(hall, alice, "one", "two")  # does not raise out of together()
    monkeypatch.undo()
    say_together(hall, alice, "three", "four")
    assert "alice: four" in plain(b"".join(bob.peer.sent))
