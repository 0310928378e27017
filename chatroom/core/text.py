"""Cleaning what a user typed before anyone else sees it."""

from __future__ import annotations

import re
import unicodedata

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

# ASCII controls that are not whitespace (whitespace is folded to one space).
_ASCII_CONTROL = re.compile("[\x00-\x08\x0e-\x1b\x7f]")
_WHITESPACE = re.compile(r"\s+")

# Zero-width joiners hold emoji sequences (and some scripts) together; every
# other format character -- bidirectional overrides that reorder a line,
# zero-width spaces, soft hyphens -- is dropped.
_JOINERS = frozenset("\u200c\u200d")


def clean_text(text: str) -> str:
    """`text` with escape sequences, control and format characters removed.

    Backspace and DEL erase the character before them, as they did on the
    sender's screen. Every run of whitespace (tabs, Unicode line separators,
    a screenful of spaces that would wrap onto a line of its own) becomes
    one space, and surrounding blanks are trimmed.
    """
    text = strip_escapes(text)
    if "\x08" in text or "\x7f" in text:
        text = _apply_erasures(text)
    if text.isascii():
        text = _ASCII_CONTROL.sub("", text)
    else:
        text = "".join(ch for ch in text if _visible(ch))
    return _WHITESPACE.sub(" ", text).strip()


def strip_escapes(text: str) -> str:
    """`text` without terminal escape sequences (the client uses this on what servers send, too)."""
    return _ESCAPE.sub("", text)


def is_shown(ch: str) -> bool:
    """Whether `ch` is neither a control nor a format character (emoji joiners excepted)."""
    return ch in _JOINERS or unicodedata.category(ch) not in ("Cc", "Cf")


def _visible(ch: str) -> bool:
    return ch.isspace() or is_shown(ch)


def _apply_erasures(text: str) -> str:
    kept: list[str] = []
    for ch in text:
        if ch in "\x08\x7f":
            if kept:
                kept.pop()
        else:
            kept.append(ch)
    return "".join(kept)
