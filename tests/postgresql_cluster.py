"""A throwaway PostgreSQL cluster for the tests and the benchmarks: Debian's PostgreSQL 15, in a temporary
folder, on a free loopback port, stopped by pg_ctl (or its pid) at the end.

PostgreSQL refuses to run as root, so as root it runs as the `postgres` user
(runuser). Over TCP it asks passwords (scram-sha-256), as a host's would; the
tests' own administration goes through the cluster's Unix socket, trusted.
Each test gets a database of its own, owned by a role of its own with a
password, from `database()`.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "postgres"


@dataclass(frozen=True)
class Database:
    """A database a test may use: the URL a host would give --db (no password in it), and that password."""

    name: str
    role: str
    password: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://{self.role}@{self.host}:{self.port}/{self.name}"

    @property
    def url_with_password(self) -> str:
        return f"postgresql://{self.role}:{self.password}@{self.host}:{self.port}/{self.name}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """`core`: run PostgreSQL on that CPU only (a benchmark puts it beside the server it serves)."""

    def __init__(self, core: int | None = None) -> None:
        self.core = core
        self.root = Path(tempfile.mkdtemp(prefix="chatroom-pg-"))
        self.root.chmod(0o755)  # the postgres user must reach its folders inside
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.port = free_port()
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0
        owner = ["-o", SUPERUSER, "-g", SUPERUSER] if self._as_postgres else []
        subprocess.run(["install", "-d", *owner, str(self.data), str(self.sockets)], check=True)
        password_file = self.root / "superuser-password"
        password_file.write_text("superuser-secret\n")
        password_file.chmod(0o644)
        self._run(BIN / "initdb", "-D", self.data, "-U", SUPERUSER, "--auth-local=trust",
                  "--auth-host=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8", "--no-sync")  # fmt: skip
        self.start()

    def _run(self, *command, check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", SUPERUSER, "--"] if self._as_postgres else []
        if self.core is not None:  # pg_ctl's postmaster, and every backend it forks, inherit it
            prefix = ["taskset", "-c", str(self.core), *prefix]
        return subprocess.run(
            [*prefix, *map(str, command)], check=check, capture_output=True, text=True, timeout=60, cwd=self.root
        )

    def start(self) -> None:
        # fsync off: a test cluster need not survive a power cut, and it is several times faster on a busy disk.
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", self.data / "log", "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def pid(self) -> int | None:
        pid_file = self.data / "postmaster.pid"
        return int(pid_file.read_text().split()[0]) if pid_file.exists() else None

    def admin(self, database: str = "postgres"):
        """A connection as the superuser over the Unix socket, in autocommit (CREATE DATABASE needs it)."""
        connection = psycopg2.connect(host=str(self.sockets), port=self.port, user=SUPERUSER, dbname=database)
        connection.autocommit = True
        return connection

    def database(self) -> Database:
        """A new, empty database, owned by a new role with a password of its own."""
        n = next(self._names)
        made = Database(f"chat_{n}", f"chatter_{n}", f"Role-Secret-{os.getpid()}-{n}", "127.0.0.1", self.port)
        connection = self.admin()
        try:
            connection.cursor().execute(f"CREATE ROLE {made.role} LOGIN PASSWORD %s", (made.password,))
            connection.cursor().execute(
                f"CREATE DATABASE {made.name} OWNER {made.role} TEMPLATE template0 STRATEGY file_copy"
            )
        finally:
            connection.close()
        return made

    def query(self, database: Database, sql: str, parameters: tuple = ()) -> list[tuple]:
        """Rows of `sql` in `database`, as the superuser (the tests look at what the store wrote)."""
        connection = self.admin(database.name)
        try:
            cursor = connection.cursor()
            cursor.execute(sql, parameters)
            return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def close(self) -> None:
        self.stop("immediate")
        pid = self.pid()
        if pid is not None:  # pg_ctl could not stop it: by its pid
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            time.sleep(0.2)
        shutil.rmtree(self.root, ignore_errors=True)
