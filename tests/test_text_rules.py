"""The small rules: cleaning typed text, names, colours, the telnet filter."""

from __future__ import annotations

import pytest

from chatroom.colours import COLOURS, find_colour
from chatroom.names import name_key, user_name_problem
from chatroom.telnet import DO, DONT, IAC, SB, SE, WILL, WONT, TelnetFilter
from chatroom.text import clean_text


@pytest.mark.parametrize(
    "typed, seen",
    [
        ("hello", "hello"),
        ("\x1b[31mred\x1b[0m", "red"),
        ("\x1b[2J\x1b[Hclear screen", "clear screen"),
        ("\x1b]0;new title\x07after", "after"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x9b31mc1 csi", "c1 csi"),
        ("bell\x07", "bell"),
        ("a\rb", "ab"),
        ("helo\x08lo", "hello"),
        ("abc\x7f\x7f\x7f\x7fd", "d"),
        ("tab\there", "tab here"),
        ("\u202eevil\u202c", "evil"),
        ("  padded  ", "padded"),
        ("emoji 👍🏽 and ünïcode", "emoji 👍🏽 and ünïcode"),
    ],
)
def test_clean_text(typed, seen):
    assert clean_text(typed) == seen


def test_names_compare_by_case_and_compatibility_form():
    assert name_key("Alice") == name_key("ALICE") == name_key("ａｌｉｃｅ")
    assert name_key("alice") != name_key("alicia")


@pytest.mark.parametrize("name", ["alice", "Bob_2", "j.doe", "José", "名前", "x" * 20])
def test_good_names(name):
    assert user_name_problem(name) is None


@pytest.mark.parametrize(
    "name", ["", "x" * 21, "a b", "tab\tname", "nul\x00", "esc\x1b", "***", "a:b", "[bot]", "admin", "SERVER"]
)
def test_bad_names(name):
    assert user_name_problem(name)


def test_twelve_colours_by_name_and_number():
    assert [c.name for c in COLOURS] == [
        "black",
        "white",
        "pink",
        "red",
        "orange",
        "yellow",
        "green",
        "cyan",
        "teal",
        "light blue",
        "blue",
        "purple",
    ]
    assert find_colour("Light Blue") is find_colour("lightblue") is find_colour("10") is COLOURS[9]
    assert find_colour("13") is None and find_colour("0") is None and find_colour("mauve") is None


def test_telnet_filter_passes_plain_text_untouched():
    data = b"hello world\r\n"
    assert TelnetFilter().feed(data) == (data, b"")


def test_telnet_filter_refuses_offers_and_ignores_refusals():
    telnet = TelnetFilter()
    data = bytes([IAC, WILL, 31, IAC, DO, 1, IAC, WONT, 3, IAC, DONT, 5]) + b"hi\r\n"
    assert telnet.feed(data) == (b"hi\r\n", bytes([IAC, DONT, 31, IAC, WONT, 1]))


def test_telnet_filter_drops_commands_and_subnegotiation_and_unescapes_iac():
    telnet = TelnetFilter()
    data = (
        b"a"
        + bytes([IAC, 244])
        + b"b"
        + bytes([IAC, SB, 31, 0, 80, IAC, IAC, 0, 24, IAC, SE])
        + b"c"
        + bytes([IAC, IAC])
        + b"d"
    )
    assert telnet.feed(data) == (b"abc\xffd", b"")


def test_telnet_filter_keeps_state_across_reads():
    telnet = TelnetFilter()
    assert telnet.feed(b"x" + bytes([IAC])) == (b"x", b"")
    assert telnet.feed(bytes([WILL])) == (b"", b"")
    assert telnet.feed(bytes([24]) + b"y") == (b"y", bytes([IAC, DONT, 24]))


def test_an_unterminated_subnegotiation_does_not_mute_the_client_forever():
    telnet = TelnetFilter()
    kept, _ = telnet.feed(bytes([IAC, SB]) + b"z" * 2000 + b"\nhello\n")
    assert kept.endswith(b"\nhello\n")
