"""TCP keepalive on real sockets: a peer that vanished without a goodbye gets reaped."""

from __future__ import annotations

import socket

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.protocol import ClientFactory, Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import TestCase

from chatroom.adapters.line import ChatFactory
from chatroom.adapters.tcp import KEEPALIVE
from chatroom.core.hall import Hall


class Watcher(ChatFactory):
    """Hands over the server side of the first connection."""

    def __init__(self):
        super().__init__(Hall(Clock()))
        self.made = Deferred()

    def buildProtocol(self, addr):
        protocol = super().buildProtocol(addr)
        connection_made = protocol.connectionMade

        def made() -> None:
            connection_made()
            self.made.callback(protocol)

        protocol.connectionMade = made
        return protocol


class KeepAliveTests(TestCase):
    async def test_server_sockets_probe_an_idle_peer(self):
        factory = Watcher()
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        client = Deferred()
        connector = reactor.connectTCP("127.0.0.1", port.getHost().port, _Once(client))
        self.addCleanup(connector.disconnect)
        protocol = await factory.made
        await client
        handle = protocol.transport.getHandle()
        assert handle.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        for name, value in KEEPALIVE.items():
            assert handle.getsockopt(socket.IPPROTO_TCP, getattr(socket, name)) == value
        protocol.transport.loseConnection()


class _Once(ClientFactory):
    def __init__(self, connected: Deferred):
        self.connected = connected

    def buildProtocol(self, addr):
        protocol = Protocol()
        reactor.callLater(0, self.connected.callback, None)
        return protocol
