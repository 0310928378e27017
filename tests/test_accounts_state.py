"""Hypothesis state machine: whatever people do with registered names, in any order, a registered name
is only ever held by a connection that gave its password -- across server restarts too.

It runs on each store: in memory, on a SQLite file and on PostgreSQL (tests/real_stores.py)."""

from __future__ import annotations

import random

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from loguru import logger
from twisted.internet.task import Clock

from chatroom.core.hall import Hall
from chatroom.core.names import name_key
from chatroom.core.passwords import check
from chatroom.core.settings import Settings
from conftest import FakePeer, plain
from real_stores import RealStore
from test_accounts import FAST

SPELLINGS = ["alice", "ALICE", "ɑlice", "bob", "Bob", "carol"]  # look-alikes among them
NAMES = st.sampled_from(SPELLINGS)
PASSWORDS = st.sampled_from(["password-1", "password-2", "short"])
HOSTS = st.sampled_from(["10.0.0.1", "10.0.0.2"])


class AccountsMachine(RuleBasedStateMachine):
    kind = "memory"  # the store

    def __init__(self):
        super().__init__()
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.real = RealStore(self.kind)
        self.store = self.real.store
        self.hall = Hall(self.clock, Settings(flood_rate=0), rng=random.Random(0), store=self.store, passwords=FAST)
        self.people: list = []
        self.given: dict = {}  # session -> every password this connection typed, at a prompt or in a command
        self.registered: dict = {}  # name key -> whether the hall said it is registered now
        self.errors: list = []
        self.sink = logger.add(self.errors.append, level="ERROR", format="{message}")

    def teardown(self):
        logger.remove(self.sink)
        self.real.close()

    def _pick(self, pick: int):
        live = [s for s in self.people if s in self.hall.sessions]
        return live[pick % len(live)] if live else None

    def _type(self, session, line: str, password: str | None = None) -> str:
        """Type `line`; what the hall answered, once the store has (as plain text)."""
        if password is not None:
            self.given.setdefault(session, set()).add(password)
        before = len(session.peer.sent)
        session.line(line)
        self.real.settle()
        return plain(b"".join(session.peer.sent[before:]))

    @rule(name=NAMES, host=HOSTS)
    def connect_and_give_a_name(self, name, host):
        session = self.hall.connect(FakePeer(f"{host}:{1000 + len(self.people)}"))
        self.people.append(session)
        session.line(name)

    @rule(pick=st.integers(0, 20), password=PASSWORDS)
    def answer_the_password_prompt(self, pick, password):
        session = self._pick(pick)
        if session is not None and not session.online:
            self._type(session, password, password)

    @rule(pick=st.integers(0, 20), colour=st.sampled_from(["", "red"]))
    def answer_the_colour_prompt(self, pick, colour):
        session = self._pick(pick)
        if session is not None and not session.online:
            session.line(colour)

    @rule(pick=st.integers(0, 20), password=PASSWORDS)
    def register(self, pick, password):
        session = self._pick(pick)
        if session is not None and "is registered: from now on" in self._type(session, f"/register {password}",
                                                                                password):  # fmt: skip
            self.registered[session.key] = True

    @rule(pick=st.integers(0, 20), old=PASSWORDS, new=PASSWORDS)
    def change_password(self, pick, old, new):
        session = self._pick(pick)
        if session is not None:
            self._type(session, f"/password {old} {new}", new)

    @rule(pick=st.integers(0, 20), password=PASSWORDS)
    def unregister(self, pick, password):
        session = self._pick(pick)
        if session is not None and "is no longer registered" in self._type(session, f"/unregister {password}",
                                                                           password):  # fmt: skip
            self.registered[session.key] = False

    @rule(pick=st.integers(0, 20), name=NAMES)
    def nick(self, pick, name):
        session = self._pick(pick)
        if session is not None:
            session.line(f"/nick {name}")

    @rule(pick=st.integers(0, 20))
    def leave(self, pick):
        session = self._pick(pick)
        if session is not None:
            session.lost()

    @rule(seconds=st.sampled_from([1, 60, 601]))
    def time_passes(self, seconds):
        self.clock.advance(seconds)

    def _accounts(self) -> dict:
        self.real.settle()
        return {key: self.real.wait(self.store.account(key)) for key in {name_key(name) for name in SPELLINGS}}

    @rule()
    def the_server_restarts(self):
        for session in list(self.hall.sessions):  # everyone is disconnected
            session.lost()
        registered = self._accounts()
        self.store = self.real.restart()
        assert self._accounts() == registered  # every name, password hash and colour kept
        self.hall = Hall(self.clock, Settings(flood_rate=0), rng=random.Random(0), store=self.store, passwords=FAST)
        self.hall.restore()
        self.people = []

    @invariant()
    def a_registered_name_is_only_held_by_someone_who_gave_its_password(self):
        self.real.settle()  # every store answer the last rule caused has come back
        for key, session in self.hall.names.items():
            account = self.real.wait(self.store.account(key))
            if account is None or not session.online:
                continue
            given = self.given.get(session, set())
            assert any(check(FAST.hasher, account.password_hash, password) for password in given), (
                f"{session.name} holds the registered name {account.name} without its password"
            )

    @invariant()
    def the_store_has_every_name_the_hall_said_is_registered_and_no_other(self):
        self.real.settle()
        for key, registered in self.registered.items():
            assert (self.real.wait(self.store.account(key)) is not None) == registered, key

    @invariant()
    def names_are_unique_and_held_by_live_sessions(self):
        for key, session in self.hall.names.items():
            assert session in self.hall.sessions and session.key == key

    @invariant()
    def no_error_is_logged(self):
        assert self.errors == []


AccountsMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestAccounts = AccountsMachine.TestCase


class AccountsOnSqlite(AccountsMachine):
    kind = "sqlite"


class AccountsOnPostgresql(AccountsMachine):
    kind = "postgresql"


ON_A_REAL_STORE = settings(max_examples=15, stateful_step_count=40, deadline=None)  # each example opens a store
AccountsOnSqlite.TestCase.settings = AccountsOnPostgresql.TestCase.settings = ON_A_REAL_STORE
TestAccountsOnSqlite = AccountsOnSqlite.TestCase


class TestAccountsOnPostgresql(AccountsOnPostgresql.TestCase):
    @pytest.fixture(autouse=True)
    def _cluster(self, postgresql_cluster):
        RealStore.cluster = postgresql_cluster
