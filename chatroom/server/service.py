"""The hall as Twisted services: on shutdown everyone is told before their connection closes; while it runs,
the bans and mutes are read again every few seconds."""

from __future__ import annotations

import signal
import threading

from twisted.application.internet import TimerService
from twisted.application.service import Service
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater

from chatroom.adapters.connections import Connections
from chatroom.core.hall import Hall
from chatroom.core.operators import BANS_REFRESH

DRAIN_SECONDS = 3.0


class ChatService(Service):
    def __init__(self, hall: Hall, connections: Connections, clock: IReactorTime):
        self.hall = hall
        self.connections = connections  # telnet and web alike
        self.clock = clock

    def startService(self) -> None:
        super().startService()
        if hasattr(self.clock, "sigTerm") and threading.current_thread() is threading.main_thread():
            self.clock.callWhenRunning(self._handle_sigterm_outside_the_signal)

    def _handle_sigterm_outside_the_signal(self) -> None:
        """Let Twisted's SIGTERM handling run on the next reactor turn instead of inside the signal handler.

        Twisted logs "Received SIGTERM" from within the handler. Arriving in the
        middle of a log write, that re-enters loguru, which refuses (to avoid a
        deadlock) and prints an error report instead: seen once in a 5-minute
        soak. callFromThread is safe to call from a signal handler.
        """
        reactor = self.clock
        signal.signal(signal.SIGTERM, lambda number, frame: reactor.callFromThread(reactor.sigTerm, number, frame))

    def stopService(self) -> Deferred:
        super().stopService()
        self.hall.shutdown()
        return Deferred.fromCoroutine(self._drain())

    async def _drain(self) -> None:
        """Wait for the goodbyes to go out and the connections to close, for a few seconds at most."""
        deadline = self.clock.seconds() + DRAIN_SECONDS
        while self.connections and self.clock.seconds() < deadline:
            await deferLater(self.clock, 0.05)
        for connection in self.connections:
            connection.transport.abortConnection()


class SanctionsRefresh(TimerService):
    """Reads the bans and mutes again every BANS_REFRESH seconds, from start (after the store is open and the
    hall restored) to stop: chatroom-admin, or another server on the same store, may have changed them.

    A read still going when the next is due delays it (LoopingCall waits for its Deferred), so reads never
    overlap; the hall's refresh never fails, so the loop never stops before the server does.
    """

    def __init__(self, hall: Hall, clock: IReactorTime):
        super().__init__(BANS_REFRESH, hall.refresh_sanctions)
        self.clock = clock
