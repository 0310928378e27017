"""Rules for user and room names, and the key that makes look-alikes collide."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from chatroom.core.lookalike import mixes_scripts, scripts, skeleton

MAX_NAME_LENGTH = 20

# Names never hold punctuation beyond these, so a name can never look like the
# server's "***" or carry a ':' that would let its owner fake another speaker.
_EXTRA_NAME_CHARS = frozenset("-_.")

# The server's own names and the ones a newcomer would take for staff.
RESERVED = frozenset({"server", "chatroom", "admin", "operator", "lobby"})

# Letters and marks that Unicode says draw nothing (its Default_Ignorable code
# points outside the format controls, which are refused anyway): with one of
# these, 'bob' plus nothing visible would be a second bob.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0"
    + "".join(map(chr, range(0x180B, 0x1810)))
    + "".join(map(chr, range(0xFE00, 0xFE10)))
    + "".join(map(chr, range(0xE0100, 0xE01F0)))
)


# Pure functions of a string, asked several times a login (and a name prompt is not far from a flood):
# the answers for the last few thousand names are kept.
@lru_cache(maxsize=4096)
def name_key(name: str) -> str:
    """What two names are compared by: 'Alice', 'ALICE', 'Ａｌｉｃｅ' and 'Аlice' (a Cyrillic А) share one key.

    Case and width are folded first (NFKC and case folding), then look-alike
    letters (the UTS #39 skeleton).
    """
    return skeleton(unicodedata.normalize("NFKC", name).casefold())


def name_problem(name: str, what: str = "name") -> str | None:
    """Why `name` cannot be used as a `what` ('name', 'room name'), or None if it can."""
    if not name:
        return f"A {what} cannot be empty."
    if len(name) > MAX_NAME_LENGTH:
        return f"A {what} can be at most {MAX_NAME_LENGTH} characters long."
    if any(ch.isspace() for ch in name):
        return f"A {what} cannot contain spaces."
    if any(unicodedata.category(ch)[0] == "C" for ch in name):
        return f"A {what} cannot contain control characters."
    if not all(_allowed(ch) for ch in name):
        return f"A {what} may use only letters, digits, '-', '_' and '.'."
    if not any(unicodedata.category(ch)[0] in "LN" for ch in name):
        return f"A {what} needs at least one letter or digit."
    if unicodedata.category(name[0])[0] == "M":
        return f"A {what} cannot start with an accent or other combining mark."
    if mixes_scripts(name):
        used = " and ".join(sorted(s.title() for s in scripts(name)))
        return f"A {what} cannot mix writing systems ({used}), so that nobody can pass for someone else."
    return None


@lru_cache(maxsize=4096)
def user_name_problem(name: str) -> str | None:
    """Why `name` cannot be a user's name (ignoring who already has it), or None."""
    problem = name_problem(name)
    if problem is None and name_key(name) in _RESERVED_KEYS:
        problem = f"The name {name!r} is reserved."
    return problem


_RESERVED_KEYS = frozenset(map(name_key, RESERVED))


def _allowed(ch: str) -> bool:
    return ch in _EXTRA_NAME_CHARS or (unicodedata.category(ch)[0] in "LMN" and ch not in _INVISIBLE)
