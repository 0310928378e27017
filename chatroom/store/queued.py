"""What every store on a database shares: a thread of its own that writes the said lines in batches and
answers the reads someone waits for, so the reactor never waits on a disk or a network.

Lines are appended to a queue on the reactor thread and written by the store's
thread in batches, a transaction every FLUSH_SECONDS at most: stored within a
second of being said. Reads someone waits for run on the same thread, after the
lines queued before them, and answer through a Deferred on the reactor thread.

If the database cannot be written (a full disk, a removed file, a database
server gone), chat goes on, the log says so once, the lines wait in memory (up
to MAX_WAITING), and writing resumes by itself when it can.

The queue is bounded (PENDING_MOST, issue 15): a flood of lines wakes the
thread at once, and past the bound the reactor waits for the thread to write a
batch, so a flood goes at the store's pace instead of piling up in memory, and
nothing said is dropped while the store can be written. A subclass says
how to reach its database (`_ready`), how to write a batch (`_insert`), and
which errors mean "not now" (`errors`).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from loguru import logger
from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from chatroom.store.interface import StoredLine

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorFromThreads

FLUSH_SECONDS = 0.2  # the longest a said line waits before it is written
BATCH = 10_000  # lines in one transaction at most
MAX_WAITING = 100_000  # lines kept in memory while the store cannot be written; older ones are dropped
PRUNE_SECONDS = 3600  # how often lines older than --history-days are deleted

# Issue 15 (memory under a flood): the queue behind the store's thread is bounded. A queued line is counted as
# its text's length plus LINE_COST (the row's tuple, its id, time and room key), about the bytes it holds.
# 512 KiB, not 2 MiB: measured with bench/flood_memory.py, 1.5-2.4 MiB less RSS growth under a flood, and the
# reactor's waits shorter (9-12 of at most 8 ms in a flood of 50,000 lines, instead of one of up to 114 ms).
PENDING_MOST = 512 * 1024  # queued at most; past it the reactor waits for the thread (see _catch_up)
WAKE_AT = PENDING_MOST // 8  # queued, the thread is woken at once rather than at its next FLUSH_SECONDS
LINE_COST = 256
CATCH_UP_SECONDS = 1.0  # the longest the reactor waits for a batch; a store slower than that is not waited for

T = TypeVar("T")


def row_of(line: StoredLine) -> tuple:
    """A line as the row it is written as, in the order of the lines table's columns."""
    return (line.id, line.time, line.room, line.room_key, line.kind, line.speaker, line.colour, line.text)


class QueuedStore:
    errors: ClassVar[tuple[type[Exception], ...]]  # errors that mean "the database cannot be used now"

    def __init__(self, reactor: IReactorFromThreads, history_days: int):
        self.reactor = reactor
        self.history_days = history_days
        self.where = ""  # the store as the log names it: a path, or a URL without its password
        self._connection: Any = None
        # Lines as rows (compact tuples, not StoredLines): appended by the reactor, taken by the store's thread.
        # What they cost is counted on each side, each counter written by one thread only: queued minus written
        # is what waits in memory (lines being written included).
        self._pending: deque[tuple] = deque()
        self._queued = 0  # by the reactor
        self._written = 0  # by the store's thread: written, or dropped while the store cannot be written
        self._caught_up = threading.Event()  # set by the store's thread after each batch written
        self._caught_up.set()
        self._calls: deque[tuple[Callable[[Any], Any], Deferred]] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._closed: Deferred[None] = Deferred()
        self._thread: threading.Thread | None = None
        self._failing = False
        self._dropped = 0
        self._pruned_at = 0.0

    # What a store on a database says for itself.

    def _ready(self) -> None:
        """Before any work on the store's thread: make sure `_connection` can be used (reconnect if need be)."""

    def _insert(self, rows: list[tuple]) -> None:
        """Write `rows` (see row_of) in one transaction."""
        raise NotImplementedError

    def _prune(self) -> None:
        """Delete the lines older than --history-days."""
        raise NotImplementedError

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    # Started and closed by the server.

    def start(self) -> None:
        """From now on the store's own thread does all the reading and writing."""
        self._thread = threading.Thread(target=self._run, name="chatroom-store", daemon=True)
        self._thread.start()

    def close(self) -> Deferred[None]:
        """Write what is queued, then close; fires on the reactor thread once done."""
        if self._thread is None:
            self._disconnect()
            self._closed.callback(None)
        else:
            self._stopping = True
            self._wake.set()
        return self._closed

    # While it serves: called on the reactor thread.

    def append(self, line: StoredLine) -> None:
        self._pending.append(row_of(line))
        self._queued += len(line.text) + LINE_COST
        waiting = self._queued - self._written
        if waiting > WAKE_AT and not self._wake.is_set():
            self._wake.set()
        if waiting > PENDING_MOST:
            self._catch_up()

    def _catch_up(self) -> None:
        """Wait for the store's thread to write what is queued: a flood goes at the store's pace, in bounded memory.

        A batch of PENDING_MOST takes milliseconds to write. If one takes longer
        than CATCH_UP_SECONDS (a stalled disk or database), the reactor goes on
        without waiting again until the thread has written a batch; while the
        store cannot be written at all, lines wait in memory (up to MAX_WAITING).
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

    def _call(self, work: Callable[[Any], T]) -> Deferred[T]:
        """`work(connection)` on the store's thread, after the lines queued before it; its answer on the reactor."""
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
        self._disconnect()
        self.reactor.callFromThread(self._closed.callback, None)

    def _write_lines(self) -> None:
        while self._pending and self._write_batch():
            pass

    def _write_batch(self) -> bool:
        """Write up to BATCH queued lines in one transaction; False if they could not be written."""
        batch = [self._pending.popleft() for _ in range(min(len(self._pending), BATCH))]
        if self._guarded(lambda: self._insert(batch)):
            self._written += sum(len(row[7]) for row in batch) + LINE_COST * len(batch)
            self._caught_up.set()
            return True
        self._pending.extendleft(reversed(batch))  # back in front, in order, for the next try
        while len(self._pending) > MAX_WAITING:
            self._written += len(self._pending.popleft()[7]) + LINE_COST
            self._dropped += 1
        return False

    def _answer_calls(self) -> None:
        while self._calls:
            work, answer = self._calls.popleft()
            try:
                self._ready()
                result = work(self._connection)
            except Exception as problem:  # noqa: BLE001 -- whatever it was, the one who asked hears of it
                self._after_failure()
                self.reactor.callFromThread(answer.errback, Failure(problem))
            else:
                self.reactor.callFromThread(answer.callback, result)

    def _after_failure(self) -> None:
        """After an error on the store's thread: a store whose connection broke drops it, to make a new one."""

    def _guarded(self, work: Callable[[], None]) -> bool:
        """Do `work` against the store; if it cannot be written, say so once and carry on."""
        try:
            self._ready()
            work()
        except self.errors as problem:
            self._after_failure()
            if not self._failing:
                self._failing = True
                logger.bind(event="store").error(
                    "cannot write {}: {}; chat goes on, and said lines wait in memory until it can",
                    self.where,
                    one_line(problem),
                )
            return False
        if self._failing:
            self._failing = False
            lost = f"; {self._dropped} lines were dropped meanwhile" if self._dropped else ""
            logger.bind(event="store").warning("writing {} again{}", self.where, lost)
            self._dropped = 0
        return True


def one_line(problem: Exception) -> str:
    """An error's message on one line (database drivers write several)."""
    return " ".join(str(problem).split())
