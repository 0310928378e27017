"""Every open chat connection, telnet or web: counted per address for --max-per-ip, and waited for at shutdown."""

from __future__ import annotations

from collections import Counter
from typing import Any

from loguru import logger

from chatroom.core.settings import Settings


class Connections:
    def __init__(self, max_per_ip: int = Settings.max_per_ip):
        self.max_per_ip = max_per_ip
        self._open: set[Any] = set()
        self._per_host: Counter[str] = Counter()
        self._hosts: dict[Any, str | None] = {}

    def full(self, host: str | None) -> bool:
        """Whether `host` already has as many connections as it may: then the next is refused, and logged."""
        if not self.max_per_ip or host is None or self._per_host[host] < self.max_per_ip:
            return False
        logger.bind(event="refused", addr=host).warning(
            "refused a connection from {}: already {} from there", host, self.max_per_ip
        )
        return True

    @property
    def refusal(self) -> str:
        return f"Too many connections from your address (the limit is {self.max_per_ip}). Goodbye!"

    def arrived(self, connection: Any, host: str | None) -> None:
        self._open.add(connection)
        self._hosts[connection] = host
        if host is not None:
            self._per_host[host] += 1

    def left(self, connection: Any) -> None:
        if connection not in self._open:
            return
        self._open.remove(connection)
        host = self._hosts.pop(connection)
        if host is not None:
            self._per_host[host] -= 1
            if not self._per_host[host]:
                del self._per_host[host]

    def __contains__(self, connection: Any) -> bool:
        return connection in self._open

    def __len__(self) -> int:
        return len(self._open)

    def __iter__(self):
        return iter(list(self._open))
