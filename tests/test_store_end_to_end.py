"""The store from outside: a real twistd on a real SQLite file, killed with SIGKILL and started again.

History: what rooms said comes back after a `kill -9` (on telnet and over the
page's WebSocket), everything said more than a second before the kill is in
the file, the file is never corrupt, old lines go after --history-days, and a
backup taken while the server runs holds the lines. Registered names: attacked
over real sockets (wrong passwords, look-alikes, /nick, a dozen guesses from
one address), and a real telnet in tmux that shows nothing of the password.
After each, every file the server wrote is searched for the passwords and for
private text.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from moderation_lab import Telnet, wait_until

from chatroom.core.names import name_key
from chatroom.store.interface import SLOTS
from conftest import STORE_KINDS, plain
from postgresql_cluster import free_port
from test_end_to_end import REPO, TWISTD, Server
from websocket_client import WebSocket

LOCAL = "tcp:0:interface=127.0.0.1"
WAIT = 20  # seconds any one answer may take: Argon2id is slow on purpose, and the machine is shared
ON_DISK = 1.3  # a line is on disk within a second of being said (PRODUCT.md); a little more, to be fair
BLUE, RED, GREEN, PURPLE = "\x1b[38;5;33m", "\x1b[38;5;196m", "\x1b[38;5;40m", "\x1b[38;5;129m"
INETUTILS_TELNET = shutil.which("inetutils-telnet") or shutil.which("telnet")


class Lab:
    """Servers in `folder`, clients to them; everything stopped by its pid at the end.

    The store is chatroom.sqlite3 in the folder, or (`postgresql`: the cluster and a database) PostgreSQL's.
    """

    def __init__(self, tmp_path: Path, postgresql: tuple | None = None):
        self.tmp_path = tmp_path
        self.folder = tmp_path / "server"
        self.folder.mkdir()
        self.postgresql = postgresql
        self.servers: list[Server] = []
        self.sockets: list[Telnet | WebSocket] = []
        self._copies = 0

    def start(self, *options: str, web: str | None = None, folder: Path | None = None) -> Server:
        store = ("--db", self.postgresql[1].url) if self.postgresql else ()
        self.servers.append(Server(folder or self.folder, *store, *options, web=web))
        return self.servers[-1]

    def stored(self) -> list[tuple[str, str, str, str]]:
        """The lines in the store, as (room, kind, speaker, text) in the order of their ids, read from outside:
        from a copy of the SQLite file as it is now (which must be sound), or from PostgreSQL."""
        if self.postgresql:
            cluster, database = self.postgresql
            return cluster.query(database, "SELECT room, kind, speaker, text FROM lines ORDER BY id")
        self._copies += 1
        copy = checked_copy(self.folder / "chatroom.sqlite3", self.tmp_path / f"copy-{self._copies}")
        try:
            return stored(copy)
        finally:
            copy.close()

    def query(self, sql: str) -> list[tuple]:
        """Rows of `sql` in the store, read from outside the server."""
        if self.postgresql:
            cluster, database = self.postgresql
            return cluster.query(database, sql)
        with sqlite3.connect(self.folder / "chatroom.sqlite3") as connection:
            found = connection.execute(sql).fetchall()
        connection.close()
        return found

    def assert_nowhere(self, secrets: list[str]) -> None:
        """None of `secrets` in any file the server wrote, nor in any row of its PostgreSQL database."""
        assert_nowhere(self.folder, secrets)
        if self.postgresql:
            cluster, database = self.postgresql
            tables = cluster.query(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            assert {"lines", "accounts"} <= {table for (table,) in tables}
            rows = "".join(str(cluster.query(database, f"SELECT t::text FROM {table} t")) for (table,) in tables)
            for secret in secrets:
                assert secret not in rows, f"{secret!r} is in the database"

    def connect(self, server: Server, source: str = "127.0.0.1") -> Telnet:
        self.sockets.append(Telnet(server.port, source))
        return self.sockets[-1]

    def websocket(self, server: Server) -> WebSocket:
        self.sockets.append(WebSocket(server.web_port, timeout=WAIT))
        return self.sockets[-1]

    def register(self, server: Server, name: str, password: str, colour: str = "purple") -> None:
        """`name` claimed with `password` by a first connection, which then leaves."""
        owner = self.connect(server).login(name, colour)
        owner.send(f"/register {password}")
        owner.expect(f"{name} is registered")
        owner.send("/quit")
        assert owner.closed(WAIT)

    def stop(self, server: Server) -> int:
        """Stop `server` (SIGTERM) once the clients have hung up: it waits for the ones still connected."""
        for client in self.sockets:
            client.sock.close()
        return server.stop()

    def close(self) -> None:
        for client in self.sockets:
            client.sock.close()
        for server in self.servers:
            server.stop()


@pytest.fixture
def lab(tmp_path, postgresql_for):
    lab = Lab(tmp_path, postgresql_for)
    try:
        yield lab
    finally:
        lab.close()


def kill_9(server: Server) -> None:
    os.kill(server.process.pid, signal.SIGKILL)
    assert server.process.wait(timeout=WAIT) == -signal.SIGKILL


def checked_copy(db: Path, into: Path) -> sqlite3.Connection:
    """The file and its WAL as a crash left them, copied (the server to come opens the originals
    untouched), then opened: `PRAGMA integrity_check` must say ok."""
    into.mkdir()
    for suffix in ("", "-wal"):
        if Path(f"{db}{suffix}").exists():
            shutil.copy(f"{db}{suffix}", into / f"copy.sqlite3{suffix}")
    connection = sqlite3.connect(into / "copy.sqlite3")
    assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    return connection


def stored(connection: sqlite3.Connection) -> list[tuple[str, str, str, str]]:
    return connection.execute("SELECT room, kind, speaker, text FROM lines ORDER BY id").fetchall()


def assert_nowhere(folder: Path, secrets: list[str]) -> None:
    """No file in `folder` (the log and its rotations, the store, its -wal and -shm) holds any of `secrets`."""
    files = [path for path in folder.rglob("*") if path.is_file()]
    assert files, "the server wrote nothing?"
    for path in files:
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret!r} is in {path.name}"


def in_order(text: str, expected: list[str]) -> None:
    """Each of `expected` appears in `text`, one after the other."""
    at = 0
    for line in expected:
        found = text.find(line, at)
        assert found >= 0, f"{line!r} not in order in {text!r}"
        at = found + len(line)


def said(events: list[dict]) -> list[tuple[str, str, str]]:
    """A history event's lines as (type, speaker, text)."""
    return [(line["type"], line["from"]["name"], line["text"]) for line in events]


def web_log_in(ws: WebSocket, name: str, colour: str = "") -> list[dict]:
    """Logs in over the WebSocket; every event up to `you`."""
    seen = ws.until(lambda e: e["type"] == "prompt" and e["asks"] == "name", WAIT)
    ws.line(name)
    seen += ws.until(lambda e: e["type"] == "prompt" and e["asks"] == "colour", WAIT)
    ws.line(colour)
    return seen + ws.until_type("you", WAIT)


def web_history(ws: WebSocket, line: str) -> dict:
    """The `history` event a line (/history, /join) brings."""
    ws.line(line)
    return ws.until_type("history", WAIT)[-1]


def histories(events: list[dict]) -> list[dict]:
    return [event for event in events if event["type"] == "history"]


def twistd(folder: Path, *options: str) -> subprocess.CompletedProcess:
    """twistd chatroom run to its end (it should not start): its status and what it said."""
    return subprocess.run(
        [str(TWISTD), "-n", "--pidfile=", "chatroom", "--port", LOCAL, *options],
        cwd=folder,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        capture_output=True,
        text=True,
        timeout=60,
    )


# History across a kill -9.

PRIVATE = ["psst-the-key-is-under-the-mat-5521", "reply-quince-private-8810", "carol-tells-alice-3391"]
LOBBY_LINES = [
    ("chat", "alice", "lobby line one"),
    ("action", "bob", "waves in the lobby"),
    ("all", "alice", "hello every room"),
    ("chat", "alice", "lobby line two"),
    ("chat", "bob", "lobby line three"),
]
GAMES_LINES = [  # the line to every room was shown in the lobby's history: not again in games'
    ("chat", "carol", "games line one"),
    ("action", "carol", "rolls the dice"),
]
LOBBY_TEXT = [
    "alice: lobby line one",
    "* bob waves in the lobby",
    "[all] alice: hello every room",
    "alice: lobby line two",
    "bob: lobby line three",
]
GAMES_TEXT = ["carol: games line one", "* carol rolls the dice"]


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_history_survives_kill_9_on_telnet_and_on_the_web(lab):
    first = lab.start(web=LOCAL)  # the default store: chatroom.sqlite3 in the folder it runs in
    watcher = lab.websocket(first)
    hello = web_log_in(watcher, "watcher")[0]
    alice = lab.connect(first).login("alice", "blue")
    bob = lab.connect(first).login("bob", "red")
    carol = lab.connect(first).login("carol", "green")
    carol.send("/join games")
    carol.expect("You are in games, alone")
    # Each line is seen before the next is said, so the order is the order they were said in.
    for speaker, line, seen in [
        (alice, "lobby line one", "alice: lobby line one"),
        (bob, "/me waves in the lobby", r"\* bob waves in the lobby"),
        (alice, "/all hello every room", r"\[all\] alice: hello every room"),
        (carol, "games line one", "carol: games line one"),
        (carol, "/me rolls the dice", r"\* carol rolls the dice"),
        (alice, "lobby line two", "alice: lobby line two"),
        (bob, "lobby line three", "bob: lobby line three"),
    ]:
        speaker.send(line)
        speaker.expect(seen)
    alice.send(f"/msg bob {PRIVATE[0]}")
    bob.expect(PRIVATE[0])
    bob.send(f"@alice {PRIVATE[1]}")
    alice.expect(PRIVATE[1])
    carol.send(f"/msg alice {PRIVATE[2]}")
    alice.expect(PRIVATE[2])
    ids = {
        e["text"]: e["id"] for e in watcher.until(lambda e: e.get("text") == "lobby line three", WAIT) if "from" in e
    }
    time.sleep(ON_DISK)
    kill_9(first)

    lab.assert_nowhere(PRIVATE)  # not in the file, its -wal, its -shm, the database or the log
    assert lab.stored() == [
        ("lobby", "chat", "alice", "lobby line one"),
        ("lobby", "action", "bob", "waves in the lobby"),
        ("*", "all", "alice", "hello every room"),
        ("games", "chat", "carol", "games line one"),
        ("games", "action", "carol", "rolls the dice"),
        ("lobby", "chat", "alice", "lobby line two"),
        ("lobby", "chat", "bob", "lobby line three"),
    ]

    second = lab.start(web=LOCAL)  # the same folder, so the same file (or the same database)
    # Telnet: the lobby's last lines in the welcome, in the speakers' colours; nothing private.
    dave = lab.connect(second).login("dave")
    welcome = dave.welcome
    in_order(welcome, ["The last lines said in the lobby:", *LOBBY_TEXT])
    assert "games line one" not in welcome
    assert f"{BLUE}alice\x1b[0m: lobby line one" in dave.raw.decode()
    assert f"* {RED}bob\x1b[0m waves in the lobby" in dave.raw.decode()
    dave.send("/history 3")
    shown = dave.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n")
    in_order(shown, LOBBY_TEXT[2:])
    assert "lobby line one" not in shown and "waves in the lobby" not in shown
    dave.send("/history")
    in_order(dave.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n"), LOBBY_TEXT)
    dave.send("/join games")
    joined = dave.expect(r"(?s)You are in games, alone\..*?\(end of recent lines\)\r\n")
    in_order(joined, ["The last lines said in games:", *GAMES_TEXT])
    assert "hello every room" not in joined
    assert f"{GREEN}carol\x1b[0m: games line one" in dave.raw.decode()
    dave.fence()
    assert not any(secret in plain(dave.raw) for secret in PRIVATE)

    # The web: the same lines as a `history` event, with the ids they had before the kill, in the same epoch.
    erin = lab.websocket(second)
    logged_in = web_log_in(erin, "erin")
    assert logged_in[0]["type"] == "hello" and logged_in[0]["epoch"] == hello["epoch"]
    welcome_events = histories(logged_in)
    assert [event["room"] for event in welcome_events] == ["lobby"]
    assert said(welcome_events[0]["lines"]) == LOBBY_LINES
    assert [line["id"] for line in welcome_events[0]["lines"]] == [ids[text] for _, _, text in LOBBY_LINES]
    assert welcome_events[0]["lines"][0]["from"] == {"name": "alice", "colour": "blue"}
    assert said(web_history(erin, "/history 3")["lines"]) == LOBBY_LINES[2:]
    assert said(web_history(erin, "/history")["lines"]) == LOBBY_LINES
    shown = web_history(erin, "/join games")
    assert shown["room"] == "games" and said(shown["lines"]) == GAMES_LINES
    erin.line("new after the restart")
    new = erin.until(lambda e: e.get("text") == "new after the restart", WAIT)[-1]
    assert new["id"] > max(ids.values())  # ids go on growing across the restart
    everything = web_history(erin, "/history 500")
    assert [line["text"] for line in everything["lines"]][-1] == "new after the restart"
    assert not any(secret in str(everything) for secret in PRIVATE)

    assert lab.stop(second) in (0, -signal.SIGTERM)
    lab.assert_nowhere(PRIVATE)
    assert lab.stored()[-1] == ("games", "chat", "erin", "new after the restart")


@pytest.mark.parametrize(
    ("line", "answer"),
    [
        ("/history 3", lambda e: e["type"] == "history"),
        ("/register Web-Secret-7788", lambda e: e["type"] == "notice" and "is registered" in str(e["lines"])),
        ("/nick zed", lambda e: e["type"] == "room-notice" and "now known as" in str(e["text"])),
    ],
    ids=["history", "register", "nick"],
)
def test_an_ack_follows_an_answer_that_waited_for_the_store(lab, line, answer):
    """docs/web-protocol.md: the `ack` of a message "follows everything it caused" -- tests wait on it."""
    server = lab.start(web=LOCAL)
    erin = lab.websocket(server)
    web_log_in(erin, "erin")
    erin.line("something to show", ref="said")
    erin.until(lambda e: e["type"] == "ack" and e["ref"] == "said", WAIT)
    erin.line(line, ref="asked")
    seen = erin.until(lambda e: e["type"] == "ack" and e["ref"] == "asked", WAIT)
    assert any(answer(event) for event in seen), f"the ack of {line!r} came before its answer: {seen}"


def test_a_page_asking_what_it_missed_in_a_quiet_room_gets_nothing(lab):
    """The page sends {"type": "missed", "after": 0} as it logs in; the protocol: "nothing if there are none"."""
    server = lab.start(web=LOCAL)
    erin = lab.websocket(server)
    web_log_in(erin, "erin")
    erin.send_json({"type": "missed", "after": 0})
    erin.line("/nick erin2")  # looked up in the store after `missed` was read there: its answer comes after
    seen = erin.until(lambda e: e["type"] == "room-notice" and "now known as" in str(e["text"]), WAIT)
    assert [event for event in seen if event["type"] in ("notice", "history")] == [], seen


def test_nothing_said_more_than_a_second_before_kill_9_is_lost(lab):
    data = lab.tmp_path / "data"
    data.mkdir()
    db = data / "chat.sqlite3"
    server = lab.start("--db", str(db), "--flood-rate", "0")
    talkers = [lab.connect(server).login(f"talker{i}") for i in range(3)]
    watcher = lab.connect(server).login("watcher")
    lines = []
    for n in range(100):
        for i, talker in enumerate(talkers):
            text = f"line {n:03d} from talker{i}"
            talker.send(f"/me says {text}" if n % 10 == 9 else text)
            lines.append(f"says {text}" if n % 10 == 9 else text)
    # Every line has reached the room (the watcher has seen each talker's last one).
    watcher.expect(r"(?s)^(?=.*says line 099 from talker0)(?=.*says line 099 from talker1)"
                   r"(?=.*says line 099 from talker2).*")  # fmt: skip
    time.sleep(ON_DISK)
    kill_9(server)
    assert not (lab.folder / "chatroom.sqlite3").exists()  # --db: nothing in the folder it runs in

    copy = checked_copy(db, lab.tmp_path / "crashed")
    texts = [text for _, _, _, text in stored(copy)]
    copy.close()
    assert len(texts) == 300 and sorted(texts) == sorted(lines)
    for i in range(3):  # each speaker's lines in the order they were said
        own = [text for text in texts if text.endswith(f"from talker{i}")]
        assert own == [text for text in lines if text.endswith(f"from talker{i}")]

    again = lab.start("--db", str(db))
    newcomer = lab.connect(again).login("newcomer")
    newcomer.send("/history 300")
    shown = newcomer.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n")
    assert len(re.findall(r"line \d\d\d from talker\d", shown)) == 300


def _age(db: Path, text: str, days: float) -> None:
    with sqlite3.connect(db) as connection:
        changed = connection.execute("UPDATE lines SET time = ? WHERE text = ?", (time.time() - days * 86400, text))
        assert changed.rowcount == 1
    connection.close()


def test_history_days_deletes_old_lines_at_start_and_0_keeps_them_all(lab):
    first = lab.start()
    alice = lab.connect(first).login("alice")
    for text in ("four hundred days old", "forty days old", "ten days old", "said today"):
        alice.send(text)
        alice.expect(f"alice: {text}")
    lab.stop(first)
    db = lab.folder / "chatroom.sqlite3"
    # Lines said long ago: the same rows, dated back (the server has no clock to turn).
    _age(db, "four hundred days old", 400)
    _age(db, "forty days old", 40)
    _age(db, "ten days old", 10)

    forever = lab.start("--history-days", "0")
    bob = lab.connect(forever).login("bob")
    bob.send("/history")
    shown = bob.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n")
    in_order(shown, ["four hundred days old", "forty days old", "ten days old", "said today"])
    lab.stop(forever)
    with sqlite3.connect(db) as connection:
        assert len(stored(connection)) == 4
    connection.close()

    thirty = lab.start()  # --history-days 30 by default
    carol = lab.connect(thirty).login("carol")
    welcome = carol.welcome
    assert "ten days old" in welcome and "said today" in welcome
    assert "forty days old" not in welcome and "four hundred days old" not in welcome
    carol.send("/history")
    shown = carol.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n")
    in_order(shown, ["ten days old", "said today"])
    assert "forty days old" not in shown and "four hundred days old" not in shown
    with sqlite3.connect(db) as connection:  # gone from the file, not only from the screen
        assert [text for _, _, _, text in stored(connection)] == ["ten days old", "said today"]
    connection.close()


def test_history_shows_the_date_of_lines_not_from_today(lab):
    first = lab.start()
    alice = lab.connect(first).login("alice")
    for text in ("said last week", "said today"):
        alice.send(text)
        alice.expect(f"alice: {text}")
    lab.stop(first)
    db = lab.folder / "chatroom.sqlite3"
    _age(db, "said last week", 7)
    week_ago = time.strftime("%Y-%m-%d", time.localtime(time.time() - 7 * 86400))
    today = time.strftime("%Y-%m-%d")

    second = lab.start()
    bob = lab.connect(second).login("bob")
    bob.send("/history")
    shown = bob.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n")
    old = next(line for line in shown.splitlines() if "said last week" in line)
    new = next(line for line in shown.splitlines() if "said today" in line)
    assert week_ago in old, old
    assert today not in new and re.match(r"\[\d\d:\d\d\] alice: said today", new), new


# The store's file: options, and files that cannot be used.


def test_a_db_in_a_folder_that_does_not_exist_is_a_usage_error_naming_db(lab):
    missing = lab.tmp_path / "no-such-folder" / "chat.sqlite3"
    result = twistd(lab.folder, "--db", str(missing))
    said = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"--db: the folder {missing.parent} does not exist." in said
    assert "Traceback" not in said
    assert not missing.parent.exists()
    assert not (lab.folder / "chatroom.sqlite3").exists()


def test_db_memory_writes_no_file(lab):
    server = lab.start("--db", ":memory:")
    alice = lab.connect(server).login("alice")
    alice.send("kept only in memory")
    alice.expect("alice: kept only in memory")
    alice.send("/register memory-only-pw-4471")
    alice.expect("alice is registered")
    alice.send("/history")
    alice.expect("(?s)The last lines said in the lobby:.*kept only in memory")
    time.sleep(ON_DISK)  # had it been writing a file, it would have by now
    assert sorted(path.name for path in lab.folder.iterdir()) == ["chatroom.log"]
    lab.stop(server)
    assert sorted(path.name for path in lab.folder.iterdir()) == ["chatroom.log"]
    assert_nowhere(lab.folder, ["memory-only-pw-4471"])


def test_a_file_that_is_not_a_database_stops_the_server_with_one_line_and_exit_1(lab):
    db = lab.folder / "chatroom.sqlite3"
    db.write_bytes(b"My notes, not a database at all.\n" * 200)
    result = twistd(lab.folder)
    said = result.stdout + result.stderr
    assert result.returncode == 1
    assert f"chatroom: {db} cannot be used as the store: file is not a database" in said
    assert "Traceback" not in said
    assert db.read_bytes() == b"My notes, not a database at all.\n" * 200  # left as it was
    assert sorted(path.name for path in lab.folder.iterdir()) == ["chatroom.log", "chatroom.sqlite3"]


def test_a_file_from_a_newer_chatroom_stops_the_server_with_one_line_and_exit_1(lab):
    db = lab.folder / "chatroom.sqlite3"
    with sqlite3.connect(db) as connection:
        connection.execute("CREATE TABLE future (x)")
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    before = db.read_bytes()
    result = twistd(lab.folder)
    said = result.stdout + result.stderr
    assert result.returncode == 1
    refusal = next(line for line in said.splitlines() if f"chatroom: {db} was written by a newer chatroom" in line)
    assert "99" in refusal  # the file's version, for the host to know what wrote it
    assert "Traceback" not in said
    assert db.read_bytes() == before  # not even switched to WAL: a newer chatroom's file is left as it was
    assert sorted(path.name for path in lab.folder.iterdir()) == ["chatroom.log", "chatroom.sqlite3"]


def test_a_file_of_the_first_schema_is_upgraded_and_kept_aside(lab):
    db = lab.folder / "chatroom.sqlite3"
    first_schema = (REPO / "chatroom" / "store" / "schema" / "v1.sql").read_text()
    with sqlite3.connect(db) as connection:
        connection.executescript(first_schema)
        connection.execute("INSERT INTO meta (key, value) VALUES ('epoch', 'an-old-epoch')")
        connection.execute(
            "INSERT INTO lines (id, time, room, room_key, kind, speaker, colour, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (41, time.time() - 60, "lobby", name_key("lobby"), "chat", "alice", "blue", "said under the first schema"),
        )
    connection.close()
    server = lab.start()
    assert "alice: said under the first schema" in lab.connect(server).login("bob").welcome
    with sqlite3.connect(lab.folder / "chatroom.sqlite3.v1.bak") as aside:  # the file as it was, kept aside
        assert aside.execute("PRAGMA user_version").fetchone() == (1,)
        assert [text for _, _, _, text in stored(aside)] == ["said under the first schema"]
    aside.close()
    carol = lab.connect(server).login("carol")
    carol.send("/register Upgrade-Secret-5150")  # the upgraded file has registered names
    carol.expect("carol is registered")


def test_a_backup_taken_while_the_server_runs_holds_the_lines(lab):
    server = lab.start()
    alice = lab.connect(server).login("alice", "blue")
    lab.register(server, "bob", "bob-backup-pw-2231")
    for n in range(5):
        alice.send(f"worth keeping {n}")
        alice.expect(f"alice: worth keeping {n}")
    time.sleep(ON_DISK)
    backups = lab.tmp_path / "backups"
    backups.mkdir()
    copy = backups / "copy.sqlite3"
    if shutil.which("sqlite3"):  # what README tells a host to type
        subprocess.run(["sqlite3", "chatroom.sqlite3", f".backup '{copy}'"], cwd=lab.folder, check=True, timeout=60)
    else:  # the same backup through Python's sqlite3
        with sqlite3.connect(lab.folder / "chatroom.sqlite3") as source, sqlite3.connect(copy) as target:
            source.backup(target)
        source.close()
        target.close()
    alice.send("after the backup")  # the server goes on as before
    alice.expect("alice: after the backup")
    with sqlite3.connect(copy) as backup:
        assert backup.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert [text for _, _, _, text in stored(backup)] == [f"worth keeping {n}" for n in range(5)]
        assert backup.execute("SELECT name FROM accounts").fetchall() == [("bob",)]
    backup.close()

    # The copy is a store a server can run on: the history and the registered name are in it.
    elsewhere = lab.tmp_path / "restored"
    elsewhere.mkdir()
    restored = lab.start("--db", str(copy), folder=elsewhere)
    welcome = lab.connect(restored).login("carol").welcome
    in_order(welcome, [f"alice: worth keeping {n}" for n in range(5)])
    bob = lab.connect(restored)
    bob.expect("What is your name")
    bob.send("bob")
    bob.expect("Password for bob:")


# Registered names, attacked.


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_register_refuses_bad_passwords_and_the_name_then_asks_for_its_own(lab):
    server = lab.start()
    alice = lab.connect(server).login("alice", "purple")
    alice.send("/register short7")
    assert "A password needs at least 8 characters." in alice.expect(r"at least 8 characters\.\r\n")
    alice.send("/register three word password")
    alice.expect(r"A password cannot contain spaces\.")
    alice.send("/register")
    alice.expect(r"Usage: /register PASSWORD")
    before = alice.fence()
    assert "short7" not in before and "three word password" not in before  # never echoed back
    alice.send("/register Alice-Secret-9182")
    alice.expect(r"alice is registered: from now on, logging in as alice asks for this password\.")
    alice.send("/register Alice-Secret-9182")
    alice.expect(r"The name alice is registered already\.")
    (row,) = lab.query("SELECT name, password_hash, colour FROM accounts")
    name, password_hash, colour = row
    assert (name, colour) == ("alice", "purple")
    assert password_hash.startswith("$argon2id$") and "Alice-Secret-9182" not in password_hash
    alice.send("/quit")
    assert alice.closed(WAIT)

    again = lab.connect(server)
    welcome = again.log_in("alice", "Alice-Secret-9182").welcome
    assert "Pick a colour" not in welcome  # a registered name keeps its colour: no colour prompt
    assert "Welcome, alice!" in welcome
    assert f"Welcome, {PURPLE}alice\x1b[0m!" in again.raw.decode()
    lab.stop(server)
    lab.assert_nowhere(["Alice-Secret-9182", "short7", "three word password"])


def test_three_wrong_passwords_close_the_connection_with_the_servers_last_words(lab):
    server = lab.start()
    lab.register(server, "alice", "Alice-Secret-9182")
    guesser = lab.connect(server)
    guesser.expect("What is your name")
    guesser.send("alice")
    guesser.expect("Password for alice:")
    for guess in ("guess-one-1111", "guess-two-2222"):
        guesser.send(guess)
        guesser.expect(r"Wrong password for alice\.\r\n.*Password for alice:")
    guesser.send("guess-three-3333")
    last = guesser.expect(r"Three wrong passwords for alice\. Goodbye!\r\n")
    assert "You are in the lobby" not in last
    assert guesser.closed(WAIT)
    assert "guess-" not in plain(guesser.raw)  # nothing typed at the prompt is ever sent back
    lab.stop(server)
    log = server.log.read_text()
    assert len(re.findall(r"wrong password for alice from 127\.0\.0\.1", log)) == 3
    assert_nowhere(lab.folder, ["Alice-Secret-9182", "guess-one-1111", "guess-two-2222", "guess-three-3333"])


def test_look_alikes_of_a_registered_name_are_that_name_and_nick_to_it_is_refused(lab):
    server = lab.start()
    lab.register(server, "alice", "Alice-Secret-9182")
    lab.register(server, "sasha", "Sasha-Secret-7364", "teal")
    for look_alike, owner in [("ALICE", "alice"), ("Ａｌｉｃｅ", "alice"), ("ѕаѕһа", "sasha")]:
        client = lab.connect(server)
        client.expect("What is your name")
        client.send(look_alike)
        client.expect(f"Password for {owner}:")
        client.sock.close()
    # Cyrillic а with Latin 'lice': refused outright, or asked alice's password; never a second alice.
    client = lab.connect(server)
    client.expect("What is your name")
    client.send("аlice")
    client.expect(r"cannot mix writing systems|Password for alice:")
    client.sock.close()
    # The right password under a look-alike logs in as the registered spelling.
    sasha = lab.connect(server).log_in("ѕаѕһа", "Sasha-Secret-7364")
    assert "Welcome, sasha!" in sasha.welcome

    bob = lab.connect(server).login("bob")
    for name, owner in [("alice", "alice"), ("ALICE", "alice"), ("ѕаѕһа", "sasha")]:
        bob.send(f"/nick {name}")
        bob.expect(rf"The name {owner} is registered: its owner logs in with it\.")
    bob.send("/who")
    assert re.search(r"lobby: .*\bbob\b", bob.expect(r"2 online:.*\n.*\n"))
    lab.stop(server)
    assert_nowhere(lab.folder, ["Alice-Secret-9182", "Sasha-Secret-7364"])


def _guess(client: Telnet, name: str, guesses: list[str]) -> None:
    """Give `name`, then each wrong guess: the connection is closed after the third."""
    client.expect("What is your name")
    client.send(name)
    client.expect(f"Password for {name}:")
    for n, guess in enumerate(guesses, 1):
        client.send(guess)
        client.expect(f"Wrong password for {name}" if n < 3 else f"Three wrong passwords for {name}. Goodbye!")


def test_a_dozen_wrong_guesses_from_one_address_are_stopped_at_ten_and_another_address_is_not(lab):
    server = lab.start()
    passwords = {"alice": "Alice-Secret-9182", "bob": "Bob-Secret-6402", "sasha": "Sasha-Secret-7364"}
    for name, password in passwords.items():
        lab.register(server, name, password)
    guesses = [f"wrong-guess-{n:02d}-x" for n in range(1, 11)]
    for name, three in [("alice", guesses[0:3]), ("bob", guesses[3:6]), ("sasha", guesses[6:9])]:
        client = lab.connect(server)
        _guess(client, name, three)
        assert client.closed(WAIT)
    fourth = lab.connect(server)
    _guess(fourth, "alice", guesses[9:10])  # the tenth wrong password from 127.0.0.1
    fourth.send(passwords["alice"])  # the eleventh try: even the right one is not checked
    fourth.expect(r"Too many wrong passwords from your address: try again in 10 minutes\. Goodbye!")
    assert fourth.closed(WAIT)
    fifth = lab.connect(server)  # a new connection, another name: still the same address
    fifth.expect("What is your name")
    fifth.send("bob")
    fifth.expect("Password for bob:")
    fifth.send(passwords["bob"])
    fifth.expect(r"Too many wrong passwords from your address: try again in \d+ minutes?\. Goodbye!")
    assert fifth.closed(WAIT)
    assert "Welcome, " not in plain(fourth.raw + fifth.raw)

    # 127.0.0.2 is another address: its wrong password is only wrong, its right one lets it in.
    other = lab.connect(server, source="127.0.0.2")
    other.expect("What is your name")
    other.send("alice")
    other.expect("Password for alice:")
    other.send("wrong-guess-from-2-x")
    other.expect(r"Wrong password for alice\.")
    other.send(passwords["alice"])
    other.expect(r"Welcome, alice!.*\n")
    lab.stop(server)
    log = server.log.read_text()
    assert len(re.findall(r"wrong password for \w+ from 127\.0\.0\.1\b", log)) == 10
    assert len(re.findall(r"wrong password for alice from 127\.0\.0\.2\b", log)) == 1
    assert_nowhere(lab.folder, [*passwords.values(), *guesses, "wrong-guess-from-2-x"])


def test_a_dozen_guesses_sent_at_once_from_one_address_are_stopped_at_ten(lab):
    server = lab.start()
    lab.register(server, "alice", "Alice-Secret-9182")
    clients = [lab.connect(server) for _ in range(12)]
    for client in clients:
        client.expect("What is your name")
        client.send("alice")
    for client in clients:
        client.expect("Password for alice:")
    for n, client in enumerate(clients):  # twelve guesses in flight together, as a script would send them
        client.send(f"parallel-guess-{n:02d}")
    answers = [
        client.expect(r"Wrong password for alice\.|Too many wrong passwords from your address") for client in clients
    ]
    judged = sum("Wrong password for alice." in answer for answer in answers)
    lab.stop(server)
    log = server.log.read_text()
    checked = len(re.findall(r"wrong password for alice from 127\.0\.0\.1\b", log))
    assert judged <= 10 and checked <= 10, f"{checked} wrong passwords were checked from one address (at most 10)"


def test_the_right_password_takes_the_name_over_and_the_colour_is_remembered(lab):
    server = lab.start()
    tom = lab.connect(server).login("tom")
    alice = lab.connect(server).login("alice", "purple")
    alice.send("/register Alice-Secret-9182")
    alice.expect("alice is registered")
    alice.send(f"/msg tom {PRIVATE[0]}")
    tom.expect(PRIVATE[0])

    elsewhere = lab.connect(server)
    welcome = elsewhere.log_in("alice", "Alice-Secret-9182").welcome
    alice.expect(r"alice logged in again from elsewhere\.")
    assert alice.closed(WAIT)
    assert "Pick a colour" not in welcome and f"Welcome, {PURPLE}alice\x1b[0m!" in elsewhere.raw.decode()
    tom.expect(r"(?s)alice left the chat\..*alice joined the lobby\.")
    elsewhere.send("still me")
    tom.expect(r"alice: still me")
    tom.send("/who")
    assert tom.expect(r"2 online:.*\n.*\n").count("alice") == 1

    elsewhere.send("/colour green")  # the owner's new colour is remembered
    elsewhere.expect("Your name now looks like this: alice")
    elsewhere.send("/quit")
    assert elsewhere.closed(WAIT)
    later = lab.connect(server)
    welcome = later.log_in("alice", "Alice-Secret-9182").welcome
    assert "Pick a colour" not in welcome and f"Welcome, {GREEN}alice\x1b[0m!" in later.raw.decode()
    lab.stop(server)
    assert_nowhere(lab.folder, ["Alice-Secret-9182", PRIVATE[0]])


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_password_changes_it_and_unregister_gives_the_name_back(lab):
    server = lab.start()
    lab.register(server, "alice", "First-Secret-1234")
    alice = lab.connect(server)
    alice.log_in("alice", "First-Secret-1234")
    alice.send("/password Not-The-Secret-0 Second-Secret-5678")
    alice.expect(r"That is not your password\.")
    alice.send("/password First-Secret-1234 short7")
    alice.expect(r"A password needs at least 8 characters\.")
    alice.send("/password First-Secret-1234")
    alice.expect(r"Usage: /password OLD NEW")
    alice.send("/password First-Secret-1234 Second-Secret-5678")
    alice.expect(r"Your password is changed\.")
    assert "Secret" not in plain(alice.raw)
    alice.send("/quit")
    assert alice.closed(WAIT)

    again = lab.connect(server)
    again.expect("What is your name")
    again.send("alice")
    again.expect("Password for alice:")
    again.send("First-Secret-1234")
    again.expect(r"Wrong password for alice\.")
    again.send("Second-Secret-5678")
    again.expect("Welcome, alice!")
    again.send("/unregister Not-The-Secret-0")
    again.expect(r"That is not your password\.")
    again.send("/unregister Second-Secret-5678")
    again.expect(r"alice is no longer registered: anyone may use it\.")
    bob = lab.connect(server).login("bob")
    bob.send("/unregister Whatever-1234")
    bob.expect(r"The name bob is not registered\.")
    again.send("/quit")
    assert again.closed(WAIT)
    assert lab.query("SELECT count(*) FROM accounts") == [(0,)]

    anyone = lab.connect(server)
    anyone.expect("What is your name")
    anyone.send("alice")
    anyone.expect("Pick a colour")  # no password: the name is everyone's again
    lab.stop(server)
    lab.assert_nowhere(["First-Secret-1234", "Second-Secret-5678", "Not-The-Secret-0", "Whatever-1234"])


# The password on the wire: hidden from a real telnet, no telnet bytes to nc.


def _tmux(socket_path: Path, *args: str, check: bool = True) -> str:
    """tmux on a socket of the test's own, in its folder: no other tmux server is touched, none is left behind."""
    env = {key: value for key, value in os.environ.items() if key != "TMUX"}
    done = subprocess.run(
        ["tmux", "-S", str(socket_path), *args], env=env, capture_output=True, text=True, timeout=WAIT, check=check
    )
    return done.stdout


def test_a_real_telnet_does_not_show_the_password_as_it_is_typed(lab):
    assert shutil.which("tmux") and INETUTILS_TELNET, (
        "this test drives tmux and inetutils-telnet (.ci/run installs them)"
    )
    server = lab.start()
    lab.register(server, "alice", "Hidden-Secret-4417")
    watcher = lab.connect(server).login("watcher")
    socket_name, session = lab.tmp_path / "tmux.sock", f"chatroom-e2e-{uuid.uuid4().hex[:8]}"
    _tmux(socket_name, "new-session", "-d", "-s", session, "-x", "120", "-y", "40",
          f"{INETUTILS_TELNET} 127.0.0.1 {server.port}")  # fmt: skip
    try:

        def screen() -> str:
            return _tmux(socket_name, "capture-pane", "-p", "-t", session)

        def wait_for(pattern: str) -> str:
            deadline = time.monotonic() + WAIT
            while not re.search(pattern, shown := screen()):
                if time.monotonic() > deadline:
                    raise AssertionError(f"never saw {pattern!r}; the screen:\n{shown}")
                time.sleep(0.1)
            return shown

        wait_for("What is your name")
        _tmux(socket_name, "send-keys", "-t", session, "alice", "Enter")
        wait_for("Password for alice:")
        _tmux(socket_name, "send-keys", "-t", session, "Wrong-Typed-0099", "Enter")
        wait_for(r"Wrong password for alice\.")
        _tmux(socket_name, "send-keys", "-t", session, "Hidden-Secret-4417", "Enter")
        shown = wait_for(r"Welcome, alice!")
        assert re.search(r"^alice\s*$", shown, re.MULTILINE)  # the name was shown as it was typed
        assert "Hidden-Secret-4417" not in shown and "Wrong-Typed-0099" not in shown
        # Echo is back on: a half-typed line shows as it is typed, and the line goes to the room.
        _tmux(socket_name, "send-keys", "-t", session, "back to normal")
        wait_for(r"(?m)^back to normal\s*$")
        _tmux(socket_name, "send-keys", "-t", session, "Enter")
        watcher.expect("alice: back to normal")
        shown = wait_for(r"alice: back to normal")
        assert "Hidden-Secret-4417" not in shown
    finally:
        _tmux(socket_name, "kill-session", "-t", session, check=False)
    lab.stop(server)
    assert_nowhere(lab.folder, ["Hidden-Secret-4417", "Wrong-Typed-0099"])


def test_nc_never_gets_a_telnet_byte_and_a_telnet_style_client_is_told_not_to_echo(lab):
    server = lab.start()
    owner = lab.connect(server).login("alice")  # bare LF lines, as nc sends them
    owner.send("/register Plain-Secret-2200")
    owner.expect("alice is registered")
    owner.send("/quit")
    assert owner.closed(WAIT)
    nc = lab.connect(server)
    nc.log_in("alice", "Plain-Secret-2200")
    nc.send("hello from nc")
    nc.expect("alice: hello from nc")
    nc.send("/quit")
    assert nc.closed(WAIT)
    assert b"\xff" not in owner.raw and b"\xff" not in nc.raw

    # CR LF line ends, as telnet sends them: WILL ECHO before the password, WONT ECHO after it.
    telnet = lab.connect(server)
    telnet.expect("What is your name")
    telnet.send("alice", b"\r\n")
    telnet.expect("Password for alice:")
    telnet.send("Plain-Secret-2200", b"\r\n")
    telnet.expect("Welcome, alice!")
    will, wont = telnet.raw.find(b"\xff\xfb\x01"), telnet.raw.find(b"\xff\xfc\x01")
    assert 0 < will < telnet.raw.find(b"Password for alice:") < wont < telnet.raw.find(b"Welcome, ")
    lab.stop(server)
    assert_nowhere(lab.folder, ["Plain-Secret-2200"])


# PostgreSQL: away and back while people chat, and databases that cannot be used.


@pytest.mark.parametrize("store_kind", ["postgresql"])
def test_postgresql_restarted_mid_chat_loses_no_line_says_so_once_and_a_read_meanwhile_is_refused(lab):
    cluster, database = lab.postgresql
    server = lab.start("--flood-rate", "0")
    alice, watcher = lab.connect(server).login("alice"), lab.connect(server).login("watcher")
    said = [f"line {n:02d} of the lesson" for n in range(60)]
    for n, text in enumerate(said):
        if n == 20:
            cluster.stop()  # PostgreSQL goes away mid-chat
        if n == 40:
            wait_until(lambda: "cannot write" in server.log.read_text(), "the store's failure in the log")
            watcher.send("/history")  # a read someone waits for, while it is away: refused, not hung
            watcher.expect(r"The history cannot be read just now; try again in a moment\.", timeout=10)
            cluster.start()
        alice.send(text)
        watcher.expect(f"alice: {text}")
    wait_until(lambda: len(lab.stored()) == 60, "every line in the database")
    assert [text for _, _, _, text in lab.stored()] == said
    newcomer = lab.connect(server).login("newcomer")
    newcomer.send("/history 100")
    in_order(newcomer.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n"), said)
    lab.stop(server)
    log = server.log.read_text()
    assert log.count("cannot write postgresql://") == 1 and log.count(f"writing {database.url} again") == 1
    lab.assert_nowhere([database.password])


@pytest.mark.parametrize(
    ("case", "problem"),
    [
        (
            "not a port",
            r"chatroom: postgresql://chatter_\d+@127\.0\.0\.1:5x/chat_\d+ is not a PostgreSQL URL",
        ),
        ("refused", r"chatroom: cannot connect to postgresql://chatter_\d+@127\.0\.0\.1:\d+/chat_\d+: .*refused"),
        ("wrong password", r"chatroom: cannot connect to .*: .*password authentication failed for user"),
        ("no permission", r"chatroom: postgresql://visitor_\d+@\S+ cannot be used as the store: .*permission denied"),
    ],
)
def test_a_postgresql_store_that_cannot_be_used_stops_the_server_with_one_line_and_exit_1(
    lab, postgresql_cluster, postgresql, case, problem
):
    url = postgresql.url_with_password
    if case == "not a port":
        url = url.replace(f":{postgresql.port}/", ":5x/")
    elif case == "refused":
        url = url.replace(f":{postgresql.port}/", f":{free_port()}/")
    elif case == "wrong password":
        url = url.replace(postgresql.password, "Wrong-Secret-0042")
    else:  # a role that may connect, but not make the tables: PostgreSQL 15 lets only the owner create in public
        visitor = postgresql.role.replace("chatter", "visitor")
        postgresql_cluster.query(postgresql, f"CREATE ROLE {visitor} LOGIN PASSWORD %s", (postgresql.password,))
        url = url.replace(f"{postgresql.role}:", f"{visitor}:")
    result = twistd(lab.folder, "--db", url)
    said = result.stdout + result.stderr
    assert result.returncode == 1, said
    refusals = [line for line in said.splitlines() if "chatroom: " in line]  # after twistd's stamp
    assert len(refusals) == 1 and re.search(problem, refusals[0]), said
    assert "Traceback" not in said
    assert postgresql.password not in said and "Wrong-Secret-0042" not in said
    assert_nowhere(lab.folder, [postgresql.password, "Wrong-Secret-0042"])  # nor in the log


@pytest.mark.parametrize("store_kind", ["postgresql"])
def test_two_servers_on_one_postgresql_never_share_an_id_and_the_history_keeps_the_order_said(lab):
    first, second = lab.start(), lab.start()  # two processes, one database (each its own hall until issue 17)
    alice, bob = lab.connect(first).login("alice"), lab.connect(second).login("bob")
    said = []
    for n in range(10):  # turns: each line is said after the one before it was seen
        for speaker, name in ((alice, "alice"), (bob, "bob")):
            text = f"turn {n} of {name}"
            speaker.send(text)
            speaker.expect(f"{name}: {text}")
            said.append(text)
            time.sleep(0.002)
    wait_until(lambda: len(lab.stored()) == 20, "both servers' lines in the database")
    assert [text for _, _, _, text in lab.stored()] == said  # in the order of their ids: the order said
    ids = [found for (found,) in lab.query("SELECT id FROM lines")]
    assert len(set(ids)) == 20 and len({found % SLOTS for found in ids}) == 2  # one slot per process
    carol = lab.connect(lab.start()).login("carol")  # a third process reads what both wrote
    carol.send("/history 20")
    in_order(carol.expect(r"(?s)The last lines said in the lobby:.*?\(end of recent lines\)\r\n"), said)
