"""The Twisted adapter, driven with StringTransport: bytes in, bytes out."""

from __future__ import annotations

import gc
import re
import weakref

import pytest
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from chatroom.adapters.connections import Connections
from chatroom.adapters.line import LINGER, LINGER_BYTES, ChatFactory
from chatroom.adapters.telnet import DO, DONT, IAC, IP, WILL, WONT
from conftest import plain

MAX_LINE = 100


class Client:
    """One connection to the factory over a StringTransport."""

    _port = 40000

    def __init__(self, factory: ChatFactory, host: str = "10.1.2.3"):
        Client._port += 1
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", host, Client._port))
        self.factory = factory
        self.protocol = factory.buildProtocol(self.transport.getPeer())
        self.protocol.makeConnection(self.transport)

    def send(self, data: bytes) -> str:
        self.protocol.dataReceived(data)
        return self.read()

    def written(self) -> bytes:
        """What the server wrote, once the reactor pass that sent it has ended."""
        self.factory.batch.flush()
        return self.transport.value()

    def read(self) -> str:
        out = plain(self.written())
        self.transport.clear()
        return out

    def close(self) -> None:
        self.protocol.connectionLost(Failure(ConnectionDone()))


@pytest.fixture
def factory(hall):
    return ChatFactory(hall, max_line=MAX_LINE, max_backlog=4096)


@pytest.fixture
def login(factory):
    clients: list[Client] = []

    def make(name: str, ending: bytes = b"\n") -> Client:
        client = Client(factory)
        client.send(name.encode() + ending + b"red" + ending)
        clients.append(client)
        for c in clients:
            c.read()
        return client

    return make


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r", b"\r\0"])
def test_every_line_ending_works(login, ending):
    alice, bob = login("alice", ending), login("bob")
    alice.send(b"one" + ending + b"two" + ending)
    text = bob.read()
    assert "alice: one\r\n" in text and "alice: two\r\n" in text
    assert alice.protocol.session.colour.name == "red"


def test_a_lone_cr_ends_the_line_at_once(login):
    alice, bob = login("alice"), login("bob")
    alice.send(b"now\r")
    assert "alice: now" in bob.read()


def test_crlf_split_across_reads_is_one_line_end(factory):
    client = Client(factory)
    answers = client.send(b"alice\r") + client.send(b"\nred\r")
    assert "You are online" in answers
    assert client.protocol.session.colour.name == "red"  # the '\n' did not answer the colour prompt


def test_a_long_line_is_refused_and_the_connection_kept(login):
    alice, bob = login("alice"), login("bob")
    answer = alice.send(b"x" * (MAX_LINE + 1) + b"\nafter\n")
    assert f"longer than {MAX_LINE} bytes" in answer
    assert not alice.transport.disconnecting
    text = bob.read()
    assert "xxx" not in text and "alice: after" in text


def test_a_long_line_arriving_in_pieces_is_refused_once(login):
    alice, bob = login("alice"), login("bob")
    answers = "".join(alice.send(b"y" * 60) for _ in range(10))
    answers += alice.send(b"yyy\nnext\n")
    assert answers.count("longer than") == 1
    text = bob.read()
    assert "yyy" not in text and "alice: next" in text


def test_a_line_of_exactly_the_limit_is_fine(login):
    alice, bob = login("alice"), login("bob")
    body = b"z" * MAX_LINE
    alice.send(body + b"\n")
    assert body.decode() in bob.read()


def test_bytes_that_are_not_utf8_are_replaced(login):
    alice, bob = login("alice"), login("bob")
    alice.send(b"caf\xe9 \xc3\x28 ok\n")
    assert "alice: caf\ufffd \ufffd( ok" in bob.read()


def test_utf8_split_across_reads_survives(login):
    alice, bob = login("alice"), login("bob")
    data = "héllo wörld\n".encode()
    alice.send(data[:2])
    alice.send(data[2:])
    assert "alice: héllo wörld" in bob.read()


def test_telnet_negotiation_is_answered_and_never_shown(login, factory):
    alice = login("alice")
    client = Client(factory)
    client.read()
    client.protocol.dataReceived(bytes([IAC, WILL, 31, IAC, DO, 3]) + b"bob\r\n")
    reply = client.written()
    assert reply.startswith(bytes([IAC, DONT, 31, IAC, WONT, 3]))
    client.send(b"green\r\nhi" + bytes([IAC, 244]) + b" all\r\n")
    assert "bob: hi all\r\n" in alice.read()


def test_escape_sequences_do_not_reach_others(login):
    alice, bob = login("alice"), login("bob")
    alice.send(b"\x1b[2J\x1b[31mred alert\x07\n")
    raw = bob.written()
    assert b"\x1b[2J" not in raw and b"\x07" not in raw and b"\x1b[31mred" not in raw


def test_every_line_the_server_sends_ends_with_crlf(login):
    alice = login("alice")
    for command in (b"/help", b"/who", b"/list", b"/time", b"hello", b"/nope"):
        alice.protocol.dataReceived(command + b"\n")
    sent = alice.written()
    assert sent.endswith(b"\r\n")
    assert b"\n" not in sent.replace(b"\r\n", b"") and b"\r" not in sent.replace(b"\r\n", b"")


def test_the_log_records_the_connection_address(factory, hall):
    from loguru import logger

    lines: list[str] = []
    sink = logger.add(lines.append, format="{message}")
    try:
        Client(factory)
    finally:
        logger.remove(sink)
    assert any("connection from 10.1.2.3:" in line for line in lines)


def test_a_client_that_stops_reading_is_cut_off_and_nobody_else_loses_a_line(login, clock):
    alice, bob, slow = login("alice"), login("bob"), login("slow")
    slow.protocol._backlog.pauseProducing()  # what the transport does when its buffer fills
    queued_at_cut = None
    for i in range(200):
        alice.send(f"line {i} ".encode() + b"." * 40 + b"\n")
        clock.advance(1)  # at a pace the flood limit lets through
        if queued_at_cut is None and slow.transport.disconnected:
            queued_at_cut = len(slow.written())
    assert queued_at_cut is not None  # abortConnection: no waiting for a reader that never reads
    assert 4096 < queued_at_cut <= 4096 + 100  # cut by the line that crossed the 4096-byte cap
    assert len(slow.written()) == queued_at_cut  # and not written to after that
    slow.close()
    got = bob.read()
    assert all(f"alice: line {i} " in got for i in range(200))
    assert "slow left the chat (too far behind: stopped reading)." in got


def test_a_paused_client_that_catches_up_is_kept(login):
    alice, slow = login("alice"), login("slow")
    for _ in range(5):
        slow.protocol._backlog.pauseProducing()
        for _ in range(20):
            alice.send(b"." * 60 + b"\n")
        slow.protocol._backlog.resumeProducing()
    assert not slow.transport.disconnecting


def test_connection_lost_before_login_is_quiet(login, factory, hall):
    alice = login("alice")
    client = Client(factory)
    client.close()
    assert alice.read() == ""
    assert client.protocol not in factory.connections
    assert len(hall.sessions) == 1


def test_quit_closes_the_connection_and_ignores_the_rest(login):
    alice, bob = login("alice"), login("bob")
    alice.send(b"/quit\nafter quit\n")
    assert alice.transport.disconnecting
    assert "after quit" not in bob.read()


def test_ctrl_c_in_telnet_gets_a_hint_after_its_timing_mark_is_answered(login, clock):
    alice, bob = login("alice"), login("bob")
    alice.protocol.dataReceived(bytes([IAC, IP, IAC, DO, 6]))  # what telnet sends for Ctrl-C
    assert alice.written() == bytes([IAC, WONT, 6])  # telnet discards output until this
    clock.advance(0)
    assert "Ctrl-C does nothing here: type /quit to leave." in alice.read()
    assert bob.read() == ""


def test_telnet_replies_to_a_client_that_never_reads_stay_bounded(factory):
    client = Client(factory)
    client.protocol._backlog.pauseProducing()
    for option in range(256):
        client.protocol.dataReceived(bytes([IAC, DO, option, IAC, WILL, option]) * 50)
    assert len(client.written()) < 4096 + 256 * 6 + 500


def test_a_connection_over_the_per_address_cap_is_told_why_and_closed(hall):
    factory = ChatFactory(hall, connections=Connections(3))
    first, *_ = [Client(factory) for _ in range(3)]
    extra = Client(factory)
    assert extra.read() == "*** Too many connections from your address (the limit is 3). Goodbye!\r\n"
    assert extra.transport.disconnecting
    assert len(hall.sessions) == 3  # the refused one never reached the hall
    assert "What is your name?" in Client(factory, host="10.9.9.9").read()  # other addresses are not affected
    first.close()
    assert "What is your name?" in Client(factory).read()  # a freed place can be taken again


def test_a_per_address_cap_of_zero_is_no_cap(hall):
    factory = ChatFactory(hall, connections=Connections(0))
    clients = [Client(factory) for _ in range(200)]
    assert not any(client.transport.disconnecting for client in clients)
    assert len(hall.sessions) == 200


def test_a_paste_sent_with_the_login_lines_goes_through_whole(login, factory):
    bob = login("bob")
    bot = Client(factory)
    paste = b"".join(b"pasted line %d\n" % i for i in range(10))
    answer = bot.send(b"bot\nred\n" + paste)
    assert "Slow down" not in answer
    got = bob.read()
    assert all(f"bot: pasted line {i}\r\n" in got for i in range(10))


@pytest.mark.parametrize(
    "attempt",
    [
        b"*** alice was kicked for shouting.",
        b"\x1b[2K\r[12:00] teacher: hand in your phones",  # erase the line, then a fake one
        b"hi\r[12:00] teacher: a bare CR is a line of its own",
        b"hi\xe2\x80\xa8[12:00] teacher: a Unicode line separator",
        b"hi\xc2\x85[12:00] teacher: a C1 next-line",
        b"\xe2\x80\xaeevil: right-to-left override",
        b"\x1b]0;pwned\x07\x1b[8mhidden\x1bPq#0~~\x1b\\",
        b"hi" + b" " * 300 + b"[12:00] teacher: pushed onto a line of its own by spaces",
    ],
)
def test_nothing_typed_can_forge_a_line_of_the_server_or_of_someone_else(login, clock, attempt):
    watcher, mallory = login("watcher"), login("mallory")
    watcher.read()
    mallory.send(attempt + b"\n")
    raw = watcher.written().decode()
    lines = raw.split("\r\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        speaker, said = re.fullmatch(r"\[\d\d:\d\d\] \x1b\[[0-9;]+m(\w+)\x1b\[0m: (.*)", line).groups()
        assert speaker == "mallory"
        assert not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]", said), said
        assert "  " not in said


class HalfClosingTransport(StringTransport):
    """A StringTransport that can close its writing side only, as TCP can."""

    write_closed = False
    aborted = False

    def loseWriteConnection(self):
        self.write_closed = True

    def abortConnection(self):
        self.aborted = True


def test_a_kicked_client_still_typing_gets_its_notice_before_the_socket_closes(hall, clock):
    factory = ChatFactory(hall)
    transport = HalfClosingTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 1))
    protocol = factory.buildProtocol(transport.getPeer())
    protocol.makeConnection(transport)
    protocol.dataReceived(b"flooder\nred\n" + b"".join(b"spam %d\n" % i for i in range(200)))
    factory.batch.flush()
    assert b"kicked for flooding" in transport.value()
    assert transport.write_closed and not transport.disconnecting  # our side done, still reading
    transport.clear()
    protocol.dataReceived(b"/who\nmore spam\n")
    factory.batch.flush()
    assert transport.value() == b""  # read and ignored, so the kernel never resets the connection
    assert not transport.aborted
    clock.advance(LINGER)
    assert transport.aborted  # a client that never closes its side is not waited for


def test_a_kicked_client_that_keeps_flooding_is_cut_without_waiting(hall):
    factory = ChatFactory(hall)
    transport = HalfClosingTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 1))
    protocol = factory.buildProtocol(transport.getPeer())
    protocol.makeConnection(transport)
    protocol.dataReceived(b"flooder\nred\n" + b"".join(b"spam %d\n" % i for i in range(200)))
    assert transport.write_closed and not transport.aborted
    for _ in range(LINGER_BYTES // 60_000 + 1):
        protocol.dataReceived(b"spam\n" * 12_000)  # 60 KB a read, as fast as the socket takes it
    assert transport.aborted  # past LINGER_BYTES: a script, not a person finishing a line


def test_a_client_that_closes_after_the_goodbye_leaves_no_timer(hall, clock):
    factory = ChatFactory(hall)
    transport = HalfClosingTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 1))
    protocol = factory.buildProtocol(transport.getPeer())
    protocol.makeConnection(transport)
    protocol.dataReceived(b"alice\nred\n/quit\n")
    assert transport.write_closed
    protocol.connectionLost(Failure(ConnectionDone()))
    clock.advance(0)  # the end of the reactor pass
    assert not clock.getDelayedCalls()


def test_a_closed_connection_is_freed_without_the_cycle_collector(login, factory):
    login("alice")
    client = login("bob")
    client.send(b"hello\n")
    protocol, session = weakref.ref(client.protocol), weakref.ref(client.protocol.session)
    gc.collect()
    gc.disable()  # what a busy chat is like: bytes and str never prompt a collection
    try:
        client.close()
        factory.batch.flush()
        client.protocol = None
        client.transport = None
        assert session() is None and protocol() is None
    finally:
        gc.enable()


def test_a_long_lines_error_comes_after_the_answers_to_the_lines_before_it(login, clock):
    alice = login("alice")
    earlier = b"".join(b"line %d\n" % i for i in range(14))  # past the flood burst: the last ones wait their turn
    got = alice.send(earlier + b"x" * (MAX_LINE + 1) + b"\nafter\n")
    for _ in range(50):
        clock.advance(0.1)
        got += alice.read()
    assert re.findall(r"line \d+|longer than|after", got) == [f"line {i}" for i in range(14)] + ["longer than", "after"]


def test_a_long_line_sent_with_the_login_is_refused_after_the_prompt_that_came_before_it(hall, factory):
    waiting = Deferred()
    hall.accounts.find = lambda name: waiting  # the store has not answered yet: a name is looked up
    client = Client(factory)
    client.read()
    got = client.send(b"zed\n" + b"x" * (MAX_LINE + 1) + b"\nred\n")
    assert got == ""
    waiting.callback(None)
    got = client.read()
    assert re.findall(r"Pick a colour|longer than|Welcome", got) == ["Pick a colour", "longer than", "Welcome"]
