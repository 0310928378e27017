"""Telnet commands taken out of a client's byte stream.

A real telnet client may offer options (IAC WILL NAWS, IAC DO ECHO, ...) or send
commands (IAC IP for Ctrl-C). None of it is chat: it is removed, and every
offer is refused, which leaves the client in its default line mode with local
echo -- what a line-based chat wants. Clients that never send IAC (nc, the
bundled client) pay one `bytes.find` per read.

conch's TelnetTransport does this too, but raises ValueError('Stumped') on an
unknown command byte (losing the rest of that read, so the result depends on
how reads were split), holds a final '\\r' back until the next byte arrives,
and walks every byte in Python. This filter has none of those problems and is
small enough to read at once.
"""

from __future__ import annotations

from typing import Protocol

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
BRK, IP = 243, 244  # what telnet sends for Break and Ctrl-C
ECHO = 1  # the option by which the server, not the client, echoes what is typed: for passwords
_IAC_BYTE = bytes([IAC])

_DATA, _COMMAND, _OPTION, _SUBNEGOTIATION, _SUBNEGOTIATION_IAC = range(5)

# Real subnegotiations are a few bytes; one left open longer than this was junk,
# and the client is let speak again rather than muted for good.
MAX_SUBNEGOTIATION = 1024


class TelnetUser(Protocol):
    """Where the filter hands what it found, in the order it came."""

    def telnet_data(self, data: bytes) -> None: ...

    def telnet_reply(self, data: bytes) -> None: ...

    def telnet_interrupt(self) -> None:
        """The client pressed Ctrl-C or Break."""


_NONE: frozenset = frozenset()


class TelnetFilter:
    """Feed it what a client sent: chat bytes, answers and interrupts go to `user`."""

    # One per connection: slots keep 10,000 of them small (with SendBacklog and LineEndings, 1.3 MiB less).
    __slots__ = ("_user", "_state", "_verb", "_skipped", "_refused", "_offered", "spoke_telnet")

    def __init__(self, user: TelnetUser) -> None:
        self._user = user
        self._state = _DATA
        self._verb = 0
        self._skipped = 0
        # Both are replaced, never changed, so every filter starts with the same empty one: most clients never
        # negotiate, and 10,000 idle ones would otherwise hold 20,000 empty sets (4 MiB).
        self._refused: frozenset[tuple[int, int]] = _NONE  # at most 2 x 256: one answer per offer
        self._offered: frozenset[int] = _NONE  # options we offered (WILL): the client's DO is its yes, not a request
        self.spoke_telnet = False  # whether the client has sent a telnet command

    def will(self, option: int) -> bytes:
        """What offers `option` to the client (ECHO: the server echoes, so the client shows nothing)."""
        self._offered |= {option}
        return bytes((IAC, WILL, option))

    def wont(self, option: int) -> bytes:
        """What takes an offer of `option` back."""
        self._offered -= {option}
        return bytes((IAC, WONT, option))

    def feed(self, data: bytes) -> None:
        if self._state == _DATA and _IAC_BYTE not in data:
            self._user.telnet_data(data)
            return
        kept = bytearray()
        i = 0
        while i < len(data):
            if self._state == _DATA:
                iac = data.find(_IAC_BYTE, i)
                if iac < 0:
                    kept += data[i:]
                    break
                kept += data[i:iac]
                self._state = _COMMAND
                self.spoke_telnet = True
                i = iac + 1
                continue
            self._step(data[i], kept)
            i += 1
        self._flush(kept)

    def _flush(self, kept: bytearray) -> None:
        if kept:
            self._user.telnet_data(bytes(kept))
            kept.clear()

    def _step(self, byte: int, kept: bytearray) -> None:
        state = self._state
        if state == _COMMAND:
            self._state = _DATA
            if byte == IAC:  # an escaped 0xFF data byte
                kept.append(IAC)
            elif byte in (WILL, WONT, DO, DONT):
                self._verb = byte
                self._state = _OPTION
            elif byte == SB:
                self._state = _SUBNEGOTIATION
                self._skipped = 0
            elif byte < SE:  # not a telnet command: a stray 0xFF from a client that is not telnet
                kept += bytes((IAC, byte))
            elif byte in (IP, BRK):
                self._flush(kept)  # what came before the Ctrl-C goes first
                self._user.telnet_interrupt()
            # NOP, AYT, GA, ...: nothing to show
        elif state == _OPTION:
            # We keep every option off but the ones we offered: refuse an offer
            # once, never answer a refusal or a yes to our own offer (answering
            # those is what makes two telnets loop forever, and answering every
            # repeat would let a client that never reads make us queue replies
            # without end).
            answer = {WILL: DONT, DO: WONT}.get(self._verb)
            if self._verb in (DO, DONT) and byte in self._offered:
                answer = None
            if answer and (self._verb, byte) not in self._refused:
                self._refused |= {(self._verb, byte)}
                self._user.telnet_reply(bytes((IAC, answer, byte)))
            self._state = _DATA
        elif state == _SUBNEGOTIATION:
            self._skipped += 1
            if byte == IAC:
                self._state = _SUBNEGOTIATION_IAC
            elif self._skipped > MAX_SUBNEGOTIATION:
                self._state = _DATA
        elif state == _SUBNEGOTIATION_IAC:
            self._state = _DATA if byte == SE else _SUBNEGOTIATION
