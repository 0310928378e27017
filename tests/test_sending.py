"""Sending on real sockets: a line alone in its read goes straight to each socket, and what a full socket
does not take follows later, through Twisted, in order; a socket that never drains is cut off."""

from __future__ import annotations

import re
import socket

from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from chatroom.adapters.line import ChatFactory
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from conftest import plain

LINES = 2000
PASTE = 5  # lines


def said(number: int) -> bytes:
    return f"line {number} {'.' * 1000}\n".encode()


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
        return [int(n) for n in re.findall(r"sender: line (\d+) \.+\r\n", plain(self.received))]


class StraightToTheSocketTests(TestCase):
    async def test_a_slow_reader_gets_every_line_in_order_and_one_that_never_reads_is_cut_off(self):
        factory = Recording()
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        clients = {name: Raw(port.getHost().port, name) for name in ("sender", "reader", "stuck")}
        self.addCleanup(lambda: [client.sock.close() for client in clients.values()])
        while factory.hall.online_count() < 3:
            await deferLater(reactor, 0.01)
        for name in ("reader", "stuck"):  # the server's side fills up soon too: writes come back short, or not at all
            factory.protocol_of(name).transport.getHandle().setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        sender, reader = factory.protocol_of("sender"), clients["reader"]
        for first in range(0, LINES, PASTE):
            numbers = range(first, first + PASTE)
            if first % (10 * PASTE) == 0:  # now and then a paste: its lines come in one read, go out in one write
                sender.dataReceived(b"".join(map(said, numbers)))
            else:  # otherwise a line per read, as typed: each goes straight to the sockets
                for number in numbers:
                    sender.dataReceived(said(number))
            if first % (2 * PASTE) == PASTE:  # the reader reads now and then: its small buffers fill meanwhile
                for _ in range(4):
                    reader.read()
                    await deferLater(reactor, 0)  # the reactor's turn: it writes what it holds for the reader
        for _ in range(500):
            reader.read()
            if len(reader.lines()) == LINES:
                break
            await deferLater(reactor, 0.01)
        assert reader.lines() == list(range(LINES))  # whole, once each, in order, however short the writes
        assert "stuck left the chat (too far behind: stopped reading)." in plain(reader.received)
        assert factory.protocol_of("stuck") is None
