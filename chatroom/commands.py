"""Every command, its aliases and its help text, in one table.

`/help` is printed from this table, so it can never drift from what exists.
The seeds' spellings (`@help`, `!private`, `@disconnect`, ...) are aliases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatroom.colours import find_colour, unknown_colour
from chatroom.names import name_key
from chatroom.room import LOBBY

if TYPE_CHECKING:
    from chatroom.session import Session

# '@bob hi' is a private message to bob: the one alias that is a pattern.
AT_NAME = "@NAME"


@dataclass(frozen=True)
class Command:
    spellings: tuple[str, ...]  # the first is the command, the rest its aliases
    args: str  # how its arguments are written in the help, '' if none
    help: str
    run: Callable[[Session, str], None]
    needs_args: bool = False

    @property
    def name(self) -> str:
        return self.spellings[0]

    def usage(self, spelling: str | None = None) -> str:
        spelling = spelling or self.name
        args = self.args
        if spelling == AT_NAME:  # the name is in the spelling itself
            args = args.removeprefix("NAME ")
        return f"{spelling} {args}".rstrip()


def _help(session: Session, args: str) -> None:
    lines = ["Commands (a line that is not a command is said to your room):"]
    for command in COMMANDS:
        aliases = ", ".join(command.usage(s) for s in command.spellings[1:])
        lines.append(f"  {command.usage():<16} {command.help}" + (f" (also {aliases})" if aliases else ""))
    lines.append("  //text           says '/text', for a line that starts with a slash")
    session.notice(*lines)


def _who(session: Session, args: str) -> None:
    hall = session.hall
    lines = [f"{len(hall.online())} online:"]
    for room in hall.rooms.values():
        if room.members:
            lines.append(f"  {room.name}: {', '.join(room.names())}")
    session.notice(*lines)


def _msg(session: Session, args: str) -> None:
    name, _, text = args.partition(" ")
    text = text.strip()
    if not text:
        session.error(f"Usage: {_MSG.usage()}")
        return
    session.hall.private(session, name, text)


def _reply(session: Session, args: str) -> None:
    if session.reply_to is None:
        session.error("Nobody has sent you a private message yet.")
        return
    session.hall.private_to(session, session.reply_to, args)


def _all(session: Session, args: str) -> None:
    session.hall.say_to_all(session, args)


def _join(session: Session, args: str) -> None:
    session.hall.move(session, args)


def _leave(session: Session, args: str) -> None:
    if session.room.is_lobby:
        session.notice("You are already in the lobby.")
        return
    session.hall.move(session, LOBBY)


def _list(session: Session, args: str) -> None:
    rooms = ", ".join(f"{room.name} ({len(room.members)})" for room in session.hall.rooms.values())
    session.notice(f"Rooms: {rooms}")


def _me(session: Session, args: str) -> None:
    session.hall.act(session, args)


def _nick(session: Session, args: str) -> None:
    session.hall.rename(session, args)


def _colour(session: Session, args: str) -> None:
    colour = find_colour(args)
    if colour is None:
        session.error(unknown_colour(args))
        return
    session.set_colour(colour)
    session.notice(f"Your name now looks like this: {session.painted}")


def _time(session: Session, args: str) -> None:
    session.notice(f"Server time: {session.hall.server_time()}")


def _quit(session: Session, args: str) -> None:
    session.hall.quit(session, args)


COMMANDS: tuple[Command, ...] = (
    Command(("/help", "@help"), "", "lists the commands", _help),
    Command(("/who", "/online", "@online"), "", "who is online, and in which room", _who),
    Command(("/msg", AT_NAME, "!private"), "NAME TEXT", "a private message to one user, wherever they are", _msg, True),
    Command(("/reply",), "TEXT", "answers the last private message you got", _reply, True),
    Command(("/all", "@all"), "TEXT", "a message to everyone, in every room", _all, True),
    Command(("/join",), "ROOM", "joins a room, creating it if needed; you leave your current room", _join, True),
    Command(("/leave",), "", "back to the lobby", _leave),
    Command(("/list",), "", "the rooms, each with how many are in it", _list),
    Command(("/me",), "ACTION", "shows '* yourname ACTION'", _me, True),
    Command(("/nick",), "NAME", "changes your name", _nick, True),
    Command(("/color", "/colour"), "COLOR", "changes the colour of your name", _colour, True),
    Command(("/time",), "", "the server's date and time", _time),
    Command(("/quit", "/exit", "@disconnect", "!leave"), "[MESSAGE]", "leaves the chat; your room is told", _quit),
)

_BY_SPELLING = {s: c for c in COMMANDS for s in c.spellings if s != AT_NAME}

# Nobody may be called 'all' or 'help' (or a look-alike): '@all hi' could not reach them.
AT_WORDS = {name_key(s[1:]): s for s in _BY_SPELLING if s.startswith("@")}  # name key -> the command
_MSG = _BY_SPELLING["/msg"]


def dispatch(session: Session, text: str) -> None:
    """Run the command `text` names, or say `text` to the room."""
    if text.startswith("//"):
        session.hall.say(session, text[1:])
        return
    word, _, args = text.partition(" ")  # clean_text left single spaces, none at the ends
    word = word.lower()
    command = _BY_SPELLING.get(word)
    if command is None and word.startswith("@") and len(word) > 1:
        command, args = _MSG, text[1:]  # '@bob hi' is '/msg bob hi'
    if command is None:
        if word.startswith("/"):
            session.error(f"There is no command {word}. Type /help for the list.")
        else:
            session.hall.say(session, text)
        return
    if command.needs_args and not args:
        session.error(f"Usage: {command.usage(word)}")
        return
    command.run(session, args)
