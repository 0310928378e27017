"""Hypothesis state machine: whatever operators and chatters do, in any order, nobody a ban covers is online,
and no line from a muted member reaches a room -- and the bans and mutes in force survive a server restart.

It runs on each store: in memory, on a SQLite file and on PostgreSQL (tests/real_stores.py)."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from loguru import logger
from twisted.internet.task import Clock

from chatroom.core.events.model import Action, Chat, ToAll
from chatroom.core.hall import Hall
from chatroom.core.names import name_key
from chatroom.core.settings import Settings
from chatroom.store.interface import Account
from conftest import FakePeer
from real_stores import RealStore
from test_accounts import FAST

NAMES = st.sampled_from(["eve", "EVE", "bob", "carol", "dave"])
HOSTS = st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"])
ROOMS = st.sampled_from(["lobby", "games", "study"])
DURATIONS = st.sampled_from(["", "30s", "10m", "1h"])
PICK = st.integers(0, 20)


class ModerationMachine(RuleBasedStateMachine):
    kind = "memory"  # the store

    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.real = RealStore(self.kind)
        self.real.wait(self.real.store.save_account(
            Account(name_key("op"), "op", FAST.hasher.hash("op-password"), "red", 0.0, True)))  # fmt: skip
        self.peers: list[FakePeer] = []
        self._open_the_hall()
        self.said_while_muted: set[tuple[str, str]] = set()
        self.lines = itertools.count()
        self.errors: list = []
        self.sink = logger.add(self.errors.append, level="ERROR", format="{message}")

    def _open_the_hall(self) -> None:
        """A hall on the store, and the operator logged in."""
        self.hall = Hall(self.clock, Settings(flood_rate=0), rng=random.Random(0), store=self.real.store,
                         passwords=FAST)  # fmt: skip
        self.hall.restore()
        self.op = self.hall.connect(FakePeer("10.9.9.9:1"))
        self.op.line("op")
        self.real.settle()
        self.op.line("op-password")
        self.real.settle()
        assert self.op.operator
        self.people: list = []
        self.peers.append(self.op.peer)

    def teardown(self):
        logger.remove(self.sink)
        self.real.close()

    def _pick(self, pick: int):
        online = [s for s in self.people if s.online]
        return online[pick % len(online)] if online else None

    # Chatters.

    @rule(name=NAMES, host=HOSTS)
    def log_in(self, name, host):
        peer = FakePeer(f"{host}:{len(self.peers) + 2}")
        self.peers.append(peer)
        session = self.hall.connect(peer)
        session.line(name)
        session.line("blue")
        self.people.append(session)

    @rule(pick=PICK, how=st.sampled_from(["", "/me ", "/all "]))
    def say(self, pick, how):
        session = self._pick(pick)
        if session is None:
            return
        text = f"line {next(self.lines)}"
        if self.hall.moderation.mute_of(session.key) is not None:
            self.said_while_muted.add((session.name, text))
        session.line(how + text)

    @rule(pick=PICK, room=ROOMS, key=st.sampled_from(["", "k1", "k2"]))
    def join(self, pick, room, key):
        session = self._pick(pick)
        if session is not None:
            session.line(f"/join {room} {key}".strip())

    @rule(pick=PICK)
    def leave(self, pick):
        session = self._pick(pick)
        if session is not None:
            session.lost()

    # The operator.

    @rule(pick=PICK)
    def kick(self, pick):
        session = self._pick(pick)
        if session is not None:
            self.op.line(f"/kick {session.name} enough")

    @rule(name=NAMES, duration=DURATIONS)
    def mute(self, name, duration):
        self.op.line(f"/mute {name} {duration}".strip())

    @rule(name=NAMES)
    def unmute(self, name):
        self.op.line(f"/unmute {name}")

    @rule(name=NAMES, duration=DURATIONS)
    def ban(self, name, duration):
        self.op.line(f"/ban {name} {duration}".strip())

    @rule(what=st.one_of(NAMES, HOSTS))
    def unban(self, what):
        self.op.line(f"/unban {what}")

    @rule(room=ROOMS, key=st.sampled_from(["k1", "k2"]))
    def lock(self, room, key):
        self.op.line(f"/join {room} {key}")
        self.op.line(f"/lock {key}")

    @rule(room=ROOMS)
    def unlock(self, room):
        self.op.line(f"/join {room}")
        self.op.line("/unlock")

    @rule(pick=PICK)
    def invite(self, pick):
        session = self._pick(pick)
        if session is not None:
            self.op.line(f"/invite {session.name}")

    @rule(seconds=st.sampled_from([1, 31, 601, 3601]))
    def time_passes(self, seconds):
        self.clock.advance(seconds)

    @rule()
    def the_server_restarts(self):
        for session in list(self.hall.sessions):  # everyone is disconnected
            session.lost()
        self.real.settle()
        now = self.clock.seconds()
        bans = sorted(map(repr, (b for b in self.hall.moderation.bans if b.until is None or b.until > now)))
        mutes = sorted(map(repr, (m for m in self.hall.moderation.mutes.values() if m.until is None or m.until > now)))
        self.real.restart()
        self._open_the_hall()
        assert sorted(map(repr, self.hall.moderation.bans)) == bans
        assert sorted(map(repr, self.hall.moderation.mutes.values())) == mutes

    # What must always hold.

    @invariant()
    def nobody_a_ban_covers_is_online(self):
        self.real.settle()  # every store answer the last rule caused has come back
        for session in self.hall.online():
            assert self.hall.ban_of(session) is None, f"{session.name} from {session.host} is online, but banned"

    @invariant()
    def no_line_from_a_muted_member_reaches_a_room(self):
        for peer in self.peers:
            for event in peer.events:
                if isinstance(event, Chat | Action | ToAll):
                    assert (event.speaker.text, event.text) not in self.said_while_muted

    @invariant()
    def the_operator_stays(self):
        assert self.op.online

    @invariant()
    def no_error_is_logged(self):
        assert self.errors == []


ModerationMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestModeration = ModerationMachine.TestCase


class ModerationOnSqlite(ModerationMachine):
    kind = "sqlite"


class ModerationOnPostgresql(ModerationMachine):
    kind = "postgresql"


ON_A_REAL_STORE = settings(max_examples=15, stateful_step_count=40, deadline=None)  # each example opens a store
ModerationOnSqlite.TestCase.settings = ModerationOnPostgresql.TestCase.settings = ON_A_REAL_STORE
TestModerationOnSqlite = ModerationOnSqlite.TestCase


class TestModerationOnPostgresql(ModerationOnPostgresql.TestCase):
    @pytest.fixture(autouse=True)
    def _cluster(self, postgresql_cluster):
        RealStore.cluster = postgresql_cluster
