"""A WebSocket whose browser vanished without a close (a laptop lid shut) is found out by its pings.

In-process, on the real reactor and real sockets, with pings a few tenths of
a second apart instead of 30 seconds.
"""

from __future__ import annotations

from autobahn.twisted.websocket import WebSocketClientFactory, WebSocketClientProtocol
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater
from twisted.trial.unittest import TestCase

from chatroom.adapters.site import WebSite
from chatroom.adapters.web import WebFactory
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings

PING = 1.0  # autobahn batches its timers in 0.2 s buckets: shorter pings would time out by that alone


class VanishedBrowserTests(TestCase):
    async def connect(self) -> tuple[Hall, WebSocketClientProtocol]:
        hall = Hall(reactor, Settings(login_timeout=0))
        port = reactor.listenTCP(0, WebSite(WebFactory(hall, ping_interval=PING)), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        number = port.getHost().port
        opened: Deferred[WebSocketClientProtocol] = Deferred()

        class Browser(WebSocketClientProtocol):
            def onOpen(self) -> None:
                opened.callback(self)

        factory = WebSocketClientFactory(f"ws://127.0.0.1:{number}/chat", origin=f"http://127.0.0.1:{number}")
        factory.protocol = Browser
        connector = reactor.connectTCP("127.0.0.1", number, factory)
        self.addCleanup(connector.disconnect)
        browser = await opened
        await self.settle(hall, lambda: len(hall.sessions) == 1)
        return hall, browser

    async def settle(self, hall: Hall, done, seconds: float = 5) -> bool:
        for _ in range(int(seconds / 0.05)):
            if done():
                return True
            await deferLater(reactor, 0.05)
        return done()

    async def test_a_browser_that_answers_its_pings_stays(self):
        hall, browser = await self.connect()
        assert not await self.settle(hall, lambda: not hall.sessions, seconds=3 * PING)

    async def test_a_browser_that_vanished_is_dropped_when_its_ping_goes_unanswered(self):
        hall, browser = await self.connect()
        browser.transport.pauseProducing()  # it reads nothing more, and so answers no ping
        assert await self.settle(hall, lambda: not hall.sessions, seconds=4 * PING)
