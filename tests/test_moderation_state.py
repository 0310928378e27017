"""Hypothesis state machine: whatever operators and chatters do, in any order, nobody a ban covers is online,
and no line from a muted member reaches a room."""

from __future__ import annotations

import itertools
import random

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
from chatroom.store.memory import MemoryStore
from conftest import FakePeer
from test_accounts import FAST

NAMES = st.sampled_from(["eve", "EVE", "bob", "carol", "dave"])
HOSTS = st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"])
ROOMS = st.sampled_from(["lobby", "games", "study"])
DURATIONS = st.sampled_from(["", "30s", "10m", "1h"])
PICK = st.integers(0, 20)


class ModerationMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        store = MemoryStore()
        store.save_account(Account(name_key("op"), "op", FAST.hasher.hash("op-password"), "red", 0.0, True))
        self.hall = Hall(self.clock, Settings(flood_rate=0), rng=random.Random(0), store=store, passwords=FAST)
        self.op = self.hall.connect(FakePeer("10.9.9.9:1"))
        self.op.line("op")
        self.op.line("op-password")
        assert self.op.operator
        self.people: list = []
        self.peers: list[FakePeer] = [self.op.peer]
        self.said_while_muted: set[tuple[str, str]] = set()
        self.lines = itertools.count()
        self.errors: list = []
        self.sink = logger.add(self.errors.append, level="ERROR", format="{message}")

    def teardown(self):
        logger.remove(self.sink)

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

    # What must always hold.

    @invariant()
    def nobody_a_ban_covers_is_online(self):
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
