"""The store and the password checker as a Twisted service: opened before the listeners, closed after them."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from loguru import logger
from twisted.application.service import Service

from chatroom.store.sqlite import StoreError

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from chatroom.core.hall import Hall
    from chatroom.server.passwords import ThreadedPasswords
    from chatroom.store.sqlite import SqliteStore


class StoreService(Service):
    """Opens the store (making or upgrading its file) and gives the hall its history back before anyone connects.

    It is the first child of the server, so twistd starts it before the
    listeners bind and stops it after everyone has been told goodbye: the
    last lines said are written before the file is closed.
    """

    def __init__(self, hall: Hall, store: SqliteStore, passwords: ThreadedPasswords):
        self.hall = hall
        self.store = store
        self.passwords = passwords

    def privilegedStartService(self) -> None:
        super().privilegedStartService()
        try:
            self.store.open()
            self.hall.restore()
        except sqlite3.Error as problem:  # a file of the right version that is not as it should be
            self._refuse(f"{self.store.where} cannot be used as the store: {problem}")
        except StoreError as problem:
            self._refuse(str(problem))
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
