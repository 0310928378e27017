"""The Twisted side: bytes from a socket in, core calls out; core bytes back to the socket.

`ChatProtocol` is a `Peer` of the core. It owns what is about bytes and
connections -- telnet commands, line endings, the line-length limit, UTF-8,
and a client that stops reading -- and nothing about chat.
"""

from __future__ import annotations

import socket
from collections import Counter
from typing import TYPE_CHECKING

from loguru import logger
from twisted.internet import tcp
from twisted.internet.interfaces import IDelayedCall, IPushProducer, ITCPTransport
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer

from chatroom import render
from chatroom.settings import Settings
from chatroom.telnet import TelnetFilter

if TYPE_CHECKING:
    from chatroom.hall import Hall
    from chatroom.session import Session

# A peer that vanished without a goodbye (a laptop lid shut, Wi-Fi gone) is
# probed after 5 idle minutes, then every minute; 5 unanswered probes and the
# kernel closes the connection, so it is reaped within 10 minutes.
KEEPALIVE = {"TCP_KEEPIDLE": 300, "TCP_KEEPINTVL": 60, "TCP_KEEPCNT": 5}

LINGER = 5.0  # seconds a client has to close its side after the server said goodbye
LINGER_BYTES = 1 << 20  # what it may send meanwhile: more is a script still flooding, and is cut at once


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
        self._closing: IDelayedCall | None = None  # set once the server has said goodbye
        self._pending: list[bytes] = []  # sent since the last flush, not yet written
        self._ignored = 0  # bytes read and dropped since the server said goodbye
        self._direct = False  # whether flush may write to the socket itself

    def connectionMade(self) -> None:
        peer = self.transport.getPeer()
        self.address = f"{peer.host}:{peer.port}" if hasattr(peer, "host") else str(peer)
        self.transport.registerProducer(self._backlog, True)
        _keep_alive(self.transport)
        self._direct = _can_send_now(self.transport)
        self.factory.arrived(self)
        self.session = self.hall.connect(self)

    def connectionLost(self, reason=None) -> None:
        self.factory.left(self)
        if self._closing is not None and self._closing.active():
            self._closing.cancel()
        if self._cut_off:
            self.session.fell_behind()
        else:
            self.session.lost()
        self._let_go()

    def _let_go(self) -> None:
        """Break the reference cycles (session <-> protocol <-> telnet filter) so memory goes back at once.

        Chat allocates mostly bytes and str, which do not prompt Python's cycle
        collector, so a cycle could keep a cut-off client's 1 MiB backlog (it
        stays in the transport) alive for a long time: the soak saw RSS grow
        about 1.2 MB per cut-off. Nothing is sent to a lost connection, so
        dropping these is safe.
        """
        self._pending.clear()
        self._telnet = None
        del self.session

    # Peer: what the core calls.

    def send(self, data: bytes) -> None:
        pending = self._pending
        if not pending:
            if self._cut_off:
                return
            self.factory.batch.add(self)
        pending.append(data)

    def flush(self) -> None:
        """Write what was sent since the last flush, in one piece."""
        if not self._pending or self._cut_off:
            self._pending.clear()
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if self._direct:
            data = data[_send_now(self.transport, data) :]
            if not data:
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
        """Close so that the last words arrive, even from someone still typing.

        Closing a socket with input unread makes the kernel reset the
        connection and throw away what was still queued -- the kick notice, the
        goodbye. So: send what is queued, close our side, and read (and ignore)
        until the client closes its side, for LINGER seconds at most.
        """
        if self._closing is not None:
            return
        self.flush()
        self._closing = self.hall.clock.callLater(LINGER, self.transport.abortConnection)
        half_close = getattr(self.transport, "loseWriteConnection", None)
        if half_close is not None:
            half_close()
        else:  # a transport that cannot half-close (TLS, say)
            self.transport.loseConnection()

    # Bytes in.

    def dataReceived(self, data: bytes) -> None:
        if self._closing is None:
            self._telnet.feed(data)
            self.factory.batch.flush()  # what this read made others say goes out now, not after the whole pass
            return
        self._ignored += len(data)
        if self._ignored > LINGER_BYTES:  # not someone finishing a line: reading it would only burn CPU
            self.transport.abortConnection()

    # TelnetUser: what the telnet filter hands on.

    def telnet_reply(self, data: bytes) -> None:
        self.send(data)

    def telnet_interrupt(self) -> None:
        # A telnet client follows Ctrl-C with 'DO TIMING-MARK' and discards all
        # output until that is answered, so the hint goes out on the next turn.
        self.hall.clock.callLater(0, self.session.interrupted)

    def telnet_data(self, data: bytes) -> None:
        data = self._endings.normalise(data)
        while data and self._closing is None and not self.transport.disconnecting:
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


class WriteBatch:
    """What each connection was sent, gathered and written once per connection.

    Twisted's transport.write does several checks and registrations per call;
    a busy room sends a recipient many lines at once. The batch is flushed at
    the end of each read (ChatProtocol.dataReceived) and, for what timers send,
    at the end of the reactor pass: one write per recipient either way,
    whatever the number of lines.
    """

    def __init__(self, clock):
        self.clock = clock
        self.dirty: list[ChatProtocol] = []
        self._call: IDelayedCall | None = None

    def add(self, protocol: ChatProtocol) -> None:
        if self._call is None:
            self._call = self.clock.callLater(0, self._end_of_pass)
        self.dirty.append(protocol)

    def flush(self) -> None:
        dirty, self.dirty = self.dirty, []
        for protocol in dirty:
            protocol.flush()

    def _end_of_pass(self) -> None:
        self._call = None
        self.flush()


class Refusal(Protocol):
    """Says why in one line, then closes: for a connection the server will not take."""

    def __init__(self, reason: str):
        self.reason = reason

    def connectionMade(self) -> None:
        self.transport.write(render.notice(self.reason))
        self.transport.loseConnection()


class ChatFactory(ServerFactory):
    def __init__(
        self,
        hall: Hall,
        max_line: int = Settings.max_line,
        max_backlog: int = Settings.max_backlog_kib * 1024,
        max_per_ip: int = Settings.max_per_ip,
    ):
        self.hall = hall
        self.max_line = max_line
        self.max_backlog = max_backlog
        self.max_per_ip = max_per_ip
        self.connections: set[ChatProtocol] = set()
        self.per_host: Counter[str] = Counter()
        self.batch = WriteBatch(hall.clock)

    def buildProtocol(self, addr) -> Protocol:
        host = getattr(addr, "host", None)
        if self.max_per_ip and host is not None and self.per_host[host] >= self.max_per_ip:
            logger.bind(event="refused", addr=host).warning(
                "refused a connection from {}: already {} from there", host, self.max_per_ip
            )
            return Refusal(f"Too many connections from your address (the limit is {self.max_per_ip}). Goodbye!")
        protocol = ChatProtocol(self.hall, self.max_line, self.max_backlog)
        protocol.factory = self
        return protocol

    def arrived(self, protocol: ChatProtocol) -> None:
        self.connections.add(protocol)
        self.per_host[_host(protocol.transport)] += 1

    def left(self, protocol: ChatProtocol) -> None:
        if protocol in self.connections:
            self.connections.remove(protocol)
            host = _host(protocol.transport)
            self.per_host[host] -= 1
            if not self.per_host[host]:
                del self.per_host[host]


def _host(transport) -> str | None:
    return getattr(transport.getPeer(), "host", None)


def _can_send_now(transport) -> bool:
    """Whether `transport` is a plain TCP connection whose buffer `_send_now` can see."""
    return isinstance(transport, tcp.Connection) and all(
        hasattr(transport, name) for name in ("socket", "dataBuffer", "offset", "_tempDataBuffer")
    )


def _send_now(transport: tcp.Connection, data: bytes) -> int:
    """Send straight to the socket if Twisted holds nothing for it yet; how many bytes went.

    transport.write only buffers: the reactor then asks epoll to watch the
    socket, sends on its next pass, and asks epoll to stop watching -- three
    system calls per recipient per line, where one send does. A room of 1000
    at 100 lines a second spent a whole core on that. When Twisted's buffer is
    empty the order of bytes cannot change, so what the kernel takes now is
    sent now; the rest, and anything after an error, goes through Twisted.
    This reads Twisted's buffer attributes, which are not public: `_can_send_now`
    checks they exist, and without them every write takes the normal path.
    """
    if (
        transport.disconnecting
        or not transport.connected
        or transport._tempDataBuffer
        or transport.offset < len(transport.dataBuffer)
    ):
        return 0
    try:
        return transport.socket.send(data)
    except OSError:  # full (EAGAIN), or broken: Twisted finds out and reports it in its own time
        return 0


def _keep_alive(transport) -> None:
    """Turn on TCP keepalive, with probes early enough to matter (Linux waits 2 hours by default).

    Also TCP_NODELAY: Nagle's algorithm held back a small line behind an
    unacknowledged one, which showed as a tail of tens of milliseconds.
    """
    if not ITCPTransport.providedBy(transport):
        return
    transport.setTcpKeepAlive(True)
    transport.setTcpNoDelay(True)  # lines go out as they are said; batching per pass already merges them
    handle = transport.getHandle()
    for name, value in KEEPALIVE.items():
        if hasattr(socket, name):  # Linux has all three; other systems may lack some
            handle.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
