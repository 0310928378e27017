"""Hostile and broken clients against a real twistd with default limits: the others must not notice."""

from __future__ import annotations

import random
import re
import socket
import threading
import time

import pytest

from conftest import plain
from test_end_to_end import Client, Server


@pytest.fixture
def room(tmp_path):
    """A default server with two well-behaved chatters, and a way to add more connections."""
    server = Server(tmp_path)
    clients: list[Client] = []

    def connect(source: str = "127.0.0.1") -> Client:
        clients.append(_client_from(source, server.port))
        return clients[-1]

    server.connect = connect
    try:
        server.alice = connect().login("alice", "blue")
        server.bob = connect().login("bob", "red")
        server.alice.expect("bob joined the lobby")
        yield server
    finally:
        for client in clients:
            client.sock.close()
        server.stop()


def _client_from(source: str, port: int) -> Client:
    """A Client whose connection comes from `source` (any 127.x.y.z is this machine)."""
    client = Client.__new__(Client)
    client.sock = socket.socket()
    client.sock.settimeout(5)
    client.sock.bind((source, 0))
    client.sock.connect(("127.0.0.1", port))
    client.buffer = client.raw = b""
    return client


def still_chatting(room, text: str) -> None:
    """alice and bob still hear each other at once."""
    room.alice.send(text)
    room.bob.expect(f"alice: {re.escape(text)}\r\n", timeout=2)


def test_a_flooder_is_slowed_then_kicked_and_hears_why(room):
    flooder = room.connect().login("flooder")
    stop = threading.Event()

    def flood() -> None:  # a script that keeps going whatever it is told
        count = 0
        while not stop.is_set():
            try:
                flooder.sock.sendall(b"".join(b"spam %d\n" % (count + i) for i in range(100)))
            except OSError:
                return
            count += 100

    threading.Thread(target=flood, daemon=True).start()
    try:
        still_chatting(room, "are you still there?")
        flooder.expect("Slow down")
        flooder.expect("You have been kicked for flooding", timeout=10)
        assert flooder.closed(timeout=10)
    finally:
        stop.set()
    still_chatting(room, "it went quiet")
    heard = plain(room.bob.raw)
    assert "flooder was kicked for flooding" in heard
    assert 10 <= heard.count("flooder: spam") < 100  # the burst and a few more, never the flood


def test_a_paste_arrives_whole_and_in_order(room):
    paste = [f"line {i} of a pasted poem" for i in range(8)]
    room.alice.sock.sendall("".join(f"{line}\n" for line in paste).encode())
    for line in paste:
        room.bob.expect(f"alice: {line}\r\n", timeout=2)
    assert "Slow down" not in room.alice.expect("line 7 of a pasted poem\r\n")


def test_junk_bytes_reach_nobody_and_break_nothing(room):
    junk = room.connect().login("junk")
    rng = random.Random(5)
    for _ in range(50):
        junk.sock.sendall(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
    junk.sock.sendall(b"\xff\xf4\xff\xfd\x06\x1b[2J\x1b]0;x\x07\r\n")
    still_chatting(room, "junk did not hurt")
    for line in room.bob.raw.decode("utf-8", "replace").split("\r\n"):
        assert "\x1b[2J" not in line and "\x07" not in line


def test_look_alike_and_reserved_names_are_refused(room):
    room.connect().login("cocoa")
    impostor = room.connect()
    impostor.expect("What is your name")
    impostor.send("\u0430lice")  # a Cyrillic а, then Latin
    impostor.expect("cannot mix writing systems")
    impostor.send("\u0441\u043e\u0441\u043e\u0430")  # all Cyrillic, shaped like 'cocoa'
    impostor.expect("looks too much like 'cocoa'")
    impostor.send("Admin")
    impostor.expect("reserved")


def test_too_many_connections_from_one_address_are_turned_away(tmp_path):
    server = Server(tmp_path, "--max-per-ip", "3")
    clients = []
    try:
        clients = [_client_from("127.0.0.7", server.port) for _ in range(3)]
        for client in clients:
            client.expect("What is your name")
        extra = _client_from("127.0.0.7", server.port)
        clients.append(extra)
        extra.expect("Too many connections from your address \\(the limit is 3\\)")
        assert extra.closed()
        other = _client_from("127.0.0.8", server.port)
        clients.append(other)
        other.expect("What is your name")
    finally:
        for client in clients:
            client.sock.close()
        server.stop()


def test_a_connection_that_never_logs_in_is_dropped(tmp_path):
    server = Server(tmp_path, "--login-timeout", "1")
    try:
        idle = Client(server.port)
        started = time.monotonic()
        idle.expect("did not log in within 1 s", timeout=5)
        assert idle.closed()
        assert time.monotonic() - started < 4
        idle.sock.close()
    finally:
        server.stop()
