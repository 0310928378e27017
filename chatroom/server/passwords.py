"""Argon2id off the reactor thread, two at a time at most.

Each hash or check takes about 100 ms and 64 MiB. Run on the reactor it would
stall everyone's chat; run on Twisted's default pool (10 threads) a flood of
logins would cost 640 MiB. Two threads keep both bounded: a queue of checks
waits its turn, and the reactor goes on.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.threadpool import ThreadPool

from chatroom.core.passwords import check

THREADS = 2


class ThreadedPasswords:
    def __init__(self, reactor, hasher: PasswordHasher | None = None):
        self.reactor = reactor
        self.hasher = hasher or PasswordHasher()
        self.pool = ThreadPool(minthreads=0, maxthreads=THREADS, name="chatroom-passwords")

    def start(self) -> None:
        self.pool.start()

    def stop(self) -> None:
        self.pool.stop()

    def hash(self, password: str) -> Deferred[str]:
        return deferToThreadPool(self.reactor, self.pool, self.hasher.hash, password)

    def verify(self, password_hash: str, password: str) -> Deferred[bool]:
        return deferToThreadPool(self.reactor, self.pool, check, self.hasher, password_hash, password)
