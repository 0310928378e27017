"""The installed chatroom-client against a real twistd: in a pipe, and in a pseudo-terminal read by pyte.

pyte is a terminal emulator: it draws what the client writes the way a
terminal would, so these tests see the screen a person sees.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyte
import pytest
from pyte.graphics import FG_BG_256

from chatroom.core.commands import COMMANDS
from test_end_to_end import Client, Server

CLIENT = Path(sys.executable).with_name("chatroom-client")
BLUE, GREEN = FG_BG_256[33], FG_BG_256[40]  # how pyte names the server's 38;5;33 and 38;5;40
STAMPED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (.*)")

needs_registered_names = pytest.mark.skipif(
    not any(command.name == "/register" for command in COMMANDS), reason="the server has no /register yet"
)


class Terminal:
    """chatroom-client in a pseudo-terminal; `screen` is what a terminal would show."""

    def __init__(self, *args: str, columns: int = 100, rows: int = 24):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1")
        env.pop("NO_COLOR", None)
        self.process = subprocess.Popen(
            [str(CLIENT), *args], stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.master = master
        self.screen = pyte.Screen(columns, rows)
        self._stream = pyte.ByteStream(self.screen)
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:  # the client exited and the pty is gone
                return
            if not data:
                return
            with self._lock:
                self._stream.feed(data)

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def text(self) -> str:
        with self._lock:
            return "\n".join(line.rstrip() for line in self.screen.display)

    def input_line(self) -> str:
        """The line the cursor is on: where the person types."""
        with self._lock:
            return self.screen.display[self.screen.cursor.y].rstrip()

    def colour_of(self, text: str) -> str:
        """The foreground colour of the first character of `text` on screen."""
        with self._lock:
            for y, line in enumerate(self.screen.display):
                if (x := line.find(text)) >= 0:
                    return self.screen.buffer[y][x].fg
        raise AssertionError(f"{text!r} is not on screen")

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"never saw {what}; the screen:\n{self.text()}")
            time.sleep(0.05)

    def wait_for_input_line(self, expected: str, timeout: float = 15) -> None:
        self.wait_for(lambda: self.input_line() == expected, f"input line {expected!r}", timeout)

    def exit_status(self, timeout: float = 10) -> int:
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        os.close(self.master)


@pytest.fixture
def servers(tmp_path):
    """Starts twistd servers (each in its own folder) and stops them all at the end."""
    started: list[Server] = []
    sockets: list[Client] = []

    def start(*options: str) -> Server:
        folder = tmp_path / f"server{len(started)}"
        folder.mkdir()
        started.append(Server(folder, *options))
        return started[-1]

    def connect(server: Server) -> Client:
        sockets.append(Client(server.port))
        return sockets[-1]

    start.connect = connect
    try:
        yield start
    finally:
        for client in sockets:
            client.sock.close()
        for server in started:
            server.stop()


@pytest.fixture
def terminals():
    opened: list[Terminal] = []

    def open_terminal(*args: str) -> Terminal:
        opened.append(Terminal(*args))
        return opened[-1]

    try:
        yield open_terminal
    finally:
        for terminal in opened:
            terminal.close()


def run_client(*args: str, stdin: str = "", timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(CLIENT), *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=dict(os.environ)
    )


def test_a_pipeline_logs_in_says_its_lines_and_exits_0_once_they_are_echoed(servers):
    server = servers()
    bob = servers.connect(server).login("bob", "green")
    result = run_client("127.0.0.1", str(server.port), "--name", "bot", "--color", "red", stdin="hi\nthere\n")
    assert result.returncode == 0, result.stderr
    assert re.search(r"\n\[\d\d:\d\d\] bot: hi\n\[\d\d:\d\d\] bot: there\n$", result.stdout)
    assert "\x1b" not in result.stdout  # stdout is not a terminal: no colour codes
    assert "sync" not in result.stdout and result.stderr == ""
    bob.expect(r"bot: hi\r\n.*bot: there\r\n")
    log = server.log.read_text()
    assert re.search(r"bot logged in from 127\.0\.0\.1:\d+ \(red\)", log)
    assert "Traceback" not in log


def test_no_server_is_one_plain_line_and_a_bad_port_a_usage_error():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = run_client("127.0.0.1", str(port), "--name", "bot")
    assert refused.returncode == 1
    assert (
        refused.stderr
        == f"chatroom-client: cannot connect to 127.0.0.1:{port}: connection refused (is the server running?)\n"
    )
    usage = run_client("127.0.0.1", "http")
    assert usage.returncode == 2
    assert "'http' is not a port number" in usage.stderr and "Traceback" not in usage.stderr


def test_in_a_terminal_a_half_typed_line_survives_incoming_chat(servers, terminals):
    server = servers()
    bob = servers.connect(server).login("bob", "green")
    term = terminals("127.0.0.1", str(server.port), "--name", "alice", "--color", "blue")
    term.wait_for_input_line("alice@lobby>")
    bob.expect("alice joined the lobby")

    term.type("hello wor")
    term.wait_for_input_line("alice@lobby> hello wor")
    bob.send("are you there?")
    term.wait_for(lambda: "bob: are you there?" in term.text(), "bob's line")
    time.sleep(0.2)  # anything still to come would break the line now
    lines = term.text().rstrip("\n").splitlines()
    assert re.fullmatch(r"\[\d\d:\d\d\] bob: are you there\?", lines[-2])  # printed above the input line...
    assert lines[-1] == term.input_line() == "alice@lobby> hello wor"  # ...which is still as typed
    assert term.screen.cursor.x == len("alice@lobby> hello wor")
    assert term.colour_of("bob: are") == GREEN and term.colour_of("alice@") == BLUE  # the server's colours

    term.type("ld\r")
    bob.expect(r"alice: hello world\r\n")
    term.wait_for(lambda: re.search(r"\[\d\d:\d\d\] alice: hello world\n", term.text()), "the echo")
    term.wait_for_input_line("alice@lobby>")

    term.type("\x1b[A")  # Up: history
    term.wait_for_input_line("alice@lobby> hello world")
    term.type("\x03/jo\t")  # Ctrl-C clears; Tab completes
    term.wait_for_input_line("alice@lobby> /join")
    term.type("games\r")
    term.wait_for_input_line("alice@games>")
    term.type("\x04")  # Ctrl-D
    assert term.exit_status() == 0


def test_in_a_terminal_it_logs_back_in_when_the_server_returns(servers, terminals):
    first = servers()
    term = terminals("127.0.0.1", str(first.port), "--name", "alice", "--color", "blue")
    term.wait_for_input_line("alice@lobby>")
    first.stop()
    term.wait_for(lambda: "Server is down, you are now disconnected" in term.text(), "the disconnection")
    term.type("still typing")
    term.wait_for(lambda: term.input_line().endswith("> still typing"), "the half-typed line")
    assert term.input_line().startswith("[disconnected")

    again = servers("--port", f"tcp:{first.port}:interface=127.0.0.1")
    assert again.port == first.port
    term.wait_for_input_line("alice@lobby> still typing", timeout=30)
    assert re.search(r"alice logged in from 127\.0\.0\.1:\d+ \(blue\)", again.log.read_text())
    term.type("\x03\x03")  # clear the line, then leave
    assert term.exit_status() == 0


def test_in_a_terminal_lines_already_on_screen_are_not_shown_again_after_the_server_returns(
    servers, terminals, tmp_path
):
    db, log = str(tmp_path / "chat.sqlite3"), tmp_path / "alice.log"
    first = servers("--db", db)
    bob = servers.connect(first).login("bob", "green")
    bob.send("before alice came")
    bob.expect("bob: before alice came")
    term = terminals("127.0.0.1", str(first.port), "--name", "alice", "--color", "blue", "--log", str(log))
    term.wait_for_input_line("alice@lobby>")
    bob.send("hello alice")
    term.wait_for(lambda: "bob: hello alice" in term.text(), "bob's line")
    time.sleep(1)  # the store writes within a second
    first.stop()
    term.wait_for(lambda: "Server is down, you are now disconnected" in term.text(), "the disconnection")
    again = servers("--port", f"tcp:{first.port}:interface=127.0.0.1", "--db", db)
    carol = servers.connect(again).login("carol", "red")
    carol.send("while alice was away")
    carol.expect("carol: while alice was away")
    term.wait_for(lambda: "carol: while alice was away" in term.text(), "the line said meanwhile", timeout=30)
    term.wait_for_input_line("alice@lobby>")
    term.type("\x04")
    assert term.exit_status() == 0
    lines = _transcript(log)
    said = [line.split("] ", 1)[1] for line in lines if re.match(r"\[\d\d:\d\d\] \w+: ", line)]
    assert said == ["bob: before alice came", "bob: hello alice", "carol: while alice was away"]
    assert lines.count("*** The last lines said in the lobby:") == 2  # the second with carol's line only


# --password-file and --log on the command line.


def test_a_password_file_or_log_that_cannot_be_used_is_a_usage_error_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    (tmp_path / "a file").write_text("")
    for args, said in [
        (["--password-file", str(tmp_path / "missing")], f"cannot read the password file {tmp_path / 'missing'}: "),
        (["--password-file", str(tmp_path)], f"cannot read the password file {tmp_path}: "),
        (["--password-file", str(empty)], f"the password file {empty} has an empty first line"),
        (
            ["--log", str(tmp_path / "a file" / "x.log")],
            f"cannot write the transcript to {tmp_path / 'a file' / 'x.log'}",
        ),
    ]:
        result = run_client("127.0.0.1", "1", "--name", "bot", *args)
        assert result.returncode == 2, args
        assert result.stderr.startswith(f"chatroom-client: {said}"), result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def _transcript(path: Path) -> list[str]:
    """The lines of a transcript without their date and time, checking each has them."""
    lines = path.read_text(encoding="utf-8").splitlines()
    stamped = [STAMPED.fullmatch(line) for line in lines]
    assert all(stamped), lines
    return [found.group(1) for found in stamped]


def test_a_pipeline_writes_its_transcript_and_leaves_stdout_as_it_was(servers, tmp_path):
    server = servers()
    log = tmp_path / "logs" / "bot.log"
    result = run_client(
        "127.0.0.1", str(server.port), "--name", "bot", "--color", "red", "--log", str(log), stdin="hi\nthere\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and re.search(r"\n\[\d\d:\d\d\] bot: there\n$", result.stdout)
    assert _transcript(log) == result.stdout.splitlines()  # every line printed, and nothing else
    assert "*** Welcome, bot! You are online. Type /help (or @help) for the commands." in _transcript(log)
    assert "\x1b" not in log.read_text(encoding="utf-8")


def test_a_terminal_session_writes_what_its_screen_showed(servers, terminals, tmp_path):
    server = servers()
    bob = servers.connect(server).login("bob", "green")
    log = tmp_path / "alice.log"
    term = terminals("127.0.0.1", str(server.port), "--name", "alice", "--color", "blue", "--log", str(log))
    term.wait_for_input_line("alice@lobby>")
    bob.send("hello alice")
    term.wait_for(lambda: "bob: hello alice" in term.text(), "bob's line")
    term.type("/join games\r")
    term.wait_for_input_line("alice@games>")
    server.stop()
    term.wait_for(lambda: "Server is down, you are now disconnected" in term.text(), "the disconnection")
    term.type("\x04")
    assert term.exit_status() == 0

    lines = _transcript(log)
    assert lines[:2] == [
        "*** Welcome to chatroom. Be kind, and please don't shout in capitals.",
        "*** What is your name? (up to 20 letters, digits, '-', '_' or '.')",
    ]
    assert "> alice" in lines and "> blue" in lines  # the answers the client gave, as the screen shows them
    assert any(re.fullmatch(r"\[\d\d:\d\d\] bob: hello alice", line) for line in lines)
    assert "> /join games" in lines and "*** You are in games, alone." in lines
    assert "-- Server is down, you are now disconnected. Trying again shortly; Enter tries now, Ctrl-D leaves." in lines
    assert "\x1b" not in log.read_text(encoding="utf-8")
    for line in lines:  # each on the screen too (it has room for them all; a long one wraps after 100 columns)
        assert line[:99] in term.text(), line


# Registered names, once the server has them.

PASSWORD = "s3cret-horse-battery"


def _register(servers, server: Server, name: str, colour: str) -> None:
    owner = servers.connect(server).login(name, colour)
    owner.send(f"/register {PASSWORD}")
    owner.expect(f"{name} is registered")
    owner.send("/quit")
    assert owner.closed()


@needs_registered_names
def test_a_pipeline_logs_in_to_a_registered_name_with_a_password_file(servers, tmp_path):
    server = servers()
    _register(servers, server, "dora", "teal")
    secret = tmp_path / "password"
    secret.write_text(f"{PASSWORD}\n")
    log = tmp_path / "dora.log"
    args = ("127.0.0.1", str(server.port), "--name", "dora")

    result = run_client(*args, "--password-file", str(secret), "--log", str(log), stdin="hi\n")
    assert result.returncode == 0, result.stderr
    assert "*** Password for dora:" in result.stdout and re.search(r"\] dora: hi\n$", result.stdout)
    assert "Pick a colour" not in result.stdout
    assert re.search(r"dora logged in from 127\.0\.0\.1:\d+ \(teal\)", server.log.read_text())  # its own colour
    assert PASSWORD not in result.stdout + result.stderr + log.read_text(encoding="utf-8")

    from_stdin = run_client("127.0.0.1", str(server.port), stdin=f"dora\n{PASSWORD}\nhello\n")
    assert from_stdin.returncode == 0, from_stdin.stderr
    assert re.search(r"\] dora: hello\n$", from_stdin.stdout) and PASSWORD not in from_stdin.stdout

    secret.write_text("not-the-password\n")
    wrong = run_client(*args, "--password-file", str(secret), "--log", str(log), stdin="hi\n")
    assert wrong.returncode == 1
    assert wrong.stderr == "chatroom-client: wrong password for dora\n"
    assert wrong.stdout.splitlines()[-1] == "*** Wrong password for dora."
    assert _transcript(log)[-1] == "-- wrong password for dora"
    assert "not-the-password" not in log.read_text(encoding="utf-8")
    assert "not-the-password" not in server.log.read_text() and PASSWORD not in server.log.read_text()


@needs_registered_names
def test_in_a_terminal_the_password_is_typed_unseen_and_used_again_after_a_restart(servers, terminals, tmp_path):
    first = servers()
    _register(servers, first, "dora", "teal")
    log = tmp_path / "dora.log"
    term = terminals("127.0.0.1", str(first.port), "--name", "dora", "--log", str(log))
    term.wait_for_input_line("password>")
    term.type("wrong-one")
    term.wait_for_input_line("password> *********")  # asterisks, one a character
    term.type("\r")
    term.wait_for(lambda: "Wrong password for dora." in term.text(), "the refusal")
    term.wait_for_input_line("password>")
    term.type(f"{PASSWORD}\r")
    term.wait_for_input_line("dora@lobby>")
    term.type("\x1b[A")  # Up: no password in the history
    time.sleep(0.2)
    assert term.input_line() == "dora@lobby>"

    first.stop()
    term.wait_for(lambda: "Server is down" in term.text(), "the disconnection")
    db = first.log.parent / "chatroom.sqlite3"
    again = servers("--port", f"tcp:{first.port}:interface=127.0.0.1", "--db", str(db))
    term.wait_for_input_line("dora@lobby>", timeout=30)  # logged in again, nobody asked
    assert re.search(r"dora logged in from 127\.0\.0\.1:\d+ \(teal\)", again.log.read_text())
    term.type("\x04")
    assert term.exit_status() == 0
    for secret in (PASSWORD, "wrong-one"):
        assert secret not in term.text()
        assert secret not in log.read_text(encoding="utf-8")


@needs_registered_names
def test_in_a_terminal_a_wrong_password_file_ends_the_client_with_one_line(servers, terminals, tmp_path):
    server = servers()
    _register(servers, server, "dora", "teal")
    secret = tmp_path / "password"
    secret.write_text("not-the-password\n")
    term = terminals("127.0.0.1", str(server.port), "--name", "dora", "--password-file", str(secret))
    assert term.exit_status() == 1
    term.wait_for(lambda: "chatroom-client: wrong password for dora" in term.text(), "the reason")
    assert "not-the-password" not in term.text()
