"""The Twisted side: bytes from a socket in, core calls out; core bytes back to the socket.

`ChatProtocol` is a `Peer` of the core. It owns what is about bytes and
connections -- telnet commands, line endings, the line-length limit, UTF-8,
and a client that stops reading -- and nothing about chat.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from loguru import logger
from twisted.internet.interfaces import IDelayedCall, IHalfCloseableProtocol
from twisted.internet.protocol import Protocol, ServerFactory
from twisted.protocols.basic import LineReceiver
from zope.interface import implementer

from chatroom.adapters.connections import Connections
from chatroom.adapters.sending import SendBacklog, WriteBatch
from chatroom.adapters.tcp import can_send_now, keep_alive, peer_address, send_now
from chatroom.adapters.telnet import ECHO, TelnetFilter
from chatroom.core.events.model import Goodbye, Stamp
from chatroom.core.events.terminal import EOL
from chatroom.core.settings import Settings

if TYPE_CHECKING:
    from chatroom.core.events.model import Event
    from chatroom.core.hall import Hall
    from chatroom.core.session import Session

LINGER = 5.0  # seconds a client has to close its side after the server said goodbye
LINGER_BYTES = 1 << 20  # what it may send meanwhile: more is a script still flooding, and is cut at once


class LineEndings:
    """Turns '\\r\\n', a lone '\\r' (or telnet's '\\r\\0') and '\\n' into '\\n'.

    LineReceiver takes one delimiter; this makes the three endings one, even
    when a '\\r\\n' is split across two reads.
    """

    __slots__ = ("_after_cr", "telnet_style")  # one per connection, like TelnetFilter

    def __init__(self) -> None:
        self._after_cr = False
        self.telnet_style = False  # whether lines have ended in CR LF or CR NUL, as a telnet client ends them

    def normalise(self, data: bytes) -> bytes:
        if not data:
            return data
        if self._after_cr and data[:1] in (b"\n", b"\0"):
            data = data[1:]
            self.telnet_style = True
        self._after_cr = data.endswith(b"\r")
        if b"\r" not in data:
            return data
        if b"\r\n" in data or b"\r\0" in data:
            self.telnet_style = True
        return data.replace(b"\r\n", b"\n").replace(b"\r\0", b"\n").replace(b"\r", b"\n")


@implementer(IHalfCloseableProtocol)
class ChatProtocol(LineReceiver):
    """A `Peer` of the core for a terminal: it takes each event's telnet rendering.

    Half-closeable: a client that closes its side after sending (`nc -N`, a
    script's shutdown(SHUT_WR)) still has every line it sent answered, in
    order, before the server closes; without it Twisted calls connectionLost
    at the client's FIN, and lines still waiting (a name being looked up in
    the store) were thrown away.
    """

    delimiter = b"\n"
    panels = False
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
        self._read_closed = False  # the client closed its side: it sends nothing more
        self._pending: list[bytes] = []  # sent since the last flush, not yet written
        self._ignored = 0  # bytes read and dropped since the server said goodbye
        self._direct = False  # whether flush may write to the socket itself
        self._fd = -1
        # Whether nothing of ours waits, in `_pending` or in Twisted's buffer, so an event may be written
        # straight to the socket: for a line that came alone in its read (see deliver).
        self._clear = False
        self._echo_off = False  # whether we told a telnet client we echo (so it shows nothing), for a password

    def connectionMade(self) -> None:
        self._batch = self.factory.batch
        self.address = peer_address(self.transport)
        self.transport.registerProducer(self._backlog, True)
        keep_alive(self.transport)
        self._direct = self._clear = can_send_now(self.transport)
        if self._direct:
            self._fd = self.transport.fileno()
        self.factory.connections.arrived(self, getattr(self.transport.getPeer(), "host", None))
        self.session = self.hall.connect(self)

    def connectionLost(self, reason=None) -> None:
        self._clear = False
        self.factory.connections.left(self)
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

    def deliver(self, event: Event) -> None:
        if self._clear and self._batch.now:
            # The line came alone in its read, and nothing of ours waits: no other line could join it in
            # one write, so it goes to the socket at once, past the batch (docs/benchmarks.md). What the
            # socket does not take waits, as a batched line does. Written out here, not in a method of
            # its own: the call per recipient was a sixth of Python's cost per delivery (0.48 -> 0.44 us
            # with the write to /dev/null, which alone takes 0.23).
            data = event.telnet
            try:
                sent = os.write(self._fd, data)
            except OSError:  # full (EAGAIN), or broken: Twisted finds out and reports it in its own time
                sent = 0
            if sent < len(data):
                self._clear = False
                self._pending.append(data[sent:])
                self._batch.add(self)
            return
        pending = self._pending
        if not pending:
            if self._cut_off:
                return
            self._batch.add(self)
            self._clear = False
        pending.append(event.telnet)

    def expect_secret(self, secret: bool) -> None:
        """A password comes next (or has come): a telnet client is told not to show it as it is typed.

        Only a client that speaks telnet (it sent a telnet command, or ends
        its lines with CR LF as telnet does; netcat sends a bare LF) is sent
        telnet bytes: anyone else would see them as junk. The server then
        echoes nothing, not even the Enter, so it sends the line end itself.
        """
        if secret and not self._echo_off and (self._telnet.spoke_telnet or self._endings.telnet_style):
            self._echo_off = True
            self._send_bytes(self._telnet.will(ECHO))
        elif not secret and self._echo_off:
            self._echo_off = False
            self._send_bytes(EOL.encode() + self._telnet.wont(ECHO))

    def _send_bytes(self, data: bytes) -> None:
        """Bytes of the adapter's own (telnet answers), after what was delivered before them."""
        if self._cut_off:
            return
        self.flush()
        self.transport.write(data)

    def flush(self) -> None:
        """Write what was sent since the last flush, in one piece."""
        if not self._pending or self._cut_off:
            self._pending.clear()
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if self._direct:
            data = data[send_now(self.transport, self._fd, data) :]
            if not data:
                self._clear = self._closing is None  # all gone: writing straight to the socket is safe again
                return
        self._clear = False
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
        self._clear = False
        self._closing = self.hall.clock.callLater(LINGER, self.transport.abortConnection)
        half_close = getattr(self.transport, "loseWriteConnection", None)
        if half_close is not None and not self._read_closed:
            half_close()
        else:  # nothing more can come in, or a transport that cannot half-close (TLS, say)
            self.transport.loseConnection()

    # IHalfCloseableProtocol: the client closed its side, or (once we closed ours) we did.

    def readConnectionLost(self) -> None:
        """The client sent all it will: what it sent is handled in order, then the connection closes.

        A last line without its line end counts as a line. A client that
        closed its socket altogether is told nothing it can read: the first
        write to it fails, and Twisted reports the connection lost.
        """
        self._read_closed = True
        if self._closing is not None:  # the goodbye was said; this is the client closing after it
            self.transport.loseConnection()
            return
        rest = self.clearLineBuffer()
        if rest and not self._discarding:
            self.lineReceived(rest)
            self._batch.flush()
        self.session.input_ended()

    def writeConnectionLost(self) -> None:
        """Our side is closed (see disconnect): the client's end, or LINGER, ends the connection."""

    # Bytes in.

    def dataReceived(self, data: bytes) -> None:
        if self._closing is None:
            batch = self._batch
            if data.count(b"\n") <= 1:  # one line: what it makes others say may go out as it is said
                batch.now = True
                self._telnet.feed(data)
                batch.now = False
            else:  # several: a run of them to a room goes to each member in one piece
                with self.hall.together():
                    self._telnet.feed(data)
            batch.flush()  # what this read made others say goes out now, not after the whole pass
            return
        self._ignored += len(data)
        if self._ignored > LINGER_BYTES:  # not someone finishing a line: reading it would only burn CPU
            self.transport.abortConnection()

    # TelnetUser: what the telnet filter hands on.

    def telnet_reply(self, data: bytes) -> None:
        self._send_bytes(data)

    def telnet_interrupt(self) -> None:
        # A telnet client follows Ctrl-C with 'DO TIMING-MARK' and discards all
        # output until that is answered, so the hint goes out on the next turn.
        self.hall.clock.callLater(0, self._interrupted)

    def _interrupted(self) -> None:
        if self._closing is None and self._telnet is not None:
            self._send_bytes(EOL.encode())  # telnet left the cursor just after its '^C'
            self.session.interrupted()

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


class Refusal(Protocol):
    """Says why in one line, then closes: for a connection the server will not take."""

    def __init__(self, reason: str):
        self.reason = reason

    def connectionMade(self) -> None:
        self.transport.write(Goodbye(Stamp(0, 0.0), self.reason).telnet)
        self.transport.loseConnection()


class ChatFactory(ServerFactory):
    """Line connections: telnet, nc, chatroom-client."""

    def __init__(
        self,
        hall: Hall,
        max_line: int = Settings.max_line,
        max_backlog: int = Settings.max_backlog_kib * 1024,
        connections: Connections | None = None,
    ):
        self.hall = hall
        self.max_line = max_line
        self.max_backlog = max_backlog
        self.connections = connections if connections is not None else Connections()
        self.batch = WriteBatch(hall.clock)

    def buildProtocol(self, addr) -> Protocol:
        if self.connections.full(getattr(addr, "host", None)):
            return Refusal(self.connections.refusal)
        protocol = ChatProtocol(self.hall, self.max_line, self.max_backlog)
        protocol.factory = self
        return protocol
