"""The service around the hall: how it meets SIGTERM."""

from __future__ import annotations

import signal

from twisted.internet.task import Clock

from chatroom.adapters.connections import Connections
from chatroom.core.hall import Hall
from chatroom.server.service import ChatService


class Reactor(Clock):
    """A clock with the reactor calls the service uses around signals."""

    def __init__(self):
        super().__init__()
        self.from_thread = []

    def callWhenRunning(self, function, *args):
        function(*args)

    def callFromThread(self, function, *args):
        self.from_thread.append((function, args))

    def sigTerm(self, number, frame=None):
        raise AssertionError("Twisted's SIGTERM handling ran inside the signal handler")


def test_sigterm_is_handled_on_the_next_reactor_turn_not_inside_the_signal(monkeypatch):
    installed = {}
    monkeypatch.setattr(signal, "signal", lambda number, handler: installed.__setitem__(number, handler))
    reactor = Reactor()
    hall = Hall(reactor)
    ChatService(hall, Connections(), reactor).startService()
    installed[signal.SIGTERM](signal.SIGTERM, None)  # what the kernel's signal does
    assert reactor.from_thread == [(reactor.sigTerm, (signal.SIGTERM, None))]
