"""The twelve name colours and their ANSI sequences."""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache

from chatroom.core.events.model import Line, Name, Span

RESET = "\x1b[0m"


@dataclass(frozen=True)
class Colour:
    name: str
    sgr: str  # the SGR parameters that select this colour

    def paint(self, text: str) -> str:
        return f"\x1b[{self.sgr}m{text}{RESET}"


COLOURS: tuple[Colour, ...] = (
    Colour("black", "30;47"),  # on light grey, as the page shows it: black on no background vanishes on a dark screen
    Colour("white", "97"),
    Colour("pink", "38;5;213"),
    Colour("red", "38;5;196"),
    Colour("orange", "38;5;208"),
    Colour("yellow", "38;5;226"),
    Colour("green", "38;5;40"),
    Colour("cyan", "38;5;51"),
    Colour("teal", "38;5;30"),
    Colour("light blue", "38;5;117"),
    Colour("blue", "38;5;33"),
    Colour("purple", "38;5;129"),
)

# Black vanishes on a dark terminal, white and yellow on a light one: they are
# never picked for someone who did not ask for them.
_PICKABLE = tuple(c for c in COLOURS if c.name not in ("black", "white", "yellow"))


def _squash(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


_BY_KEY = {_squash(c.name): c for c in COLOURS}


def find_colour(text: str) -> Colour | None:
    """The colour a person meant: 'Light Blue', 'lightblue', 'light-blue' or its number 1-12."""
    text = text.strip()
    if text.isascii() and text.isdigit() and 1 <= int(text) <= len(COLOURS):
        return COLOURS[int(text) - 1]
    return _BY_KEY.get(_squash(text))


def pick_colour(rng: random.Random) -> Colour:
    return rng.choice(_PICKABLE)


def unknown_colour(text: str) -> Line:
    return (f"{text!r} is not one of the colours: ", *colour_menu())


@cache  # the same for everyone, asked at each login
def colour_menu() -> tuple[Span, ...]:
    """'1 black, 2 white, ...', each colour's name shown in that colour."""
    spans: list[Span] = []
    for number, colour in enumerate(COLOURS, 1):
        spans += [", " if spans else "", f"{number} ", Name(colour.name, colour)]
    return tuple(span for span in spans if span)
