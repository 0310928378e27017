"""What the end-to-end tests of moderation share: a real twistd on a real SQLite file (or PostgreSQL), the real
chatroom-admin (from a pipe, or in a pseudo-terminal), and line clients from chosen loopback addresses.

Every address in 127.0.0.0/8 is this machine, so a client can come from
127.0.0.2, 127.0.0.3, ... and the server sees a different address for each:
an address ban of one leaves the others alone.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from conftest import plain
from test_end_to_end import REPO, Client, Server

ADMIN = Path(sys.executable).with_name("chatroom-admin")
WAIT = 20  # seconds any one answer may take: Argon2id is slow on purpose, and the machine is shared
LOCAL = "tcp:0:interface=127.0.0.1"
LEFT = r"for another \d+ [a-z]+(?: and \d+ [a-z]+)?"  # how long a ban or a mute in force still lasts
ZONED = r"\d\d:\d\d [A-Za-z][\w+-]*"  # a clock time today, its zone named (chatroom-admin, on the server's machine)


def _env() -> dict[str, str]:
    """chatroom-admin's environment: this run's (PGPASSWORD for a PostgreSQL store, say), and this checkout."""
    return dict(os.environ, PYTHONPATH=str(REPO))


class Telnet(Client):
    """A line client (what telnet or nc sends) from a chosen local address."""

    def __init__(self, port: int, source: str = "127.0.0.1"):
        self.source = source
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT, source_address=(source, 0))
        self.buffer = b""
        self.raw = b""

    def expect(self, pattern: str, timeout: float = WAIT) -> str:
        return super().expect(pattern, timeout)

    def closed(self, timeout: float = WAIT) -> bool:
        return super().closed(timeout)

    def login(self, name: str, colour: str = "") -> Telnet:
        """Log in with a name nobody registered; `welcome` is what the server said up to the lobby."""
        self.welcome = self.expect("What is your name")
        self.send(name)
        self.welcome += self.expect(r"Pick a colour.*\n")
        self.send(colour)
        self.welcome += self.expect(r"You are in the lobby.*\n") + self.fence()
        return self

    def log_in(self, name: str, password: str) -> Telnet:
        """Log in with a registered name and its password; `welcome` is what the server said."""
        self.welcome = self.expect("What is your name")
        self.send(name)
        self.welcome += self.expect(r"Password for \S+:")  # a look-alike is asked for the registered spelling
        self.send(password)
        self.welcome += self.expect(r"You are in the lobby.*\n") + self.fence()
        return self

    def fence(self) -> str:
        """Everything the server sent before its answer to /time: what came before a line sent now."""
        self.send("/time")
        return self.expect(r"Server time: .*\n")

    def ask(self, line: str) -> str:
        """Send `line`; the lines the server sent after those read before, up to its answer to the fence
        (which is left out)."""
        self.send(line)
        answer = re.sub(r"\*\*\* Server time: .*\r\n$", "", self.fence())
        return answer.removeprefix("\r\n")  # the end of a line read before

    def everything(self) -> str:
        """Read to the end of the connection (it must close): all of it, as plain text."""
        assert self.closed(), f"still open; got {plain(self.buffer)!r}"
        return plain(self.buffer)


class Lab:
    """Servers on one store in `tmp_path/server`, clients to them, chatroom-admin on the same store.

    Everything it starts is stopped by its pid at the end (close).
    """

    def __init__(self, tmp_path: Path, postgresql: tuple | None = None):
        self.tmp_path = tmp_path
        self.folder = tmp_path / "server"
        self.folder.mkdir()
        self.postgresql = postgresql  # (the cluster, the database) when the store is PostgreSQL's
        self.db = postgresql[1].url if postgresql else self.folder / "chatroom.sqlite3"
        self.log = self.folder / "chatroom.log"
        self.servers: list[Server] = []
        self.sockets: list[Telnet] = []
        self.terminals: list[AdminTerminal] = []
        self.server: Server | None = None

    def start(self, *options: str, web: str | None = None) -> Server:
        self.server = Server(self.folder, "--db", str(self.db), *options, web=web)
        self.servers.append(self.server)
        return self.server

    def connect(self, source: str = "127.0.0.1", server: Server | None = None) -> Telnet:
        self.sockets.append(Telnet((server or self.server).port, source))
        return self.sockets[-1]

    def admin(self, *args: str, password: str | None = None, db: Path | str | None = None) -> Admin:
        """chatroom-admin --db DB ARGS, with `password` (a line) on a pipe as its stdin."""
        return Admin(args, db or self.db, password)

    def admin_terminal(self, *args: str, db: Path | str | None = None) -> AdminTerminal:
        self.terminals.append(AdminTerminal(args, db or self.db, self.tmp_path))
        return self.terminals[-1]

    def make_operator(self, name: str, password: str) -> None:
        made = self.admin("op", name, password=password)
        assert made.status == 0, made
        assert made.out == f"{name} is an operator (registered now, with the password given); it takes effect " \
                           "at their next login.\n"  # fmt: skip

    def register(self, name: str, password: str, source: str = "127.0.0.1") -> None:
        """`name` registered by a person on the running server, with /register, who then leaves."""
        owner = self.connect(source).login(name)
        owner.send(f"/register {password}")
        owner.expect(f"{name} is registered")
        owner.send("/quit")
        assert owner.closed()

    def stop(self) -> int:
        """SIGTERM the running server, once the clients have hung up."""
        for client in self.sockets:
            client.sock.close()
        return self.server.stop()

    def query(self, sql: str) -> list[tuple]:
        """Rows of `sql` in the store the server uses, read from outside it."""
        if self.postgresql:
            cluster, database = self.postgresql
            return cluster.query(database, sql)
        with sqlite3.connect(self.db) as connection:
            found = connection.execute(sql).fetchall()
        connection.close()
        return found

    def log_text(self, pattern: str, timeout: float = WAIT) -> str:
        """The server's log, once a line matches `pattern` (the log is written as things happen)."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.log.read_text(encoding="utf-8") if self.log.exists() else ""
            if re.search(pattern, text, re.MULTILINE):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"never logged {pattern!r}; the log:\n{text}")
            time.sleep(0.1)

    def close(self) -> None:
        for terminal in self.terminals:
            terminal.close()
        for client in self.sockets:
            client.sock.close()
        for server in self.servers:
            server.stop()


class Admin:
    """chatroom-admin run to its end from a pipe: its status, stdout and stderr."""

    def __init__(self, args: tuple[str, ...], db: Path | str | None, password: str | None):
        command = [str(ADMIN), *(["--db", str(db)] if db is not None else []), *args]
        done = subprocess.run(
            command,
            input=None if password is None else password + "\n",
            stdin=subprocess.DEVNULL if password is None else None,
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(),
        )
        self.args = args
        self.status, self.out, self.err = done.returncode, done.stdout, done.stderr

    def __repr__(self) -> str:
        return f"chatroom-admin {' '.join(self.args)}: status {self.status}\nstdout: {self.out!r}\nstderr: {self.err!r}"


class AdminTerminal:
    """chatroom-admin in a pseudo-terminal that is its controlling terminal, as in a host's shell.

    `screen` is every byte it wrote there, as text: what the host would see.
    """

    def __init__(self, args: tuple[str, ...], db: Path | str, cwd: Path):
        master, slave = os.openpty()
        # setsid --ctty: a session of its own whose controlling terminal is the pty, so /dev/tty is the pty,
        # where getpass asks; it execs chatroom-admin in place, so the pid is chatroom-admin's.
        self.process = subprocess.Popen(
            ["setsid", "--ctty", str(ADMIN), "--db", str(db), *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=dict(_env(), TERM="xterm"),
        )
        os.close(slave)
        self.master = master
        self._data = b""
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # chatroom-admin exited and the pty is gone
                return
            if not data:
                return
            with self._lock:
                self._data += data

    @property
    def screen(self) -> str:
        with self._lock:
            return self._data.decode("utf-8", "replace")

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_for(self, text: str, timeout: float = WAIT) -> None:
        wait_until(lambda: text in self.screen, f"{text!r} on the terminal", timeout, lambda: self.screen)

    def exit_status(self, timeout: float = 60) -> int:
        status = self.process.wait(timeout=timeout)
        self._reader.join(timeout=5)  # everything it wrote is read
        return status

    def close(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        try:
            os.close(self.master)
        except OSError:
            pass


def wait_until(test: Callable[[], object], what: str, timeout: float = WAIT, got: Callable[[], str] | None = None):
    """Poll `test` until it is true (its value is returned) or `timeout` seconds pass (an AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = test()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened within {timeout} s: {what}" + (f"; got {got()!r}" if got else ""))
        time.sleep(0.1)


def refused_at_connect(port: int, source: str) -> str:
    """Connect from `source`; it must be closed at once: all the server said, as plain text."""
    client = Telnet(port, source)
    try:
        return client.everything()
    finally:
        client.sock.close()


def comes_in(port: int, source: str, timeout: float = WAIT) -> Telnet:
    """Connect from `source` again and again until the server asks a name instead of closing: a Telnet at the
    name prompt. The caller closes it."""
    deadline = time.monotonic() + timeout
    refusals = []
    while time.monotonic() < deadline:
        client = Telnet(port, source)
        try:
            client.expect("What is your name", timeout=max(1.0, deadline - time.monotonic()))
            return client
        except AssertionError:
            refusals.append(plain(client.buffer))
            client.sock.close()
            time.sleep(0.25)
    raise AssertionError(f"{source} was not let in within {timeout} s; the last refusal: {refusals[-1:]}")
