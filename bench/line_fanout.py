"""Python's own cost per delivery on the line adapter's fast path, without the network.

    .venv/bin/python bench/line_fanout.py [--members 1000] [--lines 300] [--runs 7]

One member says lines one at a time, each alone in its read, to a room of
--members; every member is a real ChatProtocol whose socket is /dev/null, so
each delivery is the room's loop, the adapter's checks and one os.write that
costs almost nothing in the kernel. Prints microseconds per delivery for each
run and their median, and what a bare loop of the same writes costs: the
difference is Python's share. The real sockets' share is bench/fanout.py's.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import time

from loguru import logger
from twisted.internet.task import Clock

from chatroom.adapters.line import ChatProtocol
from chatroom.adapters.sending import WriteBatch
from chatroom.core.hall import Hall
from chatroom.core.settings import Settings


def room_of(members: int, devnull: int) -> tuple[WriteBatch, list[ChatProtocol]]:
    """Members logged in, each writing straight to `devnull`, with nothing waiting (as after a quiet spell)."""
    clock = Clock()
    hall = Hall(clock, Settings(flood_rate=0, login_timeout=0, history=0, announce_limit=0), rng=random.Random(1))
    batch = WriteBatch(clock)
    protocols = []
    for number in range(members):
        protocol = ChatProtocol(hall, 4096, 1 << 20)
        # What connectionMade sets for a TCP connection, with /dev/null for the socket.
        protocol._batch, protocol._fd, protocol._direct = batch, devnull, True
        protocol.address = f"127.0.0.1:{number}"
        protocol.session = hall.connect(protocol)
        protocol.session.line(f"member{number}")
        protocol.session.line("")
        protocols.append(protocol)
    for protocol in protocols:
        protocol._pending.clear()
        protocol._clear = True
    batch.dirty.clear()
    return batch, protocols


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    logger.remove()
    devnull = os.open(os.devnull, os.O_WRONLY)
    batch, protocols = room_of(args.members, devnull)
    sender = protocols[0].session
    deliveries = args.lines * args.members
    runs = []
    for _ in range(args.runs):
        batch.now = True  # as while the adapter handles a read of one line
        started = time.perf_counter()
        for number in range(args.lines):
            sender.line(f"hello {number}")
        runs.append(1e6 * (time.perf_counter() - started) / deliveries)
        batch.now = False
    data = b"x" * 80
    bare = []
    for _ in range(args.runs):
        started = time.perf_counter()
        for _ in range(args.lines):
            list(map(os.write, itertools.repeat(devnull, args.members), itertools.repeat(data)))
        bare.append(1e6 * (time.perf_counter() - started) / deliveries)
    print("us per delivery:", " ".join(f"{r:.3f}" for r in runs), f"median {statistics.median(runs):.3f}")
    print(f"the same writes alone: median {statistics.median(bare):.3f} us")


if __name__ == "__main__":
    main()
