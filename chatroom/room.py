"""A room: who is in it, and the last few lines said there."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from chatroom.names import name_key

if TYPE_CHECKING:
    from chatroom.session import Session

LOBBY = "lobby"
_LOBBY_KEY = name_key(LOBBY)


class Room:
    def __init__(self, name: str, history: int):
        self.name = name
        self.key = name_key(name)
        self.members: dict[Session, None] = {}  # an ordered set: join order
        self.history: deque[bytes] = deque(maxlen=history)

    @property
    def is_lobby(self) -> bool:
        return self.key == _LOBBY_KEY

    @property
    def title(self) -> str:
        """How sentences name the room: 'the lobby', 'games'."""
        return "the lobby" if self.is_lobby else self.name

    def broadcast(self, data: bytes, skip: Session | None = None) -> None:
        """The same bytes to every member (but `skip`): nothing is built per recipient."""
        for member in self.members:
            if member is not skip:
                member.send(data)

    def post(self, data: bytes) -> None:
        """A chat line: remembered for newcomers, then sent to all."""
        self.history.append(data)
        self.broadcast(data)

    def names(self) -> list[str]:
        return [member.name for member in self.members]
