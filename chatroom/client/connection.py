"""A line connection to a chat server over TCP: an asyncio protocol, and nothing about chat.

Not asyncio's StreamReader: when a connection is reset (the server kicked us
while we were still sending), StreamReader raises at once and loses the lines
it had already received -- here the kick notice. This protocol hands over
every line that arrived, then reports the end.
"""

from __future__ import annotations

import asyncio
import socket

CONNECT_TIMEOUT = 10.0
LONGEST_LINE = 1 << 20  # past this, a line without an end is handed over in pieces


class _LineProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._partial = b""
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        *lines, self._partial = (self._partial + data).split(b"\n")
        for line in lines:
            self.lines.put_nowait(_decode(line))
        if len(self._partial) > LONGEST_LINE:
            self.lines.put_nowait(_decode(self._partial))
            self._partial = b""

    def eof_received(self) -> bool:
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        if self._partial:
            self.lines.put_nowait(_decode(self._partial))
            self._partial = b""
        self.lines.put_nowait(None)
        self._can_write.set()  # nobody waits to write to a closed connection

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    async def writable(self) -> None:
        await self._can_write.wait()


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r")


class Connection:
    """Lines in and out of one TCP connection; decoding is forgiving, as the server's is."""

    def __init__(self, transport: asyncio.Transport, protocol: _LineProtocol):
        self._transport = transport
        self._protocol = protocol
        self._ended = False

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        """Connect, or raise OSError (which `why_not_connected` explains in a line)."""
        try:
            return await asyncio.wait_for(cls._open_any(host, port), CONNECT_TIMEOUT)
        except TimeoutError as timeout:
            raise TimeoutError(f"no answer in {CONNECT_TIMEOUT:g} seconds") from timeout

    @classmethod
    async def _open_any(cls, host: str, port: int) -> Connection:
        """Try each address of `host` in turn ('localhost' is often ::1, then 127.0.0.1).

        asyncio would do this too, but when every address fails it raises a
        bare OSError naming them all, and "connection refused" gets lost.
        """
        loop = asyncio.get_running_loop()
        addresses = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        errors: list[OSError] = []
        for family, _, _, _, address in addresses:
            try:
                transport, protocol = await loop.create_connection(_LineProtocol, address[0], address[1], family=family)
            except OSError as error:
                errors.append(error)
                continue
            return cls(transport, protocol)
        refused = [e for e in errors if isinstance(e, ConnectionRefusedError)]
        raise (refused or errors or [OSError(f"no address for {host}")])[0]

    async def read_line(self) -> str | None:
        """The next line without its ending, or None once the connection has ended."""
        if self._ended:
            return None
        line = await self._protocol.lines.get()
        self._ended = line is None
        return line

    async def send(self, line: str) -> None:
        """Send one line; waits while the socket's buffer is full, so a big pipe cannot pile up here."""
        if self._transport.is_closing():
            return
        self._transport.write(line.encode("utf-8") + b"\n")
        await self._protocol.writable()

    async def close(self) -> None:
        self._transport.close()


def why_not_connected(host: str, port: int, error: OSError) -> str:
    """One plain line for a failed connection, instead of a traceback."""
    if isinstance(error, ConnectionRefusedError):
        reason = "connection refused (is the server running?)"
    elif isinstance(error, socket.gaierror):
        reason = f"unknown host {host!r}"
    else:
        reason = error.strerror or str(error) or type(error).__name__
    return f"cannot connect to {host}:{port}: {reason}"
