"""The server's tunable numbers, with the defaults PRODUCT.md promises."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    shout_min_letters: int = 5  # a shout has at least this many letters, all capitals
    shout_strikes: int = 2  # warned before this many shouts, kicked at it
    history: int = 20  # recent lines a room shows to whoever comes in
    max_line: int = 4096  # bytes in one line from a client, before it is refused
    motd: str = ""  # shown in the welcome
