"""Helpers shared by the tests: a fake connection for the core, and ANSI stripping."""

from __future__ import annotations

import json
import random
import re

import pytest
from twisted.internet.task import Clock

from chatroom.core.events.model import Event
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings

ANSI = re.compile(r"\x1b\[[0-9;]*m")

# The twelve colours, in PRODUCT.md's order.
PRODUCT_COLOURS = (
    "black", "white", "pink", "red", "orange", "yellow", "green", "cyan", "teal", "light blue", "blue", "purple"
)  # fmt: skip


def plain(data: bytes | str) -> str:
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return ANSI.sub("", text)


class FakePeer:
    """A terminal's `Peer` that remembers what the core sent it, as the telnet rendering."""

    panels = False

    def __init__(self, address: str = "127.0.0.1:5000"):
        self.address = address
        self.sent: list[bytes] = []
        self.events: list[Event] = []
        self.disconnected = False

    def deliver(self, event: Event) -> None:
        self.events.append(event)
        self.sent.append(event.telnet)

    def expect_secret(self, secret: bool) -> None:
        self.secret = secret

    def disconnect(self) -> None:
        self.disconnected = True

    def text(self) -> str:
        """Everything received so far, without colours, and forget it."""
        out = plain(b"".join(self.sent))
        self.sent.clear()
        return out


class WebPeer(FakePeer):
    """The web page's `Peer`: it has panels, and takes the web rendering."""

    panels = True

    def deliver(self, event: Event) -> None:
        self.events.append(event)
        self.sent.append(event.web)

    def messages(self) -> list[dict]:
        """Everything received so far, as the page would parse it, and forget it."""
        out = [json.loads(data) for data in self.sent]
        self.sent.clear()
        return out


class Chatter:
    """A logged-in user of a Hall, driven by lines as a client would send them."""

    def __init__(self, hall: Hall, name: str, colour: str = "blue", peer: type[FakePeer] = FakePeer):
        self.peer = peer(f"127.0.0.1:{5000 + len(hall.sessions)}")
        self.session = hall.connect(self.peer)
        self.say(name)
        self.say(colour)
        self.peer.sent.clear()

    def say(self, line: str) -> str:
        self.session.line(line)
        return self.peer.text()

    def read(self) -> str:
        return self.peer.text()


@pytest.fixture
def clock() -> Clock:
    c = Clock()
    c.advance(1_700_000_000)
    return c


@pytest.fixture
def hall(clock) -> Hall:
    return Hall(clock, Settings(), rng=random.Random(1))


@pytest.fixture
def make_chatter(hall):
    """Logs people in; each starts with nothing unread, and so does everyone before them."""
    everyone: list[Chatter] = []

    def make(name: str, colour: str = "blue", peer: type[FakePeer] = FakePeer) -> Chatter:
        everyone.append(Chatter(hall, name, colour, peer))
        for chatter in everyone:
            chatter.read()
        return everyone[-1]

    return make


STORE_KINDS = ["sqlite", "postgresql"]  # @pytest.mark.parametrize("store_kind", STORE_KINDS): a test on each


@pytest.fixture
def store_kind() -> str:
    """The store a lab's server uses: SQLite, unless a test is parametrised over STORE_KINDS."""
    return "sqlite"


@pytest.fixture
def postgresql_for(request, store_kind, monkeypatch):
    """For a test on PostgreSQL: (the cluster, a new database), its password in PGPASSWORD for the servers and
    chatroom-admin the test starts (as a host would keep it out of the command line). None on SQLite."""
    if store_kind != "postgresql":
        return None
    cluster, database = request.getfixturevalue("postgresql_cluster"), request.getfixturevalue("postgresql")
    monkeypatch.setenv("PGPASSWORD", database.password)
    return cluster, database


@pytest.fixture
def lab(tmp_path, postgresql_for):
    """A real twistd's folder, store, log and clients (tests/moderation_lab.py), all stopped at the end."""
    from moderation_lab import Lab  # it imports this module: not at the top

    lab = Lab(tmp_path, postgresql_for)
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="session")
def postgresql_cluster():
    """A throwaway PostgreSQL 15 for the whole run (tests/postgresql_cluster.py), stopped at the end."""
    from postgresql_cluster import Cluster

    cluster = Cluster()
    try:
        yield cluster
    finally:
        cluster.close()


@pytest.fixture
def postgresql(postgresql_cluster):
    """A new, empty database of the test's own, with a role of its own (its password: `.password`)."""
    return postgresql_cluster.database()
