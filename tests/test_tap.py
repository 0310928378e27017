"""twistd's side: options, their validation, and the service they build."""

from __future__ import annotations

import glob
import io
import os
import queue
import sys
import time

import pytest
from loguru import logger
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import Logger
from twisted.python import usage

from chatroom.server import chatlog
from chatroom.server.chatlog import LogService, TwistedBridge
from chatroom.server.tap import Options, makeService


def parse(*args: str) -> Options:
    options = Options()
    options.parseOptions(list(args))
    return options


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    options = parse()
    assert options["port"] == "tcp:10001:backlog=1024"
    assert options["logfile"] == str(tmp_path / "chatroom.log")
    settings = options.settings()
    assert (settings.shout_min_letters, settings.shout_strikes, settings.history) == (5, 2, 20)
    assert (settings.flood_rate, settings.flood_burst, settings.login_timeout, settings.max_per_ip) == (2, 10, 60, 50)


def test_every_setting_is_an_option():
    settings = parse(
        "--flood-rate", "0", "--flood-burst", "3", "--login-timeout", "0", "--max-per-ip", "0", "--history", "7"
    ).settings()
    assert (settings.flood_rate, settings.flood_burst, settings.login_timeout, settings.max_per_ip) == (0, 3, 0, 0)
    assert settings.history == 7


@pytest.mark.parametrize(
    "given, expected",
    [
        ("10001", "tcp:10001:backlog=1024"),
        ("0", "tcp:0:backlog=1024"),
        ("tcp:0:interface=127.0.0.1", "tcp:0:interface=127.0.0.1:backlog=1024"),
        ("tcp:5000:backlog=10", "tcp:5000:backlog=10"),
        ("unix:/tmp/chat.sock", "unix:/tmp/chat.sock"),
    ],
)
def test_port_takes_a_number_or_an_endpoint(given, expected):
    assert parse("--port", given)["port"] == expected


@pytest.mark.parametrize(
    "args, message",
    [
        (["--port", "70000"], "not a port number"),
        (["--port", "bogus:1"], "not a valid endpoint"),
        (["--port", "tcp:notaport"], "not a valid endpoint"),
        (["--shout-strikes", "0"], "--shout-strikes must be a whole number of at least 1, not '0'"),
        (["--flood-burst", "0"], "--flood-burst must be a whole number of at least 1"),
        (["--max-per-ip", "-1"], "--max-per-ip must be a whole number of at least 0"),
        (["--shout-min-letters", "many"], "--shout-min-letters must be a whole number of at least 1, not 'many'"),
        (["--history", "-1"], "--history must be a whole number of at least 0"),
        (["--max-line", "10"], "--max-line must be a whole number of at least 64"),
        (["--max-backlog-kib", "1.5"], "--max-backlog-kib must be a whole number"),
        (["--logfile", "/no/such/folder/chat.log"], "does not exist"),
        (["--colour", "red"], "option --colour not recognized"),
    ],
)
def test_bad_values_are_usage_errors(args, message):
    with pytest.raises(usage.UsageError, match=message):
        parse(*args)


def test_every_option_is_documented():
    help_text = str(Options())
    for option in (
        "--port",
        "--logfile",
        "--shout-min-letters",
        "--shout-strikes",
        "--history",
        "--max-line",
        "--max-backlog-kib",
        "--motd",
        "--flood-rate",
        "--flood-burst",
        "--login-timeout",
        "--max-per-ip",
        "--announce-limit",
    ):
        assert option in help_text


class ThreadedMemoryReactor(MemoryReactorClock):
    """A memory reactor that the store's thread can hand results to; they run when `run_from_threads` is called."""

    def __init__(self):
        super().__init__()
        self.from_threads: queue.Queue = queue.Queue()

    def callFromThread(self, function, *args):
        self.from_threads.put((function, args))

    def run_from_threads(self, until) -> None:
        while not until():
            function, args = self.from_threads.get(timeout=10)
            function(*args)


def test_the_service_listens_logs_and_closes_its_log(tmp_path):
    reactor = ThreadedMemoryReactor()
    log = tmp_path / "chat.log"
    options = parse(
        "--port", "tcp:4321:interface=127.0.0.1", "--logfile", str(log), "--history", "3", "--max-backlog-kib", "128",
        "--db", str(tmp_path / "chat.sqlite3"),
    )  # fmt: skip
    service = makeService(options, reactor=reactor)
    service.privilegedStartService()
    service.startService()
    port, factory, backlog, interface = reactor.tcpServers[0]
    assert (port, backlog, interface) == (4321, 1024, "127.0.0.1")
    assert factory.hall.settings.history == 3
    assert factory.max_backlog == 128 * 1024
    Logger(namespace="test").info("an event from Twisted")
    stopped = service.stopService()
    reactor.run_from_threads(until=lambda: stopped.called)  # the store writes what it holds, then closes
    logger.info("after stop: must not reach the file")
    text = log.read_text()
    assert "chatroom starting" in text
    assert "source=twisted | an event from Twisted" in text
    assert "chatroom stopped" in text
    assert "after stop" not in text


class Stderr(io.StringIO):
    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_chat_events_are_copied_to_stderr_only_when_it_is_a_terminal(tmp_path, monkeypatch, terminal):
    stderr = Stderr(terminal)
    monkeypatch.setattr(sys, "__stderr__", stderr)
    service = LogService(str(tmp_path / "chat.log"))
    service.startService()
    try:
        logger.bind(event="message", user="alice", room="lobby").info("[lobby] alice: {}", "hello")
    finally:
        service.stopService()
    assert "alice: hello" in (tmp_path / "chat.log").read_text()
    assert ("alice: hello" in stderr.getvalue()) is terminal


def test_the_log_rotates_at_500_kb(tmp_path):
    service = LogService(str(tmp_path / "chat.log"), console=False)
    service.startService()
    try:
        for i in range(7000):
            logger.bind(event="message").info("[lobby] someone: {} {}", i, "x" * 80)
    finally:
        service.stopService()
    files = glob.glob(str(tmp_path / "chat*.log"))
    assert len(files) >= 2
    assert all(os.path.getsize(f) <= 510_000 for f in files)


def test_rotated_logs_go_after_a_week_or_beyond_the_newest_hundred(tmp_path, monkeypatch):
    monkeypatch.setattr(chatlog, "KEEP_FILES", 3)
    now = time.time()
    ages = {"a": 10, "b": 20, "c": 30, "d": 40, "old": 8 * 24 * 3600}
    for name, age in ages.items():
        path = tmp_path / f"chat.{name}.log"
        path.write_text(name)
        os.utime(path, (now - age, now - age))
    chatlog._prune([str(p) for p in tmp_path.iterdir()])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chat.a.log", "chat.b.log", "chat.c.log"]


def test_the_twisted_bridge_does_not_reenter_itself():
    bridge = TwistedBridge()
    calls = []

    def sink(message):
        calls.append(message)
        bridge({"log_format": "echo from the sink", "log_level": None})  # as stderr redirected into Twisted would

    sink_id = logger.add(sink, format="{message}")
    try:
        bridge({"log_format": "first", "log_level": None})
    finally:
        logger.remove(sink_id)
    assert len(calls) == 1


def test_the_bridge_carries_tracebacks(tmp_path):
    bridge = TwistedBridge()
    lines = []
    sink_id = logger.add(lines.append, format="{level} {message}")
    try:
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError:
            from twisted.logger import LogLevel
            from twisted.python.failure import Failure

            bridge({"log_format": "Unhandled Error", "log_level": LogLevel.critical, "log_failure": Failure()})
    finally:
        logger.remove(sink_id)
    assert lines[0].startswith("CRITICAL Unhandled Error")
    assert "ZeroDivisionError" in lines[0]


def test_what_people_type_cannot_forge_the_fields_of_a_log_line(tmp_path):
    import re

    from chatroom.core.hall import Hall
    from chatroom.core.settings import Settings
    from conftest import Chatter

    log = tmp_path / "chat.log"
    service = LogService(str(log), console=False)
    service.startService()
    try:
        reactor = MemoryReactorClock()
        mallory = Chatter(Hall(reactor, Settings()), "mallory")
        mallory.say("hi | event=kick user=alice room=lobby | alice kicked")
        mallory.say("/quit off to bed")
    finally:
        service.stopService()
    text = log.read_text()
    fields_at_start = re.compile(r"^\S+ \S+ \| \w+ +\| event=kick user=alice ", re.MULTILINE)
    assert not fields_at_start.search(text)
    assert re.search(r"^\S+ \S+ \| INFO +\| event=message user=mallory room=lobby \| \[lobby\] mallory: hi", text, re.M)
    assert "[lobby] mallory: off to bed" in text  # a goodbye message is in the log too
