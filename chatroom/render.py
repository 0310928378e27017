"""How lines look on the wire: formatted and encoded once, then shared by every recipient.

Every line a chatter causes starts with "[HH:MM] " and their own coloured name;
every line from the server starts with a bold "***". Names hold no spaces or
punctuation, so no chatter can produce a line that starts like the server's
or like someone else's.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

    from chatroom.session import Session

NOTICE_MARK = "\x1b[1m***\x1b[0m"
EOL = "\r\n"


def encode(line: str) -> bytes:
    return (line + EOL).encode("utf-8")


def some_names(names: list[str], limit: int = 20) -> str:
    """'a, b, c', or 'a, b, c and 9,997 more' past `limit`: a welcome to a room of 10,000 stays one line."""
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit:,} more"


def notice(*lines: str) -> bytes:
    """Server text for one person: each line marked with '***'."""
    return "".join(f"{NOTICE_MARK} {line}{EOL}" for line in lines).encode("utf-8")


class Renderer:
    """Formats timestamped lines; the clock is injected so tests control the time."""

    def __init__(self, clock: IReactorTime):
        self._clock = clock

    def stamp(self) -> str:
        return time.strftime("[%H:%M]", time.localtime(self._clock.seconds()))

    def chat(self, speaker: Session, text: str) -> bytes:
        return encode(f"{self.stamp()} {speaker.painted}: {text}")

    def action(self, speaker: Session, text: str) -> bytes:
        return encode(f"{self.stamp()} * {speaker.painted} {text}")

    def to_all(self, speaker: Session, text: str) -> bytes:
        return encode(f"{self.stamp()} [all] {speaker.painted}: {text}")

    def private(self, sender: Session, recipient: Session, text: str) -> bytes:
        return encode(f"{self.stamp()} [private] {sender.painted} -> {recipient.painted}: {text}")

    def event(self, text: str) -> bytes:
        """Something the server saw happen in a room: a join, a leave, a kick."""
        return encode(f"{self.stamp()} {NOTICE_MARK} {text}")
