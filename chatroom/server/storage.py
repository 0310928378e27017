"""The store and the password checker as a Twisted service: opened before the listeners, closed after them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger
from twisted.application.service import Service

from chatroom.store.queued import one_line
from chatroom.store.sqlite import SqliteStore, StoreError

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorFromThreads

    from chatroom.core.hall import Hall
    from chatroom.server.passwords import ThreadedPasswords
    from chatroom.store.postgresql import PostgresStore


def is_postgresql(db: str) -> bool:
    """Whether --db names a PostgreSQL database (anything else is a SQLite file)."""
    return db.startswith(("postgresql://", "postgres://"))


def make_store(db: str, reactor: IReactorFromThreads, history_days: int, kept: int) -> SqliteStore | PostgresStore:
    """The store --db names: a PostgreSQL database for a postgresql:// URL, else a SQLite file (or :memory:,
    which keeps `kept` lines of each room)."""
    if is_postgresql(db):
        from chatroom.store.postgresql import PostgresStore  # psycopg2 is imported only for a server that uses it

        return PostgresStore(db, reactor, history_days)
    return SqliteStore(db, reactor, history_days, kept)


class StoreService(Service):
    """Opens the store (making or upgrading it as needed) and gives the hall its history back before anyone connects.

    It is the first child of the server, so twistd starts it before the
    listeners bind and stops it after everyone has been told goodbye: the
    last lines said are written before the file is closed.
    """

    def __init__(self, hall: Hall, store: SqliteStore | PostgresStore, passwords: ThreadedPasswords):
        self.hall = hall
        self.store = store
        self.passwords = passwords

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        try:
            self.store.open()
            self.hall.restore()
        except StoreError as problem:
            self._refuse(str(problem))
        except self.store.errors as problem:  # a database of the right version that is not as it should be
            self._refuse(f"{self.store.where} cannot be used as the store: {one_line(problem)}")
        self.store.start()
        self.passwords.start()
        logger.bind(event="store").info("history and registered names in {}", self.store.where)

    def _refuse(self, problem: str) -> None:
        logger.bind(event="store").error("{}", problem)
        raise SystemExit(f"chatroom: {problem}")

    def stopService(self) -> Deferred:
        super().stopService()
        self.passwords.stop()
        return self.store.close()
