"""What of the server's text may reach a screen or a pipe.

The server already cleans what chatters type, but a client need not trust
whatever it connects to: only colour sequences (SGR) survive, and only when
colour is wanted. Anything else that could move the cursor, retitle the window
or reorder the line is removed.
"""

from __future__ import annotations

import re
import unicodedata

SGR = re.compile(r"\x1b\[[0-9;]*m")

# Any escape sequence: CSI, OSC (ended by BEL or ST), DCS/SOS/PM/APC strings,
# two-byte escapes, and the 8-bit CSI.
_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b]*(?:\x1b\\)?|\x1b.?"
    r"|\x9b[0-?]*[ -/]*[@-~]?",
    re.DOTALL,
)

# Joiners hold emoji sequences together; every other format character
# (bidirectional overrides above all) goes.
_JOINERS = frozenset("\u200c\u200d")


def plain(line: str) -> str:
    """`line` with every escape sequence and control character removed; tabs become spaces."""
    line = _ESCAPE.sub("", line.replace("\t", " "))
    if line.isascii() and line.isprintable():
        return line
    return "".join(ch for ch in line if _shown(ch))


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


def _shown(ch: str) -> bool:
    return ch in _JOINERS or unicodedata.category(ch) not in ("Cc", "Cf")
