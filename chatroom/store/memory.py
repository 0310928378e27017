"""A store in Python objects: for tests of the hall, and for benchmarks of the core. Nothing outlives it."""

from __future__ import annotations

import secrets
from collections import defaultdict

from twisted.internet.defer import Deferred, succeed

from chatroom.store.interface import ALL_ROOMS, Account, Ban, Mute, StoredLine


class MemoryStore:
    slot = 0  # nothing shared

    def __init__(self) -> None:
        self.epoch = secrets.token_hex(8)
        self._lines: list[StoredLine] = []
        self._by_room: dict[str, list[StoredLine]] = defaultdict(list)
        self._accounts: dict[str, Account] = {}
        self._bans: list[Ban] = []
        self._mutes: dict[str, Mute] = {}

    def last_id(self) -> int:
        return self._lines[-1].id if self._lines else 0

    def recent_lines(self, per_room: int, rooms: int) -> list[StoredLine]:
        by_recency = sorted(self._by_room.items(), key=lambda item: item[1][-1].id, reverse=True)
        kept = [line for _, lines in by_recency[:rooms] for line in lines[-per_room:]] if per_room else []
        return sorted(kept, key=lambda line: line.id)

    def append(self, line: StoredLine) -> None:
        self._lines.append(line)
        self._by_room[line.room_key].append(line)

    def lines(self, room_key: str, limit: int, after: int = 0) -> Deferred[list[StoredLine]]:
        own = self._by_room.get(room_key)
        first = own[0].id if own else None  # lines to every room count from the room's first line (see Store)
        kept = [
            line
            for line in self._lines
            if line.id > after
            and (line.room_key == room_key or (line.room_key == ALL_ROOMS and first is not None and line.id > first))
        ]
        return succeed(kept[-limit:] if limit else [])

    def account(self, key: str) -> Deferred[Account | None]:
        return succeed(self._accounts.get(key))

    def save_account(self, account: Account) -> Deferred[None]:
        self._accounts[account.key] = account
        return succeed(None)

    def delete_account(self, key: str) -> Deferred[None]:
        self._accounts.pop(key, None)
        return succeed(None)

    def in_force(self, now: float) -> tuple[list[Ban], list[Mute]]:
        return self.bans(now).result, self.mutes(now).result

    def mutes(self, now: float) -> Deferred[list[Mute]]:
        return succeed([m for m in self._mutes.values() if m.until is None or m.until > now])

    def bans(self, now: float) -> Deferred[list[Ban]]:
        return succeed([ban for ban in self._bans if ban.until is None or ban.until > now])

    def add_ban(self, ban: Ban) -> Deferred[None]:
        self._bans.append(ban)
        return succeed(None)

    def lift_bans(self, value: str) -> Deferred[int]:
        kept = [ban for ban in self._bans if value not in (ban.value, ban.for_name)]
        lifted, self._bans = len(self._bans) - len(kept), kept
        return succeed(lifted)

    def add_mute(self, mute: Mute) -> Deferred[None]:
        self._mutes[mute.key] = mute
        return succeed(None)

    def lift_mute(self, key: str) -> Deferred[None]:
        self._mutes.pop(key, None)
        return succeed(None)
