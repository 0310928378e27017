"""What rooms said: the last lines of each in memory, for whoever comes in, and all of it in the store.

Lines are kept as events (rendered for each screen on the way out) and written
to the store as records of fields, never as rendered text; private messages
are never kept. After a restart the rooms spoken in most recently get their
last lines back from the store before anyone connects; a room whose lines
are no longer in memory gets them from the store when someone comes in.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import TYPE_CHECKING

from loguru import logger
from twisted.internet.defer import gatherResults

from chatroom.core.colours import find_colour
from chatroom.core.events.model import Action, Chat, History, Name, Stamp, ToAll
from chatroom.core.names import name_key
from chatroom.store.interface import ALL_ROOMS, StoredLine

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from chatroom.core.events.model import Event, Stamper
    from chatroom.core.room import Room
    from chatroom.core.session import Session
    from chatroom.store.interface import Store

KEPT_ROOMS = 1000  # rooms whose last lines stay in memory once they close; the store has the rest
MISSED_MOST = 500  # lines a page back from a drop is given at most
_KINDS = {"chat": Chat, "action": Action, "all": ToAll}


class Archive:
    def __init__(self, store: Store, stamp: Stamper, per_room: int):
        self.store = store
        self.stamp = stamp
        self.per_room = per_room
        self._kept: OrderedDict[str, deque[Event]] = OrderedDict()  # room key -> its last lines; closed rooms last

    def restore(self, lobby: Room) -> None:
        """Before anyone connects: the last lines of the rooms spoken in most recently, from the store."""
        self._kept[lobby.key] = lobby.history
        for line in self.store.recent_lines(self.per_room, KEPT_ROOMS):  # oldest first
            event = event_of(line)
            if line.room_key != ALL_ROOMS:
                self._kept.setdefault(line.room_key, deque(maxlen=self.per_room)).append(event)
                continue
            for kept in self._kept.values():  # the lobby, and the rooms spoken in before it (see Store.lines)
                kept.append(event)

    def lines_for(self, room_key: str) -> deque[Event] | None:
        """The kept lines of a room being opened, or None if the store must be asked for them."""
        kept = self._kept.pop(room_key, None)
        if kept is not None:
            self._kept[room_key] = kept  # the most recently used last
        return kept

    def keep(self, room: Room) -> None:
        """A room opened: its lines are kept from now on."""
        self._kept[room.key] = room.history
        self._kept.move_to_end(room.key)

    def closed(self, room: Room) -> None:
        """A room closed: its lines stay in memory while it is among the KEPT_ROOMS most recent ones."""
        self._kept.move_to_end(room.key)
        while len(self._kept) > KEPT_ROOMS:
            self._kept.popitem(last=False)

    def record(self, event: Chat | Action | ToAll, room_name: str) -> None:
        """Keep a line said to a room (or, with ALL_ROOMS, to every room) in the store."""
        speaker = event.speaker
        self.store.append(
            StoredLine(
                event.stamp.id,
                event.stamp.time,
                room_name,
                ALL_ROOMS if room_name == ALL_ROOMS else name_key(room_name),
                event.kind,
                speaker.text,
                speaker.colour.name if speaker.colour else None,
                event.text,
            )
        )

    def fill(self, room: Room, session: Session) -> None:
        """A room opened whose lines were not in memory: ask the store, then show them to `session`."""

        def got(lines: list[StoredLine]) -> None:
            newer = list(room.history)
            room.history.clear()
            room.history.extend([event_of(line) for line in lines] + newer)
            unseen = session.unseen(room.key, room.history) if session.room is room else ()
            if unseen:
                session.deliver(History(self.stamp(), room.name, room.title, unseen))

        self.store.lines(room.key, self.per_room).addCallbacks(got, self._unreadable)

    def show(self, session: Session, limit: int) -> None:
        """/history: the room's last `limit` lines, from the store."""
        self._read(session, limit, 0, asked=True)

    def missed(self, session: Session, after: int) -> None:
        """A page back from a drop: the room's lines after event `after` (nothing at all if there are none)."""
        self._read(session, MISSED_MOST, after, asked=False)

    def _read(self, session: Session, limit: int, after: int, asked: bool) -> None:
        room = session.room

        def got(lines: list[StoredLine]) -> None:
            if session.room is not room:
                return
            if lines:
                session.deliver(History(self.stamp(), room.name, room.title, tuple(map(event_of, lines)), asked))
            elif asked:
                session.notice(f"Nothing has been said in {room.title} yet.")

        def failed(failure) -> None:
            self._unreadable(failure)
            session.error("The history cannot be read just now; try again in a moment.")

        # The session's next lines wait for the answer, so it comes where it was asked for.
        session.wait(self._lines(room, limit, after).addCallback(got), failed)

    def _lines(self, room: Room, limit: int, after: int) -> Deferred[list[StoredLine]]:
        """A room's stored lines; the lobby, which always exists, has every line to every room."""
        if not room.is_lobby:
            return self.store.lines(room.key, limit, after)
        # The store gives lines to every room from a room's first line on (Store.lines): ask for them apart.
        asked = [self.store.lines(room.key, limit, after), self.store.lines(ALL_ROOMS, limit, after)]

        def merged(found: list[list[StoredLine]]) -> list[StoredLine]:
            by_id = {line.id: line for lines in found for line in lines}  # the lobby's answer has some of them too
            return [by_id[number] for number in sorted(by_id)][-limit:]

        return gatherResults(asked, consumeErrors=True).addCallback(merged)

    def _unreadable(self, failure) -> None:
        logger.bind(event="store").error("cannot read the history: {}", failure.getErrorMessage())


def event_of(line: StoredLine) -> Event:
    """A stored line as the event it was, to be rendered for any screen."""
    stamp = Stamp(line.id, line.time)
    speaker = Name(line.speaker, find_colour(line.colour) if line.colour else None)
    if line.kind == "all":
        return ToAll(stamp, speaker, line.text)
    return _KINDS[line.kind](stamp, line.room, speaker, line.text)
