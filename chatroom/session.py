"""One connection's life in the hall: it is asked a name, then a colour, then it chats."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from loguru import logger

from chatroom import commands, render
from chatroom.colours import Colour, colour_menu, find_colour, pick_colour, unknown_colour
from chatroom.names import MAX_NAME_LENGTH, name_key
from chatroom.text import clean_text

if TYPE_CHECKING:
    from chatroom.hall import Hall
    from chatroom.room import Room


class Peer(Protocol):
    """All the core knows of a connection; the Twisted protocol provides it."""

    address: str

    def send(self, data: bytes) -> None:
        """Queue bytes for the client; never blocks."""

    def disconnect(self) -> None:
        """Close the connection once what was sent has gone out."""


BANNER = "Welcome to chatroom. Be kind, and please don't shout in capitals."
NAME_PROMPT = f"What is your name? (up to {MAX_NAME_LENGTH} letters, digits, '-', '_' or '.')"
# The bundled client recognises both prompts by these texts.
COLOUR_PROMPT = "Pick a colour for your name (a name or number; Enter picks one):"


class Session:
    def __init__(self, hall: Hall, peer: Peer):
        self.hall = hall
        self.peer = peer
        self.send: Callable[[bytes], None] = peer.send  # bound once: broadcasts call it per recipient
        self.name = ""
        self.key = ""
        self.colour: Colour | None = None
        self.painted = ""  # the name in its colour, as every line shows it
        self.room: Room | None = None
        self.shouts = 0
        self.reply_to: Session | None = None
        self._handle: Callable[[str], None] = self._answer_name

    @property
    def room_name(self) -> str | None:
        return self.room.name if self.room else None

    @property
    def online(self) -> bool:
        return self.room is not None

    def start(self) -> None:
        self.notice(BANNER, NAME_PROMPT)

    def line(self, raw: str) -> None:
        """One line from the client, decoded but not yet cleaned."""
        try:
            self._handle(raw)
        except Exception:
            logger.bind(user=self.name, event="error").exception(
                "error handling a line from {}", self.name or self.peer.address
            )
            self.notice("Sorry, the server could not handle that line.")

    def lost(self) -> None:
        """The connection is gone."""
        self.hall.disconnected(self)

    def fell_behind(self) -> None:
        """The connection was cut because the client stopped reading what it was sent."""
        self.hall.disconnected(self, "too far behind: stopped reading")

    def interrupted(self) -> None:
        """The client pressed Ctrl-C (telnet sends it as a command, not a character)."""
        self.send(render.EOL.encode())  # telnet left the cursor just after its '^C'
        self.notice("Ctrl-C does nothing here: type /quit to leave.")

    def line_too_long(self, limit: int) -> None:
        self.error(f"That line was longer than {limit} bytes and was not sent.")

    # Speaking to this one person.

    def notice(self, *lines: str) -> None:
        self.send(render.notice(*lines))

    def error(self, text: str) -> None:
        self.notice(f"Error: {text}")

    # Identity, set by the hall.

    def set_name(self, name: str) -> None:
        self.name, self.key = name, name_key(name)
        self._repaint()

    def set_colour(self, colour: Colour) -> None:
        self.colour = colour
        self._repaint()

    def _repaint(self) -> None:
        self.painted = self.colour.paint(self.name) if self.colour else self.name

    # The states a line can arrive in.

    def _answer_name(self, raw: str) -> None:
        problem = self.hall.claim_name(self, raw.strip())
        if problem:
            self.notice(problem, NAME_PROMPT)
            return
        self._handle = self._answer_colour
        self.notice(f"{COLOUR_PROMPT} {colour_menu()}")

    def _answer_colour(self, raw: str) -> None:
        choice = raw.strip()
        colour = find_colour(choice) if choice else pick_colour(self.hall.rng)
        if colour is None:
            self.error(unknown_colour(choice))
            return
        self.set_colour(colour)
        self._handle = self._chat
        self.hall.admit(self)

    def _chat(self, raw: str) -> None:
        text = clean_text(raw)
        if text:
            commands.dispatch(self, text)

    def end(self) -> None:
        """Lines still in flight from a session the hall has let go are ignored."""
        self._handle = _ignore


def _ignore(raw: str) -> None:
    pass
