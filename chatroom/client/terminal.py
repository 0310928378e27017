"""The client in a terminal: chat scrolls above an input line that incoming lines never break.

prompt_toolkit keeps the input line at the bottom: whatever arrives is printed
above it and the half-typed line is drawn again below, untouched. When the
server goes away the client says so, keeps the person's line, and tries again
with growing waits (Enter on an empty line tries at once), logging back in
with the same name and colour (and the password, for a registered name).

A password is typed as asterisks, never echoed, and never kept in the Up and
Down history; the arguments of the password commands (`/register PASSWORD`)
are shown hidden and not kept either.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable

from prompt_toolkit import PromptSession
from prompt_toolkit.filters import Condition
from prompt_toolkit.formatted_text import ANSI, FormattedText, StyleAndTextTuples, to_formatted_text
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.patch_stdout import patch_stdout
from prompt_toolkit.shortcuts import print_formatted_text
from prompt_toolkit.styles import Style

from chatroom.client.backoff import Backoff
from chatroom.client.completion import ChatCompleter
from chatroom.client.connection import Connection
from chatroom.client.conversation import Conversation, as_shown, carries_password, is_quit
from chatroom.client.login import COLOUR, NAME, PASSWORD
from chatroom.client.server_text import with_colours
from chatroom.client.transcript import Transcript

STYLE = Style.from_dict(
    {
        "client": "ansiyellow bold",  # the client's own notices, unlike anything the server sends
        "echo": "ansibrightblack",  # commands and login answers, which the server does not repeat
        "status": "ansired",
    }
)

QUIT_WAIT = 2.0  # how long a leaving client waits for the server's goodbye
DOWN = "Server is down, you are now disconnected."
COMMAND_MARKS = ("/", "@", "!")


class Screen:
    """Prints lines above the input line.

    Lines that arrive together are printed together: prompt_toolkit hides the
    input line, prints, and draws it again, once per burst rather than once
    per line (a room's recent lines come as a burst). Each line also goes to
    the transcript, when there is one, as it is shown.
    """

    def __init__(self, transcript: Transcript | None = None) -> None:
        self._pending: list[StyleAndTextTuples] = []
        self.transcript = transcript or Transcript()

    def server_line(self, raw: str) -> None:
        self._add(to_formatted_text(ANSI(with_colours(raw))))
        self.transcript.server_line(raw)

    def client_line(self, text: str) -> None:
        self._add([("class:client", f"-- {text}")])
        self.transcript.client_line(text)

    def echo(self, text: str) -> None:
        self._add([("class:echo", f"> {text}")])
        self.transcript.echo(text)

    def _add(self, line: StyleAndTextTuples) -> None:
        self._pending.append(line)
        if len(self._pending) == 1:
            asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        lines, self._pending = self._pending, []
        if not lines:
            return
        fragments: StyleAndTextTuples = []
        for line in lines:
            fragments += [*line, ("", "\n")]
        print_formatted_text(FormattedText(fragments), end="", style=STYLE)


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("c-c")
    def _clear_or_leave(event: KeyPressEvent) -> None:
        """Ctrl-C clears a half-typed line; on an empty line it leaves, like Ctrl-D."""
        buffer = event.app.current_buffer
        if buffer.text:
            buffer.reset()
        else:
            event.app.exit(exception=EOFError())

    return bindings


class _History(InMemoryHistory):
    """The Up and Down history, without the lines `secret` says are passwords."""

    def __init__(self, secret: Callable[[str], bool]):
        super().__init__()
        self._secret = secret

    def append_string(self, string: str) -> None:
        if not self._secret(string):
            super().append_string(string)


class TerminalClient:
    def __init__(
        self,
        conversation: Conversation,
        connect: Callable[[], Awaitable[Connection]],
        backoff: Backoff,
        screen: Screen | None = None,
    ):
        self.conversation = conversation
        self.connect = connect
        self.backoff = backoff
        self.screen = screen or Screen()
        self.connection: Connection | None = None
        self.leaving = False
        self.failure: str | None = None  # why the client gave up by itself (a wrong password from a file)
        self._retry_now = asyncio.Event()
        self._seconds_to_retry: int | None = None
        self._network: asyncio.Task[None] | None = None  # reads the server, reconnects; ends once leaving
        self.session: PromptSession[str] = PromptSession(
            message=self._prompt,
            # Asked once a line is entered, before it is handed over: the login is still at the password prompt.
            history=_History(lambda line: conversation.person_types_password or carries_password(line)),
            is_password=Condition(lambda: conversation.person_types_password),
            completer=ChatCompleter(conversation.names),
            complete_while_typing=False,
            key_bindings=_key_bindings(),
            erase_when_done=True,  # the server's echo of a line is what stays on screen
            style=STYLE,
        )

    async def run(self, connection: Connection) -> int:
        """Chat over `connection` (and the ones after it) until the person leaves; the exit status."""
        self.connection = connection
        self._network = asyncio.create_task(self._stay_connected())
        typing = asyncio.create_task(self._read_input())  # it starts at the first await: inside patch_stdout
        try:
            with patch_stdout():
                await asyncio.wait({typing, self._network}, return_when=asyncio.FIRST_COMPLETED)
                if self.failure is None:
                    return await typing
                typing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await typing
        finally:
            typing.cancel()
            self._network.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._network
            if self.connection is not None:
                await self.connection.close()
            self.screen.flush()
        print(f"chatroom-client: {self.failure}", file=sys.stderr, flush=True)
        self.screen.transcript.client_line(self.failure)
        return 1

    # What the person types.

    async def _read_input(self) -> int:
        while True:
            try:
                line = await self.session.prompt_async()
            except (EOFError, KeyboardInterrupt):
                return await self._leave("/quit")
            if is_quit(line):
                return await self._leave(line)
            if self.connection is None:
                self._while_disconnected(line)
                continue
            if self.conversation.person_types_password:
                pass  # not even dimmed: the server's next line says whether it was right
            elif not self.conversation.online or (line.startswith(COMMAND_MARKS) and not line.startswith("//")):
                self.screen.echo(as_shown(line) or "(Enter)")
            self.conversation.said(line)
            await self.connection.send(line)

    def _while_disconnected(self, line: str) -> None:
        if line.strip():
            self.screen.client_line(
                "Not sent: you are disconnected. Press Up to get the line back once you are connected again."
            )
        else:
            self._retry_now.set()

    async def _leave(self, quit_line: str) -> int:
        """Say goodbye and wait (briefly) for the server to close; always a clean exit."""
        self.leaving = True
        if self.connection is not None and self.conversation.online and self._network is not None:
            self.screen.echo(quit_line)
            await self.connection.send(quit_line)
            with contextlib.suppress(TimeoutError):  # once leaving, the network task ends with the connection
                await asyncio.wait_for(asyncio.shield(self._network), QUIT_WAIT)
        return 0

    # What the server sends, across connections.

    async def _stay_connected(self) -> None:
        while True:
            await self._talk(self.connection)
            await self.connection.close()
            self.connection = None
            self.conversation.connection_lost()
            self._redraw()
            if self.leaving or self.failure:
                return
            self.connection = await self._reconnect()

    async def _talk(self, connection: Connection) -> None:
        """Show what the server says, answering the login prompts the conversation can answer."""
        self.conversation.new_connection()
        self.backoff.connected()
        while (raw := await connection.read_line()) is not None:
            heard = self.conversation.hear(raw)
            for line in heard.show:  # a room's lines shown before this connection are not shown again
                self.screen.server_line(line)
            login = self.conversation.login
            if login.wrong_password and self.conversation.password_given:  # from a file: asking again is no use
                self.failure = f"wrong password for {login.wrong_password}"
                return
            if heard.answer is not None:
                if not heard.secret:
                    self.screen.echo(heard.answer or "(Enter)")
                await connection.send(heard.answer)
            self._redraw()

    async def _reconnect(self) -> Connection:
        """A new connection: after a kick only when the person asks, otherwise with growing waits."""
        if self.conversation.kicked or self.conversation.turned_away:
            self.screen.client_line("The server disconnected you. Press Enter to connect again, or Ctrl-D to leave.")
            await self._wait(None)
        else:
            self.screen.client_line(f"{DOWN} Trying again shortly; Enter tries now, Ctrl-D leaves.")
            await self._wait(self.backoff.next_wait())
        while True:
            try:
                connection = await self.connect()
            except OSError:
                await self._wait(self.backoff.next_wait())
                continue
            who = f" as {self.conversation.name}" if self.conversation.name else ""
            self.screen.client_line(f"Connected again; logging in{who}.")
            return connection

    async def _wait(self, seconds: float | None) -> None:
        """Wait `seconds` (None: no limit), or until Enter on an empty line; the prompt counts down."""
        self._retry_now.clear()
        if seconds is None:
            await self._retry_now.wait()
            return
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0 and not self._retry_now.is_set():
            self._seconds_to_retry = int(left + 0.999)
            self._redraw()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._retry_now.wait(), min(left, 1.0))
        self._seconds_to_retry = None
        self._redraw()

    # The prompt: who and where we are, or why nothing can be sent.

    def _prompt(self) -> StyleAndTextTuples:
        conversation = self.conversation
        if self.connection is None:
            if self._seconds_to_retry is None:
                return [("class:status", "[disconnected] "), ("", "> ")]
            return [("class:status", f"[disconnected, retrying in {self._seconds_to_retry}s] "), ("", "> ")]
        if not conversation.online:
            label = {NAME: "name", COLOUR: "colour", PASSWORD: "password"}.get(conversation.login.asking, "")
            return [("", f"{label}> ")]
        name = conversation.colour.paint(conversation.name) if conversation.colour else conversation.name
        return [*to_formatted_text(ANSI(name)), ("", f"@{conversation.room or '?'}> ")]

    def _redraw(self) -> None:
        self.session.app.invalidate()
