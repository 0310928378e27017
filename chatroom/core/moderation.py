"""Keeping the room civil: the shout rule, its warning and its kick.

Change what counts as shouting, or what happens to a shouter, here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger

if TYPE_CHECKING:
    from chatroom.core.session import Session


def is_shout(text: str, min_letters: int) -> bool:
    """At least `min_letters` cased letters, every one a capital.

    'HELLO EVERYONE' shouts; 'OK' is too short; 'I like NASA' has small letters.
    Letters without case (Chinese, say) neither make a shout nor hide one.
    """
    letters = [ch for ch in text if ch.isupper() or ch.islower()]
    return len(letters) >= min_letters and all(ch.isupper() for ch in letters)


@dataclass(frozen=True)
class ShoutPolicy:
    min_letters: int = 5
    strikes: int = 2  # the shout that reaches this count is kicked; earlier ones are warned

    def allows(self, session: Session, text: str) -> bool:
        """False when `text` shouts: the shouter is warned or kicked, the text goes nowhere."""
        if not is_shout(text, self.min_letters):
            return True
        session.shouts += 1
        log = logger.bind(event="shout", user=session.name, room=session.room_name)
        if session.shouts >= self.strikes:
            session.hall.kick(session, "shouting")
        else:
            left = self.strikes - session.shouts
            log.warning("{} warned for shouting (shout {})", session.name, session.shouts)
            session.notice(
                "Please don't shout (all capitals): your message was not sent.",
                "The next shout gets you kicked." if left == 1 else f"{left} more shouts and you are kicked.",
            )
        return False
