"""The login conversation: name, then colour, then the welcome."""

from __future__ import annotations

import pytest

from conftest import PRODUCT_COLOURS, FakePeer


def test_banner_then_name_prompt(hall):
    peer = FakePeer()
    hall.connect(peer)
    text = peer.text()
    assert "Welcome to chatroom" in text
    assert "What is your name?" in text


def test_full_login_shows_welcome_and_tells_the_lobby(hall, make_chatter):
    bob = make_chatter("bob")
    peer = FakePeer()
    session = hall.connect(peer)
    session.line("alice")
    prompt = peer.text()
    assert "Pick a colour" in prompt
    for colour in PRODUCT_COLOURS:
        assert colour in prompt
    session.line("teal")
    welcome = peer.text()
    assert "You are online" in welcome and "/help" in welcome and "@help" in welcome
    assert "Online now: bob." in welcome
    assert "*** bob joined" not in welcome
    assert "alice joined the lobby." in bob.read()
    assert session.colour.name == "teal"


def test_empty_colour_picks_one(hall):
    peer = FakePeer()
    session = hall.connect(peer)
    session.line("alice")
    session.line("")
    assert session.colour is not None and session.online


def test_digits_that_are_not_ascii_are_just_unknown_colours(hall):
    peer = FakePeer()
    session = hall.connect(peer)
    session.line("alice")
    for answer in ("²", "①", "٣"):
        session.line(answer)
        assert "is not one of the colours" in peer.text()


def test_colour_by_number_and_loose_spelling(hall):
    for answer, expected in (
        ("10", "light blue"),
        ("LightBlue", "light blue"),
        ("light-blue", "light blue"),
        ("1", "black"),
    ):
        session = hall.connect(FakePeer())
        session.line(f"user{len(hall.sessions)}")
        session.line(answer)
        assert session.colour.name == expected


def test_unknown_colour_asks_again(hall):
    peer = FakePeer()
    session = hall.connect(peer)
    session.line("alice")
    peer.text()
    session.line("mauve")
    assert "'mauve' is not one of the colours" in peer.text()
    assert not session.online
    session.line("red")
    assert session.online


def test_bad_names_are_refused_with_the_reason_and_asked_again(hall, make_chatter):
    make_chatter("Alice")
    make_chatter("ace")
    cases = {
        "": "cannot be empty",
        "x" * 21: "at most 20 characters",
        "two words": "cannot contain spaces",
        "evil\x1b[2J": "control characters",
        "bob:": "only letters, digits",
        "ALICE": "is taken",
        "ａｌｉｃｅ": "is taken",  # fullwidth look-alike
        "Server": "reserved",
        "all": "@all is a command",  # '@all hi' could never reach them
        "Disconnect": "@disconnect is a command",
        "...": "at least one letter or digit",
        "\u0410lice": "cannot mix writing systems (Cyrillic and Latin)",  # a Cyrillic A
        "1obby": "reserved",  # a digit one for the l of 'lobby'
        "\u0430\u0441\u0435": "looks too much like 'ace'",  # all Cyrillic, not mixed, but the same shapes
    }
    for name, reason in cases.items():
        peer = FakePeer()
        session = hall.connect(peer)
        peer.text()
        session.line(name)
        answer = peer.text()
        assert reason in answer, (name, answer)
        assert "What is your name?" in answer
        assert session.name == ""


@pytest.mark.parametrize("name", ["josé", "jose\u0301", "Zoë", "東京たワ", "Ελένη", "Иван", "x日本", "d2-r2_x.y"])
def test_names_in_one_writing_system_or_written_together_are_welcome(hall, name):
    peer = FakePeer()
    session = hall.connect(peer)
    session.line(name)
    assert session.name == name, peer.text()


def test_a_look_alike_of_someone_online_is_refused_until_they_leave(hall, make_chatter):
    cocoa = make_chatter("cocoa")
    peer = FakePeer()
    hall.connect(peer).line("c\u043ec\u043ea")  # Cyrillic o, twice: mixed, refused anyway
    assert "cannot mix writing systems" in peer.text()
    peer2 = FakePeer()
    impostor = hall.connect(peer2)
    impostor.line("\u0441\u043e\u0441\u043e\u0430")  # all Cyrillic: с о с о а
    assert "looks too much like 'cocoa'" in peer2.text()
    cocoa.session.lost()
    impostor.line("\u0441\u043e\u0441\u043e\u0430")
    assert impostor.name == "\u0441\u043e\u0441\u043e\u0430"


def test_a_name_is_held_while_its_owner_picks_a_colour(hall):
    first = hall.connect(FakePeer())
    first.line("alice")
    peer = FakePeer()
    second = hall.connect(peer)
    second.line("alice")
    assert "is taken" in peer.text()


def test_a_name_is_free_again_after_its_owner_leaves(hall, make_chatter):
    alice = make_chatter("alice")
    alice.session.lost()
    make_chatter("alice")  # would fail to log in if the name were still held


def test_lines_before_login_reach_nobody(hall, make_chatter):
    bob = make_chatter("bob")
    session = hall.connect(FakePeer())
    session.line("hello everyone")  # at the name prompt: a refused name, not a message
    session.line("alice")
    session.line("hello everyone")  # at the colour prompt: an unknown colour
    assert bob.read() == ""
    session.line("red")
    assert "alice joined the lobby." in bob.read()


def test_motd_is_in_the_welcome(clock):
    from chatroom.core.hall import Hall
    from chatroom.core.settings import Settings

    hall = Hall(clock, Settings(motd="Homework is due Friday"))
    peer = FakePeer()
    session = hall.connect(peer)
    session.line("alice")
    session.line("red")
    assert "Homework is due Friday" in peer.text()


def test_a_failing_handler_answers_the_sender_and_keeps_the_session(hall, make_chatter, monkeypatch):
    alice = make_chatter("alice")

    def broken(*args):
        raise RuntimeError("bug")

    monkeypatch.setattr(hall, "say", broken)
    assert "could not handle that line" in alice.say("hello")
    assert alice.session.online
