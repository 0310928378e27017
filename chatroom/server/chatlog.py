"""The host's log: a rotating loguru file, with Twisted's own events bridged into it.

The sink is added when the service starts (after twistd has daemonized, so the
file handle survives the fork) and removed when it stops. Chat events carry
structured fields (event, user, room, addr) before the message, so the log
can be grepped by user or room.
"""

from __future__ import annotations

import os
import sys
import time

from loguru import logger
from twisted.application.service import MultiService
from twisted.logger import LogLevel, formatEvent, globalLogPublisher

ROTATION = "500 KB"
KEEP_SECONDS = 7 * 24 * 3600  # rotated files are deleted after a week...
KEEP_FILES = 100  # ...and beyond the newest 100 (50 MB) at once, so a flood of log lines cannot fill the disk

_LEVELS = {
    LogLevel.debug: "DEBUG",
    LogLevel.info: "INFO",
    LogLevel.warn: "WARNING",
    LogLevel.error: "ERROR",
    LogLevel.critical: "CRITICAL",
}


def _prune(rotated: list[str]) -> None:
    """loguru's retention hook: drop rotated files older than a week, or beyond the newest KEEP_FILES."""
    newest_first = sorted(rotated, key=os.path.getmtime, reverse=True)
    now = time.time()
    for index, path in enumerate(newest_first):
        if index >= KEEP_FILES or now - os.path.getmtime(path) > KEEP_SECONDS:
            os.remove(path)


_FIELDS = "fields"  # where _format puts the record's fields as text, in its extra
_WITH_FIELDS = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {extra[fields]} | {message}\n{exception}"
_WITHOUT_FIELDS = "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <7} | {message}\n{exception}"


def _format(record) -> str:
    """Fields first, what people typed last: a grep anchored at the line's start cannot be fooled by chat.

    The fields go into the record as text, and the format is one of two fixed
    strings: loguru parses a format once per distinct string, and a format
    with the fields written into it was a new string for every line (half
    the server's time when a class logs in, measured).
    """
    extra = record["extra"]
    extra[_FIELDS] = " ".join(f"{key}={value}" for key, value in extra.items() if key != _FIELDS)
    return _WITH_FIELDS if extra[_FIELDS] else _WITHOUT_FIELDS


class TwistedBridge:
    """A Twisted log observer that writes each event to loguru.

    Guarded against re-entry: if a sink fails, loguru reports it on stderr,
    which twistd may have redirected into the Twisted log -- and so back here.
    """

    def __init__(self) -> None:
        self._busy = False

    def __call__(self, event: dict) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            text = formatEvent(event)
            failure = event.get("log_failure")
            if failure is not None:
                text = f"{text}\n{failure.getTraceback()}".strip()
            level = _LEVELS.get(event.get("log_level"), "INFO")
            logger.bind(source="twisted").log(level, text)
        finally:
            self._busy = False


class LogService(MultiService):
    """Keeps the log open around its children: opened before they start, closed after they stop."""

    def __init__(self, path: str, console: bool = True):
        super().__init__()
        self.path = path
        self.console = console
        self._bridge = TwistedBridge()
        self._sinks: list[int] = []

    # twistd calls privilegedStartService after daemonizing and before the
    # listener binds, so the log also shows which port it bound.
    def privilegedStartService(self) -> None:
        self._open()
        super().privilegedStartService()

    def startService(self) -> None:
        self._open()
        super().startService()

    def _open(self) -> None:
        if self._sinks:
            return
        try:
            logger.remove(0)  # loguru's default stderr handler
        except ValueError:
            pass
        # diagnose=False: a traceback must not dump local variables (what people typed) into the log.
        common = {"format": _format, "enqueue": False, "diagnose": False}
        self._sinks.append(logger.add(self.path, rotation=ROTATION, retention=_prune, encoding="utf-8", **common))
        if self.console and sys.__stderr__ is not None and sys.__stderr__.isatty():
            # Chat events on the host's terminal too; Twisted's own already go there. Not into a file or a
            # pipe: the log file has them already, and a second copy cost a fifth of a login (measured).
            not_twisted = lambda record: record["extra"].get("source") != "twisted"  # noqa: E731
            self._sinks.append(logger.add(sys.__stderr__, level="INFO", filter=not_twisted, **common))
        globalLogPublisher.addObserver(self._bridge)
        logger.bind(event="start").info("chatroom starting; logging to {}", self.path)

    def stopService(self):
        d = super().stopService()
        d.addBoth(self._close)
        return d

    def _close(self, result):
        logger.bind(event="stop").info("chatroom stopped")
        globalLogPublisher.removeObserver(self._bridge)
        for sink in self._sinks:
            logger.remove(sink)
        self._sinks.clear()
        return result
