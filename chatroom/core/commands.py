"""Every command, its aliases and its help text, in one table.

`/help` is printed from this table, so it can never drift from what exists.
The seeds' spellings (`@help`, `!private`, `@disconnect`, ...) are aliases.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from loguru import logger

from chatroom.core.colours import find_colour, unknown_colour
from chatroom.core.durations import BadTime, split_time
from chatroom.core.names import name_key, user_name_problem
from chatroom.core.room import LOBBY

if TYPE_CHECKING:
    from chatroom.core.hall import Hall
    from chatroom.core.room import Room
    from chatroom.core.session import Session

MAX_TOPIC = 200  # characters

# '@bob hi' is a private message to bob: the one alias that is a pattern.
AT_NAME = "@NAME"


EVERYONE, OWNERS, OPERATORS = "everyone", "owners", "operators"  # who may use a command


@dataclass(frozen=True)
class Command:
    spellings: tuple[str, ...]  # the first is the command, the rest its aliases
    args: str  # how its arguments are written in the help, '' if none
    help: str
    run: Callable[[Hall, Session, str], None]
    needs_args: bool = False
    who: str = EVERYONE  # OWNERS: a room's owner and operators; OPERATORS: operators only

    @property
    def name(self) -> str:
        return self.spellings[0]

    def usage(self, spelling: str | None = None) -> str:
        spelling = spelling or self.name
        args = self.args
        if spelling == AT_NAME:  # the name is in the spelling itself
            args = args.removeprefix("NAME ")
        return f"{spelling} {args}".rstrip()

    def help_line(self) -> str:
        aliases = ", ".join(self.usage(s) for s in self.spellings[1:])
        return f"  {self.usage():<22} {self.help}" + (f" (also {aliases})" if aliases else "")


_SECTIONS = {
    EVERYONE: "Commands (a line that is not a command is said to your room):",
    OWNERS: "For the owner of a room (whoever made it, then whoever has been in longest) and for operators:",
    OPERATORS: "For operators:",
}


def _help(hall: Hall, session: Session, args: str) -> None:
    lines = []
    for who, title in _SECTIONS.items():
        if who == OPERATORS and not session.operator:
            continue
        lines.append(title)
        lines += [command.help_line() for command in COMMANDS if command.who == who]
        if who == EVERYONE:
            lines.append("  //text                 says '/text', for a line that starts with a slash")
    session.notice(*lines)


def _who(hall: Hall, session: Session, args: str) -> None:
    lines = [f"{len(hall.online())} online:"]  # @name: an operator
    for room in hall.rooms.values():
        if room.members:
            lines.append(f"  {room.name}: {', '.join(('@' if m.operator else '') + m.name for m in room.members)}")
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
    room, _, key = args.partition(" ")
    hall.move(session, room, key or None)


def _leave(hall: Hall, session: Session, args: str) -> None:
    if session.room.is_lobby:
        session.notice("You are already in the lobby.")
        return
    hall.move(session, LOBBY)


def _list(hall: Hall, session: Session, args: str) -> None:
    rooms = ", ".join(f"{r.name} ({len(r.members)}{', locked' if r.lock else ''})" for r in hall.rooms.values())
    topics = [f"  {room.name}: {room.topic}" for room in hall.rooms.values() if room.topic]
    session.notice(f"Rooms: {rooms}", *topics)


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


# A room's owner (and any operator, in any room).


def _owned(session: Session, command: str) -> Room | None:
    """The room `session` may run the owner's `command` in, or None (and it has been told why)."""
    room = session.room
    if room.is_lobby:
        session.error(f"The lobby belongs to everyone: {command} is for the rooms people make.")
    elif room.owner is not session and not session.operator:
        session.error(f"{command} is for the owner of {room.name} ({room.owner.name}) and for operators.")
    else:
        return room
    return None


def _topic(hall: Hall, session: Session, args: str) -> None:
    room = _owned(session, "/topic")
    if room is not None:
        hall.set_topic(room, session, args[:MAX_TOPIC])


def _lock(hall: Hall, session: Session, args: str) -> None:
    room = _owned(session, "/lock")
    if room is None:
        return
    if " " in args:
        session.error("A key is one word, with no spaces.")
        return
    hall.lock(room, session, args)


def _unlock(hall: Hall, session: Session, args: str) -> None:
    room = _owned(session, "/unlock")
    if room is not None:
        hall.lock(room, session, None)


def _invite(hall: Hall, session: Session, args: str) -> None:
    room = _owned(session, "/invite")
    guest = hall.find(args) if room is not None else None
    if room is None:
        return
    if guest is None:
        session.error(f"Nobody called {args!r} is online. /who lists who is.")
        return
    room.invited.add(guest.key)
    guest.notice(f"{session.name} invites you to {room.name}: /join {room.name}")
    session.notice(f"{guest.name} may come into {room.name} once, without its key.")


# Operators.


def _target(hall: Hall, session: Session, name: str, online: bool = True) -> tuple[str, Session | None] | None:
    """The name an operator's command is about, and its session if online; None if it cannot be (said why)."""
    problem = user_name_problem(name)
    target = hall.find(name)
    if problem:
        session.error(problem)
    elif target is session:
        session.error("That is you.")
    elif target is not None and target.operator:
        session.error(f"{target.name} is an operator: operators are answerable to the host, not to each other.")
    elif target is None and online:
        session.error(f"Nobody called {name!r} is online. /who lists who is.")
    else:
        return (target.name if target else name), target
    return None


def _kick(hall: Hall, session: Session, args: str) -> None:
    name, _, reason = args.partition(" ")
    found = _target(hall, session, name)
    if found is not None:
        hall.kick_by(found[1], session, reason)


def _sanction(hall: Hall, session: Session, args: str) -> tuple[str, Session | None, float | None, str] | None:
    """/mute and /ban: NAME [TIME] [REASON]. The name, its session if online, the seconds (None: until it is
    lifted) and the reason; or None, having said why not (a TIME not understood is never taken for a reason)."""
    name, _, rest = args.partition(" ")
    found = _target(hall, session, name, online=False)
    if found is None:
        return None
    try:
        seconds, reason = split_time(rest)
    except BadTime as problem:
        session.error(f"{problem} Nothing was done.")
        return None
    return *found, seconds, reason


def _mute(hall: Hall, session: Session, args: str) -> None:
    sanction = _sanction(hall, session, args)
    if sanction is not None:
        name, target, seconds, reason = sanction
        hall.mute(name, target, session, seconds, reason)


def _unmute(hall: Hall, session: Session, args: str) -> None:
    if hall.moderation.unmute(name_key(args), session.name) is None:
        session.error(f"{args} is not muted.")
        return
    target = hall.find(args)
    if target is not None:
        target.notice(f"{session.name} lifted your mute: you may speak again.")
    session.notice(f"{args} may speak again.")


def _ban(hall: Hall, session: Session, args: str) -> None:
    sanction = _sanction(hall, session, args)
    if sanction is not None:
        name, target, seconds, reason = sanction
        hall.ban(name, target, session, seconds, reason)


def _unban(hall: Hall, session: Session, args: str) -> None:
    lifted = hall.moderation.unban(name_key(args), session.name) + hall.moderation.unban(args, session.name)
    session.notice(f"The ban of {args} is lifted." if lifted else f"{args} is not banned. /bans lists the bans.")


def _bans(hall: Hall, session: Session, args: str) -> None:
    bans = [ban for ban in hall.moderation.bans if hall.moderation.ban_of(ban.kind, ban.value) is ban]
    if not bans:
        session.notice("No bans are in force.")
        return
    session.notice(
        "Bans in force:",
        *(f"  {ban.shown} ({ban.kind}) {hall.moderation.left(ban.until)}, by {ban.by}{_because(ban.reason)}"
          for ban in bans),
    )  # fmt: skip


def _announce(hall: Hall, session: Session, args: str) -> None:
    logger.bind(event="announce", by=session.name).warning("{} announced: {}", session.name, args)
    hall.tell_everyone(("Announcement from ", session.who, f": {args}"))


def _motd(hall: Hall, session: Session, args: str) -> None:
    hall.motd = args
    logger.bind(event="motd", by=session.name).warning("{} set the message of the day: {}", session.name, args)
    session.notice(f"The message of the day is now: {args}" if args else "There is no message of the day now.")


def _moderate(hall: Hall, session: Session, args: str) -> None:
    if args.lower() not in ("on", "off"):
        session.error(f"Usage: {_BY_SPELLING['/moderate'].usage()}")
        return
    hall.moderation.moderated = args.lower() == "on"
    logger.bind(event="moderate", by=session.name).warning("{} turned moderation {}", session.name, args.lower())
    if hall.moderation.moderated:
        hall.tell_everyone(f"{session.name} asks for quiet: until it ends, only operators and room owners speak.")
    else:
        hall.tell_everyone(f"{session.name} ended the quiet: everyone may speak again.")


def _because(reason: str) -> str:
    return f": {reason}" if reason else ""


COMMANDS: tuple[Command, ...] = (
    Command(("/help", "@help"), "", "lists the commands", _help),
    Command(("/who", "/online", "@online"), "", "who is online, and in which room", _who),
    Command(("/msg", AT_NAME, "!private"), "NAME TEXT", "a private message to one user, wherever they are", _msg, True),
    Command(("/reply",), "TEXT", "answers the last private message you got", _reply, True),
    Command(("/all", "@all"), "TEXT", "a message to everyone, in every room", _all, True),
    Command(("/join",), "ROOM [KEY]", "joins a room, creating it if needed (a locked one takes its KEY)", _join, True),
    Command(("/leave",), "", "back to the lobby", _leave),
    Command(("/list",), "", "the rooms, each with how many are in it, and their topics", _list),
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
    Command(("/topic",), "[TEXT]", "sets (or, without TEXT, clears) the room's topic", _topic, who=OWNERS),
    Command(("/lock",), "KEY", "from now on, coming in takes /join ROOM KEY; who is in stays", _lock, True, OWNERS),
    Command(("/unlock",), "", "anyone may come in again", _unlock, who=OWNERS),
    Command(("/invite",), "NAME", "NAME may come in once without the key, and is told so", _invite, True, OWNERS),
    Command(
        ("/kick",),
        "NAME [REASON]",
        "disconnects NAME; they and their room are told why and by whom",
        _kick,
        True,
        OPERATORS,
    ),
    Command(
        ("/mute",),
        "NAME [TIME] [REASON]",
        "NAME cannot speak in rooms or to all, for TIME (30s, 10m, 10 minutes, 2h, 1d, 1w, 1h30m) or until /unmute",
        _mute,
        True,
        OPERATORS,
    ),
    Command(("/unmute",), "NAME", "lifts a mute", _unmute, True, OPERATORS),
    Command(
        ("/ban",),
        "NAME [TIME] [REASON]",
        "disconnects NAME and bans the name and its address, for TIME (as for /mute) or until /unban",
        _ban,
        True,
        OPERATORS,
    ),
    Command(("/unban",), "NAME|ADDRESS", "lifts a ban", _unban, True, OPERATORS),
    Command(("/bans",), "", "the bans in force: who set them, why, and how long they last", _bans, who=OPERATORS),
    Command(("/announce",), "TEXT", "a server notice to everyone online", _announce, True, OPERATORS),
    Command(("/motd",), "[TEXT]", "sets (or, without TEXT, clears) the message of the day", _motd, who=OPERATORS),
    Command(("/moderate",), "on|off", "while on, only operators and room owners speak", _moderate, True, OPERATORS),
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
    if command.who == OPERATORS and not session.operator:
        session.error(f"{command.name} is for operators.")
        return
    if command.needs_args and not args:
        session.error(f"Usage: {command.usage(word)}")
        return
    hall.settle()  # what this person said before the command reaches everyone before what the command does
    command.run(hall, session, args)
