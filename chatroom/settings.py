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
    max_line: int = 4096  # bytes in one line from a client, before it is refused
    max_backlog_kib: int = 1024  # queued for a client that stopped reading, before it is cut off
    motd: str = ""  # shown in the welcome
