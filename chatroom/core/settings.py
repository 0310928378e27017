"""The server's tunable numbers, with the defaults PRODUCT.md promises.

The twistd options take their defaults from here, so they are written once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    shout_min_letters: int = 5  # a shout has at least this many letters, all capitals
    shout_strikes: int = 2  # warned before this many shouts, kicked at it
    history: int = 20  # recent lines a room shows to whoever comes in
    history_days: int = 30  # lines older than this many days are deleted from the store (0: kept for ever)
    max_line: int = 4096  # bytes in one line from a client, before it is refused
    max_backlog_kib: int = 1024  # queued for a client that stopped reading, before it is cut off
    motd: str = ""  # shown in the welcome
    announce_limit: int = 100  # rooms bigger than this do not announce each join and leave
    flood_rate: int = 2  # lines a second a client may keep up once its burst is spent (0: no limit)
    flood_burst: int = 10  # lines a client may send at once, such as a paste, before it is slowed
    login_timeout: int = 60  # seconds to give a name and colour before the connection is dropped (0: none)
    max_per_ip: int = 50  # connections from one address; a class behind one NAT shares one (0: no limit)

    @property
    def flood_queue(self) -> int:
        """Lines that may wait behind the flood limit before their sender is kicked: 30 seconds' worth."""
        return max(self.flood_burst, self.flood_rate * FLOOD_PATIENCE)


FLOOD_PATIENCE = 30  # seconds of waiting lines a sender is allowed before it counts as flooding
