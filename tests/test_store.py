"""The stores on a real SQLite file and a real PostgreSQL, on the real reactor: what they keep, how they
upgrade, how they cope.

StoreContract is what every store must do; it runs once per store
(SqliteStoreTests, PostgresStoreTests), each with what only it has to cope with.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path

import pytest
from loguru import logger
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from chatroom.store import postgresql
from chatroom.store.interface import ALL_ROOMS, NAME, SLOTS, Account, Ban, Mute, StoredLine
from chatroom.store.postgresql import CONNECT_SECONDS, LOCKS, PostgresStore
from chatroom.store.postgresql import LATEST as PG_LATEST
from chatroom.store.postgresql import _read as pg_rows
from chatroom.store.postgresql import connect as postgresql_connect
from chatroom.store.postgresql import schema as pg_schema
from chatroom.store.queued import row_of
from chatroom.core.archive import MISSED_MOST
from chatroom.core.hall import HISTORY_MOST
from chatroom.store import queued
from chatroom.store.queued import PENDING_MOST
from chatroom.store.sqlite import LATEST, MEMORY_KEPT, SqliteStore, StoreError, schema
from postgresql_cluster import free_port


def line(number: int, room: str = "lobby", text: str = "", when: float | None = None, kind: str = "chat"):
    key = ALL_ROOMS if room == ALL_ROOMS else room.lower()
    return StoredLine(number, when or time.time(), room, key, kind, "alice", "blue", text or f"line {number}")


def rows(path: Path, query: str = "SELECT id, text FROM lines ORDER BY id") -> list[tuple]:
    with sqlite3.connect(path) as connection:
        found = connection.execute(query).fetchall()
    connection.close()
    return found


class LogLines:
    """What the store says in the log, while a test runs."""

    def __init__(self):
        self.lines: list[str] = []
        self._sink = logger.add(lambda message: self.lines.append(str(message)), level="WARNING")

    def close(self):
        logger.remove(self._sink)

    def count(self, text: str) -> int:
        return sum(text in found for found in self.lines)


class StoreContract:
    """What every store does. A subclass opens its store (`make`) and reads what it wrote (`rows`)."""

    # The most a flood may hold, in PENDING_MOSTs: a waiting line costs its text and less than as much again,
    # and a store that sends a batch as one query holds that query's text too while it writes.
    flood_peak = 2

    def setUp(self):
        self.log = LogLines()
        self.addCleanup(self.log.close)

    def make(self, history_days: int):
        raise NotImplementedError

    def rows(self, query: str = "SELECT id, text FROM lines ORDER BY id") -> list[tuple]:
        raise NotImplementedError

    def open(self, history_days: int = 30, started: bool = True):
        store = self.make(history_days)
        store.open()
        if started:
            store.start()
            self.addCleanup(store.close)
        return store

    async def until(self, done, seconds: float = 5) -> None:
        for _ in range(int(seconds / 0.05)):
            if done():
                return
            await deferLater(reactor, 0.05)
        raise AssertionError(f"not within {seconds} s")

    async def test_lines_are_on_disk_within_a_second_and_read_back_by_room(self):
        store = self.open()
        for number, room in enumerate(["lobby", "games", "lobby", ALL_ROOMS, "games"], 1):
            store.append(line(number, room, kind="all" if room == ALL_ROOMS else "chat"))
        started = time.monotonic()
        await self.until(lambda: len(self.rows()) == 5, seconds=1)
        assert time.monotonic() - started < 1
        lobby = await store.lines("lobby", 10)
        assert [found.id for found in lobby] == [1, 3, 4]  # its own lines and the one to every room
        assert [found.id for found in await store.lines("games", 2)] == [4, 5]  # the last two, oldest first
        assert [found.id for found in await store.lines("games", 10, after=4)] == [5]
        assert lobby[0] == line(1, when=lobby[0].time)  # every field as it was given

    async def test_a_line_to_every_room_is_read_back_only_in_rooms_spoken_in_before_it(self):
        store = self.open()
        for number, room in enumerate(["games", ALL_ROOMS, "later", ALL_ROOMS, "games"], 1):
            store.append(line(number, room, kind="all" if room == ALL_ROOMS else "chat"))
        assert [found.id for found in await store.lines("games", 10)] == [1, 2, 4, 5]
        assert [found.id for found in await store.lines("later", 10)] == [3, 4]  # made after line 2
        assert await store.lines("newest", 10) == []  # never spoken in: made after both
        assert [found.id for found in await store.lines("later", 1, after=3)] == [4]

    async def test_a_read_sees_every_line_appended_before_it(self):
        store = self.open()
        for number in range(1, 501):
            store.append(line(number))
        assert len(await store.lines("lobby", 1000)) == 500

    async def test_a_flood_of_lines_waits_for_the_disk_in_bounded_memory_and_none_is_lost(self):
        # Issue 15: 50,000 lines sent as fast as a client could (flood control off) piled up in the queue
        # behind the store's thread, which wakes only every FLUSH_SECONDS, and the memory was never given back.
        store = self.open()
        count = 16 * PENDING_MOST // 480  # far more than may wait, in lines of 480 characters
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for number in range(1, count + 1):
                store.append(line(number, text=f"{number:07} " + "x" * 472))  # each text its own string
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
        assert peak < self.flood_peak * PENDING_MOST
        await store.close()
        assert self.rows("SELECT count(*), min(id), max(id) FROM lines") == [(count, 1, count)]

    async def test_a_stalled_disk_slows_a_flood_once_then_lines_wait_in_memory(self):
        self.patch(queued, "CATCH_UP_SECONDS", 0.2)
        store = self.open()
        stalled = store._call(lambda connection: time.sleep(1.5))  # the store's thread is busy for 1.5 s
        count = 3 * PENDING_MOST // 480
        started = time.monotonic()
        for number in range(1, count + 1):
            store.append(line(number, text=f"{number:07} " + "x" * 472))
        assert time.monotonic() - started < 1.0  # waited once, 0.2 s, not at every line nor for the whole stall
        await stalled
        await store.close()
        assert self.rows("SELECT count(*) FROM lines") == [(count,)]

    async def test_accounts_are_saved_changed_and_deleted(self):
        store = self.open()
        alice = Account("alice", "Alice", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", "blue", 1.0)
        assert await store.account("alice") is None
        await store.save_account(alice)
        assert await store.account("alice") == alice
        await store.save_account(Account("alice", "Alice", alice.password_hash, "red", 1.0, operator=True))
        assert (await store.account("alice")).colour == "red" and (await store.account("alice")).operator
        await store.delete_account("alice")
        assert await store.account("alice") is None

    async def test_bans_and_mutes_are_kept_across_a_reopening_until_they_end_or_are_lifted(self):
        store = self.open(started=False)
        store.start()
        now = time.time()
        ever = Ban(NAME, "eve", "Eve", "op", "spam", now, None)
        brief = Ban("address", "10.0.0.9", "10.0.0.9", "op", "", now, now + 60, for_name="eve")
        over = Ban(NAME, "old", "old", "op", "", now - 120, now - 60)
        for ban in (ever, brief, over):
            await store.add_ban(ban)
        await store.add_mute(Mute("bob", "Bob", "op", "loud", now, now + 30))
        await store.add_mute(Mute("bob", "Bob", "op", "louder", now, None))  # a second mute replaces the first
        await store.add_mute(Mute("carol", "carol", "op", "", now, None))
        await store.lift_mute("carol")
        await store.close()
        again = self.open(started=False)
        bans, mutes = again.in_force(now)
        assert bans == [ever, brief] and mutes == [Mute("bob", "Bob", "op", "louder", now, None)]
        assert again.in_force(now + 61)[0] == [ever]  # the timed ban ended by itself
        again.start()
        self.addCleanup(again.close)
        assert await again.lift_bans("eve") == 2  # the name and the address banned with it
        assert await again.bans(now) == []

    async def test_a_reopened_file_keeps_its_epoch_its_ids_and_each_rooms_last_lines(self):
        store = self.open()
        for number in range(1, 31):
            store.append(line(number, "lobby" if number % 3 else "games"))
        await store.close()
        again = self.open(started=False)
        assert again.epoch == store.epoch and len(again.epoch) == 16
        assert again.last_id() == 30
        recent = again.recent_lines(per_room=4, rooms=10)
        assert [found.id for found in recent if found.room == "games"] == [18, 21, 24, 27, 30][-4:]
        assert [found.id for found in recent if found.room == "lobby"] == [25, 26, 28, 29]
        only_one_room = again.recent_lines(per_room=4, rooms=1)
        assert {found.room for found in only_one_room} == {"games"}  # the room spoken in last
        await again.close()

    async def test_lines_older_than_history_days_are_deleted_and_zero_keeps_them(self):
        store = self.open()
        store.append(line(1, when=time.time() - 40 * 86400))
        store.append(line(2, when=time.time() - 3 * 86400))
        store.append(line(3))
        await store.close()
        keeper = self.open(history_days=0, started=False)
        assert [found.id for found in keeper.recent_lines(10, 10)] == [1, 2, 3]
        await keeper.close()
        await self.open(history_days=30, started=False).close()
        assert self.rows("SELECT id FROM lines ORDER BY id") == [(2,), (3,)]
        await self.open(history_days=2, started=False).close()
        assert self.rows("SELECT id FROM lines ORDER BY id") == [(3,)]


class SqliteStoreTests(StoreContract, TestCase):
    def setUp(self):
        super().setUp()
        self.folder = Path(tempfile.mkdtemp(prefix="chatroom-store-"))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.path = self.folder / "chat.sqlite3"

    def make(self, history_days: int) -> SqliteStore:
        return SqliteStore(str(self.path), reactor, history_days)

    def rows(self, query: str = "SELECT id, text FROM lines ORDER BY id") -> list[tuple]:
        return rows(self.path, query)

    async def test_a_memory_store_keeps_only_the_lines_a_reader_can_ask_for(self):
        assert MEMORY_KEPT >= max(HISTORY_MOST, MISSED_MOST)  # /history's most, and a page's missed lines
        store = SqliteStore(":memory:", reactor)
        store.open()
        store.start()
        self.addCleanup(store.close)
        rooms = ["lobby", "games", ALL_ROOMS, "lobby"]
        for number in range(1, 3 * MEMORY_KEPT + 1):
            room = rooms[number % 4]
            store.append(line(number, room, kind="all" if room == ALL_ROOMS else "chat"))
        count = "SELECT room_key, count(*) FROM lines GROUP BY room_key"
        kept = dict(await store._call(lambda c: c.execute(count).fetchall()))
        assert kept == {"lobby": MEMORY_KEPT, "games": 3 * MEMORY_KEPT // 4, ALL_ROOMS: 3 * MEMORY_KEPT // 4}
        said_in_lobby = [n for n in range(1, 3 * MEMORY_KEPT + 1) if rooms[n % 4] in ("lobby", ALL_ROOMS)]
        lobby = await store.lines("lobby", MEMORY_KEPT)
        assert [found.id for found in lobby] == said_in_lobby[-MEMORY_KEPT:]  # its own and every room's, in order

    async def test_a_file_that_cannot_be_written_is_said_once_and_written_once_it_can(self):
        store = self.open()
        store.append(line(1))
        await self.until(lambda: len(self.rows()) == 1)
        pages = (await store._call(lambda c: c.execute("PRAGMA page_count").fetchone()))[0]
        await store._call(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))  # the disk is full
        for number in range(2, 2002):
            store.append(line(number, text="x" * 200))
        await self.until(lambda: self.log.count("cannot write") == 1)
        await deferLater(reactor, 0.5)  # several more tries meanwhile
        assert self.log.count("cannot write") == 1  # said once, not at every try
        assert "database or disk is full" in self.log.lines[0]
        await store._call(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))  # space again
        await self.until(lambda: len(self.rows()) == 2001)
        assert self.log.count("writing") == 1
        assert [found.id for found in await store.lines("lobby", 3)] == [1999, 2000, 2001]

    async def test_a_removed_file_is_started_again_and_a_removed_folder_waited_for(self):
        store = self.open()
        store.append(line(1))
        await self.until(lambda: len(self.rows()) == 1)
        shutil.rmtree(self.folder)
        store.append(line(2))
        await self.until(lambda: self.log.count("cannot write") == 1)
        self.folder.mkdir()
        await self.until(lambda: self.path.exists() and self.rows() == [(2, "line 2")])
        assert self.log.count("removed or replaced") == 1
        assert self.rows("SELECT value FROM meta WHERE key = 'epoch'") == [(store.epoch,)]
        store.append(line(3))
        await self.until(lambda: len(self.rows()) == 2)


def make_first_schema_file(path: Path) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(schema("v1.sql"))
        connection.execute("INSERT INTO meta (key, value) VALUES ('epoch', 'from-version-1')")
        connection.execute(
            "INSERT INTO lines VALUES (7, ?, 'Games', 'games', 'chat', 'bob', 'red', 'said in version 1')",
            (time.time() - 3600,),
        )
    connection.close()


def test_a_new_file_has_the_latest_schema(tmp_path):
    store = SqliteStore(str(tmp_path / "new.sqlite3"), reactor)
    store.open()
    store.close()
    assert rows(tmp_path / "new.sqlite3", "PRAGMA user_version") == [(LATEST,)]
    assert rows(tmp_path / "new.sqlite3", "PRAGMA journal_mode") == [("wal",)]
    assert not list(tmp_path.glob("*.new-*"))  # made under a temporary name, then renamed


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "empty.sqlite3"
    path.touch()
    store = SqliteStore(str(path), reactor)
    store.open()
    assert store.last_id() == 0
    store.close()
    assert rows(path, "PRAGMA user_version") == [(LATEST,)]


def test_a_file_of_the_first_schema_is_upgraded_and_keeps_its_lines(tmp_path):
    path = tmp_path / "old.sqlite3"
    make_first_schema_file(path)
    store = SqliteStore(str(path), reactor)
    store.open()
    assert store.epoch == "from-version-1"
    assert store.last_id() == 7
    [kept] = store.recent_lines(20, 10)
    assert (kept.room, kept.speaker, kept.colour, kept.text) == ("Games", "bob", "red", "said in version 1")
    store.close()
    assert rows(path, "PRAGMA user_version") == [(LATEST,)]
    assert rows(path, "SELECT count(*) FROM accounts") == [(0,)]
    aside = tmp_path / "old.sqlite3.v1.bak"
    assert rows(aside, "PRAGMA user_version") == [(1,)]  # the file as it was, before the upgrade
    assert rows(aside) == [(7, "said in version 1")]


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"this is not a database, just some text" * 200, "cannot be used as the store"), (None, "newer chatroom")],
)
def test_a_file_the_store_cannot_use_is_refused_with_a_reason(tmp_path, content, problem):
    path = tmp_path / "other.sqlite3"
    if content is None:
        with sqlite3.connect(path) as connection:
            connection.executescript(schema(f"v{LATEST}.sql"))
            connection.execute(f"PRAGMA user_version = {LATEST + 1}")
        connection.close()
    else:
        path.write_bytes(content)
    before = path.read_bytes()
    with pytest.raises(StoreError) as refused:
        SqliteStore(str(path), reactor).open()
    assert problem in str(refused.value) and str(path) in str(refused.value)
    assert path.read_bytes() == before  # left as it was


def test_memory_keeps_nothing_on_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = SqliteStore(":memory:", reactor)
    store.open()
    store.append(line(1))
    assert store.last_id() == 0  # not written until the store's thread runs
    store.close()
    assert os.listdir(tmp_path) == []


class PostgresStoreTests(StoreContract, TestCase):
    flood_peak = 6  # a batch goes as one JSON array, the driver holds the query made of it, and it is slower
    """The same, on a database of the test's own in the test run's PostgreSQL (conftest.py)."""

    @pytest.fixture(autouse=True)
    def _database(self, postgresql_cluster, postgresql):
        self.cluster, self.database = postgresql_cluster, postgresql

    def make(self, history_days: int, url: str | None = None) -> PostgresStore:
        return PostgresStore(url or self.database.url_with_password, reactor, history_days)

    def rows(self, query: str = "SELECT id, text FROM lines ORDER BY id") -> list[tuple]:
        return self.cluster.query(self.database, query)

    def held_slots(self) -> list[int]:
        return sorted(row[0] for row in self.rows(
            f"SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = {LOCKS} AND granted"))  # fmt: skip

    async def test_postgresql_restarted_mid_chat_loses_no_line_and_a_read_meanwhile_fails_at_once(self):
        store = self.open()
        for number in range(1, 51):
            store.append(line(number))
        await self.until(lambda: len(self.rows()) == 50)
        self.cluster.stop()
        for number in range(51, 101):  # said while PostgreSQL is away
            store.append(line(number))
        asked = time.monotonic()
        with pytest.raises(StoreError, match="Connection refused"):
            await store.lines("lobby", 10)
        assert time.monotonic() - asked < CONNECT_SECONDS  # an error to show, not a hang
        await self.until(lambda: self.log.count("cannot write") == 1)
        await deferLater(reactor, 0.5)  # several more tries meanwhile
        self.cluster.start()
        await self.until(lambda: len(self.rows()) == 100)
        assert self.rows() == [(n, f"line {n}") for n in range(1, 101)]
        assert self.log.count("cannot write") == 1 and self.log.count("again") == 1  # said once each
        assert self.database.password not in "".join(self.log.lines)
        assert [found.id for found in await store.lines("lobby", 3)] == [98, 99, 100]

    async def test_a_postgresql_that_stops_answering_fails_a_read_in_time_and_loses_no_line(self):
        self.patch(postgresql, "READ_SECONDS", 2)
        store = self.open()
        store.append(line(1))
        await self.until(lambda: len(self.rows()) == 1)
        [(backend,)] = self.rows("SELECT pid FROM pg_stat_activity WHERE application_name = 'chatroom'")
        os.kill(backend, signal.SIGSTOP)  # the store's connection is up, and nothing answers on it
        try:
            store.append(line(2))
            await deferLater(reactor, 0.5)  # the writer is stuck in its INSERT
            asked = time.monotonic()
            with pytest.raises(StoreError, match=r"did not answer within 2 s"):
                await store.lines("lobby", 10)
            assert time.monotonic() - asked < 3
        finally:
            os.kill(backend, signal.SIGCONT)
        await self.until(lambda: len(self.rows()) == 2)
        assert [found.id for found in await store.lines("lobby", 10)] == [1, 2]  # and reads answer again

    async def test_a_batch_written_again_after_a_lost_acknowledgement_is_not_doubled_nor_refused(self):
        store = self.open()
        store.append(line(1))
        await self.until(lambda: len(self.rows()) == 1)
        await store._call(lambda connection: store._insert([row_of(line(1)), row_of(line(2))]))
        assert self.rows() == [(1, "line 1"), (2, "line 2")]

    async def test_each_process_holds_a_slot_of_its_own_until_it_closes(self):
        first, second = self.open(), self.open()
        assert first.slot != second.slot and 0 <= first.slot < SLOTS and 0 <= second.slot < SLOTS
        assert self.held_slots() == sorted([first.slot, second.slot])
        await first.close()
        assert self.held_slots() == [second.slot]  # a process gone frees its slot

    async def test_a_slot_is_taken_again_after_postgresql_restarts(self):
        store = self.open()
        slot = store.slot
        self.cluster.restart()
        store.append(line(1))
        await self.until(lambda: len(self.rows()) == 1)
        assert store.slot == slot and self.held_slots() == [slot]


def test_a_new_database_has_the_latest_postgresql_schema_and_two_processes_make_it_once(postgresql):
    stores = [PostgresStore(postgresql.url_with_password, reactor) for _ in range(2)]
    for store in stores:
        store.open()
    assert stores[0].epoch == stores[1].epoch and len(stores[0].epoch) == 16
    for store in stores:
        store.close()
    connection = postgresql_connect(postgresql.url_with_password)
    try:
        assert pg_rows(connection, "SELECT version FROM schema_version") == [(PG_LATEST,)]
    finally:
        connection.close()


def test_a_postgresql_database_from_a_newer_chatroom_is_refused_untouched(postgresql, postgresql_cluster):
    store = PostgresStore(postgresql.url_with_password, reactor)
    store.open()
    store.close()
    postgresql_cluster.query(postgresql, f"UPDATE schema_version SET version = {PG_LATEST + 1}")
    postgresql_cluster.query(postgresql, "CREATE TABLE future (x integer)")
    tables = "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1"
    before = postgresql_cluster.query(postgresql, tables), postgresql_cluster.query(postgresql, "SELECT * FROM meta")
    with pytest.raises(StoreError) as refused:
        PostgresStore(postgresql.url_with_password, reactor).open()
    assert "newer chatroom" in str(refused.value) and f"schema {PG_LATEST + 1}" in str(refused.value)
    assert postgresql.url in str(refused.value) and postgresql.password not in str(refused.value)
    assert (postgresql_cluster.query(postgresql, tables), postgresql_cluster.query(postgresql, "SELECT * FROM meta")) \
        == before  # fmt: skip


def test_a_postgresql_database_is_upgraded_by_the_next_versions_file_and_keeps_its_lines(
    postgresql, postgresql_cluster, monkeypatch, tmp_path
):
    store = PostgresStore(postgresql.url_with_password, reactor)
    store.open()
    store.close()
    postgresql_cluster.query(postgresql, "INSERT INTO lines VALUES (7, %s, 'lobby', 'lobby', 'chat', 'bob', NULL, %s)",
                             (time.time(), "said under version 1"))  # fmt: skip
    upgrade = "ALTER TABLE lines ADD COLUMN edited boolean NOT NULL DEFAULT false;\n" \
              "UPDATE schema_version SET version = 2;\n"  # fmt: skip
    files = dict.fromkeys(["upgrade-to-v2.sql"], upgrade)
    real = pg_schema
    monkeypatch.setattr("chatroom.store.postgresql.LATEST", 2)
    monkeypatch.setattr("chatroom.store.postgresql.schema", lambda name: files.get(name) or real(name))
    again = PostgresStore(postgresql.url_with_password, reactor)
    again.open()
    assert [kept.text for kept in again.recent_lines(10, 10)] == ["said under version 1"]
    again.close()
    assert postgresql_cluster.query(postgresql, "SELECT version FROM schema_version") == [(2,)]
    assert postgresql_cluster.query(postgresql, "SELECT id, edited FROM lines") == [(7, False)]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.url_with_password.replace(f":{d.port}/", ":port/"), "its port is not a number"),
        (lambda d: d.url_with_password.rsplit("/", 1)[0] + "/", "it names no database"),
        (lambda d: d.url_with_password.replace(f":{d.port}/", f":{free_port()}/"), "Connection refused"),
        (lambda d: d.url_with_password.replace(d.password, "Wrong-Password-41"), "password authentication failed"),
        (lambda d: d.url_with_password.replace(d.name, "no_such_database"), "does not exist"),
    ],
    ids=["port", "no-database", "refused", "wrong-password", "no-such-database"],
)
def test_a_postgresql_store_that_cannot_be_used_is_refused_with_a_reason_and_no_password(postgresql, change, problem):
    url = change(postgresql)
    with pytest.raises(StoreError) as refused:
        PostgresStore(url, reactor).open()
    said = str(refused.value)
    assert problem in said and "\n" not in said, said
    assert postgresql.password not in said and "Wrong-Password-41" not in said
