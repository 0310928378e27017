"""The SQLite store on a real file, on the real reactor: what it keeps, how it upgrades, how it copes."""

from __future__ import annotations

import os
import shutil
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

from chatroom.core.archive import MISSED_MOST
from chatroom.core.hall import HISTORY_MOST
from chatroom.store import sqlite as sqlite_store
from chatroom.store.interface import ALL_ROOMS, Account, StoredLine
from chatroom.store.sqlite import LATEST, MEMORY_KEPT, PENDING_MOST, SqliteStore, StoreError, schema


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


class StoreTests(TestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp(prefix="chatroom-store-"))
        self.addCleanup(shutil.rmtree, self.folder, True)
        self.path = self.folder / "chat.sqlite3"
        self.log = LogLines()
        self.addCleanup(self.log.close)

    def open(self, history_days: int = 30, started: bool = True) -> SqliteStore:
        store = SqliteStore(str(self.path), reactor, history_days)
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
        await self.until(lambda: len(rows(self.path)) == 5, seconds=1)
        assert time.monotonic() - started < 1
        lobby = await store.lines("lobby", 10)
        assert [found.id for found in lobby] == [1, 3, 4]  # its own lines and the one to every room
        assert [found.id for found in await store.lines("games", 2)] == [4, 5]  # the last two, oldest first
        assert [found.id for found in await store.lines("games", 10, after=4)] == [5]

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
        assert peak < 2 * PENDING_MOST  # a waiting line costs its text and less than as much again
        await store.close()
        assert rows(self.path, "SELECT count(*), min(id), max(id) FROM lines") == [(count, 1, count)]

    async def test_a_stalled_disk_slows_a_flood_once_then_lines_wait_in_memory(self):
        self.patch(sqlite_store, "CATCH_UP_SECONDS", 0.2)
        store = self.open()
        stalled = store._call(lambda connection: time.sleep(1.5))  # the store's thread is busy for 1.5 s
        count = 3 * PENDING_MOST // 480
        started = time.monotonic()
        for number in range(1, count + 1):
            store.append(line(number, text=f"{number:07} " + "x" * 472))
        assert time.monotonic() - started < 1.0  # waited once, 0.2 s, not at every line nor for the whole stall
        await stalled
        await store.close()
        assert rows(self.path, "SELECT count(*) FROM lines") == [(count,)]

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

    async def test_accounts_are_saved_changed_and_deleted(self):
        store = self.open()
        alice = Account("alice", "Alice", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", "blue", 1.0)
        assert await store.account("alice") is None
        await store.save_account(alice)
        assert await store.account("alice") == alice
        await store.save_account(Account("alice", "Alice", alice.password_hash, "red", 1.0))
        assert (await store.account("alice")).colour == "red"
        await store.delete_account("alice")
        assert await store.account("alice") is None

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
        self.open(history_days=30, started=False).close()
        assert rows(self.path, "SELECT id FROM lines ORDER BY id") == [(2,), (3,)]
        self.open(history_days=2, started=False).close()
        assert rows(self.path, "SELECT id FROM lines ORDER BY id") == [(3,)]

    async def test_a_file_that_cannot_be_written_is_said_once_and_written_once_it_can(self):
        store = self.open()
        store.append(line(1))
        await self.until(lambda: len(rows(self.path)) == 1)
        pages = (await store._call(lambda c: c.execute("PRAGMA page_count").fetchone()))[0]
        await store._call(lambda c: c.execute(f"PRAGMA max_page_count = {pages}"))  # the disk is full
        for number in range(2, 2002):
            store.append(line(number, text="x" * 200))
        await self.until(lambda: self.log.count("cannot write") == 1)
        await deferLater(reactor, 0.5)  # several more tries meanwhile
        assert self.log.count("cannot write") == 1  # said once, not at every try
        assert "database or disk is full" in self.log.lines[0]
        await store._call(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))  # space again
        await self.until(lambda: len(rows(self.path)) == 2001)
        assert self.log.count("writing") == 1
        assert [found.id for found in await store.lines("lobby", 3)] == [1999, 2000, 2001]

    async def test_a_removed_file_is_started_again_and_a_removed_folder_waited_for(self):
        store = self.open()
        store.append(line(1))
        await self.until(lambda: len(rows(self.path)) == 1)
        shutil.rmtree(self.folder)
        store.append(line(2))
        await self.until(lambda: self.log.count("cannot write") == 1)
        self.folder.mkdir()
        await self.until(lambda: self.path.exists() and rows(self.path) == [(2, "line 2")])
        assert self.log.count("removed or replaced") == 1
        assert rows(self.path, "SELECT value FROM meta WHERE key = 'epoch'") == [(store.epoch,)]
        store.append(line(3))
        await self.until(lambda: len(rows(self.path)) == 2)


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
