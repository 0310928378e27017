"""Stand-ins for the bundled client's tests: a connection to a real Hall in memory, and a screen that remembers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from chatroom.client.server_text import plain
from chatroom.client.terminal import Screen
from chatroom.core.hall import Hall


class _HallPeer:
    """The hall's side of a HallConnection: what the server sends becomes lines for the client."""

    def __init__(self, lines: asyncio.Queue[str | None]):
        self.address = "127.0.0.1:6000"
        self.lines = lines
        self.partial = b""
        self.closed = False

    panels = False

    def deliver(self, event) -> None:
        *lines, self.partial = (self.partial + event.telnet).split(b"\r\n")
        for line in lines:
            self.lines.put_nowait(line.decode())

    def disconnect(self) -> None:
        if not self.closed:
            self.closed = True
            self.lines.put_nowait(None)


class HallConnection:
    """A client `Connection` whose server is a real `Hall` in this process: the server's own words, no sockets."""

    def __init__(self, hall: Hall):
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.peer = _HallPeer(self._lines)
        self.session = hall.connect(self.peer)
        self.sent: list[str] = []

    async def read_line(self) -> str | None:
        return await self._lines.get()

    async def send(self, line: str) -> None:
        self.sent.append(line)
        if not self.peer.closed:
            self.session.line(line)

    async def close(self) -> None:
        if not self.peer.closed:
            self.session.lost()
            self.peer.disconnect()


class RecordingScreen(Screen):
    """A Screen that also keeps every line it showed, as plain text."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def server_line(self, raw: str) -> None:
        self.lines.append(plain(raw))
        super().server_line(raw)

    def client_line(self, text: str) -> None:
        self.lines.append(f"-- {text}")
        super().client_line(text)

    def echo(self, text: str) -> None:
        self.lines.append(f"> {text}")
        super().echo(text)

    def text(self) -> str:
        return "\n".join(self.lines)


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait for `condition` to hold, checking as the event loop turns; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {getattr(condition, '__name__', condition)}")
        await asyncio.sleep(0.01)
