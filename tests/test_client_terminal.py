"""The terminal client driven through prompt_toolkit's pipe input, against real Halls in memory.

These check the logic around the screen: what stays in the input line, what
is sent, reconnecting, leaving. What a terminal really shows is checked in
test_client_end_to_end.py, in a pseudo-terminal.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Awaitable, Callable

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.filters import to_filter
from prompt_toolkit.formatted_text import fragment_list_to_text
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from chatroom.client.backoff import Backoff
from chatroom.client.conversation import Conversation
from chatroom.client.terminal import DOWN, TerminalClient
from chatroom.client.transcript import Transcript
from chatroom.core.colours import find_colour
from chatroom.core.hall import Hall
from client_doubles import ACCOUNTS, HallConnection, RecordingScreen, until
from conftest import Chatter

TEAL = find_colour("teal")
BLUE = find_colour("blue")
PASSWORD = ACCOUNTS["dora"][0]


class Harness:
    """A TerminalClient on a fake keyboard, whose server is `hall` and after a restart `restarted`."""

    def __init__(self, hall: Hall, keys, conversation: Conversation, first_wait: float, transcript=None):
        self.hall = hall
        self.keys = keys
        self.screen = RecordingScreen(transcript)
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

    @property
    def masked(self) -> bool:
        """Whether the input line shows asterisks instead of what is typed."""
        return to_filter(self.client.session.is_password)()

    @property
    def history(self) -> list[str]:
        return list(self.client.session.history.get_strings())

    def type(self, text: str) -> None:
        self.keys.send_text(text)

    async def shows(self, text: str) -> None:
        await until(lambda: text in self.screen.text())


Scenario = Callable[[Harness], Awaitable[None]]


@pytest.fixture
def drive(hall):
    """Runs `scenario` beside a TerminalClient; returns the client's exit status."""

    def run(
        scenario: Scenario,
        conversation: Conversation | None = None,
        first_wait: float = 0.01,
        wait_online=True,
        transcript=None,
    ) -> int:
        async def go() -> int:
            with create_pipe_input() as keys, create_app_session(input=keys, output=DummyOutput()):
                harness = Harness(hall, keys, conversation or Conversation("alice", TEAL), first_wait, transcript)
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


# Registered names (the server's side stood in for by client_doubles.PasswordGate).


def test_a_password_is_typed_unseen_never_echoed_and_not_kept_in_the_history(drive):
    async def scenario(h: Harness) -> None:
        await until(lambda: h.prompt == "password> ")
        assert h.masked
        h.type(PASSWORD)
        await until(lambda: h.typed == PASSWORD)  # the buffer holds it; the screen draws asterisks
        h.type("\r")
        await until(lambda: h.client.conversation.online)
        assert h.prompt == "dora@lobby> " and not h.masked
        assert h.connection.sent == ["dora", PASSWORD]
        assert PASSWORD not in h.screen.text()
        assert "> dora\n*** Password for dora:\n*** Welcome, dora!" in h.screen.text()  # no echo between
        assert h.history == []
        h.type("hello\r")
        await until(lambda: "hello" in h.connection.sent)
        h.type("\x1b[A\x1b[A")  # Up, Up: only what was said
        await until(lambda: h.typed == "hello")
        h.type("\x03\x03")

    assert drive(scenario, Conversation("dora", BLUE), wait_online=False) == 0


def test_the_typed_password_logs_back_in_after_the_server_returns_without_asking(drive, clock):
    async def scenario(h: Harness) -> None:
        await until(lambda: h.prompt == "password> ")
        h.type(f"{PASSWORD}\r")
        await until(lambda: h.client.conversation.online)
        h.hall.shutdown()
        await h.shows(DOWN)
        h.hall = Hall(clock, rng=random.Random(6))
        await until(lambda: len(h.connections) == 2 and h.client.conversation.online, timeout=10)
        assert h.connection.sent == ["dora", PASSWORD]
        assert h.connection.session.colour == TEAL
        assert PASSWORD not in h.screen.text()
        h.type("\x04")

    assert drive(scenario, Conversation("dora"), wait_online=False) == 0


def test_a_wrong_password_typed_is_asked_for_again(drive):
    async def scenario(h: Harness) -> None:
        await until(lambda: h.prompt == "password> ")
        h.type("Tr0ub4dor&3\r")
        await h.shows("*** Wrong password for dora.\n*** Password for dora:")
        assert h.prompt == "password> " and h.masked
        h.type(f"{PASSWORD}\r")
        await until(lambda: h.client.conversation.online)
        assert "Tr0ub4dor" not in h.screen.text() and h.history == []
        h.type("\x04")

    assert drive(scenario, Conversation("dora"), wait_online=False) == 0


def test_a_wrong_password_from_a_file_ends_the_client_with_one_line(drive, capsys):
    async def scenario(h: Harness) -> None:
        await until(lambda: h.client.failure is not None)

    conversation = Conversation("dora", password="not the one")
    assert drive(scenario, conversation, wait_online=False) == 1
    assert capsys.readouterr().err == "chatroom-client: wrong password for dora\n"


def test_three_wrong_passwords_wait_for_the_person_before_connecting_again(drive):
    async def scenario(h: Harness) -> None:
        for attempt in ("one wrong", "two wrong", "three wrong"):
            await until(lambda: h.prompt == "password> " and h.client.conversation.login.person_must_answer)
            h.type(f"{attempt}\r")
        await h.shows("Three wrong passwords for dora.")
        await h.shows("Press Enter to connect again")
        await asyncio.sleep(0.1)
        assert len(h.connections) == 1
        h.type("\r")
        await until(lambda: len(h.connections) == 2 and h.prompt == "password> ")
        h.type("\x04")

    assert drive(scenario, Conversation("dora"), wait_online=False) == 0


def test_the_password_commands_are_echoed_hidden_and_not_kept_in_the_history(drive):
    async def scenario(h: Harness) -> None:
        h.type("/join games\r")
        h.type("/register hunter2hunter2\r")
        await until(lambda: "/register hunter2hunter2" in h.connection.sent)  # the server gets it as typed
        await h.shows("> /register ********")
        assert "hunter2" not in h.screen.text()
        assert h.history == ["/join games"]
        h.type("\x04")

    assert drive(scenario) == 0


def test_the_transcript_has_what_the_screen_showed_and_no_password(drive, tmp_path):
    path = tmp_path / "chat.log"
    transcript = Transcript(path)
    screens: list[RecordingScreen] = []

    async def scenario(h: Harness) -> None:
        screens.append(h.screen)
        await until(lambda: h.prompt == "password> ")
        h.type(f"{PASSWORD}\r")
        await until(lambda: h.client.conversation.online)
        h.type("/join games\r")
        h.type("hi {all}\r")
        await h.shows("dora: hi {all}")
        h.hall.shutdown()
        await h.shows(DOWN)
        h.type("\x04")

    try:
        assert drive(scenario, Conversation("dora"), wait_online=False, transcript=transcript) == 0
    finally:
        transcript.close()
    shown = screens[0].lines
    written = path.read_text(encoding="utf-8")
    stamped = [re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (.*)", line) for line in written.splitlines()]
    assert all(stamped), written
    assert [m.group(1) for m in stamped] == shown  # every line, as the screen showed it
    assert "> /join games" in shown and any(line.startswith("-- Server is down") for line in shown)
    assert any(re.fullmatch(r"\[\d\d:\d\d\] dora: hi \{all\}", line) for line in shown)
    assert PASSWORD not in written and "\x1b" not in written


def test_after_a_restart_the_lines_already_on_screen_are_not_shown_again(drive, clock, hall):
    store = hall.store
    bob = Chatter(hall, "bob")
    bob.say("before alice came")

    async def scenario(h: Harness) -> None:
        await h.shows("bob: before alice came")
        bob.say("hello alice")
        await h.shows("bob: hello alice")
        h.type("/join games\r")
        await until(lambda: h.client.conversation.room == "games")
        bob.say("/join games")
        bob.say("in games")
        await h.shows("bob: in games")
        h.type("/all to every room\r")
        await h.shows("alice: to every room")
        h.server_up = False
        h.hall.shutdown()
        await h.shows(DOWN)
        h.hall = Hall(clock, rng=random.Random(5), store=store)  # back, on the same store
        h.hall.restore()
        Chatter(h.hall, "carol").say("while alice was away")
        h.server_up = True
        await until(lambda: h.client.conversation.room == "games", timeout=10)
        await h.shows("carol: while alice was away")
        await asyncio.sleep(0.1)  # the rejoined room's history, if it were shown
        shown = h.screen.text()
        for line in ("bob: before alice came", "bob: hello alice", "bob: in games", "alice: to every room"):
            assert shown.count(line) == 1, line
        assert shown.count("The last lines said in") == 2  # the lobby's, when alice came, and now with carol's
        h.type("/history\r")  # asked for: shown whole
        await h.shows("*** The last lines said in games:\n[")
        await until(lambda: h.screen.text().count("bob: in games") == 2)
        h.type("\x04")

    assert drive(scenario, wait_online=False) == 0
