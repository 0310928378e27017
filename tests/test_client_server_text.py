"""The client shows the server's colours, and nothing else a server could smuggle into a terminal."""

from __future__ import annotations

import pytest

from chatroom.client.server_text import plain, with_colours

BLUE_ALICE = "\x1b[38;5;33malice\x1b[0m"


@pytest.mark.parametrize(
    "sneaky",
    [
        "\x1b[2J",  # clear the screen
        "\x1b[1;1H",  # move the cursor
        "\x1b]0;owned\x07",  # retitle the window
        "\x1b]8;;http://x\x1b\\",  # a hyperlink
        "\x9b2J",  # 8-bit CSI
        "\x07",  # bell
        "\r",  # back to the start of the line
        "\u202e",  # right-to-left override
        "\x08",  # backspace
    ],
)
def test_only_colour_survives(sneaky):
    line = f"[12:00] {BLUE_ALICE}: hi{sneaky} there"
    assert plain(line) == "[12:00] alice: hi there"
    assert with_colours(line) == f"[12:00] {BLUE_ALICE}: hi there"


def test_text_people_write_is_kept():
    line = "[12:00] ｂｏｂ: naïve 日本語 👩\u200d💻\ttab"
    assert plain(line) == line.replace("\t", " ")
    assert with_colours(line) == line.replace("\t", " ")
