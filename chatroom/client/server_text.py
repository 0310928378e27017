"""What of the server's text may reach a screen or a pipe.

The server already cleans what chatters type, but a client need not trust
whatever it connects to: only colour sequences (SGR) survive, and only when
colour is wanted. Anything else that could move the cursor, retitle the window
or reorder the line is removed.
"""

from __future__ import annotations

import re

from chatroom.core.text import is_shown, strip_escapes

SGR = re.compile(r"\x1b\[[0-9;]*m")


def plain(line: str) -> str:
    """`line` with every escape sequence and control character removed; tabs become spaces."""
    line = strip_escapes(line.replace("\t", " "))
    if line.isascii() and line.isprintable():
        return line
    return "".join(ch for ch in line if is_shown(ch))


def with_colours(line: str) -> str:
    """`line` with its colour sequences kept and everything else `plain` removes removed."""
    kept: list[str] = []
    start = 0
    for match in SGR.finditer(line):
        kept.append(plain(line[start : match.start()]))
        kept.append(match.group())
        start = match.end()
    kept.append(plain(line[start:]))
    return "".join(kept)
