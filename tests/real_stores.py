"""Real stores for the Hypothesis state machines, which drive a hall by hand with no reactor running.

A store hands its answers to the reactor thread (callFromThread); here a
`Handoff` holds them until the machine takes them (`settle`), so each rule
ends with every store answer it caused delivered, as the reactor would have
by the next line typed. `restart` closes the store and opens it again on the
same file or database, as a server restart does.
"""

from __future__ import annotations

import queue
import shutil
import tempfile
from pathlib import Path

from chatroom.store.memory import MemoryStore
from chatroom.store.postgresql import PostgresStore
from chatroom.store.sqlite import SqliteStore

WAIT = 20  # seconds any one store answer may take on a shared machine


class Handoff:
    """What the store takes for the reactor: calls from its thread wait here for the machine's thread."""

    def __init__(self) -> None:
        self.calls: queue.Queue = queue.Queue()

    def callFromThread(self, function, *args, **kwargs) -> None:  # noqa: N802 -- IReactorFromThreads
        self.calls.put((function, args, kwargs))

    def callLater(self, seconds, function, *args, **kwargs):  # noqa: N802 -- IReactorTime, for a read's timeout
        """Never fires: the machine waits for each answer itself (WAIT)."""
        return _NeverCalled()

    def run_one(self) -> None:
        function, args, kwargs = self.calls.get(timeout=WAIT)
        function(*args, **kwargs)


class _NeverCalled:
    def active(self) -> bool:
        return True

    def cancel(self) -> None:
        pass


class RealStore:
    """One store of `kind` ("memory", "sqlite" or "postgresql") for one example of a machine."""

    cluster = None  # the test run's PostgreSQL, set by the test class (conftest.postgresql_cluster)

    def __init__(self, kind: str):
        self.kind = kind
        self.handoff = Handoff()
        self.folder = Path(tempfile.mkdtemp(prefix="chatroom-machine-")) if kind == "sqlite" else None
        self.database = self.cluster.database() if kind == "postgresql" else None
        self.store = self._open()

    def _open(self):
        if self.kind == "memory":
            return MemoryStore()
        if self.kind == "sqlite":
            store = SqliteStore(str(self.folder / "chat.sqlite3"), self.handoff)
        else:
            store = PostgresStore(self.database.url_with_password, self.handoff)
        store.open()
        store.start()
        return store

    def settle(self) -> None:
        """Deliver every answer the store owes, and those of anything they asked in turn."""
        if self.kind == "memory":
            return
        while True:
            marker = self.store.bans(0)  # answered after everything asked before it
            delivered = 0
            while not marker.called:
                self.handoff.run_one()
                delivered += 1
            if delivered == 1:  # only the marker: nothing else was owed
                return

    def wait(self, deferred):
        """The result of a Deferred of the store's."""
        while not deferred.called:
            self.handoff.run_one()
        results: list = []
        deferred.addBoth(results.append)
        return results[0]

    def restart(self):
        """The store closed (what was queued written) and opened again, as by a server restarting."""
        if self.kind != "memory":
            self.settle()
            self.wait(self.store.close())
            self.store = self._open()
        return self.store

    def close(self) -> None:
        if self.kind != "memory":
            self.wait(self.store.close())
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
