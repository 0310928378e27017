"""A room: who is in it, and the last few lines said there."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Protocol

from chatroom.core.events.model import Bundle
from chatroom.core.names import name_key

if TYPE_CHECKING:
    from chatroom.core.events.model import Event

LOBBY = "lobby"
_LOBBY_KEY = name_key(LOBBY)


class Member(Protocol):
    name: str

    def deliver(self, event: Event) -> None: ...


class Room:
    def __init__(self, name: str, history: int, lines: deque[Event] | None = None):
        self.name = name
        self.key = name_key(name)
        self.members: dict[Member, None] = {}  # an ordered set: join order
        self.history: deque[Event] = deque(maxlen=history) if lines is None else lines  # its last lines
        self.owner: Member | None = None  # who made it, then whoever has been in longest; the lobby has none
        self.topic = ""
        self.lock: str | None = None  # the key that opens it, once its owner locks it
        self.invited: set[str] = set()  # name keys that may come in once without the key

    @property
    def is_lobby(self) -> bool:
        return self.key == _LOBBY_KEY

    @property
    def title(self) -> str:
        """How sentences name the room: 'the lobby', 'games'."""
        return "the lobby" if self.is_lobby else self.name

    def broadcast(self, event: Event, skip: Member | None = None) -> None:
        """The same event to every member (but `skip`); each takes the rendering its screen speaks."""
        for member in self.members:
            if member is not skip:
                member.deliver(event)

    def post(self, event: Event) -> None:
        """A chat line: remembered for newcomers, then sent to all."""
        self.history.append(event)
        self.broadcast(event)

    def post_together(self, lines: list[Event]) -> None:
        """Chat lines said together: remembered one by one, sent to each member as one delivery."""
        self.history.extend(lines)
        self.broadcast(lines[0] if len(lines) == 1 else Bundle(lines[-1].stamp, tuple(lines)))

    def names(self) -> list[str]:
        return [member.name for member in self.members]

    def may_enter(self, key: str | None, name_key: str) -> bool:
        """Whether someone with `key` (or an invitation) gets in; an invitation is used up."""
        if self.lock is None or key == self.lock:
            return True
        if name_key in self.invited:
            self.invited.discard(name_key)
            return True
        return False
