"""One connection's life in the hall: it is asked a name, then a colour, then it chats."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from loguru import logger

from chatroom.core.accounts import TRIES_PER_CONNECTION, too_many_wrong
from chatroom.core.colours import Colour, colour_menu, find_colour, pick_colour, unknown_colour
from chatroom.core.events.model import Error, Event, Line, Name, Notice, Prompt
from chatroom.core.flood import TokenBucket
from chatroom.core.names import MAX_NAME_LENGTH, name_key
from chatroom.core.text import clean_text

if TYPE_CHECKING:
    import random

    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IDelayedCall, IReactorTime

    from chatroom.core.accounts import Accounts
    from chatroom.core.events.model import Stamper
    from chatroom.core.room import Room
    from chatroom.core.settings import Settings
    from chatroom.store.interface import Account


class Peer(Protocol):
    """All the core knows of a connection; a Twisted protocol provides it."""

    address: str
    panels: bool  # whether its screen shows the rooms and their members beside the chat (the web page does)

    def deliver(self, event: Event) -> None:
        """Queue an event for the client, in the rendering its screen speaks; never blocks."""

    def expect_secret(self, secret: bool) -> None:
        """The next line is (True) or was (False) a password: keep it off the client's screen if it can be told."""

    def disconnect(self) -> None:
        """Close the connection once what was sent has gone out."""


class Host(Protocol):
    """What a session asks of the hall it lives in. The hall provides it; this module never imports the hall."""

    settings: Settings
    clock: IReactorTime
    rng: random.Random
    stamp: Stamper
    accounts: Accounts

    def name_problem(self, name: str) -> str | None: ...

    def claim_name(self, session: Session, name: str) -> str | None: ...

    def take_name(self, session: Session, account: Account) -> None: ...

    def refuse(self, session: Session, words: str) -> None: ...

    def admit(self, session: Session) -> None: ...

    def command(self, session: Session, text: str) -> None: ...

    def kick(self, session: Session, reason: str) -> None: ...

    def time_out(self, session: Session) -> None: ...

    def disconnected(self, session: Session, why: str = "") -> None: ...

    def settle(self) -> None: ...


NONE_PROVEN: frozenset[str] = frozenset()
SEEN_ROOMS = 100  # rooms a session remembers what it was shown in; past that, the oldest shows its lines again

# Lines kept while a session waits (a name looked up, a password checked: milliseconds); a client still
# sending this many by then is a script, not a person.
MAX_LATER = 10_000

BANNER = "Welcome to chatroom. Be kind, and please don't shout in capitals."
NAME_PROMPT = f"What is your name? (up to {MAX_NAME_LENGTH} letters, digits, '-', '_' or '.')"
# The bundled client recognises the prompts by these texts.
COLOUR_PROMPT = "Pick a colour for your name (a name or number; Enter picks one):"
PASSWORD_PROMPT = "Password for {name}:"  # after the name of a registered name; then no colour prompt
WRONG_PASSWORD = "Wrong password for {name}."  # said before the password prompt comes again
TOO_MANY_TRIES = "Three wrong passwords for {name}. Goodbye!"  # the last words: the connection closes


@dataclass(frozen=True, slots=True)
class Unsent:
    """A line the adapter could not take (too long): it waits in line like the others, so its error comes
    after the answers to the lines sent before it."""

    error: str


class Session:
    def __init__(self, hall: Host, peer: Peer):
        self.hall = hall
        self.peer = peer
        self.deliver: Callable[[Event], None] = peer.deliver  # bound once: broadcasts call it per recipient
        self.name = ""
        self.key = ""
        self.colour: Colour | None = None
        self.who = Name("")  # the name in its colour, as events show it
        self.room: Room | None = None
        self.shouts = 0
        self.reply_to: Session | None = None
        # Keys of the registered names this connection gave the password of: changed by replacing it, so
        # every session can start with the same empty one (each new empty set or frozenset takes 216 bytes).
        self.proven: frozenset[str] = NONE_PROVEN
        self.operator = False  # logged in with the password of a name the host made an operator
        # What this screen has shown, so a room's recent lines are shown once: room key -> the id up to which
        # everything said there was shown (or was older than what was), oldest first. None until it leaves a room.
        self._seen: dict[str, int] | None = None
        self.since = 0  # the first event id after logging in: every line to every room from then on was shown live
        self.to_all_seen = 0  # the same as `seen` for lines to every room said before `since`, shown in a history
        self._handle: Callable[[str], None] = self._answer_name
        self._busy = 0  # work this session waits on (a name looked up, a password checked)
        self._wrong_passwords = 0
        # Lines that came meanwhile, and `then`s, in order. Lists, not deques, here and for _held: they are
        # short, and an empty deque takes 760 bytes, 7 MB for 10,000 idle clients.
        self._later: list[str | Unsent | Callable[[], None]] = []
        rate, burst = hall.settings.flood_rate, hall.settings.flood_burst
        self._bucket = TokenBucket(rate, burst, hall.clock) if rate else None  # a rate of 0: no flood limit
        self._held: list[str | Unsent | Callable[[], None]] = []  # lines (and `then`s) behind the flood limit
        self._release_call: IDelayedCall | None = None
        self._login_call: IDelayedCall | None = None
        self._input_ended = False  # the client sends nothing more: once its lines are handled, it is closed

    @property
    def room_name(self) -> str | None:
        return self.room.name if self.room else None

    @property
    def online(self) -> bool:
        return self.room is not None

    @property
    def host(self) -> str:
        """The address without its port: what the limits per address count."""
        host, _, port = self.peer.address.rpartition(":")
        return host if port.isdigit() else self.peer.address

    def start(self) -> None:
        self.notice(BANNER)
        self.prompt("name", NAME_PROMPT)
        if self.hall.settings.login_timeout:
            self._login_call = self.hall.clock.callLater(self.hall.settings.login_timeout, self.hall.time_out, self)

    def line(self, raw: str | Unsent) -> None:
        """One line from the client, decoded but not yet cleaned; past the flood limit it waits its turn."""
        if self._handle is _ignore:  # the hall has let this session go; lines still in flight are dropped
            return
        if self._busy:  # they go through flood control once the wait is over
            self._later.append(raw)
            if len(self._later) > MAX_LATER:
                self.hall.kick(self, "flooding")
            return
        if self._held or not self._may_go_now(raw):
            self._hold(raw)
        else:
            self._run(raw)

    def _may_go_now(self, raw: str | Unsent | Callable[[], None]) -> bool:
        return self._bucket is None or not isinstance(raw, str) or not raw.strip() or self._bucket.take()

    def _hold(self, raw: str | Unsent) -> None:
        settings = self.hall.settings
        if not self._held:
            self.notice(
                f"Slow down: you are sending more than {settings.flood_rate} lines a second, so your lines now "
                f"follow at that pace. With over {settings.flood_queue} lines waiting you would be disconnected."
            )
        self._held.append(raw)
        if sum(not callable(waiting) for waiting in self._held) > settings.flood_queue:
            self.hall.kick(self, "flooding")
        else:
            self._release_later()

    def _release(self) -> None:
        """Send waiting lines as the bucket allows, and come back for the rest."""
        self._release_call = None
        while self._held and not self._busy and self._may_go_now(self._held[0]):
            self._run(self._held.pop(0))
        self._release_later()
        self._close_if_done()

    def _release_later(self) -> None:
        if self._held and not self._busy and self._release_call is None:
            self._release_call = self.hall.clock.callLater(self._bucket.wait(), self._release)

    def _run(self, raw: str | Unsent | Callable[[], None]) -> None:
        if isinstance(raw, Unsent):
            self.error(raw.error)
            return
        if not isinstance(raw, str):  # a `then`, reached in turn
            raw()
            return
        try:
            self._handle(raw)
        except Exception:
            logger.bind(user=self.name, event="error").exception(
                "error handling a line from {}", self.name or self.peer.address
            )
            self.error("Sorry, the server could not handle that line.")

    def wait(self, work: Deferred, failed: Callable) -> None:
        """Hold this session's next lines until `work` is done: they follow in order, as if it had been at once.

        `failed` handles a failure of `work` (a store that cannot be read, say).
        """
        self._busy += 1

        def done(_) -> None:
            self._busy -= 1
            while self._later and not self._busy:
                waiting = self._later.pop(0)
                if isinstance(waiting, str | Unsent):
                    self.line(waiting)
                else:
                    self.then(waiting)
            self._release_later()
            self._close_if_done()

        work.addErrback(failed).addBoth(done)

    def then(self, step: Callable[[], None]) -> None:
        """Run `step` once everything this session has been sent so far is handled (an ack, say): lines
        waiting for work or behind the flood limit included."""
        if self._busy:
            self._later.append(step)
        elif self._held:
            self._held.append(step)
        else:
            step()

    def input_ended(self) -> None:
        """The client closed its side after sending: its lines still waiting are handled, then it is closed."""
        self._input_ended = True
        self._close_if_done()

    def _close_if_done(self) -> None:
        if self._input_ended and (self._handle is _ignore or not (self._busy or self._later or self._held)):
            self.peer.disconnect()  # then the connection's end tells the hall, as any other end does

    def lost(self) -> None:
        """The connection is gone."""
        self.hall.disconnected(self)

    def fell_behind(self) -> None:
        """The connection was cut because the client stopped reading what it was sent."""
        self.hall.disconnected(self, "too far behind: stopped reading")

    def interrupted(self) -> None:
        """The client pressed Ctrl-C (telnet sends it as a command, not a character)."""
        self.notice("Ctrl-C does nothing here: type /quit to leave.")

    def line_too_long(self, limit: int) -> None:
        """A line over the limit came (and was dropped) here, among the others: its error takes its place."""
        self.line(Unsent(f"That line was longer than {limit} bytes and was not sent."))

    # Speaking to this one person.

    def notice(self, *lines: Line) -> None:
        self._tell(Notice(self.hall.stamp(), lines))

    def error(self, text: Line) -> None:
        self._tell(Error(self.hall.stamp(), text))

    def prompt(self, asks: str, text: Line, problem: str | None = None) -> None:
        self._tell(Prompt(self.hall.stamp(), asks, text, problem))

    def _tell(self, event: Event) -> None:
        self.hall.settle()  # lines gathered before this (see Hall.together) go first: things come in order
        self.deliver(event)

    # What this screen has shown.

    def shown_up_to(self, room_key: str, last_id: int) -> None:
        """Leaving a room: everything said there up to event `last_id` was shown, or came before what was."""
        if self._seen is None:
            self._seen = {}
        self._seen.pop(room_key, None)
        self._seen[room_key] = last_id
        if len(self._seen) > SEEN_ROOMS:  # a script touring rooms must not grow it without end
            del self._seen[next(iter(self._seen))]

    def unseen(self, room_key: str, lines: Iterable[Event]) -> tuple[Event, ...]:
        """Of a room's recent `lines` (oldest first), those this screen has not shown; they count as shown now."""
        up_to = self._seen.get(room_key, 0) if self._seen else 0
        to_all_up_to = max(up_to, self.to_all_seen)
        fresh = tuple(
            line
            for line in lines
            if line.stamp.id > (to_all_up_to if line.kind == "all" else up_to)
            and not (line.kind == "all" and line.stamp.id >= self.since)  # a line to every room came here live
        )
        for line in fresh:
            if line.kind == "all":  # said before logging in, shown in this room: not again in the next
                self.to_all_seen = max(self.to_all_seen, line.stamp.id)
        return fresh

    # Identity, set by the hall.

    def set_name(self, name: str) -> None:
        self.name, self.key = name, name_key(name)
        self.who = Name(name, self.colour)

    def set_colour(self, colour: Colour) -> None:
        self.colour = colour
        self.who = Name(self.name, colour)

    # The states a line can arrive in.

    def _answer_name(self, raw: str) -> None:
        name = raw.strip()
        problem = self.hall.name_problem(name)
        if problem:
            self.prompt("name", NAME_PROMPT, problem)
            return

        def found(account: Account | None) -> None:
            if self._handle is _ignore:
                return
            if account is not None:
                self._ask_password(account)
                return
            problem = self.hall.claim_name(self, name)
            if problem:
                self.prompt("name", NAME_PROMPT, problem)
            else:
                self._handle = self._answer_colour
                self.prompt("colour", (f"{COLOUR_PROMPT} ", *colour_menu()))

        def failed(failure) -> None:
            logger.bind(event="store").error("cannot look up a name: {}", failure.getErrorMessage())
            self.prompt("name", NAME_PROMPT, "Registered names cannot be checked just now; try again in a moment.")

        self.wait(self.hall.accounts.find(name).addCallback(found), failed)

    def _ask_password(self, account: Account, problem: str | None = None) -> None:
        self._handle = lambda raw: self._answer_password(account, raw)
        self.peer.expect_secret(True)
        self.prompt("password", PASSWORD_PROMPT.format(name=account.name), problem)

    def _answer_password(self, account: Account, raw: str) -> None:
        self.peer.expect_secret(False)
        accounts = self.hall.accounts
        blocked = accounts.blocked_for(self.host)
        if blocked > 0:
            self.hall.refuse(self, f"{too_many_wrong(blocked)} Goodbye!")
            return

        def judged(right: bool) -> None:
            if self._handle is _ignore:
                return
            if right:
                self.proven |= {account.key}
                self.hall.take_name(self, account)
                self._enter(find_colour(account.colour or "") or pick_colour(self.hall.rng))
                return
            self._wrong_passwords += 1
            if self._wrong_passwords >= TRIES_PER_CONNECTION:
                self.hall.refuse(self, TOO_MANY_TRIES.format(name=account.name))
            else:
                self._ask_password(account, WRONG_PASSWORD.format(name=account.name))

        def failed(failure) -> None:
            logger.bind(event="store").error("cannot check a password: {}", failure.getErrorMessage())
            self._ask_password(account, "The password cannot be checked just now; try again in a moment.")

        self.wait(accounts.check(account, raw.strip(), self.host).addCallback(judged), failed)

    def _answer_colour(self, raw: str) -> None:
        choice = raw.strip()
        colour = find_colour(choice) if choice else pick_colour(self.hall.rng)
        if colour is None:
            self.error(unknown_colour(choice))
            return
        self._enter(colour)

    def _enter(self, colour: Colour) -> None:
        """Logged in: a name and a colour."""
        self.set_colour(colour)
        self._handle = self._chat
        _cancel(self._login_call)
        if self._bucket is not None:
            self._bucket.fill()  # the lines that logged in do not eat into the first paste
        self.hall.admit(self)

    def _chat(self, raw: str) -> None:
        text = clean_text(raw)
        if text:
            self.hall.command(self, text)

    def end(self) -> None:
        """Lines still in flight from a session the hall has let go are ignored."""
        self._handle = _ignore
        self._held.clear()
        _cancel(self._release_call)
        _cancel(self._login_call)


def _ignore(raw: str) -> None:
    pass


def _cancel(call: IDelayedCall | None) -> None:
    if call is not None and call.active():
        call.cancel()
