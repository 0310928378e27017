"""Tab completion: the server's commands, from its own table, and the names this client has seen."""

from __future__ import annotations

from collections.abc import Iterator

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from chatroom.client.names_seen import NamesSeen
from chatroom.core.commands import SPELLINGS as COMMAND_SPELLINGS

_COMMAND_MARKS = tuple({s[0] for s in COMMAND_SPELLINGS})


def completions(before_cursor: str, names: NamesSeen) -> tuple[str, list[str]]:
    """The word being completed at the end of `before_cursor`, and what it could become.

    The first word completes to a command when it starts like one ('/', '@'
    or '!'), and '@' also to '@name'; any other word completes to a name.
    """
    head, _, word = before_cursor.rpartition(" ")
    if not head and word.startswith(_COMMAND_MARKS):
        found = [s for s in COMMAND_SPELLINGS if s.startswith(word.lower())]
        if word.startswith("@"):
            found += [f"@{name}" for name in names.starting_with(word[1:]) if f"@{name}" not in found]
        return word, found
    return word, names.starting_with(word)


class ChatCompleter(Completer):
    """prompt_toolkit's side of `completions`."""

    def __init__(self, names: NamesSeen):
        self.names = names

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterator[Completion]:
        word, found = completions(document.text_before_cursor, self.names)
        is_command = word.startswith(_COMMAND_MARKS) and " " not in document.text_before_cursor
        for text in found:
            # A command is followed by its arguments: the space comes with it.
            yield Completion(text + " " if is_command else text, start_position=-len(word), display=text)
