"""Names that look alike: Unicode's confusable skeleton and its script rules (UTS #39).

The data (confusables.txt and Scripts.txt, as JSON) comes from the
`confusable_homoglyphs` package. It lists each character's look-alikes in both
directions, so the prototype of UTS #39 is rebuilt here as one representative
per group of single characters that look alike; two strings share a skeleton
exactly when UTS #39 gives them the same one, leaving out the few mappings to
several characters.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from confusable_homoglyphs.categories import alias as script_of
from confusable_homoglyphs.confusables import confusables_data

# Scripts that never make a name mixed: punctuation and digits (Common) and
# combining marks, which take the script of the letter they sit on (Inherited).
_NEUTRAL = frozenset({"COMMON", "INHERITED"})

# Scripts that are written together (UTS #39's "highly restrictive" level):
# Japanese mixes Han, Hiragana and Katakana; Chinese and Korean add Bopomofo or
# Hangul to Han; any of them may carry Latin.
_WRITTEN_TOGETHER = (
    frozenset({"LATIN", "HAN", "HIRAGANA", "KATAKANA"}),
    frozenset({"LATIN", "HAN", "BOPOMOFO"}),
    frozenset({"LATIN", "HAN", "HANGUL"}),
)


def skeleton(text: str) -> str:
    """The same string for any two texts that look alike, such as 'bob' and 'bоb' (a Cyrillic о)."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(ch, ch) for ch in decomposed))


def scripts(text: str) -> set[str]:
    """The writing systems `text` uses, leaving out digits, punctuation and accents."""
    if text.isascii():  # most names: its letters are Latin, the rest Common (a twentieth of a login's time)
        return {"LATIN"} if any(ch.isalpha() for ch in text) else set()
    return {script_of(ch) for ch in text} - _NEUTRAL


def mixes_scripts(text: str) -> bool:
    """Whether `text` mixes writing systems that are not normally written together."""
    used = scripts(text)
    return len(used) > 1 and not any(used <= together for together in _WRITTEN_TOGETHER)


@cache
def _prototypes() -> dict[str, str]:
    """Each character that has look-alikes, mapped to one chosen member of its group."""
    parent: dict[str, str] = {}

    def root(ch: str) -> str:
        while parent.setdefault(ch, ch) != ch:
            parent[ch] = parent[parent[ch]]
            ch = parent[ch]
        return ch

    for ch, alikes in confusables_data.items():
        for alike in alikes:
            other = alike["c"].strip("\u200e")  # right-to-left letters come wrapped in LRM marks
            if len(ch) == 1 and len(other) == 1:
                a, b = root(ch), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    return {ch: root(ch) for ch in parent if root(ch) != ch}
