"""How events look to the web page: one JSON object each, with its fields, never ANSI.

Every object has "type" (the event's kind), "id" (numbers only grow: a page that
comes back asks for what came after the last it showed) and "time" (seconds
since the epoch; the page shows it in the viewer's own time zone). A name is
{"name": ..., "colour": ...}; a line of server text is a string, or a list of
strings and names. docs/web-protocol.md lists every type and its fields.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chatroom.core.events import model


def render(event: model.Event) -> bytes:
    return json.dumps(fields(event), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def fields(event: model.Event) -> dict[str, Any]:
    return {"type": event.kind, "id": event.stamp.id, "time": round(event.stamp.time, 3)} | _FIELDS[event.kind](event)


def name(name: model.Name) -> dict[str, Any]:
    return {"name": name.text, "colour": name.colour.name if name.colour else None}


def _line(line: model.Line) -> str | list:
    if isinstance(line, str):
        return line
    return [span if isinstance(span, str) else name(span) for span in line]


def _said(event: model.Chat | model.Action) -> dict[str, Any]:
    return {"room": event.room, "from": name(event.speaker), "text": event.text}


def _to_all(event: model.ToAll) -> dict[str, Any]:
    return {"from": name(event.speaker), "text": event.text}


def _private(event: model.Private) -> dict[str, Any]:
    return {"from": name(event.sender), "to": name(event.recipient), "text": event.text}


def _room_notice(event: model.RoomNotice) -> dict[str, Any]:
    return {"room": event.room, "text": _line(event.text)}


def _notice(event: model.Notice) -> dict[str, Any]:
    return {"lines": [_line(line) for line in event.lines]}


def _error(event: model.Error) -> dict[str, Any]:
    return {"text": _line(event.text)}


def _prompt(event: model.Prompt) -> dict[str, Any]:
    return {"asks": event.asks, "text": _line(event.text), "problem": event.problem}


def _history(event: model.History) -> dict[str, Any]:
    return {"room": event.room, "lines": [fields(line) for line in event.lines], "asked": event.asked}


def _goodbye(event: model.Goodbye) -> dict[str, Any]:
    return {"text": event.text, "will_return": event.will_return}


def _you(event: model.You) -> dict[str, Any]:
    return {"you": name(event.name), "room": event.room}


def _rooms(event: model.Rooms) -> dict[str, Any]:
    return {"rooms": [{"name": r.name, "count": r.count, "locked": r.locked, "topic": r.topic} for r in event.rooms]}


def _members(event: model.Members) -> dict[str, Any]:
    return {"room": event.room, "names": [name(n) for n in event.names], "count": event.count, "owner": event.owner}


_FIELDS = {
    "chat": _said,
    "action": _said,
    "all": _to_all,
    "private": _private,
    "room-notice": _room_notice,
    "notice": _notice,
    "error": _error,
    "prompt": _prompt,
    "history": _history,
    "goodbye": _goodbye,
    "you": _you,
    "rooms": _rooms,
    "members": _members,
}
