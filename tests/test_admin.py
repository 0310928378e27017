"""The installed chatroom-admin, on real SQLite files: from a pipe, in a terminal, and beside a real twistd.

The host's side of issue 11: making operators (registering the name first, its
password asked twice without echo in a terminal, or read as one line from a
pipe), taking it back, new passwords, the bans in force and lifting them, mutes
set and lifted, while the server runs on the same file. Misuse is one line and status 2; a store it
cannot open, status 1; never a traceback.
"""

from __future__ import annotations

import re
import sqlite3
import time

import pytest
from argon2 import PasswordHasher
from moderation_lab import LEFT, WAIT, ZONED, Lab, comes_in, refused_at_connect, wait_until

from chatroom.core.durations import FORMS
from chatroom.core.names import name_key
from chatroom.core.operators import BANS_REFRESH
from chatroom.store.sqlite import connect
from conftest import STORE_KINDS, plain
from postgresql_cluster import free_port

TEACHER_PASSWORD = "Teacher-Pass-2024"
TYPED = "Typed-Secret-4417"  # typed into a terminal: must never be shown
OTHER = "Other-Secret-9923"
ALICE_PASSWORD = "Alice-Pass-5150"


def new_store(lab: Lab) -> None:
    """An empty store where the server would make one."""
    connect(str(lab.db)).close()


def accounts(lab: Lab) -> dict[str, tuple[str, str, int]]:
    """name -> (name key, password hash, operator), read from the store itself."""
    rows = lab.query("SELECT name, name_key, password_hash, operator FROM accounts")
    return {name: (key, password_hash, operator) for name, key, password_hash, operator in rows}


def is_password(password_hash: str, password: str) -> bool:
    try:
        return PasswordHasher().verify(password_hash, password)
    except Exception:  # noqa: BLE001 -- argon2's mismatch and invalid-hash errors alike: not this password
        return False


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text and 'File "' not in text, text


# chatroom-admin on its own.


def test_op_from_a_pipe_registers_the_name_with_its_first_line_and_makes_it_an_operator(lab):
    made = lab.admin("op", "teacher", password=f"{TEACHER_PASSWORD}\nnot-part-of-it\n")
    assert made.status == 0, made
    assert made.out == "teacher is an operator (registered now, with the password given); it takes effect at " \
                       "their next login.\n"  # fmt: skip
    assert made.err == ""
    key, password_hash, operator = accounts(lab)["teacher"]
    assert (key, operator) == (name_key("teacher"), 1)
    assert password_hash.startswith("$argon2id$")
    assert is_password(password_hash, TEACHER_PASSWORD)  # the first line, and only it
    assert TEACHER_PASSWORD.encode() not in lab.db.read_bytes()  # kept as a hash only
    listed = lab.admin("list")
    assert listed.status == 0 and re.fullmatch(r"@teacher +registered \d{4}-\d\d-\d\d  operator\n", listed.out)


def test_op_in_a_terminal_asks_twice_and_shows_nothing_typed(lab):
    terminal = lab.admin_terminal("op", "teacher")
    terminal.wait_for("Password for teacher: ")
    terminal.type(TYPED + "\r")
    terminal.wait_for("The same again: ")
    terminal.type(TYPED + "\r")
    assert terminal.exit_status() == 0, terminal.screen
    assert terminal.screen == (
        "Password for teacher: \r\nThe same again: \r\nteacher is an operator (registered now, with the password "
        "given); it takes effect at their next login.\r\n"
    )
    assert TYPED not in terminal.screen
    _, password_hash, operator = accounts(lab)["teacher"]
    assert operator == 1 and is_password(password_hash, TYPED)


def test_op_in_a_terminal_refuses_two_different_answers_and_writes_nothing(lab):
    lab.make_operator("teacher", TEACHER_PASSWORD)
    before = accounts(lab)
    terminal = lab.admin_terminal("op", "newcomer")
    terminal.wait_for("Password for newcomer: ")
    terminal.type(TYPED + "\r")
    terminal.wait_for("The same again: ")
    terminal.type(OTHER + "\r")
    assert terminal.exit_status() == 2, terminal.screen
    assert terminal.screen.endswith("The same again: \r\nchatroom-admin: the two passwords differ; nothing was "
                                    "changed.\r\n")  # fmt: skip
    assert TYPED not in terminal.screen and OTHER not in terminal.screen
    assert accounts(lab) == before
    assert "newcomer" not in lab.admin("list").out


def test_a_password_in_a_terminal_asked_again_for_the_same_name_changes_it(lab):
    lab.make_operator("teacher", TEACHER_PASSWORD)
    terminal = lab.admin_terminal("password", "teacher")
    terminal.wait_for("Password for teacher: ")
    terminal.type(TYPED + "\r")
    terminal.wait_for("The same again: ")
    terminal.type(TYPED + "\r")
    assert terminal.exit_status() == 0, terminal.screen
    assert terminal.screen.endswith("teacher has a new password.\r\n") and TYPED not in terminal.screen
    _, password_hash, operator = accounts(lab)["teacher"]
    assert operator == 1  # still an operator
    assert is_password(password_hash, TYPED) and not is_password(password_hash, TEACHER_PASSWORD)


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_deop_and_list_mark_who_is_an_operator(lab):
    lab.make_operator("teacher", TEACHER_PASSWORD)
    lab.make_operator("helper", OTHER)
    taken = lab.admin("deop", "helper")
    assert (taken.status, taken.err) == (0, ""), taken
    assert taken.out == "helper is no longer an operator; it takes effect at their next login.\n"
    listed = lab.admin("list")
    assert listed.status == 0, listed
    lines = listed.out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(r" helper +registered \d{4}-\d\d-\d\d", lines[0])  # still registered, not an operator
    assert re.fullmatch(r"@teacher +registered \d{4}-\d\d-\d\d  operator", lines[1])
    again = lab.admin("op", "teacher")  # registered already: no password is read (stdin is empty)
    assert (again.status, again.out) == (0, "teacher is an operator already.\n"), again
    back = lab.admin("op", "HELPER")  # a look-alike of a registered name is that name: no password asked
    assert (back.status, back.out) == (0, "helper is an operator; it takes effect at their next login.\n"), back
    assert is_password(accounts(lab)["helper"][1], OTHER)  # its password untouched


def test_list_bans_and_mutes_on_a_new_store_say_there_is_nothing(lab):
    new_store(lab)
    listed, bans, mutes = lab.admin("list"), lab.admin("bans"), lab.admin("mutes")
    assert (listed.status, listed.out, listed.err) == (0, "No registered names.\n", ""), listed
    assert (bans.status, bans.out, bans.err) == (0, "No bans are in force.\n", ""), bans
    assert (mutes.status, mutes.out, mutes.err) == (0, "No mutes are in force.\n", ""), mutes


def test_help_says_how_operators_are_marked(lab):
    helped = lab.admin("--help")
    assert (helped.status, helped.err) == (0, ""), helped
    text = " ".join(helped.out.split())  # argparse wraps it to the terminal's width
    assert "list the registered names; an operator's is marked @ (@teacher), as in /who" in text
    assert "In `list`, and in the chat's /who, an operator's name is marked with @ before it: @teacher." in text


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("op", "two words"), TEACHER_PASSWORD, "A name cannot contain spaces."),
        (("op", "x" * 21), TEACHER_PASSWORD, "A name can be at most 20 characters long."),
        (("op", "admin"), TEACHER_PASSWORD, "The name 'admin' is reserved."),
        (("op", "bob!"), TEACHER_PASSWORD, "A name may use only letters, digits, '-', '_' and '.'."),
        (("password", "no/slash"), TEACHER_PASSWORD, "A name may use only letters, digits, '-', '_' and '.'."),
        (("op", "newcomer"), "short", "A password needs at least 8 characters."),
        (("op", "newcomer"), "has a space", "A password cannot contain spaces."),
        (("op", "newcomer"), "", "A password needs at least 8 characters."),
        (("password", "teacher"), "short", "A password needs at least 8 characters."),
        (("deop", "nobody"), None, "nobody is not registered (chatroom-admin list lists the registered names)."),
        (("password", "nobody"), OTHER, "nobody is not registered (chatroom-admin list lists the registered names)."),
        (("unban", "nobody"), None, "nobody is not banned (chatroom-admin bans lists the bans)."),
        (("unban", "10.1.2.3"), None, "10.1.2.3 is not banned (chatroom-admin bans lists the bans)."),
        (("mute", "eve", "30x"), None, f"'30x' is not a time: {FORMS}. Nothing was changed."),
        (("mute", "eve", "10", "spam"), None, f"'10' is not a time: {FORMS}. Nothing was changed."),
        (("mute", "bob!"), None, "A name may use only letters, digits, '-', '_' and '.'."),
        (("unmute", "nobody"), None, "nobody is not muted (chatroom-admin mutes lists the mutes)."),
    ],
)
def test_misuse_is_one_line_and_status_2_and_changes_nothing(lab, args, password, message):
    lab.make_operator("teacher", TEACHER_PASSWORD)
    before = accounts(lab)
    refused = lab.admin(*args, password=password)
    assert refused.status == 2, refused
    assert refused.err == f"chatroom-admin: {message}\n", refused
    assert refused.out == ""
    no_traceback(refused.err)
    assert accounts(lab) == before
    assert lab.admin("mutes").out == "No mutes are in force.\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "the following arguments are required: COMMAND"),
        (("frob",), "argument COMMAND: invalid choice: 'frob'"),
        (("op",), "the following arguments are required: NAME"),
        (("list", "extra"), "unrecognized arguments: extra"),
    ],
)
def test_a_command_line_it_cannot_read_is_status_2_with_its_reason(lab, args, message):
    new_store(lab)
    refused = lab.admin(*args)
    assert refused.status == 2, refused
    assert refused.out == ""
    assert re.match(rf"chatroom-admin( \w+)?: error: {re.escape(message)}", refused.err.splitlines()[-1]), refused
    no_traceback(refused.err)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("port", r"postgresql://chatter_\d+@127\.0\.0\.1:port/chat_\d+ is not a PostgreSQL URL: its port is not a"),
        ("refused", r"cannot connect to postgresql://chatter_\d+@127\.0\.0\.1:\d+/chat_\d+: .*Connection refused"),
        ("wrong password", r".*password authentication failed for user \"chatter_\d+\""),
        ("newer", r"postgresql://\S+ was written by a newer chatroom \(schema 99; this one knows \d+\)"),
    ],
)
def test_a_postgresql_store_it_cannot_use_is_status_1_in_one_line_without_the_password(
    lab, postgresql_cluster, postgresql, case, message
):
    url = postgresql.url_with_password
    if case == "port":
        url = url.replace(f":{postgresql.port}/", ":port/")
    elif case == "refused":
        url = url.replace(f":{postgresql.port}/", f":{free_port()}/")
    elif case == "wrong password":
        url = url.replace(postgresql.password, "Wrong-Secret-0042")
    else:
        assert lab.admin("list", db=url).status == 0  # makes the schema
        postgresql_cluster.query(postgresql, "UPDATE schema_version SET version = 99")
    failed = lab.admin("op", "teacher", password=TEACHER_PASSWORD, db=url)
    assert failed.status == 1, failed
    assert failed.out == "" and len(failed.err.splitlines()) == 1, failed
    assert re.match("chatroom-admin: cannot use the store: " + message, failed.err), failed
    assert postgresql.password not in failed.err and "Wrong-Secret-0042" not in failed.err
    no_traceback(failed.err)
    if case == "newer":
        assert postgresql_cluster.query(postgresql, "SELECT count(*) FROM accounts") == [(0,)]


@pytest.mark.parametrize(
    ("case", "args", "message"),
    [
        ("no such folder", ("op", "teacher"), r"the folder .*/nowhere does not exist"),
        ("missing file", ("list",), r"there is no store at .*missing\.sqlite3 \(start the server once"),
        ("missing file", ("bans",), r"there is no store at"),
        ("missing file", ("deop", "teacher"), r"there is no store at"),
        ("missing file", ("password", "teacher"), r"there is no store at"),
        ("missing file", ("unban", "eve"), r"there is no store at"),
        ("not a database", ("list",), r"cannot be used as the store: file is not a database"),
        ("not a database", ("op", "teacher"), r"cannot be used as the store: file is not a database"),
        ("a folder", ("list",), r""),
        ("a newer schema", ("list",), r"was written by a newer chatroom \(schema 99; this one knows \d+\)"),
    ],
)
def test_a_store_it_cannot_open_is_status_1_and_left_as_it_was(lab, tmp_path, case, args, message):
    path = {
        "no such folder": tmp_path / "nowhere" / "chatroom.sqlite3",
        "missing file": tmp_path / "missing.sqlite3",
        "not a database": tmp_path / "notes.txt",
        "a folder": tmp_path / "folder.sqlite3",
        "a newer schema": tmp_path / "future.sqlite3",
    }[case]
    if case == "not a database":
        path.write_text("the host's shopping list, not a database\n" * 100)
    elif case == "a folder":
        path.mkdir()
    elif case == "a newer schema":
        with sqlite3.connect(path) as future:
            future.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            future.execute("PRAGMA user_version = 99")
        future.close()
    before = path.read_bytes() if path.is_file() else None
    failed = lab.admin(*args, password=TEACHER_PASSWORD, db=path)
    assert failed.status == 1, failed
    assert failed.out == ""
    assert len(failed.err.splitlines()) == 1 and failed.err.startswith("chatroom-admin: cannot use the store: ")
    assert re.search(message, failed.err), failed
    no_traceback(failed.err)
    if before is None:
        assert list(path.iterdir()) == [] if case == "a folder" else not path.exists()  # nothing made
    else:
        assert path.read_bytes() == before


@pytest.mark.parametrize(("key", "what"), [("\x04", "Ctrl-D"), ("\x03", "Ctrl-C")])
def test_giving_up_at_the_password_prompt_ends_without_a_traceback(lab, key, what):
    """The host changes their mind at 'Password for teacher:' and presses Ctrl-D or Ctrl-C."""
    lab.make_operator("teacher", TEACHER_PASSWORD)
    before = accounts(lab)
    terminal = lab.admin_terminal("password", "teacher")
    terminal.wait_for("Password for teacher: ")
    terminal.type(key)
    status = terminal.exit_status()
    no_traceback(terminal.screen)  # what the host sees after pressing {what}
    assert status != 0, terminal.screen
    assert len(terminal.screen.removeprefix("Password for teacher: ").strip().splitlines()) <= 1, terminal.screen
    assert accounts(lab) == before


# chatroom-admin beside a running server, on the same file.


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_op_while_the_server_runs_makes_an_operator_at_their_next_login(lab):
    lab.start()
    bob = lab.connect().login("bob")
    lab.make_operator("teacher", TEACHER_PASSWORD)
    teacher = lab.connect("127.0.0.2").log_in("teacher", TEACHER_PASSWORD)
    assert "You are an operator: /help lists what operators can do." in teacher.welcome
    helped = teacher.ask("/help")
    assert "For operators:" in helped and re.search(r"/kick NAME \[REASON\] +disconnects NAME", helped)
    assert re.search(r"lobby: bob, @teacher\r\n", teacher.ask("/who"))
    assert re.search(r"lobby: bob, @teacher\r\n", bob.ask("/who"))  # everyone sees who the operators are
    assert "/kick" not in bob.ask("/help")
    wrong = lab.connect("127.0.0.3")
    wrong.expect("What is your name")
    wrong.send("teacher")
    wrong.expect("Password for teacher:")
    wrong.send(OTHER)
    wrong.expect("Wrong password for teacher.")


def test_op_of_a_name_registered_on_the_server_asks_no_password_and_counts_from_the_next_login(lab):
    lab.start()
    alice = lab.connect().login("alice")
    alice.send(f"/register {ALICE_PASSWORD}")
    alice.expect("alice is registered")
    terminal = lab.admin_terminal("op", "alice")  # in a terminal, where a password would be asked
    assert terminal.exit_status(WAIT) == 0, terminal.screen
    assert terminal.screen == "alice is an operator; it takes effect at their next login.\r\n"
    assert "Error: /kick is for operators." in alice.ask("/kick nobody")  # not in the session she had then
    again = lab.connect("127.0.0.2").log_in("alice", ALICE_PASSWORD)
    assert "You are an operator" in again.welcome
    assert "/kick NAME" in again.ask("/help")
    assert is_password(accounts(lab)["alice"][1], ALICE_PASSWORD)  # the password she chose, untouched


def test_deop_while_the_server_runs_counts_from_the_next_login(lab):
    lab.make_operator("teacher", TEACHER_PASSWORD)
    lab.start()
    bob = lab.connect().login("bob")
    teacher = lab.connect("127.0.0.2").log_in("teacher", TEACHER_PASSWORD)
    assert "You are an operator" in teacher.welcome
    taken = lab.admin("deop", "teacher")
    assert taken.status == 0, taken
    teacher.send("/quit")
    assert teacher.closed()
    again = lab.connect("127.0.0.2").log_in("teacher", TEACHER_PASSWORD)  # still registered, with that password
    assert "operator" not in again.welcome
    assert "/kick" not in again.ask("/help")
    assert "Error: /kick is for operators." in again.ask("/kick bob")
    assert re.search(r"lobby: bob, teacher\r\n", bob.ask("/who"))
    assert "Server time" in bob.fence()  # bob is still here


def test_a_password_the_host_sets_while_the_server_runs_is_the_one_at_the_next_login(lab):
    lab.make_operator("teacher", TEACHER_PASSWORD)
    lab.start()
    terminal = lab.admin_terminal("password", "teacher")
    terminal.wait_for("Password for teacher: ")
    terminal.type(TYPED + "\r")
    terminal.wait_for("The same again: ")
    terminal.type(TYPED + "\r")
    assert terminal.exit_status() == 0, terminal.screen
    old = lab.connect("127.0.0.2")
    old.expect("What is your name")
    old.send("teacher")
    old.expect("Password for teacher:")
    old.send(TEACHER_PASSWORD)
    old.expect(r"Wrong password for teacher\.")
    old.send(TYPED)  # the same connection, the new password
    old.expect(r"You are in the lobby")
    assert "You are an operator" in plain(old.raw)
    assert lab.log_text(r"event=password user=teacher .*wrong password for teacher")
    assert TYPED not in lab.log.read_text() and TEACHER_PASSWORD not in lab.log.read_text()


def test_an_operators_ban_shows_in_chatroom_admin_bans(lab):
    lab.make_operator("alice", ALICE_PASSWORD)
    lab.start()
    alice = lab.connect("127.0.0.2").log_in("alice", ALICE_PASSWORD)
    eve = lab.connect("127.0.0.3").login("eve")
    mallory = lab.connect("127.0.0.4").login("mallory")
    alice.send("/ban eve 10m spamming links")
    eve.expect("You have been banned by alice")
    alice.send("/ban mallory for good")
    mallory.expect("You have been banned by alice")
    alice.fence()

    def listed():
        bans = lab.admin("bans")
        return bans.out.count("\n") == 4 and bans

    bans = wait_until(listed, "four bans in chatroom-admin bans", got=lambda: lab.admin("bans").out)
    assert bans.status == 0 and bans.err == ""
    lines = bans.out.splitlines()
    assert re.fullmatch(rf"eve \(name\) {LEFT}, until {ZONED}, by alice: spamming links", lines[0]), lines
    assert re.fullmatch(rf"127\.0\.0\.3 \(address\) {LEFT}, until {ZONED}, by alice: spamming links", lines[1]), lines
    assert lines[2:] == [
        "mallory (name) until it is lifted, by alice: for good",
        "127.0.0.4 (address) until it is lifted, by alice: for good",
    ]


def test_chatroom_admin_unban_of_an_address_lets_it_in_within_seconds_and_then_of_the_name(lab):
    lab.make_operator("alice", ALICE_PASSWORD)
    server = lab.start()
    alice = lab.connect("127.0.0.2").log_in("alice", ALICE_PASSWORD)
    eve = lab.connect("127.0.0.3").login("eve")
    alice.send("/ban eve spamming")
    eve.expect("You have been banned by alice")
    wait_until(lambda: "127.0.0.3 (address)" in lab.admin("bans").out, "the ban in the store")
    assert "Your address is banned" in refused_at_connect(server.port, "127.0.0.3")

    lifted = lab.admin("unban", "127.0.0.3")
    assert lifted.status == 0, lifted
    assert lifted.out == "The ban of 127.0.0.3 is lifted; the server lets them in within a few seconds.\n"
    started = time.monotonic()
    back = comes_in(server.port, "127.0.0.3", timeout=6)
    assert time.monotonic() - started < 6
    back.send("eve")  # the name is banned still: that was another ban
    back.expect(r"The name eve is banned until it is lifted \(spamming\)\.")
    assert lab.admin("unban", "eve").status == 0
    back.sock.close()
    again = comes_in(server.port, "127.0.0.3", timeout=6)

    def named_eve() -> bool:
        again.send("eve")
        answer = again.expect(r"(Pick a colour|is banned).*\n")
        return "Pick a colour" in answer

    wait_until(named_eve, "the name eve let in within a few seconds", timeout=6)
    again.send("")
    again.expect("You are in the lobby")


@pytest.mark.parametrize("store_kind", STORE_KINDS)
def test_chatroom_admin_unban_of_the_name_lets_the_person_back_in_within_seconds(lab):
    """`/ban eve` banned eve: the host lifts 'the ban of eve', and is told the server lets her in."""
    lab.make_operator("alice", ALICE_PASSWORD)
    server = lab.start()
    alice = lab.connect("127.0.0.2").log_in("alice", ALICE_PASSWORD)
    eve = lab.connect("127.0.0.3").login("eve")
    alice.send("/ban eve calm down")
    eve.expect("You have been banned by alice")
    wait_until(lambda: "eve (name)" in lab.admin("bans").out, "the ban in the store")

    lifted = lab.admin("unban", "eve")
    assert lifted.status == 0, lifted
    assert lifted.out == "The ban of eve is lifted; the server lets them in within a few seconds.\n"
    back = comes_in(server.port, "127.0.0.3", timeout=6)  # eve, from where she was
    back.send("eve")
    back.expect("Pick a colour")


def test_a_ban_written_into_the_store_while_the_server_runs_shows_the_person_out_within_seconds(lab):
    """Another program (a second tool, a script of the host's) adds a ban row: the server reads it."""
    server = lab.start()
    eve = lab.connect("127.0.0.3").login("eve")
    bob = lab.connect().login("bob")
    now = time.time()
    with sqlite3.connect(lab.db, timeout=5) as store:
        store.execute(
            "INSERT INTO bans (kind, value, shown, by, reason, since, until) VALUES (?, ?, ?, ?, ?, ?, ?)",
            ("name", name_key("eve"), "eve", "host", "by hand", now, None),
        )
    store.close()
    eve.expect(r"The name eve is banned from this server until it is lifted \(by hand\)\. Goodbye!", timeout=6)
    assert eve.closed()
    bob.expect("eve was banned.")
    assert "eve (name) until it is lifted, by host: by hand" in lab.admin("bans").out
    newcomer = comes_in(server.port, "127.0.0.3")  # only the name: her address may come in
    newcomer.send("Eve")
    newcomer.expect(r"The name eve is banned until it is lifted \(by hand\)\.")


def test_chatroom_admin_mute_and_unmute_reach_the_person_online_within_seconds(lab):
    """The host mutes eve from the shell while the server runs: she is told within the refresh interval, cannot
    speak, and is told again when the host lifts it."""
    lab.start()
    eve = lab.connect("127.0.0.3").login("eve")
    bob = lab.connect().login("bob")
    muted = lab.admin("mute", "eve", "10", "minutes", "spamming", "links")
    started = time.monotonic()
    assert (muted.status, muted.err) == (0, ""), muted
    assert muted.out == "eve is muted for 10 minutes; the server tells them within a few seconds.\n"
    eve.expect(r"\*\*\* You have been muted by host for 10 minutes: spamming links: you cannot speak in rooms or to "
               r"all; private messages still go\.\r\n")  # fmt: skip
    assert time.monotonic() - started < 2 * BANS_REFRESH + 1  # one refresh, and some slack for a busy machine
    assert re.search(rf"Error: You are muted {LEFT}: your line was not sent\.", eve.ask("hello?"))
    listed = lab.admin("mutes")
    assert re.fullmatch(rf"eve {LEFT}, until {ZONED}, by host: spamming links\n", listed.out), listed

    unmuted = lab.admin("unmute", "EVE")  # a look-alike is the name
    started = time.monotonic()
    assert unmuted.out == "EVE may speak again; the server tells them within a few seconds.\n", unmuted
    eve.expect(r"\*\*\* Your mute was lifted: you can speak again\.\r\n")
    assert time.monotonic() - started < 2 * BANS_REFRESH + 1
    eve.send("free at last")
    bob.expect("eve: free at last")
    assert "hello?" not in plain(bob.raw)
    assert lab.admin("mutes").out == "No mutes are in force.\n"
