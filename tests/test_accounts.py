"""Registered names, in the core: claiming a name, logging in with it, and everything a guesser tries."""

from __future__ import annotations

import json
import random

import pytest
from argon2 import PasswordHasher
from loguru import logger
from twisted.internet.defer import Deferred

from chatroom.core.events.model import Goodbye, Prompt
from chatroom.core.hall import Hall
from chatroom.core.names import name_key
from chatroom.core.passwords import InlinePasswords
from chatroom.core.settings import Settings
from chatroom.store.memory import MemoryStore
from conftest import FakePeer, WebPeer

# Real Argon2id, with costs small enough for a test to hash hundreds of times.
FAST = InlinePasswords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def hall(clock):
    return Hall(clock, Settings(), rng=random.Random(1), passwords=FAST)


class Person:
    """One connection, driven line by line, from an address of its own choosing."""

    def __init__(self, hall: Hall, host: str = "10.0.0.5", peer: type[FakePeer] = FakePeer):
        Person.port = getattr(Person, "port", 1000) + 1
        self.peer = peer(f"{host}:{Person.port}")
        self.session = hall.connect(self.peer)
        self.peer.text()

    def say(self, *lines: str) -> str:
        """What these lines got back (whatever came before them is dropped)."""
        self.peer.text()
        for line in lines:
            self.session.line(line)
        return self.peer.text()

    @property
    def prompt(self) -> Prompt | None:
        prompts = [event for event in self.peer.events if isinstance(event, Prompt)]
        return prompts[-1] if prompts else None


@pytest.fixture
def alice_registered(hall) -> Person:
    alice = Person(hall)
    alice.say("alice", "red", "/register correct-horse")
    alice.say("/quit")
    return alice


def test_register_then_log_in_with_the_password_and_the_colour_kept(hall, alice_registered):
    again = Person(hall)
    asked = again.say("alice")
    assert asked.endswith("*** Password for alice:\r\n")
    assert again.prompt.asks == "password" and again.peer.secret is True  # a telnet client is told not to echo
    welcome = again.say("correct-horse")
    assert again.peer.secret is False
    assert "Pick a colour" not in welcome and "Welcome, alice! You are online." in welcome
    assert again.session.colour.name == "red"


def test_registering_says_so_and_what_it_means(hall):
    alice = Person(hall)
    alice.say("alice", "red")
    assert alice.say("/register correct-horse") == (
        "*** alice is registered: from now on, logging in as alice asks for this password.\r\n"
    )
    assert alice.say("/register another-one") == "*** Error: The name alice is registered already.\r\n"


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short", "A password needs at least 8 characters."), ("two words here", "A password cannot contain spaces.")],
)
def test_a_password_too_short_or_with_spaces_is_refused(hall, password, problem):
    alice = Person(hall)
    alice.say("alice", "red")
    assert alice.say(f"/register {password}") == f"*** Error: {problem}\r\n"
    again = Person(hall)
    assert "Pick a colour" in again.say("bob")  # nothing was registered


@pytest.mark.parametrize("look_alike", ["ALICE", "Ａｌｉｃｅ", "\u0251lice"])  # case, width, a Latin alpha
def test_a_name_that_looks_like_a_registered_one_is_that_name(hall, alice_registered, look_alike):
    impostor = Person(hall)
    answer = impostor.say(look_alike)
    assert answer.endswith("*** Password for alice:\r\n")
    impostor.say("correct-horse")
    assert impostor.session.name == "alice"  # the registered spelling


def test_three_wrong_passwords_close_the_connection(hall, alice_registered):
    guesser = Person(hall)
    guesser.say("alice")
    assert guesser.say("guess-one") == "*** Wrong password for alice.\r\n*** Password for alice:\r\n"
    assert guesser.say("guess-two") == "*** Wrong password for alice.\r\n*** Password for alice:\r\n"
    assert guesser.say("guess-three") == "*** Three wrong passwords for alice. Goodbye!\r\n"
    assert isinstance(guesser.peer.events[-1], Goodbye) and guesser.peer.disconnected
    assert guesser.session not in hall.sessions


def test_an_address_gets_ten_wrong_passwords_in_ten_minutes_for_all_names_together(hall, clock, alice_registered):
    bob = Person(hall)
    bob.say("bob", "blue", "/register battery-staple", "/quit")
    wrong = 0
    while wrong < 10:
        guesser = Person(hall, host="10.6.6.6")
        for _ in range(3):
            if wrong == 10:
                break
            guesser.say(("alice", "bob")[wrong % 2] if guesser.prompt.asks == "name" else f"guess-{wrong}")
            if guesser.prompt.asks == "password":
                guesser.say(f"guess-{wrong}")
                wrong += 1
    late = Person(hall, host="10.6.6.6")
    late.say("alice")
    assert late.say("correct-horse") == (
        "*** Too many wrong passwords from your address: try again in 10 minutes. Goodbye!\r\n"
    )  # even the right password is not checked
    assert late.peer.disconnected
    elsewhere = Person(hall, host="10.7.7.7")
    elsewhere.say("alice")
    assert "Welcome, alice!" in elsewhere.say("correct-horse")  # another address is not held back
    clock.advance(600)
    later = Person(hall, host="10.6.6.6")
    later.say("bob")
    assert "Welcome, bob!" in later.say("battery-staple")


def test_nick_to_someone_elses_registered_name_is_refused_and_to_your_own_allowed(hall, alice_registered):
    bob = Person(hall)
    bob.say("bob", "blue")
    assert bob.say("/nick alice") == "*** Error: The name alice is registered: its owner logs in with it.\r\n"
    assert bob.say("/nick ALICE") == "*** Error: The name alice is registered: its owner logs in with it.\r\n"
    alice = Person(hall)
    alice.say("alice", "correct-horse")
    alice.say("/nick alicia")
    assert alice.session.name == "alicia"
    alice.say("/nick alice")
    assert alice.session.name == "alice"


def test_the_right_password_takes_the_name_from_a_session_still_holding_it(hall, alice_registered):
    ghost = Person(hall)
    ghost.say("alice", "correct-horse")
    bob = Person(hall)
    bob.say("bob", "blue")
    back = Person(hall)
    back.say("alice")
    assert "Welcome, alice!" in back.say("correct-horse")
    assert ghost.peer.disconnected
    assert ghost.peer.text().endswith("*** alice logged in again from elsewhere.\r\n")
    assert "alice left the chat." in bob.peer.text()
    assert hall.find("alice") is back.session


def test_password_changes_the_password(hall, alice_registered):
    alice = Person(hall)
    alice.say("alice", "correct-horse")
    assert alice.say("/password wrong-one new-password") == "*** Error: That is not your password.\r\n"
    assert alice.say("/password correct-horse new-password") == "*** Your password is changed.\r\n"
    assert alice.say("/password only-one") == "*** Error: Usage: /password OLD NEW\r\n"
    alice.say("/quit")
    again = Person(hall)
    again.say("alice")
    assert "Wrong password" in again.say("correct-horse")
    assert "Welcome, alice!" in again.say("new-password")


def test_unregister_gives_the_name_back(hall, alice_registered):
    alice = Person(hall)
    alice.say("alice", "correct-horse")
    assert alice.say("/unregister wrong-one") == "*** Error: That is not your password.\r\n"
    assert alice.say("/unregister correct-horse") == "*** alice is no longer registered: anyone may use it.\r\n"
    assert alice.say("/unregister correct-horse") == (
        "*** Error: The name alice is not registered. /register PASSWORD claims it.\r\n"
    )
    alice.say("/quit")
    assert "Pick a colour" in Person(hall).say("alice")


def test_a_registered_name_keeps_the_colour_its_owner_last_chose(hall, alice_registered):
    alice = Person(hall)
    alice.say("alice", "correct-horse", "/color green", "/quit")
    again = Person(hall)
    again.say("alice", "correct-horse")
    assert again.session.colour.name == "green"


def test_lines_sent_while_a_name_is_looked_up_wait_and_follow_in_order(clock):
    store = SlowStore()
    hall = Hall(clock, Settings(), rng=random.Random(1), store=store, passwords=FAST)
    bob = Person(hall)
    store.answer()
    bob.say("bob", "blue")
    store.answer()
    alice = Person(hall)
    alice.say("alice", "red", "first", "second")  # a client that sends everything at once
    assert "alice" not in bob.peer.text()  # nothing happens while the store is asked
    store.answer()
    said = bob.peer.text()
    assert said.index("alice: first") < said.index("alice: second")


def test_a_password_is_never_logged_echoed_or_stored_in_clear(hall):
    logged: list[str] = []
    sink = logger.add(lambda message: logged.append(str(message)), level="DEBUG")
    try:
        watcher = Person(hall, peer=WebPeer)
        watcher.say("watcher", "")
        alice = Person(hall)
        alice.say("alice", "red", "/register pw-first-1", "/password pw-wrong-2 pw-second-3", "/quit")
        again = Person(hall)
        again.say("alice", "pw-guess-4", "pw-first-1", "/password pw-first-1 pw-second-3", "/unregister pw-second-3")
    finally:
        logger.remove(sink)
    passwords = ("pw-first-1", "pw-wrong-2", "pw-second-3", "pw-guess-4")
    everything = "".join(logged) + "".join(
        data.decode() for person in (watcher, alice, again) for data in person.peer.sent
    )
    assert "registered" in everything and "changed" in everything  # the scenario did happen
    assert not any(password in everything for password in passwords)


def test_the_hash_is_argon2id(hall):
    alice = Person(hall)
    alice.say("alice", "red", "/register correct-horse")
    account = hall.store.account(name_key("alice")).result
    assert account.password_hash.startswith("$argon2id$") and "correct-horse" not in account.password_hash


def test_the_page_is_asked_for_the_password_as_a_prompt(hall, alice_registered):
    page = Person(hall, peer=WebPeer)
    page.say("alice")
    prompt = json.loads(page.peer.events[-1].web)
    assert prompt == {**prompt, "type": "prompt", "asks": "password", "text": "Password for alice:", "problem": None}


class SlowStore(MemoryStore):
    """A store whose answers about names come only when the test says so."""

    def __init__(self):
        super().__init__()
        self.waiting: list[tuple[Deferred, object]] = []

    def account(self, key):
        answer = Deferred()
        self.waiting.append((answer, super().account(key).result))
        return answer

    def answer(self):
        waiting, self.waiting = self.waiting, []
        for answer, result in waiting:
            answer.callback(result)
