"""What this client has shown of the rooms, so a room's recent lines, sent again after logging back in, show once.

The server shows a session each line once (it keeps, per room, up to which
event it has shown). But after a restart or a dropped connection the client
logs in as a new session, and the server sends the lobby's recent lines, then
the rejoined room's, again. A terminal's lines carry no event ids (they are
text a person reads, with nc too), so the client knows a line by what it
shows: its room, its minute, its speaker and its text. A history line that
the client has already shown as often as it comes in the history is left
out; when every line of a history is, so are its first and last lines.

Only until the person says something on the new connection: by then the
histories of logging in and of going back to their room have come, and from
then on the server shows each line once itself. So a history the person asks
for (/history) is shown whole, and two lines alike (the same minute, speaker
and words) are never taken for one while chatting.
"""

from __future__ import annotations

import re
from collections import Counter, deque

from chatroom.client.server_text import SGR
from chatroom.core.names import name_key

KEPT = 2000  # lines remembered: far more than a room's recent lines (20 unless the host says otherwise)
_HISTORY_START = re.compile(r"\*\*\* The last lines said in .*:")
_HISTORY_END = "*** (end of recent lines)"
_STAMP = re.compile(r"\[(?:\d{4}-\d\d-\d\d )?(\d\d:\d\d)\] ")  # a line from another day has its date in front
_TO_ALL = "[all] "
_NOT_KEPT = ("***", "[private] ")  # room notices and private messages: never in a room's history

Key = tuple[str, str]  # (the room, or '*' for a line to every room; the line without its date)


class ShownLines:
    def __init__(self, kept: int = KEPT) -> None:
        self._count: Counter[Key] = Counter()
        self._order: deque[Key] = deque()
        self._kept = kept
        self._history: Counter[Key] | None = None  # while a history comes: how often each line came in it so far
        self._header: str | None = None  # its first line, held back until one of its lines is shown
        self._filtering = False  # from a new connection until the person says something on it

    def show(self, raw: str, room: str | None) -> list[str]:
        """What to show for `raw`, a line from the server while in `room`: nothing, `raw`, or a held header and it."""
        text = SGR.sub("", raw)
        if _HISTORY_START.fullmatch(text):
            self._history = Counter()
            if not self._filtering:
                return [raw]
            self._header = raw
            return []
        if self._history is not None and text == _HISTORY_END:
            self._history, held, self._header = None, self._header, None
            return [] if held is not None else [raw]
        key = _key(text, room)
        if key is None:
            return [raw]
        if self._history is not None:
            self._history[key] += 1
            if self._history[key] <= self._count[key]:  # shown before
                return [] if self._filtering else [raw]
        self._remember(key)
        held, self._header = self._header, None
        return [held, raw] if held is not None else [raw]

    def new_connection(self) -> None:
        self._history, self._header, self._filtering = None, None, True

    def person_spoke(self) -> None:
        """The person sent a line, logged in: what comes now is new to this connection, or asked for."""
        self._filtering = False

    def _remember(self, key: Key) -> None:
        self._count[key] += 1
        self._order.append(key)
        if len(self._order) > self._kept:
            old = self._order.popleft()
            self._count[old] -= 1
            if not self._count[old]:
                del self._count[old]


def _key(text: str, room: str | None) -> Key | None:
    stamp = _STAMP.match(text)
    if stamp is None:
        return None
    said = text[stamp.end() :]
    if said.startswith(_NOT_KEPT):
        return None
    return ("*" if said.startswith(_TO_ALL) else name_key(room or ""), f"[{stamp.group(1)}] {said}")
