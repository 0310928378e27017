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

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
_IAC_BYTE = bytes([IAC])

_DATA, _COMMAND, _OPTION, _SUBNEGOTIATION, _SUBNEGOTIATION_IAC = range(5)

# Real subnegotiations are a few bytes; one left open longer than this was junk,
# and the client is let speak again rather than muted for good.
MAX_SUBNEGOTIATION = 1024


class TelnetFilter:
    """Feed it what a client sent; get back the chat bytes, and what to answer."""

    def __init__(self) -> None:
        self._state = _DATA
        self._verb = 0
        self._skipped = 0

    def feed(self, data: bytes) -> tuple[bytes, bytes]:
        if self._state == _DATA and _IAC_BYTE not in data:
            return data, b""
        kept = bytearray()
        reply = bytearray()
        i = 0
        while i < len(data):
            if self._state == _DATA:
                iac = data.find(_IAC_BYTE, i)
                if iac < 0:
                    kept += data[i:]
                    break
                kept += data[i:iac]
                self._state = _COMMAND
                i = iac + 1
                continue
            self._step(data[i], kept, reply)
            i += 1
        return bytes(kept), bytes(reply)

    def _step(self, byte: int, kept: bytearray, reply: bytearray) -> None:
        state = self._state
        if state == _COMMAND:
            if byte == IAC:  # an escaped 0xFF data byte
                kept.append(IAC)
                self._state = _DATA
            elif byte in (WILL, WONT, DO, DONT):
                self._verb = byte
                self._state = _OPTION
            elif byte == SB:
                self._state = _SUBNEGOTIATION
                self._skipped = 0
            else:  # NOP, IP, AYT, GA, ... or nonsense: nothing to show
                self._state = _DATA
        elif state == _OPTION:
            # We keep every option off: refuse offers, never answer refusals
            # (answering those is what makes two telnets loop forever).
            if self._verb == WILL:
                reply += bytes((IAC, DONT, byte))
            elif self._verb == DO:
                reply += bytes((IAC, WONT, byte))
            self._state = _DATA
        elif state == _SUBNEGOTIATION:
            self._skipped += 1
            if byte == IAC:
                self._state = _SUBNEGOTIATION_IAC
            elif self._skipped > MAX_SUBNEGOTIATION:
                self._state = _DATA
        elif state == _SUBNEGOTIATION_IAC:
            self._state = _DATA if byte == SE else _SUBNEGOTIATION
