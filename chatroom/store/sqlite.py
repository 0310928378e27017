"""The store in one SQLite file, written on a thread of its own so the reactor waits on the disk only to slow a flood.

Lines are appended to a queue on the reactor thread and written by the store's
thread in batches, a transaction every FLUSH_SECONDS at most: on disk within a
second of being said. Reads someone waits for (a room's history, a registered
name) run on the same thread, after the lines queued before them, and answer
through a Deferred on the reactor thread.

The queue is bounded (PENDING_MOST, issue 15): a flood of lines wakes the
thread at once, and past the bound the reactor waits for the thread to write a
batch, so a flood goes at the disk's pace instead of piling up in memory, and
nothing said is dropped while the file can be written. A `:memory:` store keeps
only the last `kept` lines of each room (MEMORY_KEPT: the most any read asks
for), not everything said since it started.

The file is in WAL mode with synchronous=NORMAL: a committed batch survives the
server being killed (kill -9); only a power cut can lose the last moments.
If the file cannot be written (disk full, file or folder gone), chat goes on,
the log says so once, the lines wait in memory (up to MAX_WAITING), and
writing resumes when it can -- into a new file, if the old one was removed.

The schema is SQL in files beside this module: schema/vN.sql is the whole
schema at version N, for a new file (made under a temporary name, then renamed
into place); schema/upgrade-to-vN.sql takes a file from N-1 to N, after the
old file is copied aside. `PRAGMA user_version` says which version a file is.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from chatroom.store.interface import ALL_ROOMS, Account, Ban, Mute, StoredLine

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorFromThreads

LATEST = 3  # the schema version this code writes; schema/v3.sql
MEMORY = ":memory:"
FLUSH_SECONDS = 0.2  # the longest a said line waits before it is written
BATCH = 10_000  # lines in one transaction at most
MAX_WAITING = 100_000  # lines kept in memory while the file cannot be written; older ones are dropped
PRUNE_SECONDS = 3600  # how often lines older than --history-days are deleted

# Issue 15 (memory under a flood): the queue behind the store's thread is bounded. A queued line is counted as
# its text's length plus LINE_COST (the row's tuple, its id, time and room key), about the bytes it holds.
# 512 KiB, not 2 MiB: measured with bench/flood_memory.py, 1.5-2.4 MiB less RSS growth under a flood, and the
# reactor's waits shorter (9-12 of at most 8 ms in a flood of 50,000 lines, instead of one of up to 114 ms).
PENDING_MOST = 512 * 1024  # queued at most; past it the reactor waits for the thread (see _catch_up)
WAKE_AT = PENDING_MOST // 8  # queued, the thread is woken at once rather than at its next FLUSH_SECONDS
LINE_COST = 256
CATCH_UP_SECONDS = 1.0  # the longest the reactor waits for a batch; a disk slower than that is not waited for
MEMORY_KEPT = 500  # lines of each room a :memory: store keeps: /history's most and a page's missed lines (500 each)

T = TypeVar("T")

_LINE_COLUMNS = "id, time, room, room_key, kind, speaker, colour, text"
_ACCOUNT_COLUMNS = "name_key, name, password_hash, colour, created, operator"
_BAN_COLUMNS = "kind, value, shown, by, reason, since, until, for_name"
_MUTE_COLUMNS = "name_key, name, by, reason, since, until"


class StoreError(Exception):
    """The file cannot be used at all (not a database, from a newer version, ...): the server does not start."""


def schema(name: str) -> str:
    return (resources.files("chatroom.store") / "schema" / name).read_text(encoding="utf-8")


class SqliteStore:
    def __init__(self, path: str, reactor: IReactorFromThreads, history_days: int = 30, kept: int = MEMORY_KEPT):
        self.path = path
        self.reactor = reactor
        self.history_days = history_days
        self.kept = kept  # lines of each room a :memory: store keeps
        self.epoch = ""
        self._connection: sqlite3.Connection | None = None
        self._inode: int | None = None
        # Lines as rows (compact tuples, not StoredLines): appended by the reactor, taken by the store's thread.
        # What they cost is counted on each side, each counter written by one thread only: queued minus written
        # is what waits in memory (lines being written included).
        self._pending: deque[tuple] = deque()
        self._queued = 0  # by the reactor
        self._written = 0  # by the store's thread: written, or dropped while the file cannot be written
        self._caught_up = threading.Event()  # set by the store's thread after each batch written
        self._caught_up.set()
        self._calls: deque[tuple[Callable[[sqlite3.Connection], Any], Deferred]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._closed: Deferred[None] = Deferred()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._dropped = 0
        self._pruned_at = 0.0

    # Opening, before the server takes connections.

    def open(self) -> None:
        """Open the file (making or upgrading it as needed) on the calling thread."""
        self._connection = self._connect()
        row = self._connection.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
        if row is None:
            self.epoch = secrets.token_hex(8)
            with self._connection:
                self._connection.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?)", (self.epoch,))
        else:
            self.epoch = row[0]
        self._prune()

    def last_id(self) -> int:
        return self._connection.execute("SELECT coalesce(max(id), 0) FROM lines").fetchone()[0]

    def recent_lines(self, per_room: int, rooms: int) -> list[StoredLine]:
        rows = self._connection.execute(
            f"""
            WITH busiest AS (SELECT room_key FROM lines GROUP BY room_key ORDER BY max(id) DESC LIMIT ?),
            ranked AS (
                SELECT {_LINE_COLUMNS}, row_number() OVER (PARTITION BY room_key ORDER BY id DESC) AS age
                FROM lines WHERE room_key IN (SELECT room_key FROM busiest)
            )
            SELECT {_LINE_COLUMNS} FROM ranked WHERE age <= ? ORDER BY id
            """,
            (rooms, per_room),
        ).fetchall()
        return [StoredLine(*row) for row in rows]

    def start(self) -> None:
        """From now on the store's own thread does all the reading and writing."""
        self._thread = threading.Thread(target=self._run, name="chatroom-store", daemon=True)
        self._thread.start()

    def close(self) -> Deferred[None]:
        """Write what is queued, then close; fires on the reactor thread once done."""
        if self._thread is None:
            if self._connection is not None:
                self._connection.close()
            self._closed.callback(None)
        else:
            self._stopping = True
            self._wake.set()
        return self._closed

    # While it serves: called on the reactor thread.

    def append(self, line: StoredLine) -> None:
        self._pending.append(
            (line.id, line.time, line.room, line.room_key, line.kind, line.speaker, line.colour, line.text)
        )
        self._queued += len(line.text) + LINE_COST
        waiting = self._queued - self._written
        if waiting > WAKE_AT and not self._wake.is_set():
            self._wake.set()
        if waiting > PENDING_MOST:
            self._catch_up()

    def _catch_up(self) -> None:
        """Wait for the store's thread to write what is queued: a flood goes at the disk's pace, in bounded memory.

        A batch of PENDING_MOST takes milliseconds to write. If one takes longer
        than CATCH_UP_SECONDS (a stalled disk), the reactor goes on without
        waiting again until the thread has written a batch; while the file cannot
        be written at all, lines wait in memory (up to MAX_WAITING) instead.
        """
        while (
            self._queued - self._written > PENDING_MOST
            and self._caught_up.is_set()
            and not self._failing
            and self._thread is not None
            and not self._stopping
        ):
            self._caught_up.clear()
            self._wake.set()
            self._caught_up.wait(CATCH_UP_SECONDS)

    def lines(self, room_key: str, limit: int, after: int = 0) -> Deferred[list[StoredLine]]:
        def read(connection: sqlite3.Connection) -> list[StoredLine]:
            rows = connection.execute(
                f"SELECT {_LINE_COLUMNS} FROM lines WHERE room_key IN (?, ?) AND id > ? ORDER BY id DESC LIMIT ?",
                (room_key, ALL_ROOMS, after, limit),
            ).fetchall()
            return [StoredLine(*row) for row in reversed(rows)]

        return self._call(read)

    def account(self, key: str) -> Deferred[Account | None]:
        return self._call(lambda connection: read_account(connection, key))

    def save_account(self, account: Account) -> Deferred[None]:
        return self._call(lambda connection: write_account(connection, account))

    def delete_account(self, key: str) -> Deferred[None]:
        return self._call(lambda connection: delete_account(connection, key))

    def in_force(self, now: float) -> tuple[list[Ban], list[Mute]]:
        return read_bans(self._connection, now), read_mutes(self._connection, now)

    def bans(self, now: float) -> Deferred[list[Ban]]:
        return self._call(lambda connection: read_bans(connection, now))

    def add_ban(self, ban: Ban) -> Deferred[None]:
        return self._call(lambda connection: write_ban(connection, ban))

    def lift_bans(self, value: str) -> Deferred[int]:
        return self._call(lambda connection: lift_bans(connection, value))

    def add_mute(self, mute: Mute) -> Deferred[None]:
        return self._call(lambda connection: write_mute(connection, mute))

    def lift_mute(self, key: str) -> Deferred[None]:
        return self._call(lambda connection: lift_mute(connection, key))

    def _call(self, work: Callable[[sqlite3.Connection], T]) -> Deferred[T]:
        answer: Deferred[T] = Deferred()
        self._calls.append((work, answer))
        self._wake.set()
        return answer

    # The store's thread.

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self._write_lines()
            self._answer_calls()
            if time.time() - self._pruned_at > PRUNE_SECONDS:
                self._guarded(self._prune)
            if self._stopping and not self._calls:
                break
        self._write_lines()
        if self._connection is not None:
            self._connection.close()
        self.reactor.callFromThread(self._closed.callback, None)

    def _write_lines(self) -> None:
        while self._pending and self._write_batch():
            pass

    def _write_batch(self) -> bool:
        """Write up to BATCH queued lines in one transaction; False if they could not be written."""
        batch = [self._pending.popleft() for _ in range(min(len(self._pending), BATCH))]

        def write() -> None:
            with self._connection:
                self._connection.executemany(
                    f"INSERT INTO lines ({_LINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch
                )
                if self.path == MEMORY:
                    self._forget_old_lines({row[3] for row in batch})

        if self._guarded(write):
            self._written += sum(len(row[7]) for row in batch) + LINE_COST * len(batch)
            self._caught_up.set()
            return True
        self._pending.extendleft(reversed(batch))  # back in front, in order, for the next try
        while len(self._pending) > MAX_WAITING:
            self._written += len(self._pending.popleft()[7]) + LINE_COST
            self._dropped += 1
        return False

    def _forget_old_lines(self, room_keys: set[str]) -> None:
        """A :memory: store keeps the last `kept` lines of each room, so a long run does not keep all it heard."""
        for key in room_keys:
            self._connection.execute(
                "DELETE FROM lines WHERE room_key = ? AND id <= "
                "(SELECT id FROM lines WHERE room_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (key, key, self.kept),
            )

    def _answer_calls(self) -> None:
        while self._calls:
            work, answer = self._calls.popleft()
            try:
                self._check_file()
                result = work(self._connection)
            except Exception as problem:  # noqa: BLE001 -- whatever it was, the one who asked hears of it
                self.reactor.callFromThread(answer.errback, Failure(problem))
            else:
                self.reactor.callFromThread(answer.callback, result)

    def _guarded(self, work: Callable[[], None]) -> bool:
        """Do `work` against the file; if the file cannot be written, say so once and carry on."""
        try:
            self._check_file()
            work()
        except (sqlite3.Error, OSError) as problem:
            if not self._failing:
                self._failing = True
                logger.bind(event="store").error(
                    "cannot write {}: {}; chat goes on, and said lines wait in memory until it can",
                    self.path,
                    problem,
                )
            return False
        if self._failing:
            self._failing = False
            lost = f"; {self._dropped} lines were dropped meanwhile" if self._dropped else ""
            logger.bind(event="store").warning("writing {} again{}", self.path, lost)
            self._dropped = 0
        return True

    def _check_file(self) -> None:
        """If the file was removed or replaced under us, start a new one where it was (or fail, to try again)."""
        if self.path == MEMORY:
            return
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            inode = None
        if self._connection is not None and inode == self._inode:
            return
        if self._connection is not None:
            logger.bind(event="store").warning("{} was removed or replaced: starting a new file there", self.path)
            self._connection.close()
            self._connection = None
        self._connection = self._connect()
        with self._connection:  # the new file goes on with this history's ids, so it keeps its epoch
            self._connection.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('epoch', ?)", (self.epoch,))

    def _prune(self) -> None:
        self._pruned_at = time.time()
        if self.history_days:
            with self._connection:
                self._connection.execute("DELETE FROM lines WHERE time < ?", (time.time() - self.history_days * 86400,))

    # Making, opening and upgrading the file.

    def _connect(self) -> sqlite3.Connection:
        if self.path == MEMORY:
            connection = sqlite3.connect(MEMORY, check_same_thread=False)
            connection.executescript(schema(f"v{LATEST}.sql"))
            return connection
        connection = connect(self.path, check_same_thread=False)
        self._inode = os.stat(self.path).st_ino
        return connection


def connect(path: str, **options) -> sqlite3.Connection:
    """A connection to the store's file at `path`, made or upgraded to the latest schema as needed.

    The server's store and chatroom-admin both open the file this way, and
    may do so at once: WAL lets one write while the other reads, and each
    waits up to 5 s for the other's write to finish.
    """
    if not _has_schema(path):
        _create(path)
    connection = sqlite3.connect(path, timeout=5, **options)
    try:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > LATEST:  # before anything is written to it
            raise StoreError(f"{path} was written by a newer chatroom (schema {version}; this one knows {LATEST})")
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        _upgrade(connection, path, version)
    except sqlite3.DatabaseError as problem:
        connection.close()
        raise StoreError(f"{path} cannot be used as the store: {problem}") from None
    except StoreError:
        connection.close()
        raise
    return connection


def _has_schema(path: str) -> bool:
    """Whether `path` is a file with tables in it (a missing or empty file is made anew)."""
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return False
    connection = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        return connection.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] > 0
    except sqlite3.DatabaseError as problem:
        raise StoreError(f"{path} cannot be used as the store: {problem}") from None
    finally:
        connection.close()


def _create(path: str) -> None:
    """A new file with the whole schema, under a temporary name first: nobody ever sees half of one."""
    temporary = f"{path}.new-{os.getpid()}"
    if os.path.exists(temporary):
        os.remove(temporary)
    connection = sqlite3.connect(temporary)
    try:
        connection.executescript(schema(f"v{LATEST}.sql"))
        connection.execute("INSERT INTO meta (key, value) VALUES ('epoch', ?)", (secrets.token_hex(8),))
        connection.commit()
    finally:
        connection.close()
    os.replace(temporary, path)


def _upgrade(connection: sqlite3.Connection, path: str, version: int) -> None:
    if version == LATEST:
        return
    aside = f"{path}.v{version}.bak"
    with sqlite3.connect(aside) as copy:
        connection.backup(copy)
    copy.close()
    logger.bind(event="store").warning("upgrading {} from schema {} to {}; the old file is kept as {}", path, version,
                                       LATEST, aside)  # fmt: skip
    for target in range(version + 1, LATEST + 1):
        connection.executescript(schema(f"upgrade-to-v{target}.sql"))


# What both the server's store and chatroom-admin read and write, on a connection of their own.


def read_account(connection: sqlite3.Connection, key: str) -> Account | None:
    row = connection.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE name_key = ?", (key,)).fetchone()
    return _account(row) if row else None


def read_accounts(connection: sqlite3.Connection) -> list[Account]:
    return [_account(row) for row in connection.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY name")]


def write_account(connection: sqlite3.Connection, account: Account) -> None:
    with connection:
        connection.execute(
            f"INSERT OR REPLACE INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (account.key, account.name, account.password_hash, account.colour, account.created, int(account.operator)),
        )


def delete_account(connection: sqlite3.Connection, key: str) -> None:
    with connection:
        connection.execute("DELETE FROM accounts WHERE name_key = ?", (key,))


def read_bans(connection: sqlite3.Connection, now: float) -> list[Ban]:
    rows = connection.execute(
        f"SELECT {_BAN_COLUMNS} FROM bans WHERE until IS NULL OR until > ? ORDER BY since", (now,)
    ).fetchall()
    return [Ban(*row) for row in rows]


def write_ban(connection: sqlite3.Connection, ban: Ban) -> None:
    with connection:
        connection.execute(
            f"INSERT INTO bans ({_BAN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (ban.kind, ban.value, ban.shown, ban.by, ban.reason, ban.since, ban.until, ban.for_name),
        )


def lift_bans(connection: sqlite3.Connection, value: str) -> int:
    """Lift the bans of a name key (and the addresses banned with it) or of an address; how many were lifted."""
    with connection:
        return connection.execute("DELETE FROM bans WHERE value = ? OR for_name = ?", (value, value)).rowcount


def read_mutes(connection: sqlite3.Connection, now: float) -> list[Mute]:
    rows = connection.execute(f"SELECT {_MUTE_COLUMNS} FROM mutes WHERE until IS NULL OR until > ?", (now,))
    return [Mute(*row) for row in rows.fetchall()]


def write_mute(connection: sqlite3.Connection, mute: Mute) -> None:
    with connection:
        connection.execute(
            f"INSERT OR REPLACE INTO mutes ({_MUTE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (mute.key, mute.name, mute.by, mute.reason, mute.since, mute.until),
        )


def lift_mute(connection: sqlite3.Connection, key: str) -> None:
    with connection:
        connection.execute("DELETE FROM mutes WHERE name_key = ?", (key,))


def _account(row: tuple) -> Account:
    *fields, operator = row
    return Account(*fields, operator=bool(operator))
