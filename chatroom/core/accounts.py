"""Registered names: who may use them, and how many wrong passwords an address may try.

Anyone may claim the name they are using with a password; from then on that
name (and every name that looks like it) is asked for the password at login,
and `/nick` to it is refused to everyone else. Passwords are checked by the
injected `Passwords` (Argon2id, off the reactor thread in the server) and kept
only as hashes: never logged, never echoed, never in an error.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, deque
from typing import TYPE_CHECKING

from loguru import logger

from chatroom.core.names import name_key
from chatroom.core.passwords import MIN_LENGTH
from chatroom.store.interface import Account

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTime

    from chatroom.core.passwords import Passwords
    from chatroom.core.session import Session
    from chatroom.store.interface import Store

WRONG_PER_ADDRESS = 10  # wrong passwords one address may send...
WRONG_WINDOW = 600  # ...in this many seconds, for all names together
TRIES_PER_CONNECTION = 3  # wrong passwords at the login prompt before the connection is closed


class Accounts:
    def __init__(self, store: Store, passwords: Passwords, clock: IReactorTime):
        self.store = store
        self.passwords = passwords
        self.clock = clock
        self._wrong: dict[str, deque[float]] = {}  # address -> when its recent wrong passwords came
        self._checking: Counter[str] = Counter()  # address -> its passwords being checked now

    def find(self, name: str) -> Deferred[Account | None]:
        return self.store.account(name_key(name))

    # Guessing.

    def blocked_for(self, address: str) -> float:
        """Seconds until `address` may try a password again (0 if it may now)."""
        times = self._recent_wrong(address)
        if len(times) + self._checking[address] < WRONG_PER_ADDRESS:
            return 0
        # Guesses sent at once count while they are checked: each may be wrong.
        return (times[0] + WRONG_WINDOW - self.clock.seconds()) if times else WRONG_WINDOW

    def check(self, account: Account, password: str, address: str) -> Deferred[bool]:
        """Whether `password` is `account`'s; a wrong one counts against `address`."""

        def judged(right: bool) -> bool:
            self._checking[address] -= 1
            if not self._checking[address]:
                del self._checking[address]
            if not right:
                self._wrong[address] = self._recent_wrong(address)
                self._wrong[address].append(self.clock.seconds())
                logger.bind(event="password", user=account.name, addr=address).warning(
                    "wrong password for {} from {}", account.name, address
                )
            return right

        self._checking[address] += 1
        return self.passwords.verify(account.password_hash, password).addCallback(judged)

    def _recent_wrong(self, address: str) -> deque[float]:
        """The times of `address`'s wrong passwords in the last WRONG_WINDOW seconds (forgotten once none are)."""
        times = self._wrong.pop(address, deque())
        while times and times[0] <= self.clock.seconds() - WRONG_WINDOW:
            times.popleft()
        if times:
            self._wrong[address] = times
        return times

    # The commands.

    def register(self, session: Session, password: str) -> None:
        """/register PASSWORD: claim the name `session` is using."""
        if _refused_password(session, password):
            return

        def found(account: Account | None) -> Deferred | None:
            if account is not None:
                session.error(f"The name {account.name} is registered already.")
                return None
            return self.passwords.hash(password).addCallback(save)

        def save(password_hash: str) -> Deferred:
            account = Account(session.key, session.name, password_hash, _colour(session), self.clock.seconds())
            return self.store.save_account(account).addCallback(lambda _: registered(account))

        def registered(account: Account) -> None:
            session.proven |= {account.key}
            logger.bind(event="register", user=account.name).info("{} registered their name", account.name)
            session.notice(
                f"{account.name} is registered: from now on, logging in as {account.name} asks for this password."
            )

        session.wait(self.find(session.name).addCallback(found), self._failed(session))

    def change_password(self, session: Session, old: str, new: str) -> None:
        """/password OLD NEW."""
        if _refused_password(session, new):
            return

        def proven(account: Account) -> Deferred:
            return self.passwords.hash(new).addCallback(
                lambda password_hash: self.store.save_account(dataclasses.replace(account, password_hash=password_hash))
            )

        def changed(_) -> None:
            logger.bind(event="password", user=session.name).info("{} changed their password", session.name)
            session.notice("Your password is changed.")

        self._with_password(session, old, lambda account: proven(account).addCallback(changed))

    def unregister(self, session: Session, password: str) -> None:
        """/unregister PASSWORD: give the name back to everyone."""

        def gone(account: Account) -> Deferred:
            def said(_) -> None:
                session.proven -= {account.key}
                logger.bind(event="unregister", user=account.name).info("{} gave up their name", account.name)
                session.notice(f"{account.name} is no longer registered: anyone may use it.")

            return self.store.delete_account(account.key).addCallback(said)

        self._with_password(session, password, gone)

    def remember_colour(self, session: Session) -> None:
        """A registered name keeps the colour its owner last chose."""
        if session.key not in session.proven:
            return

        def found(account: Account | None) -> Deferred | None:
            if account is None:
                return None
            return self.store.save_account(dataclasses.replace(account, colour=_colour(session)))

        self.find(session.name).addCallback(found).addErrback(self._unwritable)

    def _with_password(self, session: Session, password: str, then) -> None:
        """Run `then(account)` once `password` is proven to be the password of the name `session` uses."""
        address = session.host
        if self.blocked_for(address) > 0:
            session.error(too_many_wrong(self.blocked_for(address)))
            return

        def found(account: Account | None) -> Deferred | None:
            if account is None or account.key not in session.proven:
                session.error(f"The name {session.name} is not registered. /register PASSWORD claims it.")
                return None
            return self.check(account, password, address).addCallback(judged, account)

        def judged(right: bool, account: Account) -> Deferred | None:
            if not right:
                session.error("That is not your password.")
                return None
            return then(account)

        session.wait(self.find(session.name).addCallback(found), self._failed(session))

    def _failed(self, session: Session):
        def failed(failure) -> None:
            self._unwritable(failure)
            session.error("Registered names cannot be read or changed just now; try again in a moment.")

        return failed

    def _unwritable(self, failure) -> None:
        logger.bind(event="store").error("registered names: {}", failure.getErrorMessage())


def too_many_wrong(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"Too many wrong passwords from your address: try again in {minutes} minute{'s' * (minutes != 1)}."


def password_problem(password: str) -> str | None:
    """Why `password` cannot be a new password, or None."""
    if " " in password:
        return "A password cannot contain spaces."
    if len(password) < MIN_LENGTH:
        return f"A password needs at least {MIN_LENGTH} characters."
    return None


def _refused_password(session: Session, password: str) -> bool:
    """Whether `password` cannot be a new password (and `session` has been told why)."""
    problem = password_problem(password)
    if problem:
        session.error(problem)
    return problem is not None


def _colour(session: Session) -> str | None:
    return session.colour.name if session.colour else None
