"""Hypothesis state machine: whatever people do, in any order, the hall stays consistent."""

from __future__ import annotations

import random

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from loguru import logger
from twisted.internet.task import Clock

from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from conftest import FakePeer

NAMES = st.sampled_from(["a", "A", "b", "ｂ", "c", "lobby", "x.y", "all", "bad name", "\u0430", "co", "с\u043e", "cо"])
ROOMS = st.sampled_from(["lobby", "LOBBY", "#g", "G", "h", "#", "ｇ"])
LINES = st.one_of(
    ROOMS.map(lambda room: f"/join {room}"),
    NAMES.map(lambda name: f"/nick {name}"),
    NAMES.map(lambda name: f"@{name} hi"),
    st.sampled_from(
        ["/leave", "/quit", "/quit bye", "HELLO WORLD", "hi", "/reply x", "/all yo", "@all x", "/who", "/list",
         "//x", "/me waves", "/color 3", "/colour nope", "", "/nope", "!private a hi", "!leave"]
    ),
)  # fmt: skip


class HallMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.hall = Hall(self.clock, Settings(login_timeout=30), rng=random.Random(0))
        self.sessions = []
        self.errors = []
        self.sink = logger.add(self.errors.append, level="ERROR", format="{message}")

    def teardown(self):
        logger.remove(self.sink)

    @rule(name=NAMES, colour=st.sampled_from(["", "red", "mauve"]))
    def connect(self, name, colour):
        session = self.hall.connect(FakePeer())
        session.line(name)
        session.line(colour)
        self.sessions.append(session)

    @rule(pick=st.integers(0, 30), line=LINES)
    def type_a_line(self, pick, line):
        if self.sessions:
            self.sessions[pick % len(self.sessions)].line(line)

    @rule(name=NAMES)
    def connect_and_never_finish_logging_in(self, name):
        session = self.hall.connect(FakePeer())
        session.line(name)
        self.sessions.append(session)

    @rule(pick=st.integers(0, 30), count=st.integers(1, 100), line=LINES)
    def flood(self, pick, count, line):
        if self.sessions:
            session = self.sessions[pick % len(self.sessions)]
            for _ in range(count):
                session.line(line)

    @rule(seconds=st.sampled_from([0.1, 1, 5, 31]))
    def time_passes(self, seconds):
        self.clock.advance(seconds)

    @rule(pick=st.integers(0, 30))
    def connection_lost(self, pick):
        if self.sessions:
            self.sessions[pick % len(self.sessions)].lost()

    @rule(pick=st.integers(0, 30))
    def fell_behind(self, pick):
        if self.sessions:
            self.sessions[pick % len(self.sessions)].fell_behind()

    @invariant()
    def each_member_is_in_exactly_one_room(self):
        rooms_of = {}
        for room in self.hall.rooms.values():
            for member in room.members:
                assert member not in rooms_of
                rooms_of[member] = room
                assert member.room is room and member in self.hall.sessions
        for session in self.hall.sessions:
            assert (session in rooms_of) == session.online

    @invariant()
    def no_empty_room_but_the_lobby(self):
        for key, room in self.hall.rooms.items():
            assert key == room.key
            assert room.members or room.is_lobby

    @invariant()
    def names_are_unique_and_held_by_live_sessions(self):
        for key, session in self.hall.names.items():
            assert session in self.hall.sessions and session.key == key
        for session in self.hall.sessions:
            if session.name:
                assert self.hall.names.get(session.key) is session

    @invariant()
    def no_error_is_logged(self):
        assert self.errors == []

    @invariant()
    def nobody_gone_leaves_a_timer(self):
        live = {id(s) for s in self.hall.sessions}
        for call in self.clock.getDelayedCalls():
            owner = call.args[0] if call.args else call.func.__self__  # hall.time_out(session) or session._release()
            assert id(owner) in live, call

    @invariant()
    def nobody_gone_is_still_listed(self):
        for session in self.sessions:
            if session not in self.hall.sessions:
                assert not session.online and session.reply_to is None


HallMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)
TestHall = HallMachine.TestCase
