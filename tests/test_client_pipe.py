"""The client in a pipeline, against a real Hall in memory: what it sends, prints, and when it exits."""

from __future__ import annotations

import asyncio
import io
import os
import re
import termios

import pytest

from chatroom.client import pipe
from chatroom.client.conversation import Conversation
from chatroom.client.pipe import PipeClient
from chatroom.client.transcript import Transcript
from chatroom.core.colours import find_colour
from chatroom.core.settings import Settings
from client_doubles import ACCOUNTS, HallConnection, until

RED = find_colour("red")
PASSWORD = ACCOUNTS["dora"][0]
STAMPED = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (.*)")


class Stdin:
    """A real pipe for stdin: what a test writes, the client reads; `end()` is the writer closing it."""

    def __init__(self, text: str = "", end: bool = True):
        self.read_fd, self.write_fd = os.pipe()
        self.write(text)
        if end:
            self.end()

    def write(self, text: str) -> None:
        os.write(self.write_fd, text.encode())

    def end(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1


@pytest.fixture
def run_pipe(hall):
    """Runs a PipeClient to its end against `hall`; returns (exit status, stdout, stderr, connection)."""

    def run(
        conversation: Conversation, stdin: Stdin, colour: bool = False, during=None, connection_type=None, log=None
    ):
        out, err = io.StringIO(), io.StringIO()
        transcript = Transcript(log)

        async def go():
            connection = (connection_type or HallConnection)(hall)
            client = PipeClient(conversation, connection, stdin.read_fd, out, err, colour=colour, transcript=transcript)
            task = asyncio.create_task(client.run())
            if during:
                await during(connection)
            return await asyncio.wait_for(task, 15), connection, client

        try:
            status, connection, client = asyncio.run(go())
        finally:
            transcript.close()
        # Its stdin thread must be gone before the descriptor is closed, or the
        # number could be reused by the next test's pipe and read from here.
        stdin.end()
        client.stdin_reader.join(5)
        os.close(stdin.read_fd)
        return status, out.getvalue(), err.getvalue(), connection

    return run


def test_it_logs_in_says_each_line_and_exits_once_the_server_has_echoed_the_last(run_pipe, make_chatter):
    bob = make_chatter("bob")
    status, out, err, connection = run_pipe(Conversation("bot", RED), Stdin("hi\nthere\n"))
    assert status == 0, err
    assert connection.sent[:4] == ["bot", "red", "hi", "there"]  # nothing went before the prompts asked
    assert connection.sent[4].startswith("/chatroom-client-sync-")  # the round trip that proves the echo is in
    assert re.search(r"\n\[\d\d:\d\d\] bot: hi\n\[\d\d:\d\d\] bot: there\n$", out)  # the echoes, last
    assert "sync" not in out and "\x1b" not in out
    said = bob.read()
    assert "bot: hi" in said and "bot: there" in said


def test_colours_are_kept_only_for_a_terminal(run_pipe):
    _, out, _, _ = run_pipe(Conversation("bot", RED), Stdin("hi\n"), colour=True)
    assert f"{RED.paint('bot')}: hi" in out
    assert "\x1b]" not in out  # colours, nothing else


def test_given_a_name_but_no_colour_the_server_picks_one(run_pipe):
    status, _, _, connection = run_pipe(Conversation("bot", server_picks_colour=True), Stdin("hi\n"))
    assert status == 0 and connection.sent[:2] == ["bot", ""]
    assert connection.session.colour is not None


def test_without_a_name_stdin_answers_the_prompts_one_line_each(run_pipe):
    status, out, _, connection = run_pipe(Conversation(), Stdin("bob2\nred\nhello\n"))
    assert status == 0
    assert connection.sent[:3] == ["bob2", "red", "hello"]
    assert connection.session.colour == RED
    assert "bob2: hello" in out


def test_stdin_that_only_answered_prompts_ends_after_a_quiet_moment(run_pipe, monkeypatch):
    monkeypatch.setattr(pipe, "QUIET", 0.1)
    status, out, _, connection = run_pipe(Conversation(), Stdin("bob3\n"))
    assert status == 0
    assert connection.sent == ["bob3"]  # no sync: it would have been taken for a colour
    assert "Pick a colour" in out


def test_a_refused_name_ends_it_with_the_reason(run_pipe, make_chatter):
    make_chatter("bot")
    status, _, err, connection = run_pipe(Conversation("bot", RED), Stdin("hi\n"))
    assert status == 1
    assert "the server refused the login: The name 'bot' is taken." in err
    assert connection.sent == ["bot"]


def test_quit_ends_it_cleanly_after_the_goodbye(run_pipe):
    status, out, _, connection = run_pipe(Conversation("bot", RED), Stdin("a\n/quit bye\n"))
    assert status == 0
    assert out.splitlines()[-1] == "*** Goodbye!"
    assert not any(line.startswith("/chatroom-client-sync") for line in connection.sent)


def test_the_server_going_away_is_said_plainly(run_pipe, hall):
    async def shut_down(connection):
        await until(lambda: connection.session.online)
        hall.shutdown()

    status, out, err, _ = run_pipe(Conversation("bot", RED), Stdin("", end=False), during=shut_down)
    assert status == 1
    assert "The server is going down" in out
    assert err == "chatroom-client: Server is down, you are now disconnected.\n"


def test_a_kick_is_said_as_a_kick(run_pipe):
    status, out, err, _ = run_pipe(Conversation("bot", RED), Stdin("HELLO THERE\nSTOP IT NOW\n", end=False))
    assert status == 1
    assert "You have been kicked for shouting" in out
    assert "kicked for shouting" in err


def test_a_server_that_never_catches_up_is_given_up_on(run_pipe, monkeypatch):
    monkeypatch.setattr(pipe, "DRAIN_TIMEOUT", 0.2)

    class Deaf(HallConnection):
        async def send(self, line: str) -> None:
            if not line.startswith("/chatroom-client-sync"):
                await super().send(line)

    status, _, err, _ = run_pipe(Conversation("bot", RED), Stdin("hi\n"), connection_type=Deaf)
    assert status == 1
    assert "did not answer within 0.2 seconds" in err


def test_a_long_input_is_paced_by_round_trips_so_the_flood_limit_never_kicks_it(run_pipe, make_chatter, clock):
    bob = make_chatter("bob")
    lines = [f"line {i}" for i in range(100)]  # sent at once, 90 would wait and the sender be kicked

    async def time_passes(connection):  # the server's flood limit lets lines through as its clock runs
        for _ in range(400):
            await asyncio.sleep(0.005)
            clock.advance(0.5)

    stdin = Stdin("".join(f"{x}\n" for x in lines))
    status, out, err, connection = run_pipe(Conversation("bot", RED), stdin, during=time_passes)
    assert status == 0, err
    assert "kicked" not in out
    assert bob.read().count("bot: line") == 100
    said = connection.sent[2:]  # after the name and colour
    assert [x for x in said if not x.startswith("/chatroom-client-sync-")] == lines
    unconfirmed = 0
    for line in said:  # never more than a window between round trips: within the server's burst
        unconfirmed = 0 if line.startswith("/chatroom-client-sync-") else unconfirmed + 1
        assert unconfirmed <= pipe.WINDOW < Settings.flood_burst


# Registered names (the server's side stood in for by client_doubles.PasswordGate).


def test_a_registered_name_logs_in_with_the_password_given(run_pipe):
    conversation = Conversation("dora", server_picks_colour=True, password=PASSWORD)
    status, out, err, connection = run_pipe(conversation, Stdin("hi\n"))
    assert status == 0, err
    assert connection.sent[:3] == ["dora", PASSWORD, "hi"]  # no colour: a registered name keeps its own
    assert "*** Password for dora:" in out and "dora: hi" in out
    assert PASSWORD not in out + err


def test_without_a_password_file_the_next_line_of_stdin_answers_the_password_prompt(run_pipe):
    status, out, err, connection = run_pipe(Conversation(), Stdin(f"dora\n{PASSWORD}\nhello\n"))
    assert status == 0, err
    assert connection.sent[:3] == ["dora", PASSWORD, "hello"]
    assert "dora: hello" in out and PASSWORD not in out + err


@pytest.mark.parametrize("from_file", [True, False])
def test_a_wrong_password_ends_it_at_once_without_sending_it_again(run_pipe, from_file):
    if from_file:
        conversation, stdin = Conversation("dora", password="not the one", server_picks_colour=True), Stdin("hi\n")
    else:
        conversation, stdin = Conversation(), Stdin("dora\nnot the one\nhi\n")
    status, out, err, connection = run_pipe(conversation, stdin)
    assert status == 1
    assert err == "chatroom-client: wrong password for dora\n"
    assert connection.sent == ["dora", "not the one"]
    assert connection.gate.passwords_heard == ["not the one"]
    assert out.splitlines()[-1] == "*** Wrong password for dora."
    assert "not the one" not in out


def test_an_address_locked_out_is_told_why(run_pipe):
    class LockedOut(HallConnection):
        def __init__(self, hall):
            super().__init__(hall)
            self.gate._answer_password = self._locked

        def _locked(self, raw: str) -> None:
            self.session.notice("Too many wrong passwords from your address: try again in 10 minutes. Goodbye!")
            self.session.lost()
            self.peer.disconnect()

    conversation = Conversation("dora", password=PASSWORD, server_picks_colour=True)
    status, _, err, _ = run_pipe(conversation, Stdin("hi\n", end=False), connection_type=LockedOut)
    assert status == 1
    assert err == (
        "chatroom-client: the server refused the login: "
        "Too many wrong passwords from your address: try again in 10 minutes.\n"
    )


# The transcript.


def test_the_transcript_has_every_line_printed_and_complained_with_its_date_and_time(run_pipe, hall, tmp_path):
    log = tmp_path / "logs" / "session.log"

    async def say_then_shut_down(connection):
        await until(lambda: "hi {there}" in connection.sent)  # its echo is on its way, before the shutdown's lines
        hall.shutdown()

    conversation = Conversation("dora", password=PASSWORD, server_picks_colour=True)
    status, out, err, connection = run_pipe(
        conversation, Stdin("hi {there}\n", end=False), colour=True, during=say_then_shut_down, log=log
    )
    assert status == 1
    written = log.read_text(encoding="utf-8").splitlines()
    assert all(STAMPED.fullmatch(line) for line in written), written
    lines = [STAMPED.fullmatch(line).group(1) for line in written]
    assert lines[:-1] == [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in out.splitlines()]  # as printed, no colour
    assert "\x1b" in out and not any("\x1b" in line for line in written)
    assert any(re.fullmatch(r"\[\d\d:\d\d\] dora: hi \{there\}", line) for line in lines)
    assert lines[-2].startswith("*** The server is going down")
    assert lines[-1] == "-- Server is down, you are now disconnected."
    assert err.endswith("Server is down, you are now disconnected.\n")
    assert PASSWORD not in log.read_text(encoding="utf-8")
    assert "sync" not in log.read_text(encoding="utf-8")


def test_the_transcript_of_a_wrong_password_says_so_and_never_holds_it(run_pipe, tmp_path):
    log = tmp_path / "session.log"
    status, _, _, _ = run_pipe(Conversation(), Stdin("dora\nnot the one\n"), log=log)
    assert status == 1
    text = log.read_text(encoding="utf-8")
    assert "*** Password for dora:" in text and text.endswith(" -- wrong password for dora\n")
    assert "not the one" not in text


def test_a_password_typed_on_a_terminal_for_stdin_is_not_shown(hall):
    """stdin a terminal, stdout not (`chatroom-client > file`): the terminal hides the password as it is typed."""
    master, terminal = os.openpty()
    out, err = io.StringIO(), io.StringIO()

    def echoing() -> bool:
        return bool(termios.tcgetattr(terminal)[3] & termios.ECHO)

    async def go() -> int:
        client = PipeClient(Conversation(), HallConnection(hall), terminal, out, err)
        task = asyncio.create_task(client.run())
        os.write(master, b"dora\n")
        await until(lambda: client.conversation.person_types_password and not echoing())
        os.write(master, f"{PASSWORD}\n".encode())
        await until(lambda: client.conversation.online)
        assert echoing()  # back as it was
        os.write(master, b"hi\n\x04")  # a line, then Ctrl-D: the end of stdin
        status = await asyncio.wait_for(task, 15)
        client.stdin_reader.join(5)
        return status

    try:
        assert echoing()
        status = asyncio.run(go())
        os.set_blocking(master, False)
        shown = os.read(master, 65536)
    finally:
        os.close(master)
        os.close(terminal)
    assert status == 0, err.getvalue()
    assert b"dora" in shown and b"hi" in shown  # what else was typed, the terminal showed
    assert PASSWORD.encode() not in shown
