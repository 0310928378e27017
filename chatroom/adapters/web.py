"""The WebSocket side of the page: JSON messages in, core calls out; events back as JSON.

`WebPeer` is a `Peer` of the core, as the line protocol is: the same hall, the
same sessions, the same commands, flood control, shout rule and login timeout.
It owns what is about WebSocket connections -- the Origin, message sizes,
UTF-8, a browser that stops reading, one that vanished -- and nothing about
chat. docs/web-protocol.md lists every message in both directions; in short:

Client -> server, each a JSON object:
  {"type": "line", "text": "..."}     a line as a person typed it: the answer to a
                                      prompt, a command, or words to the room
  {"type": "missed", "after": ID}     the kept lines of my room after event ID
  any of them may carry "ref": a value sent back in an "ack" once it is handled

Server -> client, each WebSocket message a JSON array of objects, in order:
  {"type": "hello", "id": 0, ...}     first, once: the epoch, colours, commands, line limit
  {"type": "ack", "id": 0, "ref": R}  the message that carried "ref": R was handled
  {"type": "error", "id": 0, "text"}  a message that could not be taken (bad JSON, too long, ...)
  and every event of chatroom.core.events.web, ids growing within an epoch.

A text frame that is not UTF-8 is closed with 1007; a message over
`hard_limit` bytes with 1009; anything smaller that is not a good message gets
an error and the connection stays.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.types import ConnectionDeny
from loguru import logger
from twisted.internet.interfaces import ISSLTransport

from chatroom.adapters.connections import Connections
from chatroom.adapters.sending import SendBacklog, WriteBatch
from chatroom.adapters.tcp import keep_alive, peer_address
from chatroom.core.colours import COLOURS
from chatroom.core.commands import SPELLINGS
from chatroom.core.events.model import Bundle, Error, Goodbye, Stamp
from chatroom.core.settings import Settings

if TYPE_CHECKING:
    from chatroom.core.events.model import Event
    from chatroom.core.hall import Hall
    from chatroom.core.session import Session

PATH = b"chat"  # the WebSocket is at /chat, beside the page
PING_INTERVAL = 30.0  # seconds between pings; a WebSocket that vanished without a close...
PING_TIMEOUT = 30.0  # ...is dropped when a ping is not answered within this many seconds
CLOSE_TIMEOUT = 5.0  # seconds a browser has to answer our close, as a telnet client has to close its side
HARD_LIMIT_FLOOR = 64 * 1024  # messages up to this (or 4 x --max-line) get an error; beyond, the connection closes
NORMAL_CLOSE = 1000  # autobahn lets a server close with 1000 or 3000-4999 only; the goodbye event says why
TEXT_FRAME = 1


class WebPeer(WebSocketServerProtocol):
    """A `Peer` of the core for the web page: it takes each event's web rendering."""

    panels = True
    factory: WebFactory
    address: str
    session: Session | None = None

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[bytes] = []
        self._cut_off = False
        self._closing = False
        self._backlog: SendBacklog | None = None

    # The handshake: only the server's own pages may open the chat.

    def onConnect(self, request) -> None:
        origin = request.headers.get("origin")
        if origin is not None and not _same_origin(origin, request.headers.get("host", ""), self._secure()):
            logger.bind(event="refused", addr=self.transport.getPeer().host).warning(
                "refused a WebSocket from {}: its page came from {}", self.transport.getPeer().host, origin
            )
            raise ConnectionDeny(ConnectionDeny.FORBIDDEN, "origin not allowed")

    def _secure(self) -> bool:
        return ISSLTransport.providedBy(self.transport)

    def onOpen(self) -> None:
        self.address = peer_address(self.transport)
        self._backlog = SendBacklog(self.factory.max_backlog)
        self.transport.unregisterProducer()  # twisted.web's, from before the WebSocket took the connection over
        self.transport.registerProducer(self._backlog, True)
        keep_alive(self.transport)
        host = getattr(self.transport.getPeer(), "host", None)
        connections = self.factory.connections
        if connections.full(host):
            self._last_words(Goodbye(Stamp(0, self.factory.hall.clock.seconds()), connections.refusal))
            return
        connections.arrived(self, host)
        self._queue(self.factory.hello())
        self.session = self.factory.hall.connect(self)

    def onClose(self, wasClean: bool, code: int | None, reason: str | None) -> None:
        self.factory.connections.left(self)
        session, self.session = self.session, None
        self._pending.clear()
        if session is None:
            return
        if self._cut_off:
            session.fell_behind()
        else:
            session.lost()

    # Messages in.

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        if self.session is None or self._closing:
            return
        message, problem = self._parse(payload, isBinary)
        if problem:
            self._refuse(problem)
        else:
            self._handle(message)
        self.factory.batch.flush()  # what this message made others say goes out now

    def _parse(self, payload: bytes, binary: bool) -> tuple[dict[str, Any], str | None]:
        if binary:
            return {}, "Send text messages (JSON), not binary ones."
        try:
            message = json.loads(payload)
        except ValueError:
            return {}, "That message was not JSON."
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return {}, 'A message is a JSON object with a "type".'
        return message, None

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "line" and isinstance(message.get("text"), str):
            self._line(message["text"])
        elif kind == "missed" and type(message.get("after")) is int:
            if self.session.online:
                self.factory.hall.missed(self.session, message["after"])
        else:
            self._refuse(f"Not a message this server knows: {_shorten(message)}.")
            return
        if "ref" in message:  # after all it caused, even what waits for the store or a password check
            ack = _encode({"type": "ack", "id": 0, "ref": message["ref"]})
            self.session.then(lambda: self._queue(ack))

    def _line(self, text: str) -> None:
        if len(text.encode("utf-8")) > self.factory.max_line:
            self.session.line_too_long(self.factory.max_line)
        else:
            self.session.line(text)

    def _refuse(self, problem: str) -> None:
        self.deliver(Error(Stamp(0, self.factory.hall.clock.seconds()), problem))

    # Peer: what the core calls.

    def deliver(self, event: Event) -> None:
        if isinstance(event, Bundle):  # the page takes lines one by one, as the protocol documents them
            for line in event.lines:
                self._queue(line.web)
        else:
            self._queue(event.web)

    def expect_secret(self, secret: bool) -> None:
        """The page shows a password field for a password prompt by itself."""

    def _queue(self, data: bytes) -> None:
        if self._cut_off or self.state != self.STATE_OPEN:  # closing: autobahn refuses to send any more
            return
        if not self._pending:
            self.factory.batch.add(self)
        self._pending.append(data)

    def flush(self) -> None:
        """Send what was queued since the last flush as one message: a JSON array."""
        if not self._pending or self._cut_off or self.state != self.STATE_OPEN:
            self._pending.clear()
            return
        payload = b"[" + b",".join(self._pending) + b"]"
        self._pending.clear()
        self._send_text(payload)
        if self._backlog.overflows(len(payload)):
            self._cut_off = True
            name = self.session.name if self.session else ""
            logger.bind(event="slow", user=name, addr=self.address).warning(
                "{} cut off: over {} bytes queued and not reading", name or self.address, self._backlog.limit
            )
            self.dropConnection(abort=True)

    def disconnect(self) -> None:
        """Send what is queued, then close: the browser reads the last words before the close."""
        if not self._closing:
            self._closing = True
            self.flush()
            self.sendClose(NORMAL_CLOSE)

    def _last_words(self, goodbye: Goodbye) -> None:
        self._closing = True
        self._send_text(b"[" + goodbye.web + b"]")
        self.sendClose(NORMAL_CLOSE)

    def _send_text(self, payload: bytes) -> None:
        """One whole text message, as sendMessage sends it uncompressed, but with no size limit.

        autobahn applies maxMessagePayloadSize to what it sends as well as to
        what it reads; that limit is for clients, and a room's history or a busy
        pass can be bigger than any message a client may send.
        """
        self.sendFrame(opcode=TEXT_FRAME, payload=payload)


class WebFactory(WebSocketServerFactory):
    protocol = WebPeer

    def __init__(
        self,
        hall: Hall,
        max_line: int = Settings.max_line,
        max_backlog: int = Settings.max_backlog_kib * 1024,
        connections: Connections | None = None,
        ping_interval: float = PING_INTERVAL,
    ):
        super().__init__()
        self.hall = hall
        self.max_line = max_line
        self.max_backlog = max_backlog
        self.connections = connections if connections is not None else Connections()
        self.batch = WriteBatch(hall.clock)
        hard_limit = max(HARD_LIMIT_FLOOR, 4 * max_line)
        self.setProtocolOptions(
            webStatus=False,  # a plain GET of /chat is told to upgrade (426), not shown a status page
            failByDrop=False,  # say why when closing: 1007 for bad UTF-8, 1009 for a message too big
            maxMessagePayloadSize=hard_limit,
            maxFramePayloadSize=hard_limit,
            autoPingInterval=ping_interval,
            autoPingTimeout=ping_interval,
            closeHandshakeTimeout=CLOSE_TIMEOUT,
            openHandshakeTimeout=CLOSE_TIMEOUT,
        )

    def hello(self) -> bytes:
        """The first message: what the page needs to know of this server (its epoch is the store's, once open)."""
        return _encode(
            {
                "type": "hello",
                "id": 0,
                "epoch": self.hall.epoch,
                "colours": [colour.name for colour in COLOURS],
                "commands": list(SPELLINGS),
                "max_line": self.max_line,
            }
        )


def _same_origin(origin: str, host: str, secure: bool) -> bool:
    """Whether a page from `origin` was served by this server, reached as `host` (the Host header)."""
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme == ("https" if secure else "http") and parts.netloc.lower() == host.lower() != ""


def _encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _shorten(message: dict[str, Any]) -> str:
    text = json.dumps(message.get("type"), ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + '..."'
