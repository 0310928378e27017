"""Sending on real sockets: a line alone in its read goes straight to each socket, and what a full socket
does not take follows later, through Twisted, in order; a socket that never drains is cut off."""

from __future__ import annotations

import os
import re
import socket

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from chatroom.adapters import line, tcp
from chatroom.adapters.line import ChatFactory
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from conftest import plain

LINES = 2000
PASTE = 5  # lines


def said(number: int) -> bytes:
    return f"line {number} {'.' * 1000}\n".encode()


WHOLE_LINE = re.compile(r"\[\d\d:\d\d\] sender: line (\d+) \.{1000}\r\n")


BACKLOG = 16 * 1024


class Recording(ChatFactory):
    """Keeps the server side of each connection, by name, once it has logged in."""

    def __init__(self):
        super().__init__(Hall(reactor, Settings(flood_rate=0, login_timeout=0, history=0)), max_backlog=BACKLOG)
        self.connections.max_per_ip = 0

    def protocol_of(self, name: str):
        session = self.hall.find(name)
        return None if session is None else session.peer


class Raw:
    """A client socket that reads only when told to; a small receive buffer, so it fills up soon."""

    def __init__(self, port: int, name: str):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.sock.sendall(f"{name}\n\n".encode())
        self.received = b""

    def read(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.received += chunk
        except BlockingIOError:
            pass

    def lines(self) -> list[int]:
        """The numbers of the whole lines received; anything else of the sender's (a piece of a line, a piece
        sent twice) fails the test."""
        text = plain(self.received)
        assert "sender: line" not in WHOLE_LINE.sub("", text), "a piece of a line, or a piece twice"
        return [int(number) for number in WHOLE_LINE.findall(text)]


class ShortWrites:
    """Stands in for the os module in the adapters: a write to `fd` takes at most `most` bytes, as a socket
    with a little room left does (a real one takes a small line whole or not at all, so short writes are
    rare in a test; here every one is short)."""

    def __init__(self, fd: int, most: int):
        self.fd, self.most = fd, most

    def write(self, fd: int, data: bytes) -> int:
        return os.write(fd, data[: self.most] if fd == self.fd else data)

    def __getattr__(self, name: str):
        return getattr(os, name)


class StraightToTheSocketTests(TestCase):
    async def room(self, *names: str) -> tuple[Recording, dict[str, Raw]]:
        factory = Recording()
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        clients = {name: Raw(port.getHost().port, name) for name in names}
        self.addCleanup(lambda: [client.sock.close() for client in clients.values()])
        while factory.hall.online_count() < len(names):
            await deferLater(reactor, 0.01)
        return factory, clients

    async def say_all(self, sender, reader: Raw) -> None:
        """LINES lines, mostly one per read as typed (each goes straight to the sockets), now and then a paste
        (its lines in one read, one write); the reader reads now and then, so its small buffers fill."""
        for first in range(0, LINES, PASTE):
            numbers = range(first, first + PASTE)
            if first % (10 * PASTE) == 0:
                sender.dataReceived(b"".join(map(said, numbers)))
            else:
                for number in numbers:
                    sender.dataReceived(said(number))
            if first % (2 * PASTE) == PASTE:
                for _ in range(4):
                    reader.read()
                    await deferLater(reactor, 0)  # the reactor's turn: it writes what it holds for the reader
        for _ in range(500):
            reader.read()
            if len(reader.lines()) == LINES:
                break
            await deferLater(reactor, 0.01)

    async def test_a_slow_reader_gets_every_line_in_order_and_one_that_never_reads_is_cut_off(self):
        factory, clients = await self.room("sender", "reader", "stuck")
        for name in ("reader", "stuck"):  # the server's side fills up soon too: writes come back short, or not at all
            factory.protocol_of(name).transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        reader = clients["reader"]
        await self.say_all(factory.protocol_of("sender"), reader)
        assert reader.lines() == list(range(LINES))  # whole, once each, in order, however short the writes
        assert "stuck left the chat (too far behind: stopped reading)." in plain(reader.received)
        assert factory.protocol_of("stuck") is None

    async def test_what_a_short_write_leaves_follows_in_order(self):
        factory, clients = await self.room("sender", "reader")
        short = ShortWrites(factory.protocol_of("reader").transport.fileno(), most=100)
        self.patch(line, "os", short)  # the fast path's write
        self.patch(tcp, "os", short)  # a flush's write
        reader = clients["reader"]
        await self.say_all(factory.protocol_of("sender"), reader)
        assert reader.lines() == list(range(LINES))
