"""How long a mute or a ban lasts: the one way a TIME is written (in the chat and to chatroom-admin), and the
words that say it.

People are told how long ("for 10 minutes"), never a clock time: a clock time
is in some zone, and the reader (a page in another country, a terminal
anywhere) may be in another. Where a clock time is shown (chatroom-admin, on
the server's own machine) it names its zone.
"""

from __future__ import annotations

import math
import re
import time

# Each unit and every spelling of it that is accepted.
_UNITS = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
    **dict.fromkeys(("d", "day", "days"), 86400),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), 604800),
}
_WORDY_UNITS = {spelling for spelling in _UNITS if len(spelling) > 1}  # 'five minutes' is a time, 'five m' is not
_PART = re.compile(r"(\d{1,9}(?:\.\d{1,3})?)([a-z]+)")
_PARTS = re.compile(rf"(?:{_PART.pattern})+")
_NUMBER = re.compile(r"\d{1,9}(?:\.\d{1,3})?")
LONGEST = 365 * 86400  # past a year, a sanction is for good: leave the TIME out
FORMS = ("a TIME is a number and a unit: 30s, 10m (or 10min, 10 minutes), 2h, 1d, 1w, or several (1h30m); "
         "at most 365d; without a TIME it lasts until it is lifted")  # fmt: skip
_SAID = (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


class BadTime(ValueError):
    """What was written as a TIME is not one; the message says what is accepted."""


def split_time(text: str) -> tuple[float | None, str]:
    """The TIME at the start of `text`, in seconds (None: there is none), and what follows it (the reason).

    '10m being rude' -> (600, 'being rude'); '10 minutes' -> (600, ''); 'for 2 hours spam' -> (7200, 'spam');
    '1h 30m' -> (5400, ''); 'being rude' -> (None, 'being rude'). A first word that starts with a digit is a
    TIME, or a BadTime ('30x', '10', '0s'): a mistyped time must never become a sanction for good.
    """
    words = text.split()
    start = 1 if len(words) > 1 and words[0].lower() == "for" and _timeish(words[1:]) else 0
    if not words[start:] or not words[start][0].isdigit():
        if len(words) > start + 1 and words[start + 1].lower() in _WORDY_UNITS:
            raise BadTime(f"{' '.join(words[start : start + 2])!r} is not a time: write its number in digits; {FORMS}.")
        return None, " ".join(words)
    seconds, end = 0.0, start
    while end < len(words) and words[end][0].isdigit():
        taken = 2 if _NUMBER.fullmatch(words[end]) and end + 1 < len(words) else 1  # '10 minutes'
        part = _seconds("".join(words[end : end + taken]).lower())
        if part is None and taken == 2:
            taken, part = 1, _seconds(words[end].lower())
        if part is None:
            if end == start:
                raise BadTime(f"{words[start]!r} is not a time: {FORMS}.")
            break  # '10m 3rd warning': the time was '10m'
        seconds, end = seconds + part, end + taken
    if not 1 <= seconds <= LONGEST:
        how = "more than a year" if seconds > LONGEST else "less than a second"
        raise BadTime(f"{' '.join(words[start:end])!r} is {how}: {FORMS}.")
    return seconds, " ".join(words[end:])


def _timeish(words: list[str]) -> bool:
    """Whether `words` start the way a TIME does: 'for 10 minutes', 'for five minutes', not 'for spamming'."""
    return words[0][0].isdigit() or (len(words) > 1 and words[1].lower() in _WORDY_UNITS)


def _seconds(word: str) -> float | None:
    """Seconds in '30s', '10min', '10minutes', '1h30m' or '1.5h'; None if it is not written so."""
    if not _PARTS.fullmatch(word):
        return None
    parts = _PART.findall(word)
    if any(unit not in _UNITS for _, unit in parts):
        return None
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def how_long(seconds: float) -> str:
    """'10 minutes', '1 hour and 30 minutes', '1 second': the largest unit and, if any, the next one down."""
    left = max(1, math.ceil(seconds - 0.001))  # a few milliseconds of the clock's own are not a second
    said: list[str] = []
    for name, size in _SAID:
        count, left = divmod(left, size)
        if said or count:
            said.append(f"{count} {name}" + ("" if count == 1 else "s"))
        if len(said) == 2 or (said and not left):
            break
    if said[-1].startswith("0 "):
        said.pop()
    return " and ".join(said)


def lasting(since: float, until: float | None) -> str:
    """How long a sanction set at `since` lasts: 'for 10 minutes', or 'until it is lifted'."""
    return "until it is lifted" if until is None else f"for {how_long(until - since)}"


def left(until: float | None, now: float) -> str:
    """How long a sanction in force still lasts: 'for another 9 minutes', or 'until it is lifted'."""
    return "until it is lifted" if until is None else f"for another {how_long(until - now)}"


def clock_time(when: float, now: float) -> str:
    """'15:29 UTC' (today) or '2026-12-24 14:30 UTC', in the zone of the machine it runs on, named."""
    moment = time.localtime(when)
    same_day = moment[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M %Z" if same_day else "%Y-%m-%d %H:%M %Z", moment)
