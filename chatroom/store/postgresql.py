"""The store in a PostgreSQL database, which several server processes may share.

`--db postgresql://USER@HOST:PORT/DBNAME` selects it. The password comes from
the URL, or as libpq finds it (PGPASSWORD, ~/.pgpass); it is never logged and
never in an error: the store is named everywhere by its URL without it.

The driver is psycopg2 (Synapse's, with a binary wheel), used only on the
store's own thread (queued.py, shared with the SQLite store): the said lines
are written there in batches, one INSERT of all a batch's rows (sent as one
JSON array: the cheapest form for this process), and the reads someone waits
for run there after the lines queued before them, so a read always sees what
was said before it. Twisted's adbapi pool would only add threads whose order
we would then have to restore, and its reconnection (cp_reconnect) still
fails each pooled connection once after a restart; here a broken connection
is replaced at the next try, and the batch it failed is tried again.

PostgreSQL going away (a restart, a network cut): the log says so once, the
lines wait in memory (queued.py's MAX_WAITING, as for SQLite), each batch is
tried again every FLUSH_SECONDS on a new connection, and writing resumes by
itself when PostgreSQL is back. A batch is written with ON CONFLICT DO
NOTHING, so one whose commit was made but not acknowledged before the
connection broke is not a failure the second time: nothing is lost and
nothing is doubled. A read someone waits for meanwhile fails at once with the
reason (connection refused), or within CONNECT_SECONDS (a network cut: TCP
keepalives and tcp_user_timeout end a dead connection), and in any case
within READ_SECONDS (a PostgreSQL that accepts but never answers): never a
hang. The lines said meanwhile wait, and are written once it answers again.

Event ids, when several processes write one history: an id is made by the
process that hears the line, at once (chatroom.core.events.model.Stamper):
the time in ticks, times SLOTS, plus the process's slot. The slot is this
store's: at open it takes a free one of SLOTS with a PostgreSQL advisory lock
held by its connection, so two live processes never share one and a crashed
process's slot frees itself. Unique: no two processes share a slot, and one
process never repeats a tick. Ordered: within a process ids grow in the order
lines are said; across processes they follow the clock, and a process shown
another's line follows its id (Stamper.follow), so a reply always sorts after
what it answers. "After id N" is every line of the room with a greater id:
exactly what a page missed when its process delivers a room's lines in id
order, which one process always does; processes that relay each other's lines
must deliver them in id order too (or resume a little before N: the page drops
ids it has shown). If the slot's lock is lost (PostgreSQL restarted) and
another process took that slot meanwhile, this one moves to a free slot and
says so.

The schema is SQL in files, schema/postgresql/vN.sql (the whole schema at
version N, for a new database) and schema/postgresql/upgrade-to-vN.sql (N-1 to
N), applied in one transaction under an advisory lock, so two processes
starting at once make it once and nobody sees half of it. A database of a
newer version is refused before anything is written to it.
"""

from __future__ import annotations

import json
import random
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg2
from loguru import logger
from twisted.python.failure import Failure

from chatroom.store.interface import ALL_ROOMS, SLOTS, Account, Ban, Mute, StoredLine
from chatroom.store.queued import QueuedStore, one_line
from chatroom.store.sqlite import StoreError

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorFromThreads

T = TypeVar("T")

LATEST = 1  # the schema version this code writes; schema/postgresql/v1.sql
CONNECT_SECONDS = 5  # the longest a connection (or a dead one's last write) is waited for
STATEMENT_SECONDS = 30
READ_SECONDS = 10  # a read someone waits for fails after this long, whatever PostgreSQL is doing (or not)
LOCKS = 0x63686174  # "chat": the first key of this store's advisory locks
SCHEMA_LOCK = -1  # second key of the lock held while the schema is made or upgraded; slots are 0..SLOTS-1

_LINE_COLUMNS = "id, time, room, room_key, kind, speaker, colour, text"
# One INSERT a batch, its rows sent as one JSON array: json.dumps is C, where psycopg2's VALUES lists cost
# this process about 3x the CPU per line (5.5 against 1.7 us here). Text with NUL cannot be said (core/text.py).
_INSERT_LINES = f"""INSERT INTO lines ({_LINE_COLUMNS})
    SELECT (r->>0)::bigint, (r->>1)::double precision, r->>2, r->>3, r->>4, r->>5, r->>6, r->>7
    FROM json_array_elements(%s::json) AS r
    ON CONFLICT (id) DO NOTHING"""
_ACCOUNT_COLUMNS = "name_key, name, password_hash, colour, created, operator"
_BAN_COLUMNS = "kind, value, shown, by, reason, since, until, for_name"
_MUTE_COLUMNS = "name_key, name, by, reason, since, until"


def shown(url: str) -> str:
    """The URL as it may be logged: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}@{host}").geturl()


def parse(url: str) -> dict:
    """psycopg2.connect's keywords for `url`; a StoreError naming what is wrong (never the password)."""
    where = shown(url)
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise StoreError(f"{where} is not a PostgreSQL URL: its port is not a number") from None
    database = unquote(parts.path.lstrip("/"))
    if not database or "/" in database:
        raise StoreError(f"{where} is not a PostgreSQL URL: it names no database (postgresql://USER@HOST:PORT/DBNAME)")
    if parts.fragment:
        raise StoreError(f"{where} is not a PostgreSQL URL: it has a #fragment")
    keywords = dict(parse_qsl(parts.query))  # libpq's own options: ?sslmode=require, ...
    keywords |= {"dbname": database, "host": parts.hostname, "port": port}
    if parts.username:
        keywords["user"] = unquote(parts.username)
    if parts.password is not None:
        keywords["password"] = unquote(parts.password)
    return {key: value for key, value in keywords.items() if value is not None}


def connect(url: str) -> psycopg2.extensions.connection:
    """A connection to the database at `url`, its schema made or upgraded to the latest as needed.

    The server's store and chatroom-admin both connect this way, and may do so
    at once. Anything that stops it is a StoreError with one line that says why.
    """
    keywords = parse(url)
    try:
        connection = psycopg2.connect(
            **keywords,
            application_name="chatroom",
            connect_timeout=CONNECT_SECONDS,
            keepalives=1,
            keepalives_idle=CONNECT_SECONDS,
            keepalives_interval=1,
            keepalives_count=3,
            tcp_user_timeout=CONNECT_SECONDS * 1000,
            options=f"-c statement_timeout={STATEMENT_SECONDS * 1000}",
        )
    except psycopg2.Error as problem:
        raise StoreError(f"cannot connect to {shown(url)}: {one_line(problem)}") from None
    try:
        _prepare(connection, shown(url))
    except psycopg2.Error as problem:
        connection.close()
        raise StoreError(f"{shown(url)} cannot be used as the store: {one_line(problem)}") from None
    except StoreError:
        connection.close()
        raise
    return connection


def schema(name: str) -> str:
    return (resources.files("chatroom.store") / "schema" / "postgresql" / name).read_text(encoding="utf-8")


def _prepare(connection, where: str) -> None:
    """Make the schema in a new database, or upgrade an older one: in one transaction, one process at a time."""
    with transaction(connection) as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCKS, SCHEMA_LOCK))
        cursor.execute("SELECT to_regclass('schema_version') IS NOT NULL")
        if not cursor.fetchone()[0]:
            cursor.execute(schema(f"v{LATEST}.sql"))
            cursor.execute("INSERT INTO meta (key, value) VALUES ('epoch', %s)", (secrets.token_hex(8),))
            return
        cursor.execute("SELECT max(version) FROM schema_version")
        version = cursor.fetchone()[0]
        if version > LATEST:  # before anything is written to it
            raise StoreError(f"{where} was written by a newer chatroom (schema {version}; this one knows {LATEST})")
        if version < LATEST:
            logger.bind(event="store").warning("upgrading {} from schema {} to {}", where, version, LATEST)
            for target in range(version + 1, LATEST + 1):
                cursor.execute(schema(f"upgrade-to-v{target}.sql"))


class PostgresStore(QueuedStore):
    errors: ClassVar = (psycopg2.Error, StoreError)

    def __init__(self, url: str, reactor: IReactorFromThreads, history_days: int = 30):  # and IReactorTime
        super().__init__(reactor, history_days)
        self.url = url
        self.where = shown(url)
        self.epoch = ""
        self.slot: int | None = None  # taken at open; the low part of every event id this process makes

    # Opening, before the server takes connections.

    def open(self) -> None:
        """Connect (making or upgrading the schema as needed) and take a slot, on the calling thread."""
        self._connection = connect(self.url)
        try:
            self._take_slot()
            self.epoch = _read(self._connection, "SELECT value FROM meta WHERE key = 'epoch'")[0][0]
            self._prune()
        except psycopg2.Error as problem:
            self._disconnect()
            raise StoreError(f"{self.where} cannot be used as the store: {one_line(problem)}") from None

    def last_id(self) -> int:
        return _read(self._connection, "SELECT coalesce(max(id), 0) FROM lines")[0][0]

    def recent_lines(self, per_room: int, rooms: int) -> list[StoredLine]:
        rows = _read(
            self._connection,
            f"""
            WITH busiest AS (SELECT room_key FROM lines GROUP BY room_key ORDER BY max(id) DESC LIMIT %s),
            ranked AS (
                SELECT {_LINE_COLUMNS}, row_number() OVER (PARTITION BY room_key ORDER BY id DESC) AS age
                FROM lines WHERE room_key IN (SELECT room_key FROM busiest)
            )
            SELECT {_LINE_COLUMNS} FROM ranked WHERE age <= %s ORDER BY id
            """,
            (rooms, per_room),
        )
        return [StoredLine(*row) for row in rows]

    # While it serves: called on the reactor thread.

    def lines(self, room_key: str, limit: int, after: int = 0) -> Deferred[list[StoredLine]]:
        def read(connection) -> list[StoredLine]:
            rows = _read(
                connection,
                f"SELECT {_LINE_COLUMNS} FROM lines WHERE room_key IN (%s, %s) AND id > %s"
                " AND (room_key = %s OR id > (SELECT min(id) FROM lines WHERE room_key = %s)) ORDER BY id DESC LIMIT %s",
                (room_key, ALL_ROOMS, after, room_key, room_key, limit),
            )
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

    def _call(self, work: Callable[[Any], T]) -> Deferred[T]:
        """As queued.py's, but the one who waits hears within READ_SECONDS (a later answer is dropped)."""

        def too_long(result, seconds: float) -> Failure:
            return Failure(StoreError(f"{self.where} did not answer within {seconds:g} s"))

        return super()._call(work).addTimeout(READ_SECONDS, self.reactor, onTimeoutCancel=too_long)

    # The store's thread (queued.py).

    def _insert(self, rows: list[tuple]) -> None:
        with transaction(self._connection) as cursor:
            cursor.execute(_INSERT_LINES, (json.dumps(rows),))

    def _ready(self) -> None:
        """A broken connection (PostgreSQL restarted, the network cut) is replaced, and the slot taken again."""
        if self._connection is not None and not self._connection.closed:
            return
        self._disconnect()
        self._connection = connect(self.url)
        self._take_slot()

    def _after_failure(self) -> None:
        if self._connection is not None and self._connection.closed:
            self._connection = None

    def _disconnect(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except psycopg2.Error:
                pass
            self._connection = None

    def _prune(self) -> None:
        self._pruned_at = time.time()
        if self.history_days:
            with transaction(self._connection) as cursor:
                cursor.execute("DELETE FROM lines WHERE time < %s", (time.time() - self.history_days * 86400,))

    def _take_slot(self) -> None:
        """Hold a slot no other live process holds: ours again after a reconnection, if nobody took it meanwhile."""
        others = random.sample(range(SLOTS), SLOTS)
        for slot in ([self.slot] if self.slot is not None else []) + others:
            if _read(self._connection, "SELECT pg_try_advisory_lock(%s, %s)", (LOCKS, slot))[0][0]:
                break
        else:
            raise StoreError(f"{self.where}: all {SLOTS} process slots are taken")
        if self.slot is not None and slot != self.slot:
            logger.bind(event="store").warning("slot {} was taken meanwhile: this process is slot {} now",
                                               self.slot, slot)  # fmt: skip
        self.slot = slot


# What both the server's store and chatroom-admin read and write, on a connection of their own.


@contextmanager
def transaction(connection) -> Iterator[psycopg2.extensions.cursor]:
    """A cursor in a transaction of its own: committed at the end, rolled back on an error.

    Unlike psycopg2's `with connection`, the error that broke a connection is the
    one raised, not the "connection already closed" of the rollback after it.
    """
    try:
        with connection.cursor() as cursor:
            yield cursor
        connection.commit()
    except BaseException:
        if not connection.closed:
            connection.rollback()
        raise


def _read(connection, sql: str, parameters: tuple = ()) -> list[tuple]:
    with transaction(connection) as cursor:  # a transaction of its own, ended at once
        cursor.execute(sql, parameters)
        return cursor.fetchall()


def _write(connection, sql: str, parameters: tuple = ()) -> int:
    with transaction(connection) as cursor:
        cursor.execute(sql, parameters)
        return cursor.rowcount


def read_account(connection, key: str) -> Account | None:
    rows = _read(connection, f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE name_key = %s", (key,))
    return Account(*rows[0]) if rows else None


def read_accounts(connection) -> list[Account]:
    return [Account(*row) for row in _read(connection, f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY name")]


def write_account(connection, account: Account) -> None:
    _write(
        connection,
        f"""INSERT INTO accounts ({_ACCOUNT_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, password_hash = excluded.password_hash,
        colour = excluded.colour, created = excluded.created, operator = excluded.operator""",
        (account.key, account.name, account.password_hash, account.colour, account.created, account.operator),
    )


def delete_account(connection, key: str) -> None:
    _write(connection, "DELETE FROM accounts WHERE name_key = %s", (key,))


def read_bans(connection, now: float) -> list[Ban]:
    rows = _read(connection, f"SELECT {_BAN_COLUMNS} FROM bans WHERE until IS NULL OR until > %s ORDER BY since, id",
                 (now,))  # fmt: skip
    return [Ban(*row) for row in rows]


def write_ban(connection, ban: Ban) -> None:
    _write(
        connection,
        f"INSERT INTO bans ({_BAN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (ban.kind, ban.value, ban.shown, ban.by, ban.reason, ban.since, ban.until, ban.for_name),
    )


def lift_bans(connection, value: str) -> int:
    """Lift the bans of a name key (and the addresses banned with it) or of an address; how many were lifted."""
    return _write(connection, "DELETE FROM bans WHERE value = %s OR for_name = %s", (value, value))


def read_mutes(connection, now: float) -> list[Mute]:
    rows = _read(connection, f"SELECT {_MUTE_COLUMNS} FROM mutes WHERE until IS NULL OR until > %s", (now,))
    return [Mute(*row) for row in rows]


def write_mute(connection, mute: Mute) -> None:
    _write(
        connection,
        f"""INSERT INTO mutes ({_MUTE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, by = excluded.by, reason = excluded.reason,
        since = excluded.since, until = excluded.until""",
        (mute.key, mute.name, mute.by, mute.reason, mute.since, mute.until),
    )


def lift_mute(connection, key: str) -> None:
    _write(connection, "DELETE FROM mutes WHERE name_key = %s", (key,))
