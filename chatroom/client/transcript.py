"""`--log FILE`: what the session showed, line by line, with the date and time, written through loguru.

The lines are the ones the person saw -- the server's, without colour codes or
anything else `plain` removes, the client's own ("-- Server is down, ..."),
and in a terminal the commands echoed after "> " -- so a password, which is
never shown, is never written either. The file is rotated at 500 KB and
rotated files are deleted after a week, as the host's log is.

loguru has one logger for the whole process: the transcript's records carry a
mark that only its own sink accepts, so nothing else that logs reaches the
file, and the command line removes loguru's default stderr handler (see
`cli.py`), so the transcript never reaches the screen or a pipe.
"""

from __future__ import annotations

from pathlib import Path

from loguru import logger

from chatroom.client.server_text import plain

ROTATION = "500 KB"  # loguru: 500,000 bytes
RETENTION = "1 week"  # checked by loguru when it rotates the file
FORMAT = "{time:YYYY-MM-DD HH:mm:ss} {message}"
_MARK = "chatroom_client_transcript"


class Transcript:
    """The lines a session showed, appended to `path` (created, with its folder, if need be); None writes nothing.

    Opening a file that cannot be written raises OSError at once, so the
    command line can say so before anything else happens.
    """

    def __init__(self, path: str | Path | None = None):
        self._log = logger.bind(**{_MARK: id(self)})
        self._sink: int | None = None
        if path is None:
            return
        self._sink = logger.add(
            path,
            format=FORMAT,
            filter=lambda record: record["extra"].get(_MARK) == id(self),
            colorize=False,
            rotation=ROTATION,
            retention=RETENTION,
            enqueue=False,  # one thread writes, and the line is on disk before the next is shown
            encoding="utf-8",
        )

    def server_line(self, raw: str) -> None:
        self._write(plain(raw))

    def client_line(self, text: str) -> None:
        self._write(f"-- {text}")

    def echo(self, text: str) -> None:
        self._write(f"> {text}")

    def _write(self, line: str) -> None:
        if self._sink is not None:
            # No arguments after the message: loguru then takes it as it is, braces and all.
            self._log.info(plain(line))

    def close(self) -> None:
        if self._sink is not None:
            logger.remove(self._sink)
            self._sink = None
