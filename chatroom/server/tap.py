"""`twistd chatroom`: its options, and the service they build."""

from __future__ import annotations

import os
from dataclasses import fields

from loguru import logger
from twisted.application import strports
from twisted.internet.endpoints import serverFromString
from twisted.internet.error import CannotListenError
from twisted.python import usage

from chatroom.adapters.connections import Connections
from chatroom.adapters.line import ChatFactory
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings
from chatroom.server.chatlog import LogService
from chatroom.server.passwords import ThreadedPasswords
from chatroom.server.service import ChatService, SanctionsRefresh
from chatroom.server.storage import StoreService, is_postgresql, make_store
from chatroom.store.sqlite import MEMORY, MEMORY_KEPT

DEFAULT_PORT = 10001
LISTEN_BACKLOG = 1024  # Twisted's default of 50 overflows when a class logs in at once


def _whole_number(name: str, low: int, doc: str) -> list:
    """An optParameters row for the integer setting `name`, its default taken from Settings.

    A bad value is a usage error that names the option.
    """

    def coerce(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < low:
            raise usage.UsageError(f"--{name} must be a whole number of at least {low}, not {value!r}.")
        return number

    coerce.coerceDoc = f"A whole number, at least {low}."
    return [name, None, getattr(Settings, name.replace("-", "_")), doc, coerce]


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = (
        "A chat server for telnet, nc and chatroom-client users, with rooms, private "
        "messages and a moderator that warns, then kicks, anyone who shouts in capitals."
    )
    optParameters = [
        ["port", "p", str(DEFAULT_PORT),
         "Where to listen: a port number, or a Twisted endpoint description such as "
         "tcp:10001:interface=127.0.0.1 or ssl:10002:privateKey=key.pem:certKey=cert.pem."],
        ["web", None, None,
         "Also serve the web page, and its chat over a WebSocket, here: a port number or an endpoint "
         "description (ssl:8443:privateKey=key.pem:certKey=cert.pem serves https and wss). No web page without it."],
        ["logfile", "l", "chatroom.log", "The log file; rotated at 500 KB, rotated files deleted after a week."],
        ["db", None, "chatroom.sqlite3",
         "The store: a SQLite file for the rooms' history and the registered names, made if missing "
         "(:memory: keeps nothing on disk), or a PostgreSQL database that several servers may share: "
         "postgresql://USER@HOST:PORT/DBNAME (the password from PGPASSWORD or ~/.pgpass)."],
        _whole_number("history-days", 0, "Lines said in rooms are kept this many days, then deleted (0: for ever)."),
        _whole_number("shout-min-letters", 1, "A line with at least this many letters, all capitals, is a shout."),
        _whole_number("shout-strikes", 1, "Shouts before a kick: earlier shouts are warned, this one is kicked."),
        _whole_number("history", 0, "How many recent lines a room shows to whoever comes in (0 for none)."),
        _whole_number("max-line", 64, "Longest line a client may send, in bytes; longer lines are refused."),
        _whole_number("max-backlog-kib", 64, "KiB queued for a client that is not reading before it is cut off."),
        ["motd", None, "", "A message of the day, shown to everyone as they log in."],
        _whole_number("announce-limit", 0, "Rooms with more people than this do not announce each join and "
                      "leave (a lecture hall of 10,000 would hear of nothing else)."),
        _whole_number("flood-rate", 0, "Lines a second a client may keep sending once its burst is spent; "
                      "faster lines wait, and a client with 30 seconds' worth waiting is kicked (0: no limit)."),
        _whole_number("flood-burst", 1, "Lines a client may send at once (a paste) before it is slowed."),
        _whole_number("login-timeout", 0, "Seconds a connection has to give a name and colour (0: no limit)."),
        _whole_number("max-per-ip", 0, "Connections allowed from one address; a class behind one NAT "
                      "shares an address (0: no limit)."),
    ]  # fmt: skip

    def postOptions(self) -> None:
        self["port"] = _endpoint("port", self["port"])
        if self["web"] is not None:
            self["web"] = _endpoint("web", self["web"])
        self["logfile"] = _in_a_folder("logfile", self["logfile"])
        if self["db"] != MEMORY and not is_postgresql(self["db"]):
            self["db"] = _in_a_folder("db", self["db"])

    def settings(self) -> Settings:
        """Every Settings field comes from the option of the same name."""
        return Settings(**{field.name: self[field.name.replace("_", "-")] for field in fields(Settings)})


def _in_a_folder(option: str, path: str) -> str:
    """`path` made absolute (the server may change folder); its folder must exist."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise usage.UsageError(f"--{option}: the folder {folder} does not exist.")
    return path


def _endpoint(option: str, port: str) -> str:
    """A bare port number becomes tcp:N; every description is checked here, not at listen time."""
    if port.isdigit():
        if not 0 <= int(port) <= 65535:
            raise usage.UsageError(f"--{option}: {port} is not a port number (0-65535).")
        port = f"tcp:{port}"
    if port.startswith("tcp:") and ":backlog=" not in port:
        port = f"{port}:backlog={LISTEN_BACKLOG}"
    from twisted.internet import reactor  # twistd has installed its reactor by now

    try:
        serverFromString(reactor, port)
    except Exception as problem:
        raise usage.UsageError(f"--{option}: {port!r} is not a valid endpoint ({problem}).") from None
    return port


class ServerService(LogService):
    """The whole server: the hall and its listeners, inside the log."""

    def privilegedStartService(self) -> None:
        try:
            super().privilegedStartService()
        except CannotListenError as problem:
            logger.bind(event="start").error("{}", problem)
            raise SystemExit(f"chatroom: {problem}") from None  # a plain message and exit 1, not a traceback


def makeService(options: Options, reactor=None) -> ServerService:
    if reactor is None:
        from twisted.internet import reactor
    settings = options.settings()
    # A :memory: store keeps what a room shows newcomers (--history) and what /history may ask for.
    store = make_store(options["db"], reactor, settings.history_days, max(MEMORY_KEPT, settings.history))
    passwords = ThreadedPasswords(reactor)
    hall = Hall(reactor, settings, store=store, passwords=passwords)
    connections = Connections(settings.max_per_ip)  # telnet and web together
    limits = (settings.max_line, settings.max_backlog_kib * 1024, connections)
    top = ServerService(options["logfile"])
    StoreService(hall, store, passwords).setServiceParent(top)  # first: open before the listeners, closed after
    ChatService(hall, connections, reactor).setServiceParent(top)
    SanctionsRefresh(hall, reactor).setServiceParent(top)
    strports.service(options["port"], ChatFactory(hall, *limits), reactor=reactor).setServiceParent(top)
    if options["web"] is not None:
        from chatroom.adapters.site import WebSite, web_service  # autobahn is imported only for a server with a page
        from chatroom.adapters.web import WebFactory

        site = WebSite(WebFactory(hall, *limits))
        web_service(options["web"], site, reactor).setServiceParent(top)
    return top
