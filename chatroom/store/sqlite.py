"""The store in one SQLite file, written on a thread of its own so the reactor never waits on the disk.

How lines are queued, written in batches and read is queued.py's, shared with
the PostgreSQL store. The file is in WAL mode with synchronous=NORMAL: a
committed batch survives the server being killed (kill -9); only a power cut
can lose the last moments. If the file cannot be written (disk full, file or
folder gone), chat goes on, the log says so once, the lines wait in memory,
and writing resumes when it can -- into a new file, if the old one was removed.

The schema is SQL in files beside this module: schema/vN.sql is the whole
schema at version N, for a new file (made under a temporary name, then renamed
into place); schema/upgrade-to-vN.sql takes a file from N-1 to N, after the
old file is copied aside. `PRAGMA user_version` says which version a file is.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from loguru import logger
from twisted.internet.defer import Deferred

from chatroom.store.interface import ALL_ROOMS, Account, Ban, Mute, StoredLine
from chatroom.store.queued import QueuedStore

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorFromThreads

LATEST = 3  # the schema version this code writes; schema/v3.sql
MEMORY = ":memory:"
MEMORY_KEPT = 500  # lines of each room a :memory: store keeps: /history's most and a page's missed lines (500 each)

_LINE_COLUMNS = "id, time, room, room_key, kind, speaker, colour, text"
_ACCOUNT_COLUMNS = "name_key, name, password_hash, colour, created, operator"
_BAN_COLUMNS = "kind, value, shown, by, reason, since, until, for_name"
_MUTE_COLUMNS = "name_key, name, by, reason, since, until"


class StoreError(Exception):
    """The store cannot be used at all (not a database, from a newer version, ...): the server does not start."""


def schema(name: str) -> str:
    return (resources.files("chatroom.store") / "schema" / name).read_text(encoding="utf-8")


class SqliteStore(QueuedStore):
    errors: ClassVar = (sqlite3.Error, OSError)
    slot = 0  # one server process per file

    def __init__(self, path: str, reactor: IReactorFromThreads, history_days: int = 30, kept: int = MEMORY_KEPT):
        super().__init__(reactor, history_days)
        self.path = self.where = path
        self.kept = kept  # lines of each room a :memory: store keeps, not everything said since it started
        self.epoch = ""
        self._inode: int | None = None

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

    # While it serves: called on the reactor thread.

    def lines(self, room_key: str, limit: int, after: int = 0) -> Deferred[list[StoredLine]]:
        def read(connection: sqlite3.Connection) -> list[StoredLine]:
            rows = connection.execute(
                f"SELECT {_LINE_COLUMNS} FROM lines WHERE room_key IN (?, ?) AND id > ?"
                " AND (room_key = ? OR id > (SELECT min(id) FROM lines WHERE room_key = ?)) ORDER BY id DESC LIMIT ?",
                (room_key, ALL_ROOMS, after, room_key, room_key, limit),
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

    def mutes(self, now: float) -> Deferred[list[Mute]]:
        return self._call(lambda connection: read_mutes(connection, now))

    def add_ban(self, ban: Ban) -> Deferred[None]:
        return self._call(lambda connection: write_ban(connection, ban))

    def lift_bans(self, value: str) -> Deferred[int]:
        return self._call(lambda connection: lift_bans(connection, value))

    def add_mute(self, mute: Mute) -> Deferred[None]:
        return self._call(lambda connection: write_mute(connection, mute))

    def lift_mute(self, key: str) -> Deferred[None]:
        return self._call(lambda connection: lift_mute(connection, key))

    # The store's thread (queued.py).

    def _insert(self, rows: list[tuple]) -> None:
        with self._connection:
            self._connection.executemany(f"INSERT INTO lines ({_LINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            if self.path == MEMORY:
                self._forget_old_lines({row[3] for row in rows})

    def _forget_old_lines(self, room_keys: set[str]) -> None:
        """A :memory: store keeps the last `kept` lines of each room, so a long run does not keep all it heard."""
        for key in room_keys:
            self._connection.execute(
                "DELETE FROM lines WHERE room_key = ? AND id <= "
                "(SELECT id FROM lines WHERE room_key = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (key, key, self.kept),
            )

    def _ready(self) -> None:
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
