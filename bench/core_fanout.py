"""How fast the chat core alone fans one line out to a room (no sockets, no reactor).

    python bench/core_fanout.py [--members 1000] [--lines 200] [--runs 5]

Prints deliveries per second (and microseconds per delivery) for each run and
their median. A delivery is one line handed to one member's send(); peers
just count bytes, so this is the core's own cost: the shout check, rendering
once, and the per-recipient loop. The socket side is measured by the
fan-out benchmark against ngIRCd, bench/fanout.py (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

from loguru import logger
from twisted.internet.task import Clock

from chatroom.core.hall import Hall
from chatroom.core.settings import Settings


class CountingPeer:
    """A terminal's peer that only counts: it takes the telnet rendering, as the line protocol does."""

    panels = False

    def __init__(self, number: int):
        self.address = f"127.0.0.1:{number}"
        self.received = 0

    def deliver(self, event) -> None:
        self.last = event.telnet
        self.received += 1

    def expect_secret(self, secret: bool) -> None:
        pass

    def disconnect(self) -> None:
        pass


def run_once(members: int, lines: int) -> float:
    hall = Hall(Clock(), Settings(flood_rate=0))  # one speaker, as fast as it can: no flood control
    peers = [CountingPeer(i) for i in range(members)]
    sessions = []
    for i, peer in enumerate(peers):
        session = hall.connect(peer)
        session.line(f"user{i}")
        session.line("blue")
        sessions.append(session)
    speaker = sessions[0]
    before = sum(p.received for p in peers)
    start = time.perf_counter()
    for i in range(lines):
        speaker.line(f"line {i} of the benchmark, sixty-four bytes or so, padding......")
    elapsed = time.perf_counter() - start
    delivered = sum(p.received for p in peers) - before
    assert delivered == members * lines
    return delivered / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    logger.remove()  # one log line per message is part of the cost, but not its printing to a terminal
    logger.add(lambda message: None, level="INFO")
    rates = []
    for run in range(1, args.runs + 1):
        rate = run_once(args.members, args.lines)
        rates.append(rate)
        print(f"run {run}: {rate:,.0f} deliveries/s ({1e6 / rate:.3f} µs per delivery)")
    median = statistics.median(rates)
    print(f"median of {args.runs}: {median:,.0f} deliveries/s ({1e6 / median:.3f} µs per delivery)")


if __name__ == "__main__":
    main()
