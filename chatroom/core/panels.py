"""The panels beside the chat on a screen that has them (the web page): the rooms, and who is in yours.

The hall says what changed; the news goes out at most once per reactor pass,
however many changes there were: a class of 30 logging in at once costs each
page one update, not 30. Terminals have no panels and cost nothing here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatroom.core.events.model import Members, RoomInfo, Rooms, You

if TYPE_CHECKING:
    from collections.abc import Iterable

    from twisted.internet.interfaces import IDelayedCall, IReactorTime

    from chatroom.core.events.model import Stamper
    from chatroom.core.room import Room
    from chatroom.core.session import Session

MEMBERS_SHOWN = 200  # a lecture hall of 10,000 is listed as its first 200 and a count


class Panels:
    def __init__(self, clock: IReactorTime, stamp: Stamper, rooms: dict[str, Room]):
        self._clock = clock
        self._stamp = stamp
        self._rooms = rooms  # the hall's own: every room that exists
        self.watchers: dict[Session, None] = {}  # online sessions whose screen has panels
        self._changed: dict[Room, None] = {}
        self._call: IDelayedCall | None = None

    def watch(self, session: Session) -> None:
        self.watchers[session] = None

    def forget(self, session: Session) -> None:
        self.watchers.pop(session, None)

    def you(self, session: Session) -> None:
        """Tell `session`, if it has panels, who and where it is now."""
        if session in self.watchers:
            session.deliver(You(self._stamp(), session.who, session.room.name))

    def changed(self, rooms: Iterable[Room]) -> None:
        """Who is in `rooms` changed (or their names or colours did, or the rooms came or went)."""
        if not self.watchers:
            return
        self._changed.update(dict.fromkeys(rooms))
        if self._call is None:
            self._call = self._clock.callLater(0, self._send)

    def _send(self) -> None:
        self._call = None
        changed, self._changed = self._changed, {}
        if not self.watchers:
            return
        rooms = Rooms(
            self._stamp(),
            tuple(RoomInfo(r.name, len(r.members), r.lock is not None, r.topic) for r in self._rooms.values()),
        )
        for watcher in self.watchers:
            watcher.deliver(rooms)
        for room in changed:
            if self._rooms.get(room.key) is room:
                self._send_members(room)

    def _send_members(self, room: Room) -> None:
        watching = [member for member in room.members if member in self.watchers]
        if not watching:
            return
        shown = tuple(member.who for _, member in zip(range(MEMBERS_SHOWN), room.members, strict=False))
        owner = room.owner.name if room.owner is not None else None
        members = Members(self._stamp(), room.name, shown, len(room.members), owner)
        for member in watching:
            member.deliver(members)
