"""`chatroom-client [HOST] [PORT] [--name NAME] [--color COLOR]`: the command line, and which front end runs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Sequence

from chatroom.client.backoff import Backoff
from chatroom.client.connection import Connection, why_not_connected
from chatroom.client.conversation import Conversation
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
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    try:
        return asyncio.run(_run(args, interactive))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # Whoever read our output has gone (`| head`): nothing left to say, and nobody to say it to.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


async def _run(args: argparse.Namespace, interactive: bool) -> int:
    try:
        connection = await Connection.open(args.host, args.port)
    except OSError as error:
        print(f"chatroom-client: {why_not_connected(args.host, args.port, error)}", file=sys.stderr)
        return 1
    # In a pipe given a name, nobody will answer the colour prompt: the server picks.
    # Without a name, stdin's first lines answer the prompts, as with nc.
    conversation = Conversation(args.name, args.colour, server_picks_colour=not interactive and args.name is not None)
    if interactive:
        from chatroom.client.terminal import TerminalClient  # prompt_toolkit is only needed here

        client = TerminalClient(conversation, lambda: Connection.open(args.host, args.port), Backoff(time.monotonic))
        return await client.run(connection)
    from chatroom.client.pipe import PipeClient

    return await PipeClient(conversation, connection, sys.stdin.fileno(), sys.stdout, colour=sys.stdout.isatty()).run()
