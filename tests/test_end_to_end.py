"""A real twistd, real sockets, a real log file: the server as a host runs it."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import plain

REPO = Path(__file__).resolve().parent.parent
TWISTD = Path(sys.executable).with_name("twistd")


class Server:
    """A real twistd in `folder`; `port` is its chat port, and `web_port` its page's when `web` is given."""

    def __init__(self, folder: Path, *options: str, web: str | None = None, port: str = "tcp:0:interface=127.0.0.1"):
        self.log = folder / "chatroom.log"
        env = dict(os.environ, PYTHONPATH=str(REPO))  # so twistd finds the plugin in this checkout
        if web is not None:
            options = ("--web", web, *options)
        self.process = subprocess.Popen(
            [
                str(TWISTD),
                "-n",
                "--pidfile=",
                "chatroom",
                "--port",
                port,
                "--logfile",
                str(self.log),
                *options,
            ],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        # A thread keeps reading twistd's stdout, so a hung twistd fails the
        # wait below instead of blocking it, and the pipe never fills up.
        threading.Thread(target=self._read_output, daemon=True).start()
        self.port = self._wait_for_port("ChatFactory")
        self.web_port = self._wait_for_port("WebSite") if web is not None else None

    def _read_output(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def _wait_for_port(self, listener: str) -> int:
        deadline = time.monotonic() + 30
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                break
            self.output.append(line)
            found = re.search(listener + r"(?: \(TLS\))? starting on (\d+)", line)
            if found:
                return int(found.group(1))
        self.stop()
        raise AssertionError("twistd did not start:\n" + "".join(self.output))

    def rss(self) -> int:
        """The server's resident memory, in bytes."""
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) * 1024

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        finally:
            if self.process.poll() is None:
                self.process.kill()


class Client:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buffer = b""
        self.raw = b""  # everything ever received, as bytes

    def send(self, line: str, ending: bytes = b"\n") -> None:
        self.sock.sendall(line.encode() + ending)

    def expect(self, pattern: str, timeout: float = 5) -> str:
        """Read until `pattern` appears in the plain text; return the text up to and including it."""
        deadline = time.monotonic() + timeout
        while True:
            text = plain(self.buffer)
            found = re.search(pattern, text)
            if found:
                consumed = len(text[: found.end()].encode())
                self.buffer = _skip_plain_prefix(self.buffer, consumed)
                return text[: found.end()]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"never saw {pattern!r}; got {text!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                chunk = None
            if chunk is None:
                raise AssertionError(f"never saw {pattern!r}; got {text!r}")
            if not chunk:
                raise AssertionError(f"closed before {pattern!r}; got {text!r}")
            self.buffer += chunk
            self.raw += chunk

    def closed(self, timeout: float = 5) -> bool:
        self.sock.settimeout(timeout)
        try:
            while chunk := self.sock.recv(65536):
                self.buffer += chunk
        except (TimeoutError, ConnectionResetError):
            return False
        return True

    def login(self, name: str, colour: str = "") -> Client:
        self.expect("What is your name")
        self.send(name)
        self.expect("Pick a colour.*\n")
        self.send(colour)
        self.expect("You are in the lobby.*\n")
        return self


def _skip_plain_prefix(raw: bytes, plain_length: int) -> bytes:
    """Drop raw bytes until `plain_length` bytes of colourless text are gone."""
    text = raw.decode("utf-8", "replace")
    kept = 0
    i = 0
    while i < len(text) and kept < plain_length:
        match = re.match(r"\x1b\[[0-9;]*m", text[i:])
        if match:
            i += match.end()
            continue
        kept += len(text[i].encode())
        i += 1
    return text[i:].encode()


@pytest.fixture
def server(tmp_path):
    server = Server(tmp_path, "--motd", "Be nice")
    clients: list[Client] = []
    server.connect = lambda: clients.append(Client(server.port)) or clients[-1]
    try:
        yield server
    finally:
        for client in clients:
            client.sock.close()
        server.stop()


def test_a_session_over_real_sockets(server):
    alice = server.connect().login("alice", "blue")
    bob = server.connect()
    bob.expect("What is your name")
    bob.send("bob", b"\r\n")  # telnet-style ending
    bob.expect("Pick a colour")
    bob.send("red", b"\r")  # lone CR
    welcome = bob.expect("You are in the lobby with alice.*\n")
    assert "Be nice" in welcome and "Online now: alice." in welcome
    alice.expect(r"\*\*\* bob joined the lobby\.")

    # A broadcast.
    alice.send("hello, room")
    bob.expect(r"\[\d\d:\d\d\] alice: hello, room\r\n")
    alice.expect(r"alice: hello, room")

    # A room: what is said there stays there.
    carol = server.connect().login("carol", "green")
    carol.send("/join games")
    carol.expect("You are in games, alone")
    bob.send("/join games")
    carol.expect("bob joined games")
    carol.send("games only")
    bob.expect("carol: games only")
    alice.send("/list")
    alice.expect(r"Rooms: lobby \(1\), games \(2\)")

    # A private message, across rooms, under its seed spelling.
    alice.send("@carol psst")
    carol.expect(r"\[private\] alice -> carol: psst")
    alice.expect(r"\[private\] alice -> carol: psst")

    # Shouting: warned, then kicked; the room is told.
    bob.send("STOP SHOUTING")
    bob.expect("(?s)don't shout.*next shout gets you kicked")
    bob.send("I SAID STOP")
    bob.expect("kicked for shouting")
    assert bob.closed()
    carol.expect(r"bob was kicked for shouting\.")

    # A wrong command and an over-long line: errors to the sender, connection kept.
    alice.send("/dance")
    alice.expect("There is no command /dance")
    alice.send("x" * 5000)
    alice.expect("longer than 4096 bytes")
    alice.send("/who")
    alice.expect(r"2 online:.*\n.*lobby: alice.*\n.*games: carol")

    alice.send("/quit")
    alice.expect("Goodbye")
    assert alice.closed()

    # The log says it all, with fields to grep by.
    time.sleep(0.2)
    log = server.log.read_text()
    for expected in (
        r"event=connect addr=127\.0\.0\.1:\d+ \| connection from 127\.0\.0\.1:\d+",
        r"event=login user=alice addr=127\.0\.0\.1:\d+ \| alice logged in from 127\.0\.0\.1:\d+ \(blue\)",
        r"event=join user=alice room=lobby \| alice joined lobby",
        r"event=room user=carol room=games \| carol created room games",
        r"event=message user=alice room=lobby \| \[lobby\] alice: hello, room",
        r"event=message user=carol room=games \| \[games\] carol: games only",
        r"event=private user=alice to=carol \| private message alice -> carol",
        r"WARNING \| event=shout user=bob room=games \| bob warned for shouting",
        r"WARNING \| event=kick user=bob room=games \| bob kicked for shouting",
        r"event=disconnect user=alice addr=127\.0\.0\.1:\d+ \| alice left the chat\.",
        r"source=twisted \| ChatFactory starting on \d+",
    ):
        assert re.search(expected, log), expected
    assert "psst" not in log  # private text stays private
    assert "Traceback" not in log and "ERROR" not in log


def test_a_real_telnet_negotiation_is_answered_and_never_shown(server):
    alice = server.connect().login("alice")
    telnet = server.connect()
    telnet.sock.sendall(b"\xff\xfb\x1f\xff\xfb\x18\xff\xfd\x03")  # WILL NAWS, WILL TTYPE, DO SGA
    telnet.expect("What is your name")
    telnet.send("tom", b"\r\n")
    telnet.expect("Pick a colour")
    assert b"\xff\xfe\x1f\xff\xfe\x18\xff\xfc\x03" in telnet.raw  # DONT NAWS, DONT TTYPE, WONT SGA
    telnet.send("", b"\r\n")
    telnet.expect("You are in the lobby")
    telnet.sock.sendall(b"hi\xff\xf4 there\r\n")  # IAC IP (Ctrl-C) in the middle
    alice.expect(r"tom: hi there\r\n")


def test_lines_sent_before_the_client_closes_its_side_are_all_answered_then_it_closes(server):
    """`printf 'zed\n\nhello from zed\n' | nc -N HOST PORT`: the name is looked up in the store (a thread)
    while the rest has already come, and the client's end of input with it."""
    bob = server.connect().login("bob")
    zed = server.connect()
    pasted = "".join(f"line {i}\n" for i in range(13))  # past the flood burst: the last ones wait their turn
    zed.sock.sendall(f"zed\n\nhello from zed\n{pasted}and a last line without its end".encode())
    zed.sock.shutdown(socket.SHUT_WR)
    assert zed.closed(timeout=15)
    answers = plain(zed.buffer)
    said = ["hello from zed", *(f"line {i}" for i in range(13)), "and a last line without its end"]
    assert re.findall(r"zed: (.*)\r\n", answers) == said
    assert re.findall(r"zed: (.*)\r\n", bob.expect("zed left the chat")) == said
    assert re.search(r"event=disconnect user=zed .*\| zed left the chat\.", server.log.read_text())


def test_a_client_that_closes_its_side_at_a_prompt_is_closed_and_forgotten(server):
    bob = server.connect().login("bob")
    quiet = server.connect()
    quiet.expect("What is your name")
    quiet.sock.shutdown(socket.SHUT_WR)
    assert quiet.closed()
    named = server.connect()
    named.sock.sendall(b"zed\n")
    named.sock.shutdown(socket.SHUT_WR)
    named.expect("Pick a colour")
    assert named.closed()
    bob.send("/who")
    assert "zed" not in bob.expect(r"bob.*\n")
    deadline = time.monotonic() + 5
    while len(re.findall(r"closed before login", server.log.read_text())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(re.findall(r"connection from 127\.0\.0\.1:\d+ closed before login", server.log.read_text())) == 2


def test_a_client_gone_altogether_with_lines_still_waiting_is_cleaned_up(server):
    bob = server.connect().login("bob")
    gone = server.connect().login("gone")
    gone.sock.sendall("".join(f"line {i}\n" for i in range(40)).encode())  # most wait behind flood control
    gone.sock.close()  # its FIN comes first; the first answer written to it is reset
    bob.expect("gone left the chat", timeout=10)
    later = server.connect().login("gone")  # the name is free again
    later.send("/quit")
    assert later.closed()


def test_shutdown_tells_everyone_before_closing(server):
    alice = server.connect().login("alice")
    waiting = server.connect()
    waiting.expect("What is your name")
    assert server.stop() in (0, -signal.SIGTERM)  # twistd re-raises the signal that stopped it
    alice.expect("The server is going down")
    waiting.expect("The server is going down")
    assert alice.closed() and waiting.closed()
    log = server.log.read_text()
    assert "shutting down: telling 2 connections" in log
    assert "chatroom stopped" in log


def test_a_port_in_use_makes_twistd_exit_non_zero(tmp_path, server):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [
            str(TWISTD),
            "-n",
            "--pidfile=",
            "chatroom",
            "--port",
            f"tcp:{server.port}:interface=127.0.0.1",
            "--logfile",
            str(tmp_path / "other.log"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert (
        f"chatroom: Couldn't listen on 127.0.0.1:{server.port}: [Errno 98] Address already in use."
        in result.stdout + result.stderr
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_a_bad_option_is_a_usage_error_not_a_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [str(TWISTD), "-n", "--pidfile=", "chatroom", "--shout-strikes", "none"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    assert "shout-strikes" in result.stdout + result.stderr
