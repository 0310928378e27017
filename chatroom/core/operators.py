"""Moderation by people: the bans and mutes in force, how long they last, and 'quiet, please'.

Operators (registered names the host made operators with chatroom-admin) set
them; they are kept in the store, so they outlast a restart, and end by
themselves when their time is up. chatroom-admin may lift or add bans while
the server runs: the hall reads them again every BANS_REFRESH seconds.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from loguru import logger

from chatroom.store.interface import Ban, Mute

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTime

    from chatroom.store.interface import Store

BANS_REFRESH = 2.0  # seconds: how soon a ban or unban made with chatroom-admin takes effect
_DURATION = re.compile(r"(\d{1,6})([smhd])", re.IGNORECASE)
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(word: str) -> float | None:
    """Seconds in '30s', '10m', '2h' or '7d'; None if `word` is not a duration."""
    found = _DURATION.fullmatch(word)
    return int(found.group(1)) * _UNIT[found.group(2).lower()] if found else None


def split_duration(text: str) -> tuple[float | None, str]:
    """'10m being rude' -> (600, 'being rude'); 'being rude' -> (None, 'being rude')."""
    first, _, rest = text.partition(" ")
    seconds = parse_duration(first)
    return (seconds, rest.strip()) if seconds is not None else (None, text.strip())


def until_text(until: float | None, now: float) -> str:
    """'until 14:30', 'until 2026-12-24 14:30', or 'until it is lifted'."""
    if until is None:
        return "until it is lifted"
    same_day = time.localtime(until)[:3] == time.localtime(now)[:3]
    return time.strftime("until %H:%M" if same_day else "until %Y-%m-%d %H:%M", time.localtime(until))


class Moderation:
    def __init__(self, store: Store, clock: IReactorTime):
        self.store = store
        self.clock = clock
        self.bans: list[Ban] = []
        self.mutes: dict[str, Mute] = {}  # name key -> its mute
        self.moderated = False  # 'quiet, please': only operators, and owners in their rooms, speak

    def restore(self) -> None:
        """Before anyone connects: the bans and mutes still in force."""
        bans, mutes = self.store.in_force(self.clock.seconds())
        self.bans = bans
        self.mutes = {mute.key: mute for mute in mutes}

    def refresh(self) -> Deferred[list[Ban]]:
        """Read the bans again (chatroom-admin may have changed them); fires with those in force now that were
        not before: only they can cover someone online (the others were checked at the door)."""

        def got(bans: list[Ban]) -> list[Ban]:
            before = set(self.bans)
            self.bans = bans
            return [ban for ban in bans if ban not in before]

        return self.store.bans(self.clock.seconds()).addCallback(got)

    # What is in force.

    def ban_of(self, kind: str, value: str) -> Ban | None:
        now = self.clock.seconds()
        for ban in self.bans:
            if ban.kind == kind and ban.value == value and (ban.until is None or ban.until > now):
                return ban
        return None

    def mute_of(self, key: str) -> Mute | None:
        mute = self.mutes.get(key)
        if mute is not None and mute.until is not None and mute.until <= self.clock.seconds():
            del self.mutes[key]
            return None
        return mute

    def until(self, until: float | None) -> str:
        return until_text(until, self.clock.seconds())

    # Changing it.

    def ban(
        self, kind: str, value: str, shown: str, by: str, reason: str, seconds: float | None, for_name: str = ""
    ) -> Ban:
        now = self.clock.seconds()
        ban = Ban(kind, value, shown, by, reason, now, now + seconds if seconds else None, for_name or None)
        self.bans.append(ban)
        self.store.add_ban(ban).addErrback(_unwritable)
        logger.bind(event="ban", user=shown, by=by, kind=kind).warning(
            "{} banned {} {} ({})", by, shown, self.until(ban.until), reason or "no reason given"
        )
        return ban

    def unban(self, value: str, by: str) -> int:
        """Lift the bans of a name key or an address; how many there were."""
        kept = [ban for ban in self.bans if value not in (ban.value, ban.for_name)]
        lifted, self.bans = len(self.bans) - len(kept), kept
        if lifted:
            self.store.lift_bans(value).addErrback(_unwritable)
            logger.bind(event="unban", user=value, by=by).warning("{} lifted the bans of {}", by, value)
        return lifted

    def mute(self, key: str, name: str, by: str, reason: str, seconds: float | None) -> Mute:
        now = self.clock.seconds()
        mute = Mute(key, name, by, reason, now, now + seconds if seconds else None)
        self.mutes[key] = mute
        self.store.add_mute(mute).addErrback(_unwritable)
        logger.bind(event="mute", user=name, by=by).warning(
            "{} muted {} {} ({})", by, name, self.until(mute.until), reason or "no reason given"
        )
        return mute

    def unmute(self, key: str, by: str) -> Mute | None:
        mute = self.mutes.pop(key, None)
        if mute is not None:
            self.store.lift_mute(key).addErrback(_unwritable)
            logger.bind(event="unmute", user=mute.name, by=by).warning("{} unmuted {}", by, mute.name)
        return mute


def _unwritable(failure) -> None:
    logger.bind(event="store").error("cannot keep a ban or a mute: {}", failure.getErrorMessage())
