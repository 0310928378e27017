"""Memory under a flood: how much of the server's RSS a flood of lines takes, and how much it keeps.

    python bench/flood_memory.py                                  # this checkout, 3 runs of each case
    python bench/flood_memory.py --checkouts .,/tmp/before        # beside an older checkout, in one run
    python bench/flood_memory.py --cases reader,silent,memory --lines 50000 --runs 3

Each run starts its own twistd (bench/harness.py: a free loopback port, a
temporary folder, stopped by pid at the end) with flood control off
(--flood-rate 0 --max-per-ip 0), logs in a talker and one other member of the
lobby, and has the talker send --lines lines of --size bytes as fast as the
server takes them (50,000 x 490 bytes: 24.5 MB). The talker reads what comes
back to it, so only the member is what differs between the cases:

    reader   the member reads everything; the run ends when it has every line
    silent   the member never reads (4 KiB receive buffer): the server cuts it
             off at --max-backlog-kib; the run ends when the talker has its lines
             (shown as "(cut off)" beside the run, from the server's log)
    memory   as reader, with --db :memory: (a checkout without a store has no
             --db option and runs as reader)

The server's RSS is read from /proc: before the flood (after the logins),
its peak during the flood (VmHWM, reset at the start), and after settling
(--settle seconds after the last line arrived, for the store's thread to
write what it had). Each figure is the median of --runs runs, in MiB of
growth over "before". --floods N sends N floods one after another (each
once the last has arrived) into the same server: growth that does not add
up from one flood to the next is a bound, not a leak. Every phase has a time limit (--timeout); a run that
hits it is reported as such.
"""

from __future__ import annotations

import argparse
import select
import socket
import statistics
import threading
import time
from pathlib import Path

from harness import REPO, Server

CASES = ("reader", "silent", "memory")
MARK = b"flood "  # every flood line starts so; nothing else the server sends contains it


class Counter(threading.Thread):
    """Reads a socket until it closes or `stop` is set, counting the flood lines in it."""

    def __init__(self, sock: socket.socket):
        super().__init__(daemon=True)
        self.sock = sock
        self.lines = 0
        self.stop = threading.Event()

    def run(self) -> None:
        rest = b""
        while not self.stop.is_set():
            try:  # select, not a timeout on the socket: the talker's sendall shares the socket
                if not select.select([self.sock], [], [], 0.2)[0]:
                    continue
                chunk = self.sock.recv(1 << 20)
            except OSError:
                return
            if not chunk:
                return
            rest += chunk
            cut = rest.rfind(b"\n") + 1
            self.lines += rest.count(MARK, 0, cut)
            rest = rest[cut:]


def login(name: str, port: int, rcvbuf: int | None = None) -> socket.socket:
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # no autotuning for a client that never reads
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"{name}\n\n".encode())  # a name, then no colour
    return sock


def has_store(checkout: Path) -> bool:
    return (checkout / "chatroom" / "store").is_dir()


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def one_run(checkout: Path, case: str, args) -> dict:
    options = ["--flood-rate", "0", "--max-per-ip", "0", "--max-line", str(args.size + 16)]
    if case == "memory" and has_store(checkout):
        options += ["--db", ":memory:"]
    line = MARK + b"x" * (args.size - len(MARK) - 1) + b"\n"
    with Server(*options, repo=checkout, prefix="flood-memory-") as server:
        member = login("member", server.port, rcvbuf=4096 if case == "silent" else None)
        talker = login("talker", server.port)
        counters = [Counter(talker)] + ([] if case == "silent" else [Counter(member)])
        for counter in counters:
            counter.start()
        time.sleep(1.0)  # logins and join notices done
        before = server.rss_kib()
        server.reset_peak_rss()
        started = time.monotonic()
        chunk = line * 100
        for flood in range(args.floods):
            for _ in range(args.lines // 100):
                talker.sendall(chunk)
            talker.sendall(line * (args.lines % 100))
            if flood + 1 < args.floods:  # the next flood once this one has arrived
                arrived = (flood + 1) * args.lines
                wait_for(lambda arrived=arrived: all(c.lines >= arrived for c in counters), args.timeout)
        sent = time.monotonic() - started
        done = wait_for(lambda: all(c.lines >= args.floods * args.lines for c in counters), args.timeout)
        took = time.monotonic() - started
        time.sleep(args.settle)
        after = server.rss_kib()
        peak = max(server.peak_rss_kib(), after)
        result = {
            "before": before / 1024,
            "peak": (peak - before) / 1024,
            "after": (after - before) / 1024,
            "seconds": took,
            "sent_seconds": sent,
            "got": min(c.lines for c in counters),
            "timed_out": not done,
        }
        for counter in counters:
            counter.stop.set()
        member.close()
        talker.close()
        server.stop()
        result["cut_off"] = "member cut off" in server.log_text()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkouts", default=str(REPO), help="comma-separated checkouts to run (default: this one)")
    parser.add_argument("--cases", default="reader,silent,memory", help=f"comma-separated, of {', '.join(CASES)}")
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--floods", type=int, default=1, help="floods one after another into the same server")
    parser.add_argument("--size", type=int, default=490, help="bytes in a line, its newline included")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds after the last line before 'after'")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds the lines may take to arrive")
    args = parser.parse_args()
    checkouts = [Path(c).resolve() for c in args.checkouts.split(",")]
    cases = [c for c in args.cases.split(",") if c]
    if unknown := set(cases) - set(CASES):
        parser.error(f"unknown cases: {', '.join(sorted(unknown))}")
    size = f"{args.lines} lines of {args.size} bytes ({args.lines * args.size / 1e6:.1f} MB)"
    print(f"{args.floods} x {size}, {args.runs} runs each; RSS growth of the server in MiB, medians")
    print(f"{'checkout':<28} {'case':<7} {'before':>7} {'peak':>7} {'after':>7} {'seconds':>8}  runs (after)")
    for case in cases:
        runs: dict[Path, list[dict]] = {checkout: [] for checkout in checkouts}
        for _ in range(args.runs):
            for checkout in checkouts:  # alternated, so a change in the machine falls on each checkout alike
                try:
                    runs[checkout].append(one_run(checkout, case, args))
                except Exception as problem:  # noqa: BLE001 -- report it; the next run still runs
                    print(f"  {checkout} {case}: run failed: {problem}", flush=True)
        for checkout, done in runs.items():
            if done:
                report(checkout, case, done)


def report(checkout: Path, case: str, runs: list[dict]) -> None:
    median = {key: statistics.median(r[key] for r in runs) for key in ("before", "peak", "after", "seconds")}
    each = " ".join(
        f"{r['after']:.1f}" + ("(timed out)" if r["timed_out"] else "") + ("(cut off)" if r["cut_off"] else "")
        for r in runs
    )
    name = str(checkout) if len(str(checkout)) <= 28 else "..." + str(checkout)[-25:]
    print(f"{name:<28} {case:<7} {median['before']:7.1f} {median['peak']:+7.1f} {median['after']:+7.1f} "
          f"{median['seconds']:8.1f}  {each}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
