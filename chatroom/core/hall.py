"""The hall: every connection, every room, and what happens when people talk or move.

Plain Python: no sockets, no reactor. Connections come in as `Peer`s and time
comes from an injected clock, so all of it can be tested by calling it. What
the hall says to people are events (chatroom.core.events): each is made once
and each peer takes the rendering its screen speaks.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from loguru import logger
from twisted.internet.defer import maybeDeferred

from chatroom.core import commands
from chatroom.core.accounts import Accounts
from chatroom.core.archive import Archive
from chatroom.core.durations import lasting
from chatroom.core.events.model import (
    Action,
    Chat,
    Event,
    Goodbye,
    History,
    Notice,
    Private,
    RoomNotice,
    Stamper,
    ToAll,
)
from chatroom.core.moderation import ShoutPolicy
from chatroom.core.names import name_key, name_problem, user_name_problem
from chatroom.core.operators import Moderation, Refreshed
from chatroom.core.panels import Panels
from chatroom.core.passwords import InlinePasswords
from chatroom.core.room import LOBBY, Room
from chatroom.core.session import Peer, Session
from chatroom.core.settings import Settings
from chatroom.store.interface import ADDRESS, ALL_ROOMS, NAME
from chatroom.store.memory import MemoryStore

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTime

    from chatroom.core.colours import Colour
    from chatroom.core.events.model import Line
    from chatroom.core.passwords import Passwords
    from chatroom.store.interface import Account, Ban, Mute, Store

HISTORY_DEFAULT, HISTORY_MOST = 50, 500  # lines /history shows without a number, and at most


class Hall:
    def __init__(
        self,
        clock: IReactorTime,
        settings: Settings | None = None,
        rng: random.Random | None = None,
        store: Store | None = None,
        passwords: Passwords | None = None,
    ):
        self.clock = clock
        self.settings = settings = settings or Settings()
        self.rng = rng or random.Random()
        self.store = store = store or MemoryStore()
        self.stamp = Stamper(clock, lambda: store.slot)  # the store's slot keeps ids unique across processes
        self.shouts = ShoutPolicy(settings.shout_min_letters, settings.shout_strikes)
        self.accounts = Accounts(store, passwords or InlinePasswords(), clock)
        self.archive = Archive(store, self.stamp, settings.history)
        self.moderation = Moderation(store, clock)
        self.moderation.mute_ended = self._mute_ended
        self.motd = settings.motd  # operators may change it (/motd)
        self.lobby = Room(LOBBY, settings.history)
        self.rooms: dict[str, Room] = {self.lobby.key: self.lobby}
        self.panels = Panels(clock, self.stamp, self.rooms)
        self.sessions: set[Session] = set()  # every connection, logged in or not
        self.names: dict[str, Session] = {}  # name key -> its holder, from the name prompt on
        self._together = False  # inside together(): chat lines are gathered into a run
        self._run: list[Chat] = []  # chat lines gathered, all said by one person to _run_room, not yet posted
        self._run_room: Room | None = None

    @property
    def epoch(self) -> str:
        """Names the history event ids count in: the same across restarts on the same store."""
        return self.store.epoch

    def restore(self) -> None:
        """Before anyone connects: number on from the store's last line, bring back the rooms' last lines and
        the bans and mutes in force."""
        self.stamp.follow(self.store.last_id())
        self.archive.restore(self.lobby)
        self.moderation.restore()

    def refresh_sanctions(self) -> Deferred[None]:
        """Bans and mutes made or lifted elsewhere (chatroom-admin) take effect: anyone online a new ban covers
        is shown out, and whoever is muted or unmuted is told. Called every BANS_REFRESH seconds
        (chatroom.server.service.SanctionsRefresh); never fails."""

        def enforce(changed: Refreshed) -> None:
            for mute in changed.mutes:
                self._tell(mute.key, self.muted_words(mute))
            for mute in changed.lifted:
                self._tell(mute.key, "Your mute was lifted: you can speak again.")
            if not changed.bans:  # the usual case: nobody to look at (10,000 people online took 15 ms each time)
                return
            for session in list(self.sessions):
                ban = self.ban_of(session)
                if ban is not None:
                    self.show_out(session, Goodbye(self.stamp(), self.banned_words(ban)), f"{session.name} was banned.")

        def failed(failure) -> None:
            logger.bind(event="store").error("cannot read the bans and mutes: {}", failure.getErrorMessage())

        def broke(failure) -> None:  # as for a line: logged, and the reads go on
            logger.bind(event="error").error("error applying the bans and mutes read: {}", failure.getTraceback())

        return maybeDeferred(self.moderation.refresh).addCallbacks(enforce, failed).addErrback(broke)

    def _tell(self, key: str, words: str) -> None:
        """A notice for whoever is online with the name whose key is `key`, if anyone is."""
        session = self.names.get(key)
        if session is not None and session.online:
            session.notice(words)

    def muted_words(self, mute: Mute) -> str:
        reason = f": {mute.reason}" if mute.reason else ""
        return (f"You have been muted by {mute.by} {lasting(mute.since, mute.until)}{reason}: you cannot speak in "
                "rooms or to all; private messages still go.")  # fmt: skip

    def _mute_ended(self, mute: Mute) -> None:
        self._tell(mute.key, "Your mute has ended: you can speak again.")

    def ban_of(self, session: Session) -> Ban | None:
        """The ban that covers `session`'s address or name, if any. Once logged in, an operator is trusted over
        their address (a teacher behind the school's one address stays, whoever else from there is banned)."""
        by_address = None if session.operator else self.moderation.ban_of(ADDRESS, session.host)
        return by_address or (self.moderation.ban_of(NAME, session.key) if session.key else None)

    def banned_words(self, ban: Ban) -> str:
        what = "Your address is" if ban.kind == ADDRESS else f"The name {ban.shown} is"
        reason = f" ({ban.reason})" if ban.reason else ""
        return f"{what} banned from this server {self.moderation.left(ban.until)}{reason}. Goodbye!"

    # Arriving.

    def connect(self, peer: Peer) -> Session:
        session = Session(self, peer)
        self.sessions.add(session)
        logger.bind(event="connect", addr=peer.address).info("connection from {}", peer.address)
        ban = self.moderation.ban_of(ADDRESS, session.host)
        if ban is not None:
            self.refuse(session, self.banned_words(ban))
        else:
            session.start()
        return session

    def name_problem(self, name: str) -> str | None:
        """Why nobody may be called `name` (now), or None."""
        problem = user_name_problem(name)
        if problem is not None:
            return problem
        key = name_key(name)
        if key in commands.AT_WORDS:
            return f"The name {name!r} is reserved: {commands.AT_WORDS[key]} is a command."
        ban = self.moderation.ban_of(NAME, key)
        if ban is not None:
            reason = f" ({ban.reason})" if ban.reason else ""
            return f"The name {ban.shown} is banned {self.moderation.left(ban.until)}{reason}."
        return None

    def claim_name(self, session: Session, name: str) -> str | None:
        """Give `session` the name `name`, if nobody online has it; or say why not."""
        problem = self.name_problem(name)
        if problem:
            return problem
        key = name_key(name)
        holder = self.names.get(key)
        if holder is not None and holder is not session:
            if holder.name.casefold() != name.casefold():
                return f"The name {name!r} is taken: it looks too much like {holder.name!r}."
            return f"The name {name!r} is taken."
        self._give_name(session, name)
        return None

    def take_name(self, session: Session, account: Account) -> None:
        """`session` gave the password of `account`'s name: it is theirs, even from someone online with it."""
        holder = self.names.get(account.key)
        if holder is not None and holder is not session:
            logger.bind(event="takeover", user=account.name, addr=session.peer.address).info(
                "{} logged in again from {}", account.name, session.peer.address
            )
            self.show_out(holder, Goodbye(self.stamp(), f"{account.name} logged in again from elsewhere."),
                          f"{holder.name} left the chat.")  # fmt: skip
        self._give_name(session, account.name)
        session.operator = account.operator

    def _give_name(self, session: Session, name: str) -> None:
        if session.key and self.names.get(session.key) is session:
            del self.names[session.key]
        self.names[name_key(name)] = session
        session.set_name(name)

    def admit(self, session: Session) -> None:
        """A session with a name and a colour comes online, in the lobby, unless a ban made while it was at a
        prompt (after its name was checked) covers it."""
        ban = self.ban_of(session)
        if ban is not None:
            self.refuse(session, self.banned_words(ban))
            return
        others = self.online_count()
        logger.bind(event="login", user=session.name, addr=session.peer.address).info(
            "{} logged in from {} ({})", session.name, session.peer.address, session.colour.name
        )
        welcome: list[Line] = [("Welcome, ", session.who, "! You are online. Type /help (or @help) for the commands.")]
        if session.operator:
            welcome.append("You are an operator: /help lists what operators can do.")
        if self.motd:
            welcome.append(self.motd)
        everyone = (s.name for room in self.rooms.values() for s in room.members)
        welcome.append(f"Online now: {some_names(everyone, others)}." if others else "Nobody else is here yet.")
        session.notice(*welcome)
        session.since = self.stamp.last + 1
        if session.peer.panels:
            self.panels.watch(session)
        self._enter_room(session, self.lobby)

    def online(self) -> list[Session]:
        return [s for room in self.rooms.values() for s in room.members]

    def online_count(self) -> int:
        return sum(len(room.members) for room in self.rooms.values())

    def find(self, name: str) -> Session | None:
        """Who is online under `name`, ignoring case and look-alikes."""
        session = self.names.get(name_key(name))
        return session if session is not None and session.online else None

    def command(self, session: Session, text: str) -> None:
        """A line someone typed, once logged in: a command, or words to their room."""
        commands.dispatch(self, session, text)

    # Moving between rooms.

    def move(self, session: Session, room_name: str, key: str | None = None) -> None:
        name = room_name.removeprefix("#")
        problem = name_problem(name, "room name")
        if problem:
            session.error(problem)
            return
        target = self.rooms.get(name_key(name))
        if target is session.room:
            session.notice(f"You are already in {target.title}.")
            return
        if target is None and key:
            session.error(f"There is no room {name} to open with a key: /join {name} makes it, and /lock KEY locks it.")
            return
        if target is not None and not (session.operator or target.may_enter(key, session.key)):
            how = "that is not its key" if key else f"come in with /join {target.name} KEY"
            session.error(f"{target.name} is locked: {how}, or ask its owner to /invite you.")
            return
        self._leave_room(session, f"{session.name} left the room.")
        if target is None:
            self._open_room(session, name)
        else:
            self._enter_room(session, target)

    def _open_room(self, session: Session, name: str) -> None:
        kept = self.archive.lines_for(name_key(name))
        room = self.rooms[name_key(name)] = Room(name, self.settings.history, kept)
        room.owner = session
        self.archive.keep(room)
        logger.bind(event="room", user=session.name, room=name).info("{} created room {}", session.name, name)
        self._enter_room(session, room)
        session.notice(f"You own {room.name}, as you made it: /topic, /lock, /unlock and /invite are yours.")
        if kept is None:  # not in memory: its last lines come from the store
            self.archive.fill(room, session)

    def _enter_room(self, session: Session, room: Room) -> None:
        others = len(room.members)
        with_whom = f" with {some_names((m.name for m in room.members), others)}." if others else ", alone."
        room.members[session] = None
        session.room = room
        logger.bind(event="join", user=session.name, room=room.name).info("{} joined {}", session.name, room.name)
        lines = [f"You are in {room.title}{with_whom}"]
        if room.topic:
            lines.append(f"Topic: {room.topic}")
        session.notice(*lines)
        unseen = session.unseen(room.key, room.history)
        if unseen:  # lines shown before, here or when this person was in the room last, are not shown again
            session.deliver(History(self.stamp(), room.name, room.title, unseen))
        self.panels.you(session)
        self.panels.changed([room])
        self._announce_move(room, f"{session.name} joined {room.title}.", len(room.members), skip=session)

    def _leave_room(self, session: Session, announcement: str | None) -> None:
        room = session.room
        if room is None:
            return
        del room.members[session]
        session.room = None
        session.shown_up_to(room.key, self.stamp.last)
        logger.bind(event="leave", user=session.name, room=room.name).info("{} left {}", session.name, room.name)
        if not room.members and not room.is_lobby:
            del self.rooms[room.key]
            self.archive.closed(room)
            logger.bind(event="room", room=room.name).info("room {} closed: its last member left", room.name)
            self.panels.changed([room])
            return
        if room.owner is session:  # the room passes to whoever has been in longest
            room.owner = next(iter(room.members))
            room.owner.notice(f"You now own {room.name}: /topic, /lock, /unlock and /invite are yours.")
        if announcement:
            self._announce_move(room, announcement, len(room.members) + 1)
        self.panels.changed([room])

    def _announce_move(self, room: Room, text: str, size: int, skip: Session | None = None) -> None:
        """Tell the room someone came or went, unless it is bigger (`size`, counting them) than announce_limit."""
        if size <= self.settings.announce_limit:
            room.broadcast(RoomNotice(self.stamp(), room.name, text), skip=skip)

    # Talking.

    def silenced(self, session: Session, room: Room | None) -> str | None:
        """Why `session` may not speak to `room` (None: to every room) now, or None if it may."""
        mute = self.moderation.mute_of(session.key)
        if mute is not None:
            return (f"You are muted {self.moderation.left(mute.until)}: your line was not sent. "
                    "Private messages still go.")  # fmt: skip
        if self.moderation.moderated and not (session.operator or (room is not None and room.owner is session)):
            return "While the chat is moderated only operators and room owners speak: your line was not sent."
        return None

    def _may_speak(self, session: Session, room: Room | None, text: str) -> bool:
        why = self.silenced(session, room)
        if why:
            session.error(why)
            return False
        return self.shouts.allows(session, text)

    def say(self, session: Session, text: str) -> None:
        room = session.room
        if not self._may_speak(session, room, text):
            return
        chat = Chat(self.stamp(), room.name, session.who, text)
        if not self._together:
            self._post(chat, [room], room.name, f"{session.name}: {text}")
            return
        if room is not self._run_room:
            self.settle()
            self._run_room = room
        self._run.append(chat)
        self._keep(chat, room.name, f"{session.name}: {text}")  # now: the log keeps the order things happened in

    @contextmanager
    def together(self) -> Iterator[None]:
        """Lines that arrived together (one read of a connection): a run of chat lines said to a room goes to
        each member as one delivery. A paste of 500 lines to a room of 1000 is 1000 deliveries, not 500,000."""
        self._together = True
        try:
            yield
        finally:
            self._together = False
            try:
                self.settle()
            except Exception:  # as for a line (Session._run): logged, and the connection and the server go on
                logger.bind(event="error").exception("error posting lines said together")

    def settle(self) -> None:
        """Post the run gathered so far. Called before anything else is said to anyone (a command, a notice,
        a goodbye), so everyone still sees things in the order they happened."""
        if not self._run:
            return
        run, room = self._run, self._run_room
        self._run, self._run_room = [], None
        room.post_together(run)

    def act(self, session: Session, text: str) -> None:
        room = session.room
        if self._may_speak(session, room, text):
            action = Action(self.stamp(), room.name, session.who, text)
            self._post(action, [room], room.name, f"* {session.name} {text}")

    def say_to_all(self, session: Session, text: str) -> None:
        if self._may_speak(session, None, text):
            to_all = ToAll(self.stamp(), session.who, text)
            self._post(to_all, self.rooms.values(), ALL_ROOMS, f"{session.name}: {text}")

    def _post(self, event: Event, rooms: Iterable[Room], where: str, logged: str) -> None:
        """Public words, made once: posted to `rooms`, kept in the store once, logged once."""
        for room in rooms:
            room.post(event)
        self._keep(event, where, logged)

    def _keep(self, event: Event, where: str, logged: str) -> None:
        """Public words go to the store and the log, once each."""
        self.archive.record(event, where)
        logger.bind(event="message", user=event.speaker.text, room=where).info("[{}] {}", where, logged)

    def private(self, sender: Session, recipient_name: str, text: str) -> None:
        recipient = self.find(recipient_name)
        if recipient is None:
            sender.error(f"Nobody called {recipient_name!r} is online. /who lists who is.")
            return
        self.private_to(sender, recipient, text)

    def private_to(self, sender: Session, recipient: Session, text: str) -> None:
        if recipient is sender:
            sender.error("That is you.")
            return
        if not recipient.online:
            sender.error(f"{recipient.name} is no longer online.")
            return
        event = Private(self.stamp(), sender.who, recipient.who, text)
        recipient.deliver(event)
        sender.deliver(event)
        recipient.reply_to = sender
        # Who wrote to whom is logged; what they wrote is theirs (see README).
        logger.bind(event="private", user=sender.name, to=recipient.name).info(
            "private message {} -> {}", sender.name, recipient.name
        )

    def history(self, session: Session, count: str) -> None:
        """/history [N]: the last N lines of `session`'s room, from the store."""
        if count and not (count.isdecimal() and int(count) > 0):
            session.error(f"/history takes a number of lines (at most {HISTORY_MOST}); without one it shows "
                          f"{HISTORY_DEFAULT}.")  # fmt: skip
            return
        wanted = int(count) if count else HISTORY_DEFAULT
        if wanted > HISTORY_MOST:
            session.notice(f"/history shows at most {HISTORY_MOST} lines.")
        self.archive.show(session, min(wanted, HISTORY_MOST))

    def missed(self, session: Session, after: int) -> None:
        """The lines of `session`'s room that came after event number `after`: for a page back from a drop."""
        self.archive.missed(session, after)

    # Changing oneself.

    def rename(self, session: Session, name: str) -> None:
        if name == session.name:
            session.notice(f"Your name is already {name}.")
            return
        problem = self.name_problem(name)
        if problem:
            session.error(problem)
            return

        def found(account: Account | None) -> None:
            if account is not None and account.key not in session.proven:
                session.error(f"The name {account.name} is registered: its owner logs in with it.")
            elif session.online:
                self._rename(session, name)

        def failed(failure) -> None:
            logger.bind(event="store").error("cannot look up a name: {}", failure.getErrorMessage())
            session.error("Registered names cannot be checked just now; try again in a moment.")

        session.wait(self.accounts.find(name).addCallback(found), failed)

    def _rename(self, session: Session, name: str) -> None:
        old = session.name
        problem = self.claim_name(session, name)
        if problem:
            session.error(problem)
            return
        logger.bind(event="nick", user=name, room=session.room_name).info("{} is now known as {}", old, name)
        room = session.room
        room.broadcast(RoomNotice(self.stamp(), room.name, (f"{old} is now known as ", session.who, ".")))
        self.panels.you(session)
        self.panels.changed([room])

    def recolour(self, session: Session, colour: Colour) -> None:
        session.set_colour(colour)
        session.notice(("Your name now looks like this: ", session.who))
        self.accounts.remember_colour(session)
        self.panels.you(session)
        self.panels.changed([session.room])

    # Leaving.

    def quit(self, session: Session, message: str = "") -> None:
        """/quit: a goodbye message is said like any other line, then the room is told."""
        if message:
            self.say(session, message)
            if session not in self.sessions:  # the goodbye was a shout too many
                return
        self.show_out(session, Goodbye(self.stamp(), "Goodbye!"), f"{session.name} left the chat.")

    def disconnected(self, session: Session, why: str = "") -> None:
        """The connection is gone or going; the room hears it, and `why` if the server knows."""
        because = f" ({why})" if why else ""
        if not session.online:  # still at a prompt: no room to tell, and maybe no name yet
            self.remove(session, None, f"connection from {session.peer.address} closed before login{because}")
            return
        self.remove(session, f"{session.name} left the chat{because}.")

    def time_out(self, session: Session) -> None:
        """The connection did not finish logging in in time."""
        logger.bind(event="timeout", addr=session.peer.address).info(
            "{} did not log in within {} s", session.peer.address, self.settings.login_timeout
        )
        words = f"You did not log in within {self.settings.login_timeout} s (a name and a colour). Goodbye!"
        self.show_out(session, Goodbye(self.stamp(), words), None)

    def refuse(self, session: Session, words: str) -> None:
        """Close a connection that is not let in (too many wrong passwords, a ban), saying why."""
        logger.bind(event="refused", user=session.name, addr=session.peer.address).warning(
            "{} refused: {}", session.peer.address, words
        )
        self.show_out(session, Goodbye(self.stamp(), words), None)

    def kick(self, session: Session, reason: str) -> None:
        logger.bind(event="kick", user=session.name, room=session.room_name).warning(
            "{} kicked for {}", session.name, reason
        )
        goodbye = Goodbye(self.stamp(), f"You have been kicked for {reason}.")
        self.show_out(session, goodbye, f"{session.name} was kicked for {reason}.")

    def show_out(self, session: Session, goodbye: Goodbye, announcement: str | None) -> None:
        """The server's last words to `session`; its room hears `announcement`; its connection closes."""
        self.settle()
        session.deliver(goodbye)
        self.remove(session, announcement)
        session.peer.disconnect()

    def remove(self, session: Session, announcement: str | None, logged: str | None = None) -> None:
        """Forget `session`; its room hears `announcement`; the log says `logged` (or the announcement).
        Safe to call twice."""
        if session not in self.sessions:
            return
        self.sessions.remove(session)
        if self.names.get(session.key) is session:
            del self.names[session.key]
        self.panels.forget(session)
        self._leave_room(session, announcement)
        session.reply_to = None  # so one gone session never keeps a chain of others alive
        session.end()
        logger.bind(event="disconnect", user=session.name, addr=session.peer.address).info(
            "{}", logged or announcement or f"{session.name or session.peer.address} disconnected"
        )

    # What operators and room owners do.

    def kick_by(self, target: Session, by: Session, reason: str) -> None:
        logger.bind(event="kick", user=target.name, by=by.name, room=target.room_name).warning(
            "{} kicked {} ({})", by.name, target.name, reason or "no reason given"
        )
        why = f": {reason}" if reason else ""
        goodbye = Goodbye(self.stamp(), f"You have been kicked by {by.name}{why}.")
        self.show_out(target, goodbye, f"{target.name} was kicked by {by.name}" + (f" ({reason})." if reason else "."))
        by.notice(f"{target.name} is kicked.")

    def ban(self, name: str, target: Session | None, by: Session, seconds: float | None, reason: str) -> None:
        """Ban a name, and the address it is online from, if it is: whoever they cover is shown out."""
        key = name_key(name)
        ban = self.moderation.ban(NAME, key, name, by.name, reason, seconds)
        address_too = target is not None and target.host != by.host
        if address_too:  # not the operator's own address: they would be banning themselves, and their class
            self.moderation.ban(ADDRESS, target.host, target.host, by.name, reason, seconds, for_name=key)
        until = lasting(ban.since, ban.until)
        said = f"was banned by {by.name}" + (f" ({reason})." if reason else ".")
        for session in list(self.sessions):
            covered = self.ban_of(session)
            if session is target:
                words = f"You have been banned by {by.name} {until}" + (f": {reason}." if reason else ".") + " Goodbye!"
            elif covered is not None:  # someone else from the banned address
                words = self.banned_words(covered)
            else:
                continue
            self.show_out(session, Goodbye(self.stamp(), words), f"{session.name} {said}")
        if address_too:
            where = ", and the address they came from."
        elif target is not None:
            where = " (the name only: they came from your own address)."
        else:
            where = " (not online: the name only, not an address)."
        by.notice(f"{name} is banned {until}{where}")

    def mute(self, name: str, target: Session | None, by: Session, seconds: float | None, reason: str) -> None:
        """Mute a name, online or not: they are told for how long, and again when it ends."""
        mute = self.moderation.mute(name_key(name), name, by.name, reason, seconds)
        if target is not None:
            target.notice(self.muted_words(mute))
        by.notice(f"{name} is muted {lasting(mute.since, mute.until)}.")

    def set_topic(self, room: Room, by: Session, topic: str) -> None:
        room.topic = topic
        logger.bind(event="topic", by=by.name, room=room.name).info("{} set the topic of {}: {}", by.name, room.name,
                                                                    topic)  # fmt: skip
        said = f"{by.name} set the topic: {topic}" if topic else f"{by.name} cleared the topic."
        room.broadcast(RoomNotice(self.stamp(), room.name, said))
        self.panels.changed([room])

    def lock(self, room: Room, by: Session, key: str | None) -> None:
        """Lock `room` with `key` (None: unlock it); its members are told, never the key."""
        room.lock = key
        if key is None:
            room.invited.clear()
        done = "locked" if key else "unlocked"
        logger.bind(event="lock", by=by.name, room=room.name).info("{} {} {}", by.name, done, room.name)
        if key:
            said = f"{by.name} locked the room: coming in takes its key, or an invitation."
        else:
            said = f"{by.name} unlocked the room: anyone may come in."
        room.broadcast(RoomNotice(self.stamp(), room.name, said))
        if key:
            by.notice(f"{room.name} is locked: come in with /join {room.name} {key}")
        self.panels.changed([room])

    def tell_everyone(self, *lines: Line) -> None:
        """Server text for everyone online: one event, rendered once for each kind of screen."""
        notice = Notice(self.stamp(), lines)
        for session in self.online():
            session.deliver(notice)

    def shutdown(self, message: str = "The server is going down. Goodbye!") -> None:
        """Tell everyone, then close every connection (no one-by-one leave notices)."""
        count = len(self.sessions)
        plural = "" if count == 1 else "s"
        logger.bind(event="shutdown").warning("shutting down: telling {} connection{}", count, plural)
        goodbye = Goodbye(self.stamp(), message, will_return=True)
        for session in list(self.sessions):
            self.show_out(session, goodbye, None)

    def server_time(self) -> str:
        return time.strftime("%A %Y-%m-%d %H:%M:%S %Z", time.localtime(self.clock.seconds()))


def some_names(names: Iterable[str], count: int, limit: int = 20) -> str:
    """'a, b, c', or 'a, b, c and 9,997 more' past `limit`: a welcome to a room of 10,000 stays one line.

    `names` are the first of `count`; only `limit` of them are read, so a login is not slowed by a crowd.
    """
    shown = ", ".join(itertools.islice(names, limit))
    return shown if count <= limit else f"{shown} and {count - limit:,} more"
