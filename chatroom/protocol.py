"""The Twisted side: bytes from a socket in, core calls out; core bytes back to the socket.

`ChatProtocol` is a `Peer` of the core. It owns what is about bytes and
connections -- telnet commands, line endings, the line-length limit, UTF-8,
and a client that stops reading -- and nothing about chat.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from loguru import logger
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import ServerFactory
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer

from chatroom.settings import Settings
from chatroom.telnet import TelnetFilter

if TYPE_CHECKING:
    from chatroom.hall import Hall
    from chatroom.session import Session


class LineEndings:
    """Turns '\\r\\n', a lone '\\r' (or telnet's '\\r\\0') and '\\n' into '\\n'.

    LineReceiver takes one delimiter; this makes the three endings one, even
    when a '\\r\\n' is split across two reads.
    """

    def __init__(self) -> None:
        self._after_cr = False

    def normalise(self, data: bytes) -> bytes:
        if not data:
            return data
        if self._after_cr and data[:1] in (b"\n", b"\0"):
            data = data[1:]
        self._after_cr = data.endswith(b"\r")
        if b"\r" not in data:
            return data
        return data.replace(b"\r\n", b"\n").replace(b"\r\0", b"\n").replace(b"\r", b"\n")


@implementer(IPushProducer)
class SendBacklog:
    """Counts what is queued for a client after its socket buffer filled up.

    The transport pauses us when its buffer passes its own limit and resumes
    us once it has drained; past `limit` bytes queued while paused, the
    client is cut off rather than let the server's memory grow.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.paused = False
        self.queued = 0

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self.queued = 0

    def stopProducing(self) -> None:
        pass

    def overflows(self, size: int) -> bool:
        if not self.paused:
            return False
        self.queued += size
        return self.queued > self.limit


class ChatProtocol(LineReceiver):
    delimiter = b"\n"
    session: Session
    address: str

    def __init__(self, hall: Hall, max_line: int, max_backlog: int):
        self.hall = hall
        self.MAX_LENGTH = max_line
        self._telnet = TelnetFilter(self)
        self._endings = LineEndings()
        self._backlog = SendBacklog(max_backlog)
        self._discarding = False  # inside an over-long line, until its end
        self._after_long_line = b""
        self._cut_off = False

    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.address = f"{peer.host}:{peer.port}" if hasattr(peer, "host") else str(peer)
        self.transport.registerProducer(self._backlog, True)
        self.factory.connections.add(self)
        self.session = self.hall.connect(self)

    def connectionLost(self, reason=None) -> None:
        self.factory.connections.discard(self)
        if self._cut_off:
            self.session.fell_behind()
        else:
            self.session.lost()

    # Peer: what the core calls.

    def send(self, data: bytes) -> None:
        if self._cut_off:
            return
        self.transport.write(data)
        if self._backlog.overflows(len(data)):
            self._cut_off = True
            logger.bind(event="slow", user=self.session.name, addr=self.address).warning(
                "{} cut off: over {} bytes queued and not reading",
                self.session.name or self.address,
                self._backlog.limit,
            )
            self.transport.abortConnection()

    def disconnect(self) -> None:
        self.transport.loseConnection()

    # Bytes in.

    def dataReceived(self, data: bytes) -> None:
        self._telnet.feed(data)

    # TelnetUser: what the telnet filter hands on.

    def telnet_reply(self, data: bytes) -> None:
        self.send(data)

    def telnet_interrupt(self) -> None:
        # A telnet client follows Ctrl-C with 'DO TIMING-MARK' and discards all
        # output until that is answered, so the hint goes out on the next turn.
        self.hall.clock.callLater(0, self.session.interrupted)

    def telnet_data(self, data: bytes) -> None:
        data = self._endings.normalise(data)
        while data and not self.transport.disconnecting:
            if self._discarding:
                _, end, data = data.partition(b"\n")
                if not end:
                    return
                self._discarding = False
            super().dataReceived(data)
            data, self._after_long_line = self._after_long_line, b""

    def lineLengthExceeded(self, rest: bytes) -> None:
        """Refuse the long line, keep the connection, carry on after the line's end."""
        self.session.line_too_long(self.MAX_LENGTH)
        _, end, self._after_long_line = rest.partition(b"\n")
        self._discarding = not end

    def lineReceived(self, line: bytes) -> None:
        self.session.line(line.decode("utf-8", errors="replace"))


class ChatFactory(ServerFactory):
    def __init__(
        self, hall: Hall, max_line: int = Settings.max_line, max_backlog: int = Settings.max_backlog_kib * 1024
    ):
        self.hall = hall
        self.max_line = max_line
        self.max_backlog = max_backlog
        self.connections: set[ChatProtocol] = set()

    def buildProtocol(self, addr) -> ChatProtocol:
        protocol = ChatProtocol(self.hall, self.max_line, self.max_backlog)
        protocol.factory = self
        return protocol
