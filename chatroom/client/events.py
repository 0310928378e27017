"""What the server's lines tell the client: its prompts, who we are, where we are, who else is around.

The server's wording is matched here and nowhere else in the client. The login
prompts (name, colour, password) and the password notices are imported from the
server's own code, so they cannot drift apart; the rest is checked against a
real `Hall` in the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chatroom.client.server_text import SGR
from chatroom.core.colours import COLOURS, Colour
from chatroom.core.names import MAX_NAME_LENGTH
from chatroom.core.session import COLOUR_PROMPT, NAME_PROMPT, PASSWORD_PROMPT, TOO_MANY_TRIES, WRONG_PASSWORD


@dataclass(frozen=True)
class Notice:
    """Any line from the server itself (it starts with '***'), without the mark."""

    text: str


@dataclass(frozen=True)
class NamePrompt:
    pass


@dataclass(frozen=True)
class ColourPrompt:
    pass


@dataclass(frozen=True)
class ColourRefused:
    reason: str


@dataclass(frozen=True)
class PasswordPrompt:
    """The name is registered: the server wants its password (and then asks no colour)."""

    name: str


@dataclass(frozen=True)
class WrongPassword:
    """The password was refused; the server asks again, up to its limit."""

    name: str


@dataclass(frozen=True)
class TurnedAway:
    """The server ends a login it will not allow (too many wrong passwords) and closes: retrying at once is no use."""

    reason: str


@dataclass(frozen=True)
class Welcome:
    """Logged in: the name the server knows us by, and the colour it shows it in."""

    name: str
    colour: Colour | None


@dataclass(frozen=True)
class InRoom:
    room: str


@dataclass(frozen=True)
class Renamed:
    old: str
    new: str


@dataclass(frozen=True)
class Recoloured:
    colour: Colour | None


@dataclass(frozen=True)
class NamesMentioned:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Kicked:
    reason: str


@dataclass(frozen=True)
class Goodbye:
    """The server's answer to /quit."""


@dataclass(frozen=True)
class ServerGoingDown:
    pass


Event = (
    Notice | NamePrompt | ColourPrompt | ColourRefused | PasswordPrompt | WrongPassword | TurnedAway | Welcome | InRoom
    | Renamed | Recoloured | NamesMentioned | Kicked | Goodbye | ServerGoingDown
)  # fmt: skip

_NOTICE = re.compile(r"\*\*\* (.*)")
_STAMPED = re.compile(r"\[\d\d:\d\d\] (.*)")

# Names never hold spaces, ':' or ',' (chatroom.names), so these cannot be fooled by what is said.
_NAME = r"[^\s:,]+"
_NAME_LIST = rf"{_NAME}(?:, {_NAME})*"
_MORE = r"(?: and [\d,]+ more)?"  # a long list is cut short (chatroom.render.some_names)

_WELCOME = re.compile(rf"Welcome, ({_NAME})! You are online\.")
_IN_ROOM = re.compile(rf"You are in (the lobby|{_NAME})(?: with ({_NAME_LIST}){_MORE}\.|, alone\.)")
_ONLINE_NOW = re.compile(rf"Online now: ({_NAME_LIST}){_MORE}\.")
_WHO_ROOM = re.compile(rf"  {_NAME}: ({_NAME_LIST})")
_RECOLOURED = "Your name now looks like this: "
_KICKED = re.compile(r"You have been kicked for (.*)\.")
_COLOUR_REFUSED = re.compile(r"Error: .* is not one of the colours: ")

_RENAMED = re.compile(rf"\*\*\* ({_NAME}) is now known as ({_NAME})\.")
_ROOM_EVENT = re.compile(rf"\*\*\* ({_NAME}) (?:joined|left|was kicked)")
_SPEAKER = re.compile(rf"(?:\[all\] |\* )?({_NAME})(?::| )")
_PRIVATE = re.compile(rf"\[private\] ({_NAME}) -> ({_NAME}): ")


def _with_a_name(template: str) -> re.Pattern[str]:
    """A pattern for one of the server's texts about a name, made from the server's own format string."""
    before, after = template.split("{name}")
    return re.compile(re.escape(before) + rf"([^\s:,]{{1,{MAX_NAME_LENGTH}}})" + re.escape(after))


_PASSWORD_PROMPT = _with_a_name(PASSWORD_PROMPT)
_WRONG_PASSWORD = _with_a_name(WRONG_PASSWORD)
_TOO_MANY_TRIES = _with_a_name(TOO_MANY_TRIES)
# Not yet one of session.py's constants: what the server says when one address has given too many wrong passwords.
_ADDRESS_LOCKED = re.compile(r"Too many wrong passwords from your address: .*Goodbye!")
_GOODBYE = " Goodbye!"

_BY_SGR = {colour.sgr: colour for colour in COLOURS}
_PAINT = re.compile(r"\x1b\[([0-9;]*)m")


def parse(raw: str) -> list[Event]:
    """The events in one line from the server (colour codes and all, without its line ending)."""
    line = SGR.sub("", raw)
    if notice := _NOTICE.fullmatch(line):
        return _notice(notice.group(1), raw)
    if stamped := _STAMPED.fullmatch(line):
        return _stamped(stamped.group(1))
    return []


def _notice(text: str, raw: str) -> list[Event]:
    events: list[Event] = [Notice(text)]
    if text == NAME_PROMPT:
        events.append(NamePrompt())
    elif text.startswith(COLOUR_PROMPT):
        events.append(ColourPrompt())
    elif _COLOUR_REFUSED.match(text):
        events.append(ColourRefused(text.removeprefix("Error: ")))
    elif found := _PASSWORD_PROMPT.fullmatch(text.rstrip()):
        events.append(PasswordPrompt(found.group(1)))
    elif found := _WRONG_PASSWORD.fullmatch(text):
        events.append(WrongPassword(found.group(1)))
    elif _TOO_MANY_TRIES.fullmatch(text) or _ADDRESS_LOCKED.fullmatch(text):
        events.append(TurnedAway(text.removesuffix(_GOODBYE)))
    elif found := _WELCOME.match(text):
        events.append(Welcome(found.group(1), _colour_after("Welcome, ", raw)))
    elif found := _IN_ROOM.fullmatch(text):
        room = "lobby" if found.group(1) == "the lobby" else found.group(1)
        events.append(InRoom(room))
        if found.group(2):
            events.append(NamesMentioned(_names(found.group(2))))
    elif found := _ONLINE_NOW.fullmatch(text) or _WHO_ROOM.fullmatch(text):
        events.append(NamesMentioned(_names(found.group(1))))
    elif text.startswith(_RECOLOURED):
        events.append(Recoloured(_colour_after(_RECOLOURED, raw)))
    elif found := _KICKED.fullmatch(text):
        events.append(Kicked(found.group(1)))
    elif text == "Goodbye!":
        events.append(Goodbye())
    elif text.startswith("The server is going down"):
        events.append(ServerGoingDown())
    return events


def _stamped(text: str) -> list[Event]:
    if found := _RENAMED.fullmatch(text):
        return [Renamed(found.group(1), found.group(2))]
    if found := _ROOM_EVENT.match(text):
        return [NamesMentioned((found.group(1),))]
    if text.startswith("***"):
        return []
    if found := _PRIVATE.match(text):
        return [NamesMentioned(found.groups())]
    if found := _SPEAKER.match(text):
        return [NamesMentioned((found.group(1),))]
    return []


def _names(listed: str) -> tuple[str, ...]:
    return tuple(listed.split(", "))


def _colour_after(marker: str, raw: str) -> Colour | None:
    """The colour painted on the name that follows `marker` in the raw line."""
    at = raw.find(marker)
    found = _PAINT.match(raw, at + len(marker)) if at >= 0 else None
    return _BY_SGR.get(found.group(1)) if found else None
