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

from test_end_to_end import Client, Server

CLIENT = Path(sys.executable).with_name("chatroom-client")
BLUE, GREEN = FG_BG_256[33], FG_BG_256[40]  # how pyte names the server's 38;5;33 and 38;5;40


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
