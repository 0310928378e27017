"""How events look on a terminal (telnet, nc, chatroom-client): lines of ANSI text.

Every line a chatter causes starts with "[HH:MM] " and their own coloured name;
every line from the server starts with a bold "***". Names hold no spaces or
punctuation, so no chatter can produce a line that starts like the server's
or like someone else's. The times are the server's local time.

The bundled client recognises the prompts and notices by these texts.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chatroom.core.events import model

NOTICE_MARK = "\x1b[1m***\x1b[0m"
EOL = "\r\n"


def render(event: model.Event) -> bytes:
    return _RENDER[event.kind](event).encode("utf-8")


def _stamp(event: model.Event) -> str:
    return time.strftime("[%H:%M]", time.localtime(event.stamp.time))


def _name(name: model.Name) -> str:
    return name.colour.paint(name.text) if name.colour else name.text


def _line(line: model.Line) -> str:
    if isinstance(line, str):
        return line
    return "".join(span if isinstance(span, str) else _name(span) for span in line)


def _server(*lines: model.Line) -> str:
    return "".join(f"{NOTICE_MARK} {_line(line)}{EOL}" for line in lines)


def _chat(event: model.Chat) -> str:
    return f"{_stamp(event)} {_name(event.speaker)}: {event.text}{EOL}"


def _action(event: model.Action) -> str:
    return f"{_stamp(event)} * {_name(event.speaker)} {event.text}{EOL}"


def _to_all(event: model.ToAll) -> str:
    return f"{_stamp(event)} [all] {_name(event.speaker)}: {event.text}{EOL}"


def _private(event: model.Private) -> str:
    return f"{_stamp(event)} [private] {_name(event.sender)} -> {_name(event.recipient)}: {event.text}{EOL}"


def _room_notice(event: model.RoomNotice) -> str:
    return f"{_stamp(event)} {NOTICE_MARK} {_line(event.text)}{EOL}"


def _notice(event: model.Notice) -> str:
    return _server(*event.lines)


def _error(event: model.Error) -> str:
    return _server(f"Error: {_line(event.text)}")


def _prompt(event: model.Prompt) -> str:
    return _server(*filter(None, (event.problem, event.text)))


def _history(event: model.History) -> str:
    today = _day(event.stamp.time)
    lines = "".join(_dated(line) if _day(line.stamp.time) != today else line.telnet.decode() for line in event.lines)
    return _server(f"The last lines said in {event.title}:") + lines + _server("(end of recent lines)")


def _day(seconds: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(seconds))


def _dated(line: model.Event) -> str:
    """A line from another day, its '[HH:MM]' stamp with the date in front: '[2026-11-30 14:03]'."""
    return f"[{_day(line.stamp.time)} {line.telnet.decode()[1:]}"


def _goodbye(event: model.Goodbye) -> str:
    return _server(event.text)


def _nothing(event: model.Event) -> str:
    """Panel updates: a terminal has no panels (and is never sent them)."""
    return ""


_RENDER = {
    "chat": _chat,
    "action": _action,
    "all": _to_all,
    "private": _private,
    "room-notice": _room_notice,
    "notice": _notice,
    "error": _error,
    "prompt": _prompt,
    "history": _history,
    "goodbye": _goodbye,
    "you": _nothing,
    "rooms": _nothing,
    "members": _nothing,
}
