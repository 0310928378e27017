"""Everything the client learns from the server, kept across connections, with no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from chatroom.client.events import Event, InRoom, Kicked, NamesMentioned, Recoloured, Renamed, Welcome, parse
from chatroom.client.login import Login
from chatroom.client.names_seen import NamesSeen
from chatroom.core.colours import Colour
from chatroom.core.commands import COMMANDS
from chatroom.core.names import name_key
from chatroom.core.room import LOBBY

QUIT_SPELLINGS = frozenset(next(c for c in COMMANDS if c.name == "/quit").spellings)


def is_quit(line: str) -> bool:
    """Whether the server will take `line` as /quit (or one of its aliases)."""
    return line.strip().split(" ", 1)[0].lower() in QUIT_SPELLINGS


@dataclass(frozen=True)
class Heard:
    events: list[Event]
    answer: str | None  # a line to send for the person: a login answer, or rejoining their room


class Conversation:
    """Who we are and where, the names seen, and the login in progress.

    Front ends hand it every line the server sends (`hear`) and tell it when
    the person sends one (`said`). It answers the login prompts it has answers
    for, and after a reconnect logs back in with the name and colour the
    server last confirmed, so the person comes back as themselves, and goes
    back to the room they were in.
    """

    def __init__(self, name: str | None = None, colour: Colour | None = None, server_picks_colour: bool = False):
        self.name = name
        self.colour = colour
        self.server_picks_colour = server_picks_colour  # a pipe has nobody to ask
        self.room: str | None = None
        self._room_to_rejoin: str | None = None
        self.names = NamesSeen()
        self.kicked: str | None = None
        self.login = Login()

    @property
    def online(self) -> bool:
        return self.login.done

    def new_connection(self) -> None:
        """A fresh connection: the server will ask for a name and colour again."""
        self.connection_lost()
        self.kicked = None
        colour = self.colour.name if self.colour else ("" if self.server_picks_colour else None)
        self.login = Login(self.name, colour)

    def connection_lost(self) -> None:
        """Offline, in no room; the room is remembered, to go back to after logging in again."""
        if self.room is not None:
            self._room_to_rejoin = self.room if self.room != LOBBY else None
        self.room = None
        self.login = Login()

    def hear(self, raw: str) -> Heard:
        """One line from the server, colour codes and all."""
        events = parse(raw)
        answer = None
        for event in events:
            reply = self.login.hear(event)
            if reply is not None:
                answer = reply
            self._follow(event)
            if isinstance(event, InRoom) and self._room_to_rejoin:  # logged in, and placed in the lobby
                answer, self._room_to_rejoin = f"/join {self._room_to_rejoin}", None
        return Heard(events, answer)

    def said(self, line: str) -> None:
        """The person sent `line`."""
        self.login.person_answered()

    def _follow(self, event: Event) -> None:
        match event:
            case Welcome(name, colour):
                self.name = name
                self.colour = colour or self.colour
            case InRoom(room):
                self.room = room
            case Renamed(old, new):
                self.names.rename(old, new)
                if self.name and name_key(old) == name_key(self.name):
                    self.name = new
            case Recoloured(colour) if colour:
                self.colour = colour
            case NamesMentioned(names):
                self.names.add(names)
            case Kicked(reason):
                self.kicked = reason
