"""Hypothesis: whatever bytes arrive, in whatever pieces, nothing raises and the lines are the same."""

from __future__ import annotations

import contextlib
import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from loguru import logger
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from chatroom.adapters.line import ChatFactory
from chatroom.core.hall import Hall
from conftest import plain

MAX_LINE = 64
CHAT_LINE = re.compile(r"\[\d\d:\d\d\] (?:\[all\] )?\x1b\[[0-9;]+m[^\x1b]+\x1b\[0m: (.*)")

# Pieces that exercise every path: text, every line ending, telnet commands,
# half-finished telnet commands, an escaped 0xFF, NUL, and invalid UTF-8.
PIECES = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=20).map(str.encode),
    st.sampled_from(
        [
            b"\r",
            b"\n",
            b"\r\n",
            b"\r\0",
            b"\xff",
            b"\xff\xff",
            b"\xff\xfb\x18",
            b"\xff\xfd\x01",
            b"\xff\xfa\x18\x00",
            b"\xff\xf0",
            b"\xff\xf4",
            b"\x1b[2J",
            b"/join x\n",
            b"HELLO WORLD\n",
            b"z" * 70,
        ]
    ),
)
STREAMS = st.lists(PIECES, max_size=30).map(b"".join)


class Recorder:
    """Stands in for the hall and for the session, recording what the adapter hands the core."""

    def __init__(self):
        self.events: list[tuple] = []
        self.clock = self  # delayed calls happen at once, so their order is recorded as it is

    def callLater(self, delay, function, *args):
        function(*args)

    def connect(self, peer):
        return self

    def line(self, text):
        self.events.append(("line", text))

    def line_too_long(self, limit):
        self.events.append(("too long",))

    def interrupted(self):
        self.events.append(("interrupt",))

    def lost(self, detail=""):
        self.events.append(("lost",))

    def together(self):
        return contextlib.nullcontext()


def feed(chunks: list[bytes]) -> list[tuple]:
    recorder = Recorder()
    protocol = ChatFactory(recorder, max_line=MAX_LINE).buildProtocol(None)
    protocol.makeConnection(StringTransport())
    for chunk in chunks:
        protocol.dataReceived(chunk)
    return recorder.events


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({0, len(data), *(c % (len(data) + 1) for c in cuts)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(STREAMS, st.lists(st.integers(min_value=0), max_size=20))
@example(b"\r\n\n", [1, 2])  # a '\n' read alone after a '\r' once swallowed the next empty line
def test_any_chunking_gives_the_same_lines(data, cuts):
    assert feed(split(data, cuts)) == feed([data])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.binary(max_size=30).filter(lambda b: b"\xff" not in b), st.sampled_from([b"\r", b"\n", b"\r\n"])),
        max_size=20,
    ).map(b"".join)
)
def test_lines_match_a_simple_model_when_there_is_no_telnet(data):
    """Without IAC bytes: split on any of the three endings; over-long lines are refused."""
    *lines, _unfinished = re.split(rb"\r\n|\r\0|\r|\n", data)  # CR NUL is telnet's bare CR
    expected = []
    for line in lines:
        expected.append(("too long",) if len(line) > MAX_LINE else ("line", line.decode("utf-8", "replace")))
    if len(_unfinished) > MAX_LINE:
        expected.append(("too long",))
    assert feed([data]) == expected


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STREAMS, min_size=1, max_size=4), st.lists(st.integers(min_value=0), max_size=10))
def test_a_real_hall_survives_any_bytes_and_others_see_only_whole_server_made_lines(streams, cuts):
    errors: list[str] = []
    sink = logger.add(errors.append, level="ERROR", format="{message}")
    try:
        factory = ChatFactory(Hall(Clock()), max_line=MAX_LINE)
        watcher_transport = StringTransport()
        watcher = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 1))
        watcher.makeConnection(watcher_transport)
        watcher.dataReceived(b"watcher\nred\n")
        for number, stream in enumerate(streams):
            transport = StringTransport()
            fuzzer = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 2 + number))
            fuzzer.makeConnection(transport)
            fuzzer.dataReceived(f"fuzz{number}\n\n".encode())
            for chunk in split(stream, cuts):
                fuzzer.dataReceived(chunk)
        watcher.dataReceived(b"/who\n")
    finally:
        logger.remove(sink)
    assert errors == []
    factory.batch.flush()
    seen = watcher_transport.value()
    assert seen.endswith(b"\r\n")
    for raw in seen.decode().split("\r\n")[:-1]:
        said = CHAT_LINE.match(raw)
        if said:  # what a chatter typed, after their coloured name, holds no escape or control at all
            assert not re.search(r"[\x00-\x1f\x7f-\x9f]", said.group(1)), raw
    for line in plain(seen).split("\r\n")[:-1]:
        assert re.match(r"(\*\*\* |\[\d\d:\d\d\] (\*\*\* |\* |\[all\] |\[private\] )?(fuzz\d|watcher)[ :])", line), line
        assert not re.search(r"[\x00-\x08\x0a-\x1f\x7f]", line.replace("\x1b", "")), line
