"""What the hall may ask of a store, and the records it keeps.

Small on purpose: a store for several server processes (Redis, say) would
implement these and nothing in the hall would change. Writes do not wait
(`append` queues the line; only a flood is slowed to the store's pace);
reads that someone waits for return Deferreds, so the reactor never waits
on a disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

ALL_ROOMS = "*"  # the room of a line said to every room (/all)
SLOTS = 256  # processes that may share one store at once: an event id ends in its process's slot (0..SLOTS-1)


@dataclass(frozen=True)
class StoredLine:
    """A line said in a room, as the store keeps it: fields, never rendered text."""

    id: int
    time: float
    room: str  # ALL_ROOMS for /all
    room_key: str
    kind: str  # 'chat', 'action' or 'all'
    speaker: str
    colour: str | None
    text: str


@dataclass(frozen=True)
class Account:
    """A registered name: its key (look-alikes share it), its spelling, its password's hash, its colour."""

    key: str
    name: str
    password_hash: str
    colour: str | None
    created: float
    operator: bool = False


NAME, ADDRESS = "name", "address"  # what a ban is of


@dataclass(frozen=True)
class Ban:
    """A name (by its key, so its look-alikes too) or an address that may not come in, until `until`."""

    kind: str  # NAME or ADDRESS
    value: str  # the name's key, or the address
    shown: str  # the name as it was written, or the address
    by: str
    reason: str
    since: float
    until: float | None  # None: until it is lifted
    for_name: str | None = None  # an address banned with a name: that name's key, so lifting one lifts both


@dataclass(frozen=True)
class Mute:
    """A name that may not speak in rooms or to all, until `until`."""

    key: str
    name: str
    by: str
    reason: str
    since: float
    until: float | None


class Store(Protocol):
    epoch: str  # names this history: event ids only grow within one epoch
    slot: int  # this process's place among those sharing the store, from open() on: no two live ones share it

    # Before the server takes connections (may read at once).

    def last_id(self) -> int:
        """The highest line id kept, so new events number on from it."""

    def recent_lines(self, per_room: int, rooms: int) -> list[StoredLine]:
        """The last `per_room` lines of each of the `rooms` rooms spoken in most recently, oldest first."""

    # While it serves.

    def append(self, line: StoredLine) -> None:
        """Keep a line; does not wait on the disk, except that a store may slow a flood to the pace it writes
        at rather than hold an unbounded queue (issue 15). It is on disk within a second."""

    def lines(self, room_key: str, limit: int, after: int = 0) -> Deferred[list[StoredLine]]:
        """The last `limit` lines of a room with ids above `after`, oldest first.

        Lines to every room (ALL_ROOMS) are included from the room's first line on: a store knows a room only
        by what was said in it, and a room made after a line to every room must not show it.
        """

    def account(self, key: str) -> Deferred[Account | None]:
        """The registered name whose key is `key`, if any."""

    def save_account(self, account: Account) -> Deferred[None]:
        """Register a name, or change its password or colour."""

    def delete_account(self, key: str) -> Deferred[None]:
        """Give a registered name back to everyone."""

    # Moderation: what operators set, and chatroom-admin too, while the server runs.

    def in_force(self, now: float) -> tuple[list[Ban], list[Mute]]:
        """Before the server takes connections: the bans and mutes that have not ended by `now`."""

    def bans(self, now: float) -> Deferred[list[Ban]]:
        """The bans that have not ended by `now` (chatroom-admin may have changed them)."""

    def mutes(self, now: float) -> Deferred[list[Mute]]:
        """The mutes that have not ended by `now` (chatroom-admin may have changed them)."""

    def add_ban(self, ban: Ban) -> Deferred[None]: ...

    def lift_bans(self, value: str) -> Deferred[int]:
        """Lift every ban of a name key (and of the addresses banned with it) or of an address; how many."""

    def add_mute(self, mute: Mute) -> Deferred[None]: ...

    def lift_mute(self, key: str) -> Deferred[None]: ...
