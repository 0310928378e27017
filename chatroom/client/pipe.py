"""The client in a pipeline: lines from stdin go to the server, what the server says goes to stdout.

When it may exit: after stdin ends, once the server has answered everything
sent. Logged in, the client sends one more line that the server can only
answer after handling every line before it -- an unknown command carrying a
random token -- and exits 0 when that error comes back (it is not printed).
Not logged in (stdin only answered prompts), it exits 0 after a quiet second.
Either way it gives up after DRAIN_TIMEOUT seconds and exits 1, and it exits 1
at once if the server closes the connection unasked, refuses the name or
colour it was given, or refuses a password (from --password-file or stdin:
sending the same one again would not help). After a /quit, the server's
goodbye ends it with 0.

When stdin is a terminal (and stdout is not), the terminal does not show what
is typed while the password prompt waits for stdin's next line.

The same round trip paces a long input: after every WINDOW lines the client
waits for it before sending more. The server lets a burst of lines through
and then slows a sender, kicking one that gets far ahead; a paced client
stays within the burst and follows the server's pace, however long stdin is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import threading
from collections import deque
from typing import TextIO

try:
    import termios
except ImportError:  # not a POSIX system: no terminal settings to change
    termios = None

from chatroom.client.connection import Connection
from chatroom.client.conversation import Conversation, is_quit
from chatroom.client.server_text import plain, with_colours
from chatroom.client.transcript import Transcript

DRAIN_TIMEOUT = 10.0
QUIET = 1.0
WINDOW = 8  # lines sent before waiting for the server to catch up: within its burst of 10
DOWN = "Server is down, you are now disconnected."


class TypingShown:
    """Whether a terminal on stdin shows what is typed; changed only while the password is typed, then put back."""

    def __init__(self, fd: int):
        self.fd = fd
        self._hidden = False
        self._saved = None
        if termios is not None and os.isatty(fd):
            with contextlib.suppress(termios.error):
                self._saved = termios.tcgetattr(fd)

    def hide(self, hidden: bool) -> None:
        if self._saved is None or hidden == self._hidden:
            return
        with contextlib.suppress(termios.error):  # the terminal may be gone already
            attributes = termios.tcgetattr(self.fd)
            if hidden:
                attributes[3] &= ~termios.ECHO
            else:
                attributes[3] |= self._saved[3] & termios.ECHO
            termios.tcsetattr(self.fd, termios.TCSANOW, attributes)
        self._hidden = hidden


class PipeClient:
    """One run of the client in a pipeline, from connecting to its exit status."""

    def __init__(
        self,
        conversation: Conversation,
        connection: Connection,
        stdin_fd: int,
        stdout: TextIO,
        stderr: TextIO = sys.stderr,
        colour: bool = False,
        transcript: Transcript | None = None,
    ):
        self.conversation = conversation
        self.connection = connection
        self.stdin_fd = stdin_fd
        self.stdout = stdout
        self.stderr = stderr
        self.show = with_colours if colour else plain
        self.transcript = transcript or Transcript()
        self._held: deque[str] = deque()  # stdin lines waiting for their turn in the login
        self._stdin_ended = False
        self._quitting = False
        self._sync_token = f"chatroom-client-sync-{secrets.token_hex(6)}"
        self._syncs_sent = 0
        self._syncs_answered = 0
        self._unconfirmed = 0  # chat lines sent since the last round trip
        self._closed = False
        self._changed = asyncio.Event()  # something arrived, from stdin or from the server
        self._last_heard = 0.0
        self.stdin_reader: threading.Thread | None = None
        self._typing = TypingShown(stdin_fd)

    async def run(self) -> int:
        """Pass lines both ways until done; the exit status."""
        self.conversation.new_connection()
        self._read_stdin_in_a_thread()
        server = asyncio.create_task(self._read_server())
        stdin = asyncio.create_task(self._send_stdin())
        try:
            done, _ = await asyncio.wait({server, stdin}, return_when=asyncio.FIRST_COMPLETED)
            if stdin in done:
                return stdin.result()
            return self._server_ended(server.result())
        finally:
            for task in (server, stdin):
                task.cancel()
            self._typing.hide(False)
            await self.connection.close()

    # Server to stdout.

    async def _read_server(self) -> str | None:
        """Print what the server says until it closes; a refused login ends it early: then, why."""
        loop = asyncio.get_running_loop()
        while (raw := await self.connection.read_line()) is not None:
            self._last_heard = loop.time()
            heard = self.conversation.hear(raw)
            login = self.conversation.login
            if self._sync_token in raw:
                self._syncs_answered += 1
            else:
                self._print(self.show(raw))
            if login.wrong_password is not None:
                return f"wrong password for {login.wrong_password}"
            if login.refusal is not None:
                return f"the server refused the login: {login.refusal}"
            if heard.answer is not None:
                await self.connection.send(heard.answer)
            self._typing.hide(self.conversation.person_types_password)
            self._changed.set()
        self._closed = True
        self._changed.set()
        return None

    def _server_ended(self, why: str | None) -> int:
        if why is not None:
            self._complain(why)
        elif self._quitting:
            return 0
        elif self.conversation.turned_away:
            self._complain(f"the server refused the login: {self.conversation.turned_away}")
        elif self.conversation.kicked:
            self._complain(f"the server disconnected you: kicked for {self.conversation.kicked}")
        else:
            self._complain(DOWN)
        return 1

    # Stdin to server.

    def _read_stdin_in_a_thread(self) -> None:
        """Blocking reads in a daemon thread: stdin may be a file, a pipe or a terminal.

        Plain `os.read` on the descriptor, not `sys.stdin`: exit does not wait
        for the thread, and Python's shutdown would otherwise trip over the lock
        of a buffered reader the thread is still blocked in.
        """
        loop = asyncio.get_running_loop()

        def read() -> None:
            partial = b""
            with contextlib.suppress(RuntimeError):  # the loop closed: the client has finished
                while data := os.read(self.stdin_fd, 65536):
                    *lines, partial = (partial + data).split(b"\n")
                    for line in lines:
                        loop.call_soon_threadsafe(self._stdin_line, _decode(line))
                if partial:
                    loop.call_soon_threadsafe(self._stdin_line, _decode(partial))
                loop.call_soon_threadsafe(self._stdin_end)

        self.stdin_reader = threading.Thread(target=read, name="stdin", daemon=True)
        self.stdin_reader.start()

    def _stdin_line(self, line: str) -> None:
        self._held.append(line)
        self._changed.set()

    def _stdin_end(self) -> None:
        self._stdin_ended = True
        self._last_heard = asyncio.get_running_loop().time()  # the quiet second counts from here at the earliest
        self._changed.set()

    async def _send_stdin(self) -> int:
        """Send each stdin line when the login lets it through; after stdin ends, wait for the server to catch up."""
        try:
            while not self._stdin_ended:
                await self._send_what_is_ready()
                await self._next_change()
            await self._drain()
        except TimeoutError:
            self._complain(f"the server did not answer within {DRAIN_TIMEOUT:g} seconds; leaving anyway")
            return 1
        return 0

    def _ready(self) -> bool:
        """Whether a stdin line may go now: once logged in, or as the answer to a prompt left to stdin.

        A prompt our own answer was refused at is not left to stdin: its lines
        were meant for the chat, not for a second try at a name.
        """
        login = self.conversation.login
        return self.conversation.online or (login.person_must_answer and login.refusal is None)

    async def _send_what_is_ready(self) -> None:
        while self._held and self._ready():
            if self._unconfirmed >= WINDOW:
                await self._catch_up()
            await self._send(self._held.popleft())
            if self.conversation.online:  # answers to the login prompts are not chat lines
                self._unconfirmed += 1

    async def _send(self, line: str) -> None:
        self.conversation.said(line)
        self._typing.hide(self.conversation.person_types_password)
        self._quitting = self._quitting or (self.conversation.online and is_quit(line))
        await self.connection.send(line)

    async def _drain(self) -> None:
        """After stdin ends: send what is left, then wait for the server, DRAIN_TIMEOUT at most each time."""
        while self._held:  # lines still waiting for the login
            await self._send_what_is_ready()
            if self._held:
                await self._next_change(DRAIN_TIMEOUT)
        if self._quitting:  # the server says goodbye and closes
            while not self._closed:
                await self._next_change(DRAIN_TIMEOUT)
        elif self.conversation.online:
            await self._catch_up()
        else:
            await asyncio.wait_for(self._quiet(), DRAIN_TIMEOUT)

    async def _catch_up(self) -> None:
        """Send the token line and wait until it is answered: the server has handled every line before it."""
        await self.connection.send(f"/{self._sync_token}")
        self._syncs_sent += 1
        self._unconfirmed = 0
        async with asyncio.timeout(DRAIN_TIMEOUT):
            while self._syncs_answered < self._syncs_sent:
                await self._next_change()

    async def _quiet(self) -> None:
        loop = asyncio.get_running_loop()
        while (left := self._last_heard + QUIET - loop.time()) > 0:
            await asyncio.sleep(left)

    async def _next_change(self, limit: float | None = None) -> None:
        await asyncio.wait_for(self._changed.wait(), limit)
        self._changed.clear()

    # Output.

    def _print(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()
        self.transcript.server_line(text)

    def _complain(self, text: str) -> None:
        print(f"chatroom-client: {text}", file=self.stderr, flush=True)
        self.transcript.client_line(text)


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r")
