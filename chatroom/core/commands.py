"""Every command, its aliases and its help text, in one table.

`/help` is printed from this table, so it can never drift from what exists.
The seeds' spellings (`@help`, `!private`, `@disconnect`, ...) are aliases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from chatroom.core.colours import find_colour, unknown_colour
from chatroom.core.names import name_key
from chatroom.core.room import LOBBY

if TYPE_CHECKING:
    from chatroom.core.hall import Hall
    from chatroom.core.session import Session

# '@bob hi' is a private message to bob: the one alias that is a pattern.
AT_NAME = "@NAME"


@dataclass(frozen=True)
class Command:
    spellings: tuple[str, ...]  # the first is the command, the rest its aliases
    args: str  # how its arguments are written in the help, '' if none
    help: str
    run: Callable[[Hall, Session, str], None]
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


def _help(hall: Hall, session: Session, args: str) -> None:
    lines = ["Commands (a line that is not a command is said to your room):"]
    for command in COMMANDS:
        aliases = ", ".join(command.usage(s) for s in command.spellings[1:])
        lines.append(f"  {command.usage():<16} {command.help}" + (f" (also {aliases})" if aliases else ""))
    lines.append("  //text           says '/text', for a line that starts with a slash")
    session.notice(*lines)


def _who(hall: Hall, session: Session, args: str) -> None:
    lines = [f"{len(hall.online())} online:"]
    for room in hall.rooms.values():
        if room.members:
            lines.append(f"  {room.name}: {', '.join(room.names())}")
    session.notice(*lines)


def _msg(hall: Hall, session: Session, args: str) -> None:
    name, _, text = args.partition(" ")
    text = text.strip()
    if not text:
        session.error(f"Usage: {_MSG.usage()}")
        return
    hall.private(session, name, text)


def _reply(hall: Hall, session: Session, args: str) -> None:
    if session.reply_to is None:
        session.error("Nobody has sent you a private message yet.")
        return
    hall.private_to(session, session.reply_to, args)


def _all(hall: Hall, session: Session, args: str) -> None:
    hall.say_to_all(session, args)


def _join(hall: Hall, session: Session, args: str) -> None:
    hall.move(session, args)


def _leave(hall: Hall, session: Session, args: str) -> None:
    if session.room.is_lobby:
        session.notice("You are already in the lobby.")
        return
    hall.move(session, LOBBY)


def _list(hall: Hall, session: Session, args: str) -> None:
    rooms = ", ".join(f"{room.name} ({len(room.members)})" for room in hall.rooms.values())
    session.notice(f"Rooms: {rooms}")


def _me(hall: Hall, session: Session, args: str) -> None:
    hall.act(session, args)


def _nick(hall: Hall, session: Session, args: str) -> None:
    hall.rename(session, args)


def _colour(hall: Hall, session: Session, args: str) -> None:
    colour = find_colour(args)
    if colour is None:
        session.error(unknown_colour(args))
        return
    hall.recolour(session, colour)


def _history(hall: Hall, session: Session, args: str) -> None:
    hall.history(session, args)


def _register(hall: Hall, session: Session, args: str) -> None:
    hall.accounts.register(session, args)


def _password(hall: Hall, session: Session, args: str) -> None:
    old, _, new = args.partition(" ")
    if not new:
        session.error(f"Usage: {_BY_SPELLING['/password'].usage()}")
        return
    hall.accounts.change_password(session, old, new)


def _unregister(hall: Hall, session: Session, args: str) -> None:
    hall.accounts.unregister(session, args)


def _time(hall: Hall, session: Session, args: str) -> None:
    session.notice(f"Server time: {hall.server_time()}")


def _quit(hall: Hall, session: Session, args: str) -> None:
    hall.quit(session, args)


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
    Command(("/history",), "[N]", "the last N lines said in your room (50; at most 500)", _history),
    Command(
        ("/register",), "PASSWORD", "claims your name: logging in with it will ask for this password", _register, True
    ),
    Command(("/password",), "OLD NEW", "changes the password of your registered name", _password, True),
    Command(("/unregister",), "PASSWORD", "gives your registered name back to everyone", _unregister, True),
    Command(("/time",), "", "the server's date and time", _time),
    Command(("/quit", "/exit", "@disconnect", "!leave"), "[MESSAGE]", "leaves the chat; your room is told", _quit),
)

_BY_SPELLING = {s: c for c in COMMANDS for s in c.spellings if s != AT_NAME}

# What can be typed as a command word, for completion in the bundled client and the page.
SPELLINGS: tuple[str, ...] = tuple(_BY_SPELLING)

# Nobody may be called 'all' or 'help' (or a look-alike): '@all hi' could not reach them.
AT_WORDS = {name_key(s[1:]): s for s in _BY_SPELLING if s.startswith("@")}  # name key -> the command
_MSG = _BY_SPELLING["/msg"]


def dispatch(hall: Hall, session: Session, text: str) -> None:
    """Run the command `text` names, or say `text` to the room."""
    if text.startswith("//"):
        hall.say(session, text[1:])
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
            hall.say(session, text)
        return
    if command.needs_args and not args:
        session.error(f"Usage: {command.usage(word)}")
        return
    command.run(hall, session, args)
