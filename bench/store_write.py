"""Lines written per second by the store alone, SQLite against PostgreSQL, in one run.

    .venv/bin/python bench/store_write.py                      # 5 runs of 100,000 lines on each store
    .venv/bin/python bench/store_write.py --lines 20000 --runs 3

No server, no sockets: the store as the hall uses it, on the real reactor. Each
run opens a new store (a new SQLite file in a temporary folder, or a new
database in a throwaway PostgreSQL 15 this script starts: tests/postgresql_cluster.py),
appends --lines lines of 64 bytes on the reactor thread as fast as it can,
then asks for a room's history: the store answers a read after writing every
line queued before it, so the answer comes when all are stored. Figures:
lines stored per second from the first append to that answer, and how long
the reactor thread was busy appending (what the hall pays). Runs alternate
the stores; medians are printed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from twisted.internet import reactor
from twisted.internet.defer import Deferred, ensureDeferred

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from chatroom.store.interface import StoredLine  # noqa: E402
from chatroom.store.postgresql import PostgresStore  # noqa: E402
from chatroom.store.sqlite import SqliteStore  # noqa: E402
from postgresql_cluster import Cluster  # noqa: E402

TEXT = "x" * 64


async def one_run(store, lines: int) -> tuple[float, float]:
    """(lines stored per second, seconds the reactor spent appending)."""
    store.open()
    store.start()
    first = int(time.time() * 4000) * 256
    started = time.perf_counter()
    for n in range(lines):
        store.append(StoredLine(first + n * 256, time.time(), "lobby", "lobby", "chat", "alice", "blue", TEXT))
    appended = time.perf_counter() - started
    await store.lines("lobby", 1)  # answered once every line before it is written
    elapsed = time.perf_counter() - started
    await store.close()
    return lines / elapsed, appended


async def main(args: argparse.Namespace) -> None:
    cluster = Cluster()
    folder = Path(tempfile.mkdtemp(prefix="store-write-"))
    figures: dict[str, list[tuple[float, float]]] = {"sqlite": [], "postgresql": []}
    try:
        for run in range(1, args.runs + 1):
            for kind in figures:
                if kind == "sqlite":
                    store = SqliteStore(str(folder / f"run-{run}.sqlite3"), reactor, history_days=0)
                else:
                    store = PostgresStore(cluster.database().url_with_password, reactor, history_days=0)
                rate, appended = await one_run(store, args.lines)
                figures[kind].append((rate, appended))
                print(f"run {run} {kind:<10} {rate:>10,.0f} lines/s  appending {appended * 1000:6.1f} ms", flush=True)
    finally:
        cluster.close()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nmedians of {args.runs} runs of {args.lines:,} lines:")
    for kind, runs in figures.items():
        rate = statistics.median(r for r, _ in runs)
        appended = statistics.median(a for _, a in runs)
        print(f"  {kind:<10} {rate:>10,.0f} lines/s stored; the reactor spent {appended * 1000:.0f} ms appending")


def run(args: argparse.Namespace) -> None:
    done: Deferred = ensureDeferred(main(args))
    done.addErrback(lambda failure: failure.printTraceback())
    done.addBoth(lambda _: reactor.stop())
    reactor.run()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    run(parser.parse_args())
