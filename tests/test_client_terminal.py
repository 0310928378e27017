"""The terminal client driven through prompt_toolkit's pipe input, against real Halls in memory.

These check the logic around the screen: what stays in the input line, what
is sent, reconnecting, leaving. What a terminal really shows is checked in
test_client_end_to_end.py, in a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.formatted_text import fragment_list_to_text
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatroom.client.backoff import Backoff
from chatroom.client.conversation import Conversation
from chatroom.client.terminal import DOWN, TerminalClient
from chatroom.core.colours import find_colour
from chatroom.core.hall import Hall
from client_doubles import HallConnection, RecordingScreen, until

TEAL = find_colour("teal")


class Harness:
    """A TerminalClient on a fake keyboard, whose server is `hall` and after a restart `restarted`."""

    def __init__(self, hall: Hall, keys, conversation: Conversation, first_wait: float):
        self.hall = hall
        self.keys = keys
        self.screen = RecordingScreen()
        self.connections: list[HallConnection] = []
        self.server_up = True
        self.client = TerminalClient(conversation, self._connect, Backoff(lambda: 0.0, first=first_wait), self.screen)

    async def _connect(self) -> HallConnection:
        if not self.server_up:
            raise ConnectionRefusedError()
        self.connections.append(HallConnection(self.hall))
        return self.connections[-1]

    @property
    def connection(self) -> HallConnection:
        return self.connections[-1]

    @property
    def typed(self) -> str:
        return self.client.session.default_buffer.text

    @property
    def prompt(self) -> str:
        return fragment_list_to_text(self.client._prompt())

    def type(self, text: str) -> None:
        self.keys.send_text(text)

    async def shows(self, text: str) -> None:
        await until(lambda: text in self.screen.text())


Scenario = Callable[[Harness], Awaitable[None]]


@pytest.fixture
def drive(hall):
    """Runs `scenario` beside a TerminalClient; returns the client's exit status."""

    def run(
        scenario: Scenario, conversation: Conversation | None = None, first_wait: float = 0.01, wait_online=True
    ) -> int:
        async def go() -> int:
            with create_pipe_input() as keys, create_app_session(input=keys, output=DummyOutput()):
                harness = Harness(hall, keys, conversation or Conversation("alice", TEAL), first_wait)
                client = asyncio.create_task(harness.client.run(await harness._connect()))
                if wait_online:
                    await until(lambda: harness.client.conversation.online)
                await scenario(harness)
                return await asyncio.wait_for(client, 10)

        return asyncio.run(go())

    return run


def test_a_half_typed_line_survives_an_incoming_message(drive, make_chatter):
    bob = make_chatter("bob")

    async def scenario(h: Harness) -> None:
        h.type("hello wor")
        await until(lambda: h.typed == "hello wor")
        bob.say("are you there?")
        await h.shows("bob: are you there?")
        await asyncio.sleep(0.05)  # let the screen print it above the input line
        assert h.typed == "hello wor"
        h.type("ld\r")
        await until(lambda: "alice: hello world" in bob.read())
        h.type("\x04")  # Ctrl-D

    assert drive(scenario) == 0


def test_the_prompt_shows_who_and_where(drive):
    async def scenario(h: Harness) -> None:
        assert h.prompt == "alice@lobby> "
        h.type("/join games\r")
        await until(lambda: h.prompt == "alice@games> ")
        h.type("/nick alicia\r")
        await until(lambda: h.prompt == "alicia@games> ")
        h.type("/quit\r")

    assert drive(scenario) == 0


def test_a_person_without_a_name_answers_the_prompts(drive):
    async def scenario(h: Harness) -> None:
        await until(lambda: h.prompt == "name> ")
        h.type("alice\r")
        await until(lambda: h.prompt == "colour> ")
        h.type("\r")
        await until(lambda: h.client.conversation.online)
        assert h.prompt == "alice@lobby> "
        assert h.connection.sent == ["alice", ""]
        assert "> alice\n" in h.screen.text()  # the server does not repeat answers: the client shows them
        h.type("\x04")

    assert drive(scenario, Conversation(), wait_online=False) == 0


def test_the_server_going_away_is_said_and_it_logs_back_in_by_itself(drive, clock):
    async def scenario(h: Harness) -> None:
        h.type("/join games\r")
        await until(lambda: h.client.conversation.room == "games")
        h.server_up = False
        h.hall.shutdown()
        await h.shows(DOWN)
        assert h.prompt.startswith("[disconnected")
        h.type("half a li")
        await asyncio.sleep(0.1)  # a failed try or two
        h.hall = Hall(clock, rng=random.Random(3))  # the server is back, empty
        h.server_up = True
        await until(lambda: h.client.conversation.online and h.client.conversation.room == "games", timeout=10)
        session = h.connection.session
        assert (session.name, session.colour, session.room_name) == ("alice", TEAL, "games")
        assert h.typed == "half a li"  # still there, as typed
        h.type("ne\r")
        await until(lambda: "half a line" in h.connection.sent)
        h.type("\x04")

    assert drive(scenario) == 0


def test_enter_on_an_empty_line_tries_again_at_once(drive):
    async def scenario(h: Harness) -> None:
        h.hall.shutdown()
        await h.shows(DOWN)
        await asyncio.sleep(0.1)
        assert len(h.connections) == 1  # the first wait is a minute
        h.type("\r")
        await until(lambda: len(h.connections) == 2 and h.client.conversation.online)
        h.type("\x04")

    assert drive(scenario, first_wait=60) == 0


def test_a_line_typed_while_disconnected_is_kept_not_lost(drive):
    async def scenario(h: Harness) -> None:
        h.server_up = False
        h.hall.shutdown()
        await h.shows(DOWN)
        h.type("nobody hears this\r")
        await h.shows("Not sent: you are disconnected")
        h.type("\x1b[A")  # Up: it is in the history
        await until(lambda: h.typed == "nobody hears this")
        h.type("\x03\x03")  # Ctrl-C clears it, then leaves

    assert drive(scenario, first_wait=60) == 0


def test_after_a_kick_it_waits_for_the_person(drive):
    async def scenario(h: Harness) -> None:
        h.type("STOP THAT NOW\r")
        h.type("I SAID STOP\r")
        await h.shows("Press Enter to connect again")
        await asyncio.sleep(0.1)
        assert len(h.connections) == 1
        h.type("\r")
        await until(lambda: len(h.connections) == 2 and h.client.conversation.online)
        h.type("\x04")

    assert drive(scenario) == 0


def test_ctrl_c_clears_a_half_typed_line_and_leaves_from_an_empty_one(drive):
    async def scenario(h: Harness) -> None:
        h.type("oops")
        await until(lambda: h.typed == "oops")
        h.type("\x03")
        await until(lambda: h.typed == "")
        assert h.client.leaving is False
        h.type("\x03")
        await until(lambda: h.client.leaving)
        first = h.connections[0]
        await until(lambda: first.sent[-1] == "/quit")

    assert drive(scenario) == 0


def test_quit_says_goodbye_and_exits_cleanly(drive, make_chatter):
    bob = make_chatter("bob")

    async def scenario(h: Harness) -> None:
        h.type("/quit see you\r")
        await until(lambda: "alice left the chat" in bob.read())

    assert drive(scenario) == 0


def test_tab_completes_commands_and_names(drive, make_chatter):
    make_chatter("bob")

    async def scenario(h: Harness) -> None:
        h.type("/jo\t")
        await until(lambda: h.typed == "/join ")
        h.type("\x03hi b\t")
        await until(lambda: h.typed == "hi bob")
        h.type("\x03\x03")

    assert drive(scenario, Conversation("alice", TEAL)) == 0
