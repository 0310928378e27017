"""Stand-ins for the bundled client's tests: a connection to a real Hall in memory, and a screen that remembers.

`PasswordGate` puts registered names in front of a Hall that does not have
them (yet), speaking the server's own texts, so the client's side of them can
be tested before and after the server's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from chatroom.client.server_text import plain
from chatroom.client.terminal import Screen
from chatroom.core.events.model import Event
from chatroom.core.hall import Hall
from chatroom.core.names import name_key
from chatroom.core.session import PASSWORD_PROMPT, TOO_MANY_TRIES, WRONG_PASSWORD, Session

# Registered names for the gate: name -> (password, stored colour).
ACCOUNTS = {"dora": ("correct-horse-battery", "teal")}


class PasswordGate:
    """The server's side of a registered name's login, in front of one real Hall session.

    A registered name is answered with the password prompt, rendered by the
    server's own events from its own texts (session.py): a wrong password
    gets `WRONG_PASSWORD` and the prompt again, the third `TOO_MANY_TRIES`
    and the connection closed. The right one hands the hall the name and the
    stored colour, hiding the hall's colour prompt, so the hall's own welcome
    follows the password, as the server's will. Every other line goes to the
    hall untouched.
    """

    def __init__(self, session: Session, close: Callable[[], None], accounts=None):
        self.session = session
        self.close = close
        self.accounts = {name_key(name): (name, *account) for name, account in (accounts or ACCOUNTS).items()}
        self.passwords_heard: list[str] = []
        self._asking: tuple[str, str, str] | None = None  # the account whose password is asked for
        self._tries = 0
        self._hide_colour_prompt = False
        self._to_client = session.deliver
        session.deliver = self._from_hall

    def _from_hall(self, event: Event) -> None:
        if self._hide_colour_prompt and event.kind == "prompt" and event.asks == "colour":
            self._hide_colour_prompt = False
            return
        self._to_client(event)

    def line(self, raw: str) -> None:
        if self._asking is not None:
            self._answer_password(raw)
        elif not self.session.name and (account := self.accounts.get(name_key(raw.strip()))):
            self._asking = account
            self.session.prompt("password", PASSWORD_PROMPT.format(name=account[0]))
        else:
            self.session.line(raw)

    def _answer_password(self, raw: str) -> None:
        name, password, colour = self._asking
        self.passwords_heard.append(raw)
        if raw.strip() == password:
            self._asking = None
            self._hide_colour_prompt = True
            self.session.line(name)
            self.session.line(colour)
            return
        self._tries += 1
        if self._tries < 3:
            self.session.prompt("password", PASSWORD_PROMPT.format(name=name), WRONG_PASSWORD.format(name=name))
        else:
            self.session.notice(TOO_MANY_TRIES.format(name=name))
            self.session.lost()
            self.close()


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

    def expect_secret(self, secret: bool) -> None:
        pass

    def disconnect(self) -> None:
        if not self.closed:
            self.closed = True
            self.lines.put_nowait(None)


class HallConnection:
    """A client `Connection` whose server is a real `Hall` in this process: the server's own words, no sockets.

    Its server knows the registered names in ACCOUNTS (see PasswordGate).
    """

    def __init__(self, hall: Hall):
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self.peer = _HallPeer(self._lines)
        self.session = hall.connect(self.peer)
        self.gate = PasswordGate(self.session, self.peer.disconnect)
        self.sent: list[str] = []

    async def read_line(self) -> str | None:
        return await self._lines.get()

    async def send(self, line: str) -> None:
        self.sent.append(line)
        if not self.peer.closed:
            self.gate.line(line)

    async def close(self) -> None:
        if not self.peer.closed:
            self.session.lost()
            self.peer.disconnect()


class RecordingScreen(Screen):
    """A Screen that also keeps every line it showed, as plain text."""

    def __init__(self, transcript=None) -> None:
        super().__init__(transcript)
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
