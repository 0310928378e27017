"""The names this client has seen, for completing them."""

from __future__ import annotations

from collections.abc import Iterable

from chatroom.core.names import name_key


class NamesSeen:
    """Names in the order they were last seen, newest first when completing."""

    def __init__(self) -> None:
        self._names: dict[str, str] = {}  # name key -> the name as last written; insertion order is recency

    def add(self, names: Iterable[str]) -> None:
        for name in names:
            key = name_key(name)
            self._names.pop(key, None)
            self._names[key] = name

    def rename(self, old: str, new: str) -> None:
        self._names.pop(name_key(old), None)
        self.add([new])

    def starting_with(self, prefix: str) -> list[str]:
        key = name_key(prefix)
        return [name for k, name in reversed(self._names.items()) if k.startswith(key)]

    def __contains__(self, name: str) -> bool:
        return name_key(name) in self._names
