"""Everything the client learns from the server, kept across connections, with no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from chatroom.client.events import (
    Event,
    InRoom,
    Kicked,
    NamesMentioned,
    Recoloured,
    Renamed,
    TurnedAway,
    Welcome,
    WrongPassword,
    parse,
)
from chatroom.client.login import PASSWORD, Login
from chatroom.client.names_seen import NamesSeen
from chatroom.client.shown import ShownLines
from chatroom.core.colours import Colour
from chatroom.core.commands import COMMANDS
from chatroom.core.names import name_key
from chatroom.core.room import LOBBY

QUIT_SPELLINGS = frozenset(next(c for c in COMMANDS if c.name == "/quit").spellings)
# The commands of registered names (PRODUCT.md) carry passwords: the client never shows or keeps what follows them.
PASSWORD_COMMANDS = frozenset({"/register", "/password", "/unregister"})
HIDDEN = "********"


def _command(line: str) -> str:
    return line.strip().split(" ", 1)[0].lower()


def is_quit(line: str) -> bool:
    """Whether the server will take `line` as /quit (or one of its aliases)."""
    return _command(line) in QUIT_SPELLINGS


def carries_password(line: str) -> bool:
    """Whether `line` is a command whose arguments are passwords (`/register PASSWORD`)."""
    return _command(line) in PASSWORD_COMMANDS


def as_shown(line: str) -> str:
    """`line` as the client may show or write it: a password command's arguments are hidden."""
    if carries_password(line) and line.strip() != _command(line):
        return f"{line.strip().split(' ', 1)[0]} {HIDDEN}"
    return line


@dataclass(frozen=True)
class Heard:
    events: list[Event]
    answer: str | None  # a line to send for the person: a login answer, or rejoining their room
    secret: bool = False  # the answer is a password: never shown, never written down
    show: tuple[str, ...] = ()  # the lines to show for it: none (shown before, see ShownLines), it, or more


class Conversation:
    """Who we are and where, the names seen, and the login in progress.

    Front ends hand it every line the server sends (`hear`) and tell it when
    the person sends one (`said`). It answers the login prompts it has answers
    for, and after a reconnect logs back in with the name, colour and password
    the server last accepted, so the person comes back as themselves, and goes
    back to the room they were in.

    A password given in advance (`password`, from a file) is the only one the
    client may use: `password_given` tells front ends that when the server
    refuses it there is no point asking. A password the person typed is kept
    once the server accepts it, for logging back in, and forgotten if the
    server refuses it later (it was changed meanwhile): then the person is asked.
    """

    def __init__(
        self,
        name: str | None = None,
        colour: Colour | None = None,
        server_picks_colour: bool = False,
        password: str | None = None,
    ):
        self.name = name
        self.colour = colour
        self.server_picks_colour = server_picks_colour  # a pipe has nobody to ask
        self.password = password
        self.password_given = password is not None
        self._typed_password: str | None = None  # what the person answered the password prompt with, until accepted
        self.room: str | None = None
        self._room_to_rejoin: str | None = None
        self.names = NamesSeen()
        self.shown = ShownLines()
        self.kicked: str | None = None
        self.turned_away: str | None = None  # why the server ended the login (too many wrong passwords)
        self.login = Login()

    @property
    def online(self) -> bool:
        return self.login.done

    @property
    def person_types_password(self) -> bool:
        """Whether the person's next line answers the password prompt: not to be shown, echoed or kept."""
        return self.login.asking == PASSWORD and self.login.person_must_answer and not self.online

    def new_connection(self) -> None:
        """A fresh connection: the server will ask for a name and colour (or password) again."""
        self.connection_lost()
        self.kicked = self.turned_away = None
        colour = self.colour.name if self.colour else ("" if self.server_picks_colour else None)
        self.login = Login(self.name, colour, self.password)
        self.shown.new_connection()

    def connection_lost(self) -> None:
        """Offline, in no room; the room is remembered, to go back to after logging in again."""
        if self.room is not None:
            self._room_to_rejoin = self.room if self.room != LOBBY else None
        self.room = None
        self.login = Login()

    def hear(self, raw: str) -> Heard:
        """One line from the server, colour codes and all."""
        events = parse(raw)
        answer, secret = None, False
        for event in events:
            reply = self.login.hear(event)
            if reply is not None:
                answer, secret = reply, self.login.asking == PASSWORD
            self._follow(event)
            if isinstance(event, InRoom) and self._room_to_rejoin:  # logged in, and placed in the lobby
                answer, self._room_to_rejoin = f"/join {self._room_to_rejoin}", None
        return Heard(events, answer, secret, tuple(self.shown.show(raw, self.room)))

    def said(self, line: str) -> None:
        """The person sent `line`."""
        if self.person_types_password:
            self._typed_password = line
        elif self.online:
            self.shown.person_spoke()
        self.login.person_answered()

    def _follow(self, event: Event) -> None:
        match event:
            case Welcome(name, colour):
                self.name = name
                self.colour = colour or self.colour
                if self._typed_password is not None:  # accepted: the password to log back in with
                    self.password, self._typed_password = self._typed_password, None
            case WrongPassword():
                self._typed_password = None
                if self.login.gave_password and not self.password_given:  # the one kept no longer works
                    self.password = None
            case TurnedAway(reason):
                self.turned_away = reason
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
