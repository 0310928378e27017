"""Moderation by people: the bans and mutes in force, how long they last, and 'quiet, please'.

Operators (registered names the host made operators with chatroom-admin) set
them; they are kept in the store, so they outlast a restart, and end by
themselves when their time is up. chatroom-admin (or another server on the
same store) may add or lift bans and mutes while the server runs: the hall
reads them again every BANS_REFRESH seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger
from twisted.internet.defer import Deferred, gatherResults

from chatroom.core.durations import lasting, left
from chatroom.store.interface import Ban, Mute

if TYPE_CHECKING:
    from twisted.internet.interfaces import IDelayedCall, IReactorTime

    from chatroom.store.interface import Store

BANS_REFRESH = 2.0  # seconds: how soon a ban, a mute or their lifting made with chatroom-admin takes effect


@dataclass
class _Change:
    """A ban or a mute set or lifted here, kept until a read of the store is sure to show it.

    A read of the store that began before the change was written does not show
    it: its answer would undo the change in memory (a ban made during the read
    would vanish, a lifted one come back). So each answer has the changes it
    may not show applied to it again; all of them are idempotent.
    """

    apply: Callable[[list[Ban], dict[str, Mute]], None]
    seen_from: int | None = None  # reads numbered from this one on began after it was written


@dataclass(frozen=True)
class Refreshed:
    """What a read of the store changed that someone online may need to hear of."""

    bans: list[Ban]  # in force now and not before: they may cover someone online
    mutes: list[Mute]  # set (or set again) elsewhere
    lifted: list[Mute]  # lifted elsewhere before their time


class Moderation:
    def __init__(self, store: Store, clock: IReactorTime):
        self.store = store
        self.clock = clock
        self.bans: list[Ban] = []
        self.mutes: dict[str, Mute] = {}  # name key -> its mute
        self.moderated = False  # 'quiet, please': only operators, and owners in their rooms, speak
        self.mute_ended: Callable[[Mute], None] = lambda mute: None  # the hall tells the person
        self._ends: dict[str, IDelayedCall] = {}  # name key -> the call that ends its mute
        self._changes: list[_Change] = []  # made here, and maybe not yet in what a read of the store answers
        self._reads = 0  # reads of the store begun so far

    def restore(self) -> None:
        """Before anyone connects: the bans and mutes still in force."""
        bans, mutes = self.store.in_force(self.clock.seconds())
        self.bans = bans
        self._set_mutes({mute.key: mute for mute in mutes})

    def refresh(self) -> Deferred[Refreshed]:
        """Read the bans and mutes again (chatroom-admin or another process may have changed them), keeping
        what was changed here that the read may not show."""
        number, self._reads = self._reads, self._reads + 1
        now = self.clock.seconds()
        reads = gatherResults([self.store.bans(now), self.store.mutes(now)], consumeErrors=True)

        def got(answer: list) -> Refreshed:
            bans, mutes = answer[0], {mute.key: mute for mute in answer[1]}
            self._changes = [c for c in self._changes if c.seen_from is None or c.seen_from > number]  # may not show
            for change in self._changes:
                change.apply(bans, mutes)
            known, now = set(self.bans), self.clock.seconds()
            mutes = {key: mute for key, mute in mutes.items() if mute.until is None or mute.until > now}  # ended
            before = self.mutes
            self.bans = bans
            self._set_mutes(mutes)
            return Refreshed(
                [ban for ban in bans if ban not in known],
                [mute for key, mute in mutes.items() if before.get(key) != mute],
                [mute for key, mute in before.items() if key not in mutes and (mute.until is None or mute.until > now)],
            )

        return reads.addCallback(got)

    # What is in force.

    def ban_of(self, kind: str, value: str) -> Ban | None:
        now = self.clock.seconds()
        for ban in self.bans:
            if ban.kind == kind and ban.value == value and (ban.until is None or ban.until > now):
                return ban
        return None

    def mute_of(self, key: str) -> Mute | None:
        mute = self.mutes.get(key)
        return None if mute is None or (mute.until is not None and mute.until <= self.clock.seconds()) else mute

    def left(self, until: float | None) -> str:
        """'for another 9 minutes', or 'until it is lifted'."""
        return left(until, self.clock.seconds())

    # Changing it.

    def ban(
        self, kind: str, value: str, shown: str, by: str, reason: str, seconds: float | None, for_name: str = ""
    ) -> Ban:
        now = self.clock.seconds()
        ban = Ban(kind, value, shown, by, reason, now, now + seconds if seconds else None, for_name or None)
        if ban in self.bans:  # the same ban twice in one instant is one ban, in memory as in the store
            return ban

        def add(bans: list[Ban], mutes: dict[str, Mute]) -> None:
            if ban not in bans:
                bans.append(ban)

        self._change(add, self.store.add_ban(ban))
        logger.bind(event="ban", user=shown, by=by, kind=kind).warning(
            "{} banned {} {} ({})", by, shown, lasting(ban.since, ban.until), reason or "no reason given"
        )
        return ban

    def unban(self, value: str, by: str) -> int:
        """Lift the bans of a name key or an address; how many there were."""

        def lift(bans: list[Ban], mutes: dict[str, Mute]) -> None:
            bans[:] = [ban for ban in bans if value not in (ban.value, ban.for_name)]

        held = len(self.bans)
        lift(self.bans, self.mutes)
        lifted = held - len(self.bans)
        if lifted:
            self._change(lift, self.store.lift_bans(value), applied=True)
            logger.bind(event="unban", user=value, by=by).warning("{} lifted the bans of {}", by, value)
        return lifted

    def mute(self, key: str, name: str, by: str, reason: str, seconds: float | None) -> Mute:
        now = self.clock.seconds()
        mute = Mute(key, name, by, reason, now, now + seconds if seconds else None)

        def add(bans: list[Ban], mutes: dict[str, Mute]) -> None:
            mutes[key] = mute

        self._change(add, self.store.add_mute(mute))
        self._watch(mute)
        logger.bind(event="mute", user=name, by=by).warning(
            "{} muted {} {} ({})", by, name, lasting(mute.since, mute.until), reason or "no reason given"
        )
        return mute

    def unmute(self, key: str, by: str) -> Mute | None:
        mute = self.mute_of(key)
        if mute is None:
            return None

        def lift(bans: list[Ban], mutes: dict[str, Mute]) -> None:
            mutes.pop(key, None)

        self._change(lift, self.store.lift_mute(key))
        self._watch(None, key)
        logger.bind(event="unmute", user=mute.name, by=by).warning("{} unmuted {}", by, mute.name)
        return mute

    def _change(
        self, apply: Callable[[list[Ban], dict[str, Mute]], None], written: Deferred, applied: bool = False
    ) -> None:
        """Make a change here (unless it is `applied` already), and keep it for the reads of the store that may
        not show it: those begun before it was `written`."""
        if not applied:
            apply(self.bans, self.mutes)
        change = _Change(apply)
        self._changes.append(change)

        def settled(result):
            change.seen_from = self._reads  # also when the write failed: then the store is right without it
            return result

        written.addBoth(settled).addErrback(_unwritable)

    # The end of a mute: its person is told.

    def _set_mutes(self, mutes: dict[str, Mute]) -> None:
        for key in self.mutes.keys() - mutes.keys():
            self._watch(None, key)
        for key, mute in mutes.items():
            if self.mutes.get(key) != mute:
                self._watch(mute)
        self.mutes = mutes

    def _watch(self, mute: Mute | None, key: str = "") -> None:
        """From now on, the end of `mute` (None: of no mute of `key`) is awaited."""
        key = mute.key if mute is not None else key
        call = self._ends.pop(key, None)
        if call is not None and call.active():
            call.cancel()
        if mute is not None and mute.until is not None:
            self._ends[key] = self.clock.callLater(max(0.0, mute.until - self.clock.seconds()), self._ended, mute)

    def _ended(self, mute: Mute) -> None:
        self._ends.pop(mute.key, None)
        if self.mutes.get(mute.key) == mute:
            del self.mutes[mute.key]
            logger.bind(event="mute-end", user=mute.name).info("the mute of {} ended", mute.name)
            self.mute_ended(mute)


def _unwritable(failure) -> None:
    logger.bind(event="store").error("cannot keep a ban or a mute: {}", failure.getErrorMessage())
