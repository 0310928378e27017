"""Tab completes the server's commands (from its own table) and the names the client has seen."""

from __future__ import annotations

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from chatroom.client.completion import COMMAND_SPELLINGS, ChatCompleter, completions
from chatroom.client.names_seen import NamesSeen
from chatroom.core.commands import COMMANDS


def names(*seen: str) -> NamesSeen:
    found = NamesSeen()
    found.add(seen)
    return found


def test_every_spelling_in_the_command_table_completes():
    for command in COMMANDS:
        for spelling in command.spellings:
            if spelling != "@NAME":
                assert spelling in completions(spelling[:2], names())[1], spelling
    assert "@NAME" not in COMMAND_SPELLINGS


def test_commands_complete_at_the_start_of_the_line_only():
    assert completions("/jo", names()) == ("/jo", ["/join"])
    assert completions("/CO", names()) == ("/CO", ["/color", "/colour"])
    assert completions("!p", names()) == ("!p", ["!private"])
    assert completions("say /jo", names()) == ("/jo", [])


def test_at_completes_commands_and_names():
    assert completions("@al", names("alice", "bob")) == ("@al", ["@all", "@alice"])


def test_names_complete_anywhere_ignoring_case_newest_first():
    seen = names("Bob", "alice", "bea")
    assert completions("hi B", seen) == ("B", ["bea", "Bob"])
    assert completions("/msg al", seen) == ("al", ["alice"])
    assert completions("/msg ", seen) == ("", ["bea", "alice", "Bob"])
    seen.add(["Bob"])
    assert completions("hi b", seen)[1] == ["Bob", "bea"]


def test_a_renamed_person_completes_under_the_new_name_only():
    seen = names("bob", "carol")
    seen.rename("bob", "robert")
    assert completions("", seen)[1] == ["robert", "carol"]


def test_prompt_toolkit_gets_replacements_for_the_word_being_typed():
    completer = ChatCompleter(names("alice"))
    event = CompleteEvent(completion_requested=True)
    [command] = completer.get_completions(Document("/jo"), event)
    assert (command.text, command.start_position, command.display_text) == ("/join ", -3, "/join")
    [name] = completer.get_completions(Document("hey AL"), event)
    assert (name.text, name.start_position) == ("alice", -2)
