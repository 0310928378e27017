"""`chatroom-client [HOST] [PORT] [--name NAME] [--color COLOR] [--password-file FILE] [--log FILE]`.

The command line, and which front end runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence

from loguru import logger

from chatroom.client.backoff import Backoff
from chatroom.client.connection import Connection, why_not_connected
from chatroom.client.conversation import Conversation
from chatroom.client.transcript import Transcript
from chatroom.core.colours import COLOURS, find_colour
from chatroom.core.names import user_name_problem

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 10001


def _port(text: str) -> int:
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return int(text)


def _name(text: str) -> str:
    problem = user_name_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _colour(text: str):
    colour = find_colour(text)
    if colour is None:
        names = ", ".join(c.name for c in COLOURS)
        raise argparse.ArgumentTypeError(f"{text!r} is not one of the colours: {names} (or 1-12)")
    return colour


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="chatroom-client",
        description="Chat on a chatroom server. In a terminal the input line stays at the bottom; "
        "with a pipe it sends the lines of stdin and prints what the server says.",
    )
    p.add_argument("host", nargs="?", default=DEFAULT_HOST, metavar="HOST", help=f"the server (default {DEFAULT_HOST})")
    p.add_argument(
        "port", nargs="?", default=DEFAULT_PORT, type=_port, metavar="PORT", help=f"its port (default {DEFAULT_PORT})"
    )
    p.add_argument("--name", type=_name, help="log in with this name instead of asking")
    p.add_argument(
        "--color",
        "--colour",
        dest="colour",
        metavar="COLOR",
        type=_colour,
        help="the colour of your name, by name or number 1-12; in a pipe the server picks one if not given",
    )
    p.add_argument(
        "--password-file",
        metavar="FILE",
        help="for a registered name: the password is the first line of FILE (instead of asking, or reading stdin)",
    )
    p.add_argument(
        "--log",
        metavar="FILE",
        help="write what the session shows to FILE, with the date and time (rotated at 500 KB, kept a week)",
    )
    return p


class UsageError(Exception):
    """A file named on the command line cannot be used; the message is one line for stderr."""


def read_password(path: str) -> str:
    """The first line of `path`, without its line ending. The message of the error never holds the password."""
    try:
        with open(path, encoding="utf-8") as file:
            first = file.readline()
    except OSError as error:
        raise UsageError(f"cannot read the password file {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UsageError(f"the password file {path} is not UTF-8 text") from None
    password = first.removesuffix("\n").removesuffix("\r")
    if not password:
        raise UsageError(f"the password file {path} has an empty first line")
    return password


def open_transcript(path: str) -> Transcript:
    try:
        return Transcript(path)
    except OSError as error:
        raise UsageError(f"cannot write the transcript to {path}: {error.strerror or error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    # The client's stderr is for its own one-line complaints: no loguru default handler (the transcript logs).
    logger.remove()
    try:
        password = read_password(args.password_file) if args.password_file is not None else None
        transcript = open_transcript(args.log) if args.log is not None else Transcript()
    except UsageError as error:
        print(f"chatroom-client: {error}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, interactive, password, transcript))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read our output has gone (`| head`): nothing left to say, and nobody to say it to.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        transcript.close()


async def _run(args: argparse.Namespace, interactive: bool, password: str | None, transcript: Transcript) -> int:
    try:
        connection = await Connection.open(args.host, args.port)
    except OSError as error:
        why = why_not_connected(args.host, args.port, error)
        print(f"chatroom-client: {why}", file=sys.stderr)
        transcript.client_line(why)
        return 1
    # In a pipe given a name, nobody will answer the colour prompt: the server picks.
    # Without a name, stdin's first lines answer the prompts, as with nc (the password prompt too).
    conversation = Conversation(
        args.name, args.colour, server_picks_colour=not interactive and args.name is not None, password=password
    )
    if interactive:
        from chatroom.client.terminal import Screen, TerminalClient  # prompt_toolkit is only needed here

        terminal = TerminalClient(
            conversation, lambda: Connection.open(args.host, args.port), Backoff(time.monotonic), Screen(transcript)
        )
        return await terminal.run(connection)
    from chatroom.client.pipe import PipeClient

    pipe = PipeClient(
        conversation, connection, sys.stdin.fileno(), sys.stdout, colour=sys.stdout.isatty(), transcript=transcript
    )
    return await pipe.run()
