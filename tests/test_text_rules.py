"""The small rules: cleaning typed text, names, colours."""

from __future__ import annotations

import pytest

from chatroom.core.colours import COLOURS, find_colour
from chatroom.core.names import name_key, user_name_problem
from chatroom.core.text import clean_text
from conftest import PRODUCT_COLOURS


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
        ("a\rb", "a b"),
        ("hi" + " " * 200 + "[12:00] bob: fake", "hi [12:00] bob: fake"),  # no wrapping onto a row of its own
        ("a\u2028[12:00] bob: hi", "a [12:00] bob: hi"),
        ("zero\u200bwidth\u00adsoft", "zerowidthsoft"),
        ("c1\x85\x9dcontrols", "c1 controls"),  # NEL is a line break, so a space
        ("family 👨\u200d👩\u200d👧 stays", "family 👨\u200d👩\u200d👧 stays"),
        ("helo\x08lo", "hello"),
        ("abc\x7f\x7f\x7f\x7fd", "d"),
        ("tab\there", "tab here"),
        ("\u202eevil\u202c", "evil"),
        ("\u2069\u2067isolates\u2068 and \u200fmarks\u200e", "isolates and marks"),  # nobody reorders others' text
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
    "name",
    [
        "",
        "x" * 21,
        "a b",
        "tab\tname",
        "nul\x00",
        "esc\x1b",
        "***",
        "a:b",
        "[bot]",
        "admin",
        "SERVER",
        "...",
        "-_-",
        "bob\u034f",
        "\u3164",
        "\u0301bob",
        "b\u200bob",
    ],
)
def test_bad_names(name):
    assert user_name_problem(name)


def test_black_is_painted_on_a_light_background_so_a_dark_terminal_shows_it():
    parameters = find_colour("black").paint("eve").removeprefix("\x1b[").split("m")[0].split(";")
    assert "30" in parameters and ("47" in parameters or "107" in parameters)


def test_twelve_colours_by_name_and_number():
    assert tuple(c.name for c in COLOURS) == PRODUCT_COLOURS
    assert find_colour("Light Blue") is find_colour("lightblue") is find_colour("10") is COLOURS[9]
    assert find_colour("13") is None and find_colour("0") is None and find_colour("mauve") is None
