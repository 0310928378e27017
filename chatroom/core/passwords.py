"""Checking passwords: what the hall asks, and the plain way of doing it.

Argon2id (argon2-cffi) takes about 100 ms and 64 MiB per hash or check, so a
server must not do it on the reactor thread: chatroom.server.passwords does
it on a small pool of threads. `InlinePasswords` does it where it is called,
for tests (with cheap parameters) and scripts.
"""

from __future__ import annotations

from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from twisted.internet.defer import Deferred, succeed

MIN_LENGTH = 8


class Passwords(Protocol):
    def hash(self, password: str) -> Deferred[str]:
        """A salted Argon2id hash of `password`."""

    def verify(self, password_hash: str, password: str) -> Deferred[bool]:
        """Whether `password` is the one `password_hash` was made from."""


def check(hasher: PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class InlinePasswords:
    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> Deferred[str]:
        return succeed(self.hasher.hash(password))

    def verify(self, password_hash: str, password: str) -> Deferred[bool]:
        return succeed(check(self.hasher, password_hash, password))
