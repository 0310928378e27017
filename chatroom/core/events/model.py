"""The message model: what happens in the hall, as events that each kind of screen renders its own way.

The hall makes one event per message and hands the same event to every
recipient. A peer takes the rendering its screen speaks -- `event.telnet` (ANSI
text lines, for telnet, nc and chatroom-client) or `event.web` (JSON, for the
page) -- and each rendering is made once and kept on the event: the telnet one
when the event is made, the web one when a page first asks for it. So a line
said to a room of 1000 is encoded at most once per kind of screen, never once
per recipient, and the telnet bytes of an event are one attribute lookup away
in the broadcast loop.

Events carry their fields (when, where, who in which colour, what), never
bytes: a room keeps its recent lines as events, so a web user who comes in
sees them rendered for the web, and a terminal user for the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar

from chatroom.core.events import terminal, web
from chatroom.store.interface import SLOTS

if TYPE_CHECKING:
    from collections.abc import Callable

    from twisted.internet.interfaces import IReactorTime

    from chatroom.core.colours import Colour


TICKS_PER_SECOND = 4000  # an id's time counts quarter-milliseconds: ids stay below 2**53 (a page's numbers) to 2200


@dataclass(frozen=True, slots=True)
class Stamp:
    """When an event happened, and its number: numbers only grow, so a page can ask for what came after one."""

    id: int
    time: float  # seconds since the epoch


class Stamper:
    """Gives each new event its number and the clock's time.

    A number is a time in ticks (TICKS_PER_SECOND), times SLOTS, plus the slot
    of the process that made it (its store's: see chatroom/store/postgresql.py).
    So numbers are unique across processes sharing a store, grow in the order
    events happen in one process, and follow the clock across processes; a tick
    is never reused (a burst of events runs ahead of the clock, which catches up)
    and never goes back, even if the clock does. `follow` is how a process keeps
    after what it has seen: a store's last line at start, another process's line.
    """

    def __init__(self, clock: IReactorTime, slot: Callable[[], int] = lambda: 0):
        self._clock = clock
        self._slot = slot
        self._tick = 0

    def __call__(self) -> Stamp:
        now = self._clock.seconds()
        self._tick = max(self._tick + 1, int(now * TICKS_PER_SECOND))
        return Stamp(self._tick * SLOTS + self._slot(), now)

    @property
    def last(self) -> int:
        """No event stamped so far, here or followed, has a higher id (0: none yet).

        The whole tick is counted, whatever the slot, so a line made later always has a higher id.
        """
        return self._tick * SLOTS + SLOTS - 1 if self._tick else 0

    def follow(self, seen_id: int) -> None:
        """Number on after `seen_id` (the last line a store kept from before a restart, or another process's)."""
        self._tick = max(self._tick, seen_id // SLOTS)


@dataclass(frozen=True, slots=True)
class Name:
    """A person's name as it looked when the event happened: its text and its colour."""

    text: str
    colour: Colour | None = None


# A line of server text: plain, or pieces of text and names (each screen paints names its own way).
Span = str | Name
Line = str | tuple[Span, ...]


@dataclass(frozen=True, eq=False)
class Event:
    """Something to show someone. Subclasses name their `kind` (the JSON "type") and add their fields."""

    kind: ClassVar[str]
    stamp: Stamp
    telnet: bytes = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Rendered now rather than when first asked: nearly every event reaches a
        # terminal, and a plain attribute is read about 50 ns faster than a
        # cached_property, per recipient (Python 3.11 cannot specialise a read
        # that a class-level descriptor shadows).
        object.__setattr__(self, "telnet", terminal.render(self))

    @cached_property
    def web(self) -> bytes:
        return web.render(self)


# What people say. Rooms keep these (not private ones) as their recent lines.


@dataclass(frozen=True, eq=False)
class Chat(Event):
    """A plain line said to a room."""

    kind = "chat"
    room: str
    speaker: Name
    text: str


@dataclass(frozen=True, eq=False)
class Action(Event):
    """/me: '* alice waves'."""

    kind = "action"
    room: str
    speaker: Name
    text: str


@dataclass(frozen=True, eq=False)
class ToAll(Event):
    """/all: a line to every room on the server."""

    kind = "all"
    speaker: Name
    text: str


@dataclass(frozen=True, eq=False)
class Private(Event):
    """/msg: one person to another; its sender sees it too."""

    kind = "private"
    sender: Name
    recipient: Name
    text: str


# What the server says.


@dataclass(frozen=True, eq=False)
class RoomNotice(Event):
    """Something that happened in a room, told to its members: a join, a leave, a kick, a new name."""

    kind = "room-notice"
    room: str
    text: Line


@dataclass(frozen=True, eq=False)
class Notice(Event):
    """Server text for one person: a welcome, an answer to a command, a warning."""

    kind = "notice"
    lines: tuple[Line, ...]


@dataclass(frozen=True, eq=False)
class Error(Event):
    """Something one person asked for that could not be done, and why."""

    kind = "error"
    text: Line


@dataclass(frozen=True, eq=False)
class Prompt(Event):
    """The server waits for an answer: `asks` is 'name' or 'colour'; `problem` says why the last one was refused."""

    kind = "prompt"
    asks: str
    text: Line
    problem: str | None = None


@dataclass(frozen=True, eq=False)
class History(Event):
    """A room's recent lines, shown to whoever comes in."""

    kind = "history"
    room: str
    title: str  # how a sentence names the room: 'the lobby', 'games'
    lines: tuple[Event, ...]
    asked: bool = False  # /history: shown whole, even lines the screen showed before


@dataclass(frozen=True, eq=False)
class Bundle(Event):
    """Lines one person said to a room together (one paste, one read): delivered to each member as one event.

    A member then costs one delivery for the lot, not one per line: in a burst that is most of the work.
    Rooms keep the lines themselves, never a bundle; a page gets them one by one (see adapters/web.py).
    """

    kind = "bundle"
    lines: tuple[Event, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "telnet", b"".join(line.telnet for line in self.lines))


@dataclass(frozen=True, eq=False)
class Goodbye(Event):
    """The server's last words before it closes the connection; `will_return` when the server itself is going."""

    kind = "goodbye"
    text: str
    will_return: bool = False


# What a screen with panels beside the chat (the web page) is kept current with; terminals never get these.


@dataclass(frozen=True, eq=False)
class You(Event):
    """Who you are now and where: after logging in, a new name or colour, another room."""

    kind = "you"
    name: Name
    room: str


@dataclass(frozen=True, eq=False)
class RoomInfo:
    """What the panel shows of a room: never its key."""

    name: str
    count: int
    locked: bool = False
    topic: str = ""


@dataclass(frozen=True, eq=False)
class Rooms(Event):
    """Every room, how many are in it, whether it is locked, its topic."""

    kind = "rooms"
    rooms: tuple[RoomInfo, ...]


@dataclass(frozen=True, eq=False)
class Members(Event):
    """Who is in a room, in the order they came in: the first `len(names)` of `count`."""

    kind = "members"
    room: str
    names: tuple[Name, ...]
    count: int
    owner: str | None = None
