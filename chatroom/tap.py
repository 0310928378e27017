"""`twistd chatroom`: its options, and the service they build."""

from __future__ import annotations

import os

from twisted.application import strports
from twisted.internet.endpoints import serverFromString
from twisted.python import usage

from chatroom.chatlog import LogService
from chatroom.hall import Hall
from chatroom.protocol import ChatFactory
from chatroom.service import ChatService
from chatroom.settings import Settings

DEFAULT_PORT = 10001
LISTEN_BACKLOG = 1024  # Twisted's default of 50 overflows when a class logs in at once


def _integer_at_least(low: int):
    def coerce(value: str) -> int:
        number = int(value)
        if number < low:
            raise ValueError(f"{number} is less than {low}")
        return number

    coerce.coerceDoc = f"An integer, at least {low}."
    return coerce


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = (
        "A chat server for telnet, nc and chatroom-client users, with rooms, private "
        "messages and a moderator that warns, then kicks, anyone who shouts in capitals."
    )
    optParameters = [
        [
            "port",
            "p",
            str(DEFAULT_PORT),
            "Where to listen: a port number, or a Twisted endpoint description such as "
            "tcp:10001:interface=127.0.0.1 or ssl:10002:privateKey=key.pem:certKey=cert.pem.",
        ],
        ["logfile", "l", "chatroom.log", "The log file; rotated at 500 KB, rotated files deleted after a week."],
        [
            "shout-min-letters",
            None,
            5,
            "A line with at least this many letters, all capitals, is a shout.",
            _integer_at_least(1),
        ],
        [
            "shout-strikes",
            None,
            2,
            "Shouts before a kick: earlier shouts are warned, this one is kicked.",
            _integer_at_least(1),
        ],
        [
            "history",
            None,
            20,
            "How many recent lines a room shows to whoever comes in (0 for none).",
            _integer_at_least(0),
        ],
        [
            "max-line",
            None,
            4096,
            "Longest line a client may send, in bytes; longer lines are refused.",
            _integer_at_least(64),
        ],
        [
            "max-backlog",
            None,
            1024,
            "KiB queued for a client that is not reading before it is disconnected.",
            _integer_at_least(64),
        ],
        ["motd", None, "", "A message of the day, shown to everyone as they log in."],
    ]

    def postOptions(self) -> None:
        self["port"] = _endpoint(self["port"])
        self["logfile"] = os.path.abspath(self["logfile"])
        folder = os.path.dirname(self["logfile"])
        if not os.path.isdir(folder):
            raise usage.UsageError(f"--logfile: the folder {folder} does not exist.")

    def settings(self) -> Settings:
        return Settings(
            shout_min_letters=self["shout-min-letters"],
            shout_strikes=self["shout-strikes"],
            history=self["history"],
            max_line=self["max-line"],
            motd=self["motd"],
        )


def _endpoint(port: str) -> str:
    """A bare port number becomes tcp:N; every description is checked here, not at listen time."""
    if port.isdigit():
        if not 0 <= int(port) <= 65535:
            raise usage.UsageError(f"--port: {port} is not a port number (0-65535).")
        port = f"tcp:{port}"
    if port.startswith("tcp:") and ":backlog=" not in port:
        port = f"{port}:backlog={LISTEN_BACKLOG}"
    from twisted.internet import reactor  # twistd has installed its reactor by now

    try:
        serverFromString(reactor, port)
    except Exception as problem:
        raise usage.UsageError(f"--port: {port!r} is not a valid endpoint ({problem}).") from None
    return port


def makeService(options: Options, reactor=None) -> LogService:
    if reactor is None:
        from twisted.internet import reactor
    settings = options.settings()
    hall = Hall(reactor, settings)
    factory = ChatFactory(hall, settings.max_line, options["max-backlog"] * 1024)
    top = LogService(options["logfile"])
    ChatService(hall, factory, reactor).setServiceParent(top)
    strports.service(options["port"], factory, reactor=reactor).setServiceParent(top)
    return top
