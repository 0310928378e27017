"""Cleaning what a user typed before anyone else sees it."""

from __future__ import annotations

import re

# ESC-started sequences: CSI (colours, cursor moves), OSC (window titles,
# hyperlinks), DCS/SOS/PM/APC strings, and two-byte escapes; plus the 8-bit CSI.
_ESCAPE = re.compile(
    r"""
    \x1b\[ [0-?]* [ -/]* [@-~]?            # CSI
  | \x1b\] [^\x07\x1b]* (?:\x07|\x1b\\)?   # OSC, ended by BEL or ST
  | \x1b[PX^_] [^\x1b]* (?:\x1b\\)?        # DCS, SOS, PM, APC
  | \x1b.?                                 # any other escape
  | \x9b [0-?]* [ -/]* [@-~]?              # 8-bit CSI
    """,
    re.VERBOSE | re.DOTALL,
)

# C0 and C1 controls, DEL, and the bidirectional overrides that can make text
# appear in a different order than it was typed.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """`text` with escape sequences and control characters removed.

    Backspace and DEL erase the character before them, as they did on the
    sender's screen; tabs become spaces; surrounding blanks are trimmed.
    """
    text = _ESCAPE.sub("", text)
    if "\x08" in text or "\x7f" in text:
        text = _apply_erasures(text)
    text = text.replace("\t", " ")
    return _CONTROL.sub("", text).strip()


def _apply_erasures(text: str) -> str:
    kept: list[str] = []
    for ch in text:
        if ch in "\x08\x7f":
            if kept:
                kept.pop()
        else:
            kept.append(ch)
    return "".join(kept)
