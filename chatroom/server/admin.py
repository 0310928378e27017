"""chatroom-admin: the host's tool for operators, registered names, bans and mutes, on the server's store.

    chatroom-admin [--db PATH] op NAME        NAME becomes an operator (registered first if it is not:
                                              a password is asked, or read as one line from stdin)
    chatroom-admin [--db PATH] deop NAME
    chatroom-admin [--db PATH] list           registered names; an operator's marked @ (@teacher), as in /who
    chatroom-admin [--db PATH] password NAME  sets a new password for NAME
    chatroom-admin [--db PATH] bans           bans in force
    chatroom-admin [--db PATH] unban NAME|ADDRESS
    chatroom-admin [--db PATH] mute NAME [TIME] [REASON]
    chatroom-admin [--db PATH] unmute NAME
    chatroom-admin [--db PATH] mutes          mutes in force

--db is the server's --db: a SQLite file, or postgresql://USER@HOST:PORT/DBNAME.
It works on the same store as the server, while the server runs: the
server sees a new operator (or one no longer) at their next login, and a ban,
a mute or their lifting within a few seconds. Misuse is a message and status
2; a store that cannot be opened, status 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import sqlite3
import sys
import time
from types import ModuleType

from argon2 import PasswordHasher

from chatroom.core.accounts import password_problem
from chatroom.core.durations import FORMS, BadTime, clock_time, lasting, left, split_time
from chatroom.core.names import name_key, user_name_problem
from chatroom.server.storage import is_postgresql
from chatroom.store import sqlite
from chatroom.store.interface import Account, Mute
from chatroom.store.sqlite import StoreError

USAGE, UNUSABLE = 2, 1  # exit statuses: misuse, and a store that cannot be opened
HOST = "host"  # who a mute set here is by, as the muted person is told
MARKS = "In `list`, and in the chat's /who, an operator's name is marked with @ before it: @teacher."


class Refused(Exception):
    """What the host asked for cannot be done; the message says why (status 2)."""


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    try:
        if options.command in ("op", "password", "mute"):
            problem = user_name_problem(options.name)
            if problem:
                raise Refused(problem)
        options.records, connection = _open(options.db, create=options.command == "op")
        try:
            print(COMMANDS[options.command](connection, options))
        finally:
            connection.close()
    except Refused as refused:
        print(f"chatroom-admin: {refused}", file=sys.stderr)
        return USAGE
    except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at a password prompt
        print("\nchatroom-admin: no password given; nothing was changed.", file=sys.stderr)
        return USAGE
    except (StoreError, sqlite3.Error, OSError, *_postgresql_errors(options.db)) as problem:
        print(f"chatroom-admin: cannot use the store: {' '.join(str(problem).split())}", file=sys.stderr)
        return UNUSABLE
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chatroom-admin",
        description="Operators, registered names, bans and mutes, in the chat server's store (while it runs, too).",
        epilog=MARKS,
    )
    parser.add_argument("--db", default="chatroom.sqlite3", help="the server's store (default: %(default)s)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in (
        ("op", "make NAME an operator (registering it first: asks a password, or reads one line from stdin)"),
        ("deop", "NAME is no longer an operator"),
        ("password", "set a new password for the registered name NAME"),
    ):
        commands.add_parser(name, help=help_text).add_argument("name", metavar="NAME")
    commands.add_parser("list", help="the registered names; an operator's is marked @ (@teacher), as in /who")
    commands.add_parser("bans", help="the bans in force")
    commands.add_parser("unban", help="lift the bans of a name or an address").add_argument(
        "name", metavar="NAME|ADDRESS"
    )
    mute = commands.add_parser("mute", help="NAME cannot speak in rooms or to all, for TIME or until unmute")
    mute.add_argument("name", metavar="NAME")
    mute.add_argument("words", nargs="*", metavar="TIME REASON", help=f"both optional; {FORMS}")
    commands.add_parser("unmute", help="lift the mute of NAME").add_argument("name", metavar="NAME")
    commands.add_parser("mutes", help="the mutes in force")
    return parser


def _postgresql_errors(db: str) -> tuple[type[Exception], ...]:
    if not is_postgresql(db):
        return ()
    import psycopg2

    return (psycopg2.Error,)


def _open(path: str, create: bool) -> tuple[ModuleType, object]:
    """The module that reads and writes records in this kind of store, and a connection to it."""
    if is_postgresql(path):
        from chatroom.store import postgresql  # psycopg2 is imported only for a PostgreSQL store

        return postgresql, postgresql.connect(path)
    if path != ":memory:" and not os.path.exists(path) and not create:
        raise StoreError(f"there is no store at {path} (start the server once, or give --db PATH)")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StoreError(f"the folder {folder} does not exist")
    return sqlite, sqlite.connect(path)


def _op(connection: sqlite3.Connection, options) -> str:
    account = options.records.read_account(connection, name_key(options.name))
    if account is not None and account.operator:
        return f"{account.name} is an operator already."
    if account is None:
        password = _new_password(options.name)
        account = Account(name_key(options.name), options.name, _hash(password), None, time.time())
        registered = " (registered now, with the password given)"
    else:
        registered = ""
    options.records.write_account(connection, dataclasses.replace(account, operator=True))
    return f"{account.name} is an operator{registered}; it takes effect at their next login."


def _deop(connection: sqlite3.Connection, options) -> str:
    account = _registered(connection, options)
    if not account.operator:
        raise Refused(f"{account.name} is not an operator.")
    options.records.write_account(connection, dataclasses.replace(account, operator=False))
    return f"{account.name} is no longer an operator; it takes effect at their next login."


def _password(connection: sqlite3.Connection, options) -> str:
    account = _registered(connection, options)
    password = _new_password(account.name)
    options.records.write_account(connection, dataclasses.replace(account, password_hash=_hash(password)))
    return f"{account.name} has a new password."


def _list(connection: sqlite3.Connection, options) -> str:
    accounts = options.records.read_accounts(connection)
    if not accounts:
        return "No registered names."
    return "\n".join(
        f"{'@' if a.operator else ' '}{a.name:<21} registered {time.strftime('%Y-%m-%d', time.localtime(a.created))}"
        + ("  operator" if a.operator else "")
        for a in accounts
    )


def _bans(connection: sqlite3.Connection, options) -> str:
    now = time.time()
    bans = options.records.read_bans(connection, now)
    if not bans:
        return "No bans are in force."
    return "\n".join(
        f"{ban.shown} ({ban.kind}) {_how_long(ban.until, now)}, by {ban.by}" + (f": {b}" if (b := ban.reason) else "")
        for ban in bans
    )


def _how_long(until: float | None, now: float) -> str:
    """'for another 9 minutes, until 15:29 UTC' (the zone this machine is in, named), or 'until it is lifted'."""
    return left(until, now) + ("" if until is None else f", until {clock_time(until, now)}")


def _mute(connection: sqlite3.Connection, options) -> str:
    try:
        seconds, reason = split_time(" ".join(options.words))
    except BadTime as problem:
        raise Refused(f"{problem} Nothing was changed.") from None
    now = time.time()
    mute = Mute(name_key(options.name), options.name, HOST, reason, now, now + seconds if seconds else None)
    options.records.write_mute(connection, mute)
    return f"{mute.name} is muted {lasting(mute.since, mute.until)}; the server tells them within a few seconds."


def _unmute(connection: sqlite3.Connection, options) -> str:
    key = name_key(options.name)
    if not any(mute.key == key for mute in options.records.read_mutes(connection, time.time())):
        raise Refused(f"{options.name} is not muted (chatroom-admin mutes lists the mutes).")
    options.records.lift_mute(connection, key)
    return f"{options.name} may speak again; the server tells them within a few seconds."


def _mutes(connection: sqlite3.Connection, options) -> str:
    now = time.time()
    mutes = options.records.read_mutes(connection, now)
    if not mutes:
        return "No mutes are in force."
    return "\n".join(
        f"{mute.name} {_how_long(mute.until, now)}, by {mute.by}" + (f": {r}" if (r := mute.reason) else "")
        for mute in mutes
    )


def _unban(connection: sqlite3.Connection, options) -> str:
    records = options.records
    lifted = records.lift_bans(connection, name_key(options.name)) + records.lift_bans(connection, options.name)
    if not lifted:
        raise Refused(f"{options.name} is not banned (chatroom-admin bans lists the bans).")
    return f"The ban of {options.name} is lifted; the server lets them in within a few seconds."


COMMANDS = {
    "op": _op,
    "deop": _deop,
    "password": _password,
    "list": _list,
    "bans": _bans,
    "unban": _unban,
    "mute": _mute,
    "unmute": _unmute,
    "mutes": _mutes,
}


def _registered(connection: sqlite3.Connection, options) -> Account:
    name = options.name
    account = options.records.read_account(connection, name_key(name))
    if account is None:
        raise Refused(f"{name} is not registered (chatroom-admin list lists the registered names).")
    return account


def _new_password(name: str) -> str:
    """From a terminal: asked twice, not shown. From a pipe: the first line of stdin."""
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {name}: ")
        if getpass.getpass("The same again: ") != password:
            raise Refused("the two passwords differ; nothing was changed.")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        raise Refused(problem)
    return password


def _hash(password: str) -> str:
    return PasswordHasher().hash(password)


if __name__ == "__main__":
    raise SystemExit(main())
