"""Fan-out over real sockets: the chatroom server against ngIRCd, side by side, in one run.

    apt-get install -y ngircd              # once; the script starts its own, never the system's
    .venv/bin/pip install -r bench/requirements.txt   # optional: uvloop for the generator
    .venv/bin/python bench/fanout.py                  # burst, paced x 3 rates, logins (3 runs), idle (1)
    .venv/bin/python bench/fanout.py --modes burst,paced --runs 3 --json out.json   # ~10 min
    .venv/bin/python bench/fanout.py --modes paced --rates 25000,50000,75000,100000,125000
    .venv/bin/python bench/fanout.py --modes all --json out.json   # also the closed loop
    .venv/bin/python bench/fanout.py --modes burst --servers chatroom,chatroom+pg   # SQLite against PostgreSQL

docs/benchmarks.md says what is measured, how fairly, and what was found.

For every run a fresh server is started by bench/harness.py, pinned to one
core (--server-core), while this generator pins itself to the other
(--generator-core). Runs alternate chatroom, ngircd, chatroom, ngircd, ...
(in paced mode, each run goes through every rate, both servers at each) and
each mode prints the median of its runs for each server and the ratio
chatroom/ngircd. Everything is on 127.0.0.1; every phase has a time limit;
every process started is stopped by its pid at the end.

Modes (each one logs N clients into one room first; the fan-out modes then
have S of them send 64-byte lines carrying a sequence number and a send
timestamp):

  burst   each sender writes its M lines as fast as it can (see --burst-window):
          throughput, i.e. deliveries per second from the first line sent to
          the last delivered.
  closed  closed loop for --seconds: each sender keeps --window lines in flight
          and sends its next line when a designated receiver (a non-sender)
          has received one of its lines: latency under a load the server sets.
  paced   a fixed offered rate for --seconds (20), given in deliveries/s
          (lines/s = rate / recipients), at each of --rates (25k, 50k,
          100k): latency p50/p99/p99.9 at each rate, p99 in the first and the
          last quarter of the run (a queue that grows shows there), and a
          table of latency and server CPU against the offered rate.
  logins  time for N clients to connect and be logged in (each has received
          its welcome: chatroom's "You are in the lobby", IRC's 366 after JOIN).
  idle    server RSS once --idle-clients (10,000) clients are in one room
          and the server has gone quiet. They log in up to the room, then
          enter it --join-batch (20) at a time: the same end state, reached in
          far fewer passes of each server's loop. No batch enters after
          --idle-timeout s, and the run says how many got in (ngIRCd needs
          minutes to fill a channel of 10,000).

How deliveries are counted, the same way for both servers: a delivery is one
chat line received by a client other than its sender. chatroom echoes a line
to its sender and IRC does not, so senders parse what they receive and their
own echoes are left out; every line has N-1 recipients on both servers. Loss
is 1 - deliveries / (lines sent x (N-1)). Every client counts lines with
bytes.count (C speed); only the senders, --sample receivers (for latency) and
the designated receiver of closed mode parse lines.

Figures per run: deliveries/s, latency p50/p99/p99.9 (ms, from the send
timestamp to the moment a sampled receiver read the line, so the generator's
own delays are included), loss, server peak RSS (VmHWM over the window),
server CPU (utime + stime from /proc over the window) as % of its core and
in microseconds per delivery, the rate at which that cost fills one core,
and the generator's own CPU. The host's speed moves by up to 2x from minute
to minute, and both processes move with it, so the server's CPU divided by
the generator's ('x gen', '/gen') is the figure to compare across runs: the
generator does the same work per delivery whichever server it measures. A server whose CPU nears 100% of its core at an
offered rate is near saturation there: its latency is then mostly queueing,
and a little more load, or a slower machine, multiplies it.

The machine is shared and changes from day to day, so each run also says how
it was: how long the server and the generator waited for their cores
(schedstat; the server's threads share its core, so they also wait for each
other), steal and other processes' time on the server's core, and a
fixed piece of Python timed on the server's core before the server starts
(best of 5, ms: a slower machine takes longer). A run whose generator CPU
reached --saturated (90%) of its core measured the generator, not the
server; one where the generator waited for its core, or others took the
server's core (steal, other processes), for --disturbed (5%) of the window
measured the machine. Both are flagged and
left out of the medians (a figure whose every run was left out is printed
with a '!', over all its runs).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness import HOST, REPO, Ngircd, Process, Server, core_times, waiting_seconds

# Options that lift the chatroom server's throttles for a load test, as ngIRCd's
# config in bench/harness.py lifts its own: no flood control, no cap per address, no login
# timeout (the 10,000-client run takes longer than a minute to fill the room).
CHATROOM_LOAD_OPTIONS = ["--flood-rate", "0", "--max-per-ip", "0", "--login-timeout", "0"]

# Always passed: no history replayed on login (ngIRCd has none either), and a
# send backlog (1 GiB) that a burst never reaches, so no reader is cut off.
CHATROOM_BASE_OPTIONS = ["--history", "0", "--max-backlog-kib", str(1 << 20)]

# ngIRCd is configured as bench/harness.py's NGIRCD_CONF says (no caps, no penalties), and its
# compiled-in limits are described there: one accept per loop pass and a listen() backlog of 10 (hence
# --connect-window); 3 commands per client per pass (a burst needs no window); 32 KiB queued for a
# client past what its socket takes, then it is dropped (the generator must keep reading).

ROOM = "#bench"
COLOUR = b"blue"  # every chatroom client picks the same colour, so every rendered line has the same length

# A chat line's text: ~sender~sequence~send-time-ns~ then 'x' padding. Lower
# case, so the shout rule never fires; no run of spaces, which the server folds.
CHAT_RE = re.compile(rb"~(\d{3})~(\d{7})~(\d{19})~")
STAMP_RE = re.compile(rb"~\d{3}~\d{7}~(\d{19})~")

# Lines of a server's output that say why it dropped a client.
DROP_NOTES = re.compile(
    r"exhausted|Write error|Read error|cut off|Traceback"
    r"|Shutting down connection \d+ \((?!Server going down|Client closed connection)"
)

FANOUT_MODES = ("burst", "closed", "paced")
ALL_MODES = (*FANOUT_MODES, "logins", "idle")
DEFAULT_MODES = ("burst", "paced", "logins", "idle")  # the targets; closed on request


# ----------------------------------------------------------------------------
# The servers: started, pinned and read by bench/harness.py; here only how each speaks.


@dataclass(frozen=True)
class Wire:
    """What differs between the two servers on the wire."""

    name: str
    irc: bool
    echoes: bool  # does a sender receive its own lines?
    sent_prefix: bytes  # what goes before a chat line's text
    sent_suffix: bytes


SERVERS = {
    "chatroom": Wire("chatroom", irc=False, echoes=True, sent_prefix=b"", sent_suffix=b"\n"),
    "ngircd": Wire("ngircd", irc=True, echoes=False, sent_prefix=f"PRIVMSG {ROOM} :".encode(), sent_suffix=b"\r\n"),
}


POSTGRESQL = "+pg"  # chatroom+pg: chatroom with its store in PostgreSQL


def checkout(kind: str, args: argparse.Namespace) -> Path:
    """Where a chatroom server runs from: DIR for chatroom@DIR, else --chatroom-repo."""
    folder = kind.partition("@")[2]
    return Path(folder) if folder else args.chatroom_repo


def start_server(kind: str, args: argparse.Namespace, profile: str | None = None) -> Process:
    """A fresh server for one run, on the server core (if pinning is possible).

    chatroom keeps its store in a new SQLite file; chatroom+pg in a new database of the run's PostgreSQL.
    """
    if kind.startswith("chatroom"):
        twistd = ("--profile", profile, "--savestats") if profile else ()
        store = ()
        if kind.partition("@")[0].endswith(POSTGRESQL):
            database = args.postgresql.database()
            os.environ["PGPASSWORD"] = database.password  # the server's environment is this one's
            store = ("--db", database.url)
        return Server(
            *CHATROOM_BASE_OPTIONS, *CHATROOM_LOAD_OPTIONS, *args.chatroom_option, *store,
            prefix="fanout-chatroom-", core=args.pin, twistd_options=twistd, repo=checkout(kind, args),
            stop_timeout=30 if profile else 5,
        )  # fmt: skip
    return Ngircd(prefix="fanout-ngircd-", core=args.pin, stop_timeout=5)


# ----------------------------------------------------------------------------
# The clients

CONNECTING, ASKED_NAME, ASKED_COLOUR, REGISTERED, ONLINE = range(5)


class Stats:
    """Counters every client adds to, read by the poller."""

    __slots__ = ("bytes", "lines", "echoes", "stray", "latencies", "sent_at", "lost")

    def __init__(self) -> None:
        self.bytes = 0
        self.lines = 0
        self.echoes = 0
        self.stray = 0  # lines a parsing client saw that were not chat lines
        self.latencies: list[int] = []  # ns
        self.sent_at: list[int] = []  # ns, perf_counter: when each sampled line was written (same order)
        self.lost = 0  # connections closed by the server


class Client(asyncio.Protocol):
    """One connection: logs in, then counts what it receives.

    A plain receiver only counts newlines. A sampler, a sender and the
    designated receiver also parse complete lines (kept across reads).
    """

    def __init__(self, bench: Bench, index: int):
        self.bench = bench
        self.stats = bench.stats
        self.index = index
        self.nick = f"b{index:05d}".encode()
        self.transport: asyncio.Transport | None = None
        self.state = CONNECTING
        self.accepted = bench.loop.create_future()  # the server has answered: it accepted us
        self.ready = bench.loop.create_future()  # one line from being in the room (held there in staged logins)
        self.hold = False
        self.online = bench.loop.create_future()
        self.online_at = 0.0
        self.lines = 0
        self.nbytes = 0
        self.reads = 0  # data_received calls while counting
        self.counting = False
        self._seen = b""  # during login: what came lately, to find a marker split across reads
        self.parse: Callable[[bytes], None] | None = None
        self._partial = b""
        self.closed_by_server = False

    # asyncio

    def connection_made(self, transport) -> None:
        self.transport = transport
        if self.bench.irc:
            transport.write(b"NICK %s\r\nUSER %s 0 * :bench\r\n" % (self.nick, self.nick))

    def connection_lost(self, exc) -> None:
        if not self.bench.closing:
            self.closed_by_server = True
            self.stats.lost += 1
        for future in (self.accepted, self.ready, self.online):
            if not future.done():
                future.set_exception(ConnectionError(f"client {self.index} closed by the server"))
                future.exception()  # retrieved: whoever awaits it still gets it, nobody else is told

    def data_received(self, data: bytes) -> None:
        stats = self.stats
        stats.bytes += len(data)
        if self.counting:
            n = data.count(b"\n")
            self.lines += n
            self.reads += 1
            self.nbytes += len(data)
            stats.lines += n
            if self.parse is not None:
                self.parse(data)
        elif self.state != ONLINE:
            self._login(data)

    # Logging in: find the server's next prompt, answer it.

    def _login(self, data: bytes) -> None:
        seen = self._seen + data
        if self.bench.irc:
            if self.state == CONNECTING and b" 001 " in seen:
                self.accepted.set_result(None)
                self.state = REGISTERED
                seen = seen[seen.index(b" 001 ") :]
                self._last_step()
            if self.state == REGISTERED and b" 366 " in seen:
                self._now_online()
        else:
            if self.state == CONNECTING and b"What is your name" in seen:
                self.accepted.set_result(None)
                self.transport.write(self.nick + b"\n")
                self.state = ASKED_NAME
                seen = b""
            elif self.state == ASKED_NAME and b"Pick a colour" in seen:
                self.state = ASKED_COLOUR
                seen = b""
                self._last_step()
            elif self.state == ASKED_COLOUR and b"You are in the lobby" in seen:
                self._now_online()
        self._seen = seen[-64:]

    def _last_step(self) -> None:
        self.ready.set_result(None)
        if not self.hold:
            self.enter()

    def enter(self) -> None:
        """The line that puts a logged-in client into the room."""
        self.transport.write(b"JOIN %s\r\n" % ROOM.encode() if self.bench.irc else COLOUR + b"\n")

    def _now_online(self) -> None:
        self.state = ONLINE
        self._seen = b""
        self.online_at = time.perf_counter()
        self.online.set_result(None)

    # Parsing, for the few clients that do.

    def _complete(self, data: bytes) -> tuple[bytes, int]:
        buffer = self._partial + data if self._partial else data
        end = buffer.rfind(b"\n") + 1
        self._partial = buffer[end:]
        return buffer, end

    def sample(self, data: bytes) -> None:
        """A sampled receiver: the latency of every line it reads."""
        now = time.perf_counter_ns()
        buffer, end = self._complete(data)
        stamps = [int(s) for s in STAMP_RE.findall(buffer, 0, end)]
        self.stats.sent_at.extend(stamps)
        self.stats.latencies.extend(now - s for s in stamps)
        self.stats.stray += buffer.count(b"\n", 0, end) - len(stamps)

    def own_echoes(self, marker: bytes) -> Callable[[bytes], None]:
        """A sender: its own lines coming back are not deliveries."""

        def parse(data: bytes) -> None:
            buffer, end = self._complete(data)
            self.stats.echoes += buffer.count(marker, 0, end)

        return parse

    def acknowledge(self, data: bytes) -> None:
        """The designated receiver of a closed loop: each line it gets lets its sender send another."""
        now = time.perf_counter_ns()
        buffer, end = self._complete(data)
        found = CHAT_RE.findall(buffer, 0, end)
        stamps = [int(stamp) for _, _, stamp in found]
        self.stats.sent_at.extend(stamps)
        self.stats.latencies.extend(now - s for s in stamps)
        self.stats.stray += buffer.count(b"\n", 0, end) - len(found)
        for sender, _, _ in found:
            self.bench.acknowledged(int(sender))


class Sender:
    """Writes chat lines for one client: fixed size, stamped at the moment of writing."""

    def __init__(self, bench: Bench, client: Client, number: int, line_bytes: int):
        self.client = client
        self.number = number
        self.prefix = bench.wire.sent_prefix
        self.suffix = bench.wire.sent_suffix
        self.marker = b"~%03d~" % number
        head = len(self.prefix) + len(b"~000~0000000~0000000000000000000~") + len(self.suffix)
        if line_bytes < head:
            raise SystemExit(f"--line-bytes must be at least {head} for {bench.server.name}")
        self.padding = b"x" * (line_bytes - head)
        self.sent = 0
        self.quota = 0  # lines it may still send

    def line(self) -> bytes:
        self.sent += 1
        stamp = time.perf_counter_ns()
        return b"%s~%03d~%07d~%019d~%s%s" % (self.prefix, self.number, self.sent, stamp, self.padding, self.suffix)

    def send(self, count: int = 1) -> None:
        count = min(count, self.quota)
        if count <= 0:
            return
        self.quota -= count
        self.client.transport.write(b"".join(self.line() for _ in range(count)))


# ----------------------------------------------------------------------------
# One run


def percentile(sorted_values: list, fraction: float):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, math.ceil(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


class Bench:
    """One run: one server, one mode."""

    def __init__(self, server: Process, args: argparse.Namespace, loop: asyncio.AbstractEventLoop):
        self.server = server
        self.wire = SERVERS[server.name]  # chatroom@DIR is a chatroom too
        self.args = args
        self.loop = loop
        self.irc = self.wire.irc
        self.stats = Stats()
        self.clients: list[Client] = []
        self.senders: list[Sender] = []
        self.closing = False
        self.stopping_senders = False
        self.send_lag: list[float] = []  # paced: seconds each line went out after its time
        self.spy_path: str | None = None  # py-spy's profile of the measured window goes there

    # Logging in

    async def log_in(self, count: int, timeout: float, batch: int = 0, enter_for: float = 0) -> dict:
        """Connects and logs in `count` clients; how long until the last was in the room.

        With no `batch`, each client goes through the login on its own, as
        people do. With a `batch`, every client first logs in up to the line
        that enters the room (no room yet, so nothing to tell anyone), then
        they enter `batch` at a time: the same end state, reached with far
        fewer passes of the server's loop, each telling the room of many joins.
        No new batch enters after `enter_for` seconds of that: the run then
        reports how many got in, rather than failing.
        """
        window = asyncio.Semaphore(self.args.connect_window)
        self.clients = [Client(self, i) for i in range(count)]
        for client in self.clients:
            client.hold = bool(batch)
        cpu_before, cpu_self, started = self.server.cpu_seconds(), time.process_time(), time.perf_counter()
        peak = [self.server.rss_kib()]
        rcvbuf = self.args.rcvbuf
        record: dict = {"clients": count}

        async def one(client: Client) -> None:
            async with window:  # held until the server has accepted and answered
                sock = None
                if rcvbuf:
                    sock = socket.socket()
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
                    sock.setblocking(False)
                    await self.loop.sock_connect(sock, (HOST, self.server.port))
                    await self.loop.create_connection(lambda: client, sock=sock)
                else:
                    await self.loop.create_connection(lambda: client, HOST, self.server.port)
                await client.accepted
            await (client.ready if batch else client.online)

        async def enter_in_batches() -> None:
            deadline = time.perf_counter() + enter_for
            for first in range(0, count, batch):
                if time.perf_counter() > deadline:
                    break
                group = self.clients[first : first + batch]
                for client in group:
                    client.enter()
                await asyncio.gather(*(c.online for c in group))

        async def watch_rss() -> None:
            while True:
                peak[0] = max(peak[0], self.server.rss_kib())
                await asyncio.sleep(0.05)

        watcher = asyncio.ensure_future(watch_rss())
        logins = asyncio.gather(*(one(c) for c in self.clients))
        logins.add_done_callback(lambda f: f.cancelled() or f.exception())  # a timeout is reported, not logged
        try:
            await asyncio.wait_for(logins, timeout)
            if batch:
                record["registered_s"] = time.perf_counter() - started
                await asyncio.wait_for(enter_in_batches(), max(1.0, timeout - (time.perf_counter() - started)))
        finally:
            watcher.cancel()
        inside = [c.online_at for c in self.clients if c.state == ONLINE]
        elapsed = max(inside) - started
        record.update(
            in_room=len(inside),
            complete=len(inside) == count,
            login_s=elapsed,
            logins_per_s=len(inside) / elapsed,
            server_cpu_pct=100 * (self.server.cpu_seconds() - cpu_before) / elapsed,
            generator_cpu_pct=100 * (time.process_time() - cpu_self) / elapsed,
            login_peak_rss_mib=peak[0] / 1024,
        )
        return record

    async def quiet(self, still: float = 0.3, timeout: float = 120) -> float:
        """Waits until nothing has arrived for `still` seconds (joins still on their way)."""
        started = time.perf_counter()
        deadline = started + timeout
        last, last_change = self.stats.bytes, time.perf_counter()
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
            if self.stats.bytes != last:
                last, last_change = self.stats.bytes, time.perf_counter()
            elif time.perf_counter() - last_change >= still:
                return last_change - started
        raise TimeoutError(f"the server never went quiet in {timeout:.0f} s")

    # Fan-out

    def _roles(self, mode: str) -> Client | None:
        """Senders first; then the designated receiver; samplers spread over the other receivers."""
        args = self.args
        self.senders = [Sender(self, self.clients[i], i, args.line_bytes) for i in range(args.senders)]
        for sender in self.senders:
            sender.client.parse = sender.client.own_echoes(sender.marker)
        receivers = self.clients[args.senders :]
        designated = receivers[0] if (mode == "closed" or (mode == "burst" and args.burst_window)) else None
        if designated is not None:
            designated.parse = designated.acknowledge
            receivers = receivers[1:]
        samples = min(args.sample, len(receivers))
        for k in range(samples):
            sampled = receivers[k * len(receivers) // samples]
            sampled.parse = sampled.sample
        for client in self.clients:
            client.lines = client.nbytes = client.reads = 0
            client.counting = True
        return designated

    def acknowledged(self, sender: int) -> None:
        if not self.stopping_senders:
            self.senders[sender].send()

    async def fanout(self, mode: str, rate: float | None = None) -> dict:
        args, stats, server = self.args, self.stats, self.server
        n, s = len(self.clients), args.senders
        recipients = n - 1
        self._roles(mode)
        gc.collect()
        gc.disable()  # a collection over 10k protocols in the middle would show up as latency
        hwm = server.reset_peak_rss()  # then VmHWM is the peak of this window, however short
        rss_before = server.rss_kib()  # the peak less this is what the load itself took
        core = core_times(args.pin) if args.pin is not None else None
        before = (server.cpu_seconds(), server.waiting_seconds(), server.involuntary_switches())
        cpu_self, wait_self = time.process_time(), waiting_seconds(os.getpid())
        spy = start_py_spy(server.pid, self.spy_path) if self.spy_path else None
        started = time.perf_counter()
        sending: asyncio.Future | None = None
        if mode == "burst":
            for sender in self.senders:
                sender.quota = args.lines
            if args.burst_window:
                for sender in self.senders:
                    sender.send(args.burst_window)
            else:
                for sender in self.senders:
                    while sender.quota:
                        sender.send(1024)
        elif mode == "closed":
            for sender in self.senders:
                sender.quota = 1 << 40
                sender.send(args.window)
            sending = asyncio.ensure_future(self._stop_senders_after(args.seconds))
        elif mode == "paced":
            sending = asyncio.ensure_future(self._paced(rate / recipients, args.seconds))

        # Poll: note when the count last moved, sample RSS, stop when all is in or nothing moves.
        peak_rss = server.rss_kib()
        last_lines, last_move = stats.lines, time.perf_counter()
        deadline = started + args.phase_timeout
        polls = 0
        while True:
            await asyncio.sleep(0.002)
            now = time.perf_counter()
            polls += 1
            if polls % 25 == 0:
                peak_rss = max(peak_rss, server.rss_kib())
            if stats.lines != last_lines:
                last_lines, last_move = stats.lines, now
            if sending is None or sending.done():
                sent = sum(x.sent for x in self.senders)
                expected = sent * recipients + (sent if self.wire.echoes else 0)
                if stats.lines >= expected:
                    break
            if now - last_move > args.stall or now > deadline or not server.alive():
                break
        ended = last_move
        if spy is not None:
            stop_py_spy(spy)
        if sending is not None and not sending.done():
            self.stopping_senders = True
            sending.cancel()
        cpu_server = server.cpu_seconds() - before[0]
        waited = server.waiting_seconds() - before[1]
        switches = server.involuntary_switches() - before[2]
        cpu_self = time.process_time() - cpu_self
        wait_self = waiting_seconds(os.getpid()) - wait_self
        core_after = core_times(args.pin) if core is not None else None
        if hwm:
            peak_rss = max(peak_rss, server.peak_rss_kib())
        gc.enable()
        window = max(ended - started, 1e-9)
        sent = sum(x.sent for x in self.senders)
        delivered = stats.lines - stats.echoes
        expected = sent * recipients
        latencies = sorted(stats.latencies)
        ms = lambda ns: None if ns is None else ns / 1e6  # noqa: E731
        received = [c.lines for c in self.clients[s:]]
        received_bytes = sum(c.nbytes for c in self.clients[s:])
        reads = sum(c.reads for c in self.clients[s:])
        us_per_delivery = 1e6 * cpu_server / delivered if delivered else None
        record = {
            "lines_sent": sent,
            "deliveries": delivered,
            "window_s": window,
            "deliveries_per_s": delivered / window,
            "offered_per_s": rate,
            "p50_ms": ms(percentile(latencies, 0.50)),
            "p99_ms": ms(percentile(latencies, 0.99)),
            "p999_ms": ms(percentile(latencies, 0.999)),
            "max_ms": ms(latencies[-1] if latencies else None),
            "latency_samples": len(latencies),
            "lines_sampled": len(set(stats.sent_at)),
            "loss_pct": 100 * (1 - delivered / expected) if expected else None,
            "stray_lines": stats.stray,
            "send_lag_p99_ms": 1000 * percentile(sorted(self.send_lag), 0.99) if self.send_lag else None,
            "dropped_clients": stats.lost,
            "server_peak_rss_mib": peak_rss / 1024,
            "server_rss_growth_mib": (peak_rss - rss_before) / 1024,
            "peak_rss_from": "VmHWM, reset at the start of the window" if hwm else "RSS polled every 50 ms",
            "server_cpu_s": cpu_server,
            "server_cpu_pct": 100 * cpu_server / window,
            "server_us_per_delivery": us_per_delivery,
            # One core's worth of the server at this cost per delivery: the rate at which it saturates.
            "capacity_per_s": 1e6 / us_per_delivery if us_per_delivery else None,
            "server_wait_pct": 100 * waited / window,
            "server_involuntary_switches": switches,
            "generator_cpu_pct": 100 * cpu_self / window,
            "generator_us_per_delivery": 1e6 * cpu_self / delivered if delivered else None,
            "generator_wait_pct": 100 * wait_self / window,
            # The generator's work per delivery is the same whichever server it measures, so its CPU is a
            # gauge of the machine's speed during the window: the server's cost in units of it does not
            # move with the machine (as long as lines come one per read and neither side is held back).
            "server_per_generator_cpu": cpu_server / cpu_self if cpu_self else None,
            "bytes_per_delivery": received_bytes / sum(received) if sum(received) else None,
            # Above 1: the server wrote several lines to a recipient at once (or the generator read late).
            "lines_per_read": sum(received) / reads if reads else None,
            "receiver_lines_min": min(received) if received else None,
            "receiver_lines_max": max(received) if received else None,
        }
        if core_after is not None:
            # Steal: the hypervisor ran someone else on the server's core. "Others": the core was busy
            # with something that is not the server (other processes, interrupts), beyond its own CPU.
            record["core_steal_pct"] = 100 * (core_after["steal"] - core["steal"]) / window
            record["core_others_pct"] = 100 * max(0.0, core_after["busy"] - core["busy"] - cpu_server) / window
        if mode == "paced":
            record.update(self._timeline(started, args.seconds))
        return record

    def _timeline(self, started: float, seconds: float) -> dict:
        """Latency by when the line was sent: does a queue build during the run, or do stalls come and go?

        A server that keeps up has the same p99 in each quarter of the run; one
        past saturation has a queue that grows from quarter to quarter. The
        per-second figures go to the JSON only.
        """
        start_ns = int(started * 1e9)
        quarters: list[list[int]] = [[], [], [], []]
        seconds_: dict[int, list[int]] = {}
        for sent, latency in zip(self.stats.sent_at, self.stats.latencies, strict=True):
            at = (sent - start_ns) / 1e9
            quarters[min(3, max(0, int(4 * at / seconds)))].append(latency)
            seconds_.setdefault(int(at), []).append(latency)

        def p99(values: list[int]) -> float | None:
            return None if not values else percentile(sorted(values), 0.99) / 1e6

        per_second = []
        for second in sorted(seconds_):
            values = sorted(seconds_[second])
            per_second.append([second, percentile(values, 0.5) / 1e6, percentile(values, 0.99) / 1e6, values[-1] / 1e6])
        by_quarter = [p99(q) for q in quarters]
        return {
            "p99_by_quarter_ms": by_quarter,
            "p99_q1_ms": by_quarter[0],
            "p99_q4_ms": by_quarter[3],
            "per_second_p50_p99_max_ms": per_second,
        }

    async def _stop_senders_after(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self.stopping_senders = True

    async def _paced(self, lines_per_s: float, seconds: float) -> None:
        """Sends on a fixed schedule; how late each send was is kept, since a late send hides latency."""
        total = max(1, round(lines_per_s * seconds))
        for sender in self.senders:
            sender.quota = total
        interval = 1 / lines_per_s
        started = time.perf_counter()
        k = 0
        while k < total:
            now = time.perf_counter()
            due = min(total, int((now - started) / interval) + 1)
            while k < due:
                self.send_lag.append(now - (started + k * interval))
                self.senders[k % len(self.senders)].send()
                k += 1
            await asyncio.sleep(max(0.0, started + k * interval - time.perf_counter()))

    # The whole run

    async def run(self, mode: str, rate: float | None = None) -> dict:
        args = self.args
        record: dict = {}
        try:
            if mode == "idle":
                fresh = self.server.rss_kib()
                login = await self.log_in(
                    args.idle_clients, args.run_timeout, args.join_batch, enter_for=args.idle_timeout
                )
                login["quiet_after_s"] = await self.quiet(timeout=60)
                await asyncio.sleep(0.5)
                rss = [self.server.rss_kib()]
                for _ in range(4):
                    await asyncio.sleep(0.25)
                    rss.append(self.server.rss_kib())
                login["fresh_rss_mib"] = fresh / 1024
                login["idle_rss_mib"] = max(rss) / 1024
                login["kib_per_member"] = (max(rss) - fresh) / login["in_room"]
                record.update(login)
            else:
                login = await self.log_in(args.clients, args.login_timeout)
                record.update(login)
                if mode in FANOUT_MODES:
                    await self.quiet()
                    record.update(await self.fanout(mode, rate))
            record["dropped_clients"] = self.stats.lost
        finally:
            self.closing = True
            self.server.terminate()  # before our sockets close, so the server does not tell everyone of each leaving
            for client in self.clients:
                if client.transport is not None:
                    client.transport.abort()
            await asyncio.sleep(0)
        return record


def make_loop_factory(choice: str):
    if choice in ("auto", "uvloop"):
        try:
            import uvloop

            return uvloop.new_event_loop, "uvloop"
        except ImportError:
            if choice == "uvloop":
                raise SystemExit("uvloop is not installed: pip install -r bench/requirements.txt") from None
    return asyncio.new_event_loop, "asyncio"


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


async def _interruptible(run, timeout: float):
    """`run` with a time limit, cancelled by SIGTERM.

    Inside the loop, SIGTERM must not raise in whatever callback is running:
    uvloop would take it for that one connection's error and carry on.
    """
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
    try:
        return await asyncio.wait_for(run, timeout)
    finally:
        loop.remove_signal_handler(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _interrupt)


def _fixed_work() -> None:
    table, out = {}, []
    for i in range(50_000):
        line = b"%07d" % i
        table[i & 1023] = line
        out.append(line)
    b"".join(out).count(b"1")


def machine_speed(core: int | None) -> float:
    """ms for a fixed piece of pure Python on the server's core, best of 5: how fast the machine is today.

    Taken before each server starts. Best of 5 leaves out moments when
    another process had the core (the runs report that separately); what
    is left moves with the CPU itself: its clock, its caches, its neighbours
    on the host.
    """
    mine = os.sched_getaffinity(0)
    if core is not None:
        os.sched_setaffinity(0, {core})
    try:
        best = math.inf
        for _ in range(5):
            started = time.perf_counter()
            _fixed_work()
            best = min(best, time.perf_counter() - started)
    finally:
        os.sched_setaffinity(0, mine)
    return 1000 * best


def start_py_spy(pid: int, path: str) -> subprocess.Popen:
    """py-spy sampling the server (100 Hz, without stopping it) until stop_py_spy(); collapsed stacks to `path`."""
    binary = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if binary is None:
        raise SystemExit("--py-spy needs py-spy: .venv/bin/pip install py-spy")
    return subprocess.Popen(
        [binary, "record", "--pid", str(pid), "--rate", "100", "--nonblocking", "--format", "raw", "-o", path],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop_py_spy(spy: subprocess.Popen) -> None:
    """SIGINT: py-spy writes what it has and exits; SIGKILL by pid if it has not within 10 s."""
    if spy.poll() is None:
        spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=10)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()


def run_one(kind: str, mode: str, rate: float | None, args: argparse.Namespace, loop_factory) -> dict:
    profile = None
    if args.profile and kind.startswith("chatroom"):
        os.makedirs(args.profile, exist_ok=True)
        name = kind.replace("@", "-").replace("/", "_")
        runs = len(list(Path(args.profile).glob(f"{name}-{mode}-*.prof")))
        profile = os.path.abspath(os.path.join(args.profile, f"{name}-{mode}-{runs + 1}.prof"))
    speed = machine_speed(args.pin)
    started = time.perf_counter()
    server: Process | None = None
    bench = None
    notes: list[str] = []
    try:
        server = start_server(kind, args, profile)
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            bench = Bench(server, args, runner.get_loop())
            if args.py_spy and kind.startswith("chatroom") and mode in FANOUT_MODES:
                os.makedirs(args.py_spy, exist_ok=True)
                name = f"{label(kind)}-{case_name(mode, rate).replace(' ', '-')}"
                runs = len(list(Path(args.py_spy).glob(f"{name}-*.txt")))
                bench.spy_path = os.path.join(args.py_spy, f"{name}-{runs + 1}.txt")
            record = runner.run(_interruptible(bench.run(mode, rate), args.run_timeout))
        record["ok"] = True
    except asyncio.CancelledError:
        raise KeyboardInterrupt from None  # SIGTERM during the run; the finally below still stops the server
    except Exception as problem:  # a failed run is reported, and the next one still runs
        record = {"ok": False, "error": f"{type(problem).__name__}: {problem}"}
        if bench is not None:
            online = sum(c.state == ONLINE for c in bench.clients)
            record["error"] += f" ({online} of {len(bench.clients)} online, {bench.stats.lost} closed by the server)"
        tail = server.output_text()[-1500:] if server is not None else ""
        if tail:
            record["server_output_tail"] = tail
    finally:
        if server is not None:
            # Why the server dropped anyone, in its own words (read before close() removes its folder).
            notes = [line for line in server.output_text().splitlines() if DROP_NOTES.search(line)]
            server.close()
    if notes:
        record["server_drop_notes"] = notes[:10] + ([f"... {len(notes) - 10} more"] if len(notes) > 10 else [])
    record.update(
        server=kind,
        mode=mode,
        rate=rate,
        run_s=time.perf_counter() - started,
        machine_speed_ms=speed,
    )
    # The idle figure is memory once all is quiet, which a busy generator only slows down.
    record["saturated"] = mode != "idle" and (record.get("generator_cpu_pct") or 0) >= 100 * args.saturated
    # Another process had the server's or the generator's core for a good part of the window: the
    # latency then measures the machine. (Idle and logins are not timed closely enough to care.)
    # The server's own wait is not a sign: its threads (the reactor, the store's writer) share one pinned core
    # and wait for each other. What others took of its core is (steal, and busy time not the server's).
    taken = (record.get("core_steal_pct") or 0) + (record.get("core_others_pct") or 0)
    waited = max(taken, record.get("generator_wait_pct") or 0)
    record["disturbed"] = mode in FANOUT_MODES and waited >= args.disturbed
    return record


# ----------------------------------------------------------------------------
# Reporting

# (key, label, format, which way is better: +1 higher, -1 lower, 0 neither)
FANOUT_FIGURES = [
    ("deliveries_per_s", "deliveries/s", "{:,.0f}", +1),
    ("p50_ms", "latency p50 ms", "{:,.1f}", -1),
    ("p99_ms", "latency p99 ms", "{:,.1f}", -1),
    ("p999_ms", "latency p99.9 ms", "{:,.1f}", -1),
    ("loss_pct", "loss %", "{:.3f}", -1),
    ("server_peak_rss_mib", "server peak RSS MiB", "{:,.1f}", -1),
    ("server_rss_growth_mib", "server RSS growth in the window MiB", "{:,.1f}", -1),
    ("server_cpu_pct", "server CPU % of its core", "{:.0f}", 0),
    ("server_us_per_delivery", "server CPU µs per delivery", "{:.2f}", -1),
    ("capacity_per_s", "saturates near, deliveries/s", "{:,.0f}", +1),
    ("server_per_generator_cpu", "server CPU / generator CPU", "{:.2f}", -1),
    ("generator_cpu_pct", "generator CPU %", "{:.0f}", 0),
    ("lines_per_read", "lines per read at a receiver", "{:.2f}", 0),
    ("server_wait_pct", "server threads waited for its core %", "{:.1f}", 0),
    ("generator_wait_pct", "generator waited for its core %", "{:.1f}", 0),
    ("core_steal_pct", "steal on the server's core %", "{:.1f}", 0),
    ("machine_speed_ms", "machine: fixed Python work ms", "{:.1f}", -1),
    ("window_s", "measured window s", "{:.2f}", 0),
    ("login_s", "login time s", "{:.2f}", -1),
]
FIGURES = {
    "burst": FANOUT_FIGURES,
    "closed": FANOUT_FIGURES,
    "paced": [
        *FANOUT_FIGURES[:4],
        ("p99_q1_ms", "  p99, 1st quarter of the run", "{:,.1f}", -1),
        ("p99_q4_ms", "  p99, 4th quarter of the run", "{:,.1f}", -1),
        *FANOUT_FIGURES[4:],
        ("send_lag_p99_ms", "sends late by, p99 ms", "{:.1f}", -1),
    ],
    "logins": [
        ("login_s", "all logged in, s", "{:.3f}", -1),
        ("logins_per_s", "logins/s", "{:,.0f}", +1),
        ("server_cpu_pct", "server CPU %", "{:.0f}", 0),
        ("generator_cpu_pct", "generator CPU %", "{:.0f}", 0),
        ("login_peak_rss_mib", "server peak RSS MiB", "{:,.1f}", -1),
    ],
    "idle": [
        ("idle_rss_mib", "idle RSS MiB", "{:,.1f}", -1),
        ("in_room", "clients in the room", "{:,.0f}", +1),
        ("kib_per_member", "KiB per member (over fresh)", "{:,.2f}", -1),
        ("fresh_rss_mib", "fresh server RSS MiB", "{:,.1f}", -1),
        ("login_peak_rss_mib", "peak RSS while logging in MiB", "{:,.1f}", -1),
        ("registered_s", "all logged in up to the room, s", "{:.2f}", -1),
        ("login_s", "all in the room, s", "{:.2f}", -1),
        ("server_cpu_pct", "server CPU % while logging in", "{:.0f}", 0),
        ("generator_cpu_pct", "generator CPU % meanwhile", "{:.0f}", 0),
    ],
}

# From this share of its core, a server is at or near saturation: what latency there is, is mostly queueing.
NEAR_SATURATION_PCT = 85


def rates_of(mode: str, args: argparse.Namespace) -> list[float | None]:
    return list(args.rates) if mode == "paced" else [None]


def case_name(mode: str, rate: float | None) -> str:
    return mode if rate is None else f"{mode} {rate / 1000:g}k"


def label(kind: str) -> str:
    """A server's name in the tables: chatroom@DIR by the last part of DIR."""
    base, _, folder = kind.partition("@")
    return f"{base}@{Path(folder).name}" if folder else kind


def compared(servers: list[str]) -> tuple[str, str] | None:
    """The two servers whose ratio is printed: chatroom/ngircd if both ran, else the first two."""
    if "chatroom" in servers and "ngircd" in servers:
        return "chatroom", "ngircd"
    return (servers[0], servers[1]) if len(servers) >= 2 else None


def summarise(records: list[dict], mode: str, rate: float | None, servers: list[str]) -> dict:
    """Medians per server over the usable runs: neither the generator saturated nor either core disturbed."""
    summary: dict = {"mode": mode, "rate": rate, "servers": servers, "compared": compared(servers)}
    mine = [r for r in records if r["mode"] == mode and r.get("rate") == rate]
    for kind in servers:
        runs = [r for r in mine if r["server"] == kind and r["ok"]]
        usable = [r for r in runs if not r["saturated"] and not r.get("disturbed")]
        chosen, none_usable = (usable, False) if usable else (runs, bool(runs))
        figures = {}
        for key, *_ in FIGURES[mode]:
            values = [r[key] for r in chosen if r.get(key) is not None]
            figures[key] = statistics.median(values) if values else None
        summary[kind] = {
            "figures": figures,
            "runs": len([r for r in mine if r["server"] == kind]),
            "ok": len(runs),
            "left_out": len(runs) - len(usable),
            "none_usable": none_usable,
        }
    ratios = {}
    for key, *_ in FIGURES[mode]:
        if summary["compared"] is None:
            ratios[key] = None
            continue
        a, b = (summary[kind]["figures"][key] for kind in summary["compared"])
        ratios[key] = a / b if a is not None and b else None
    summary["ratio"] = ratios
    return summary


def describe(mode: str, rate: float | None, args: argparse.Namespace) -> str:
    if mode == "logins":
        return f"logins: N={args.clients} clients connect and log in (connect window {args.connect_window})"
    if mode == "idle":
        return (
            f"idle: N={args.idle_clients} clients log in, enter the room {args.join_batch or 1} at a time "
            f"(for at most {args.idle_timeout:g} s), then RSS once the server is quiet"
        )
    common = f"N={args.clients}, S={args.senders} senders, {args.line_bytes}-byte lines"
    if mode == "burst":
        how = f"window {args.burst_window} lines" if args.burst_window else "no window"
        return f"burst: {common}, M={args.lines} lines per sender ({how})"
    if mode == "closed":
        return f"closed: {common}, window {args.window} lines per sender, {args.seconds:g} s"
    return f"paced: {common}, offered {rate:,.0f} deliveries/s for {args.seconds:g} s"


def table(summary: dict, args: argparse.Namespace) -> str:
    mode, servers, pair = summary["mode"], summary["servers"], summary["compared"]
    out = [f"\n== {describe(mode, summary['rate'], args)}"]
    counts = ", ".join(f"{label(k)} {summary[k]['ok'] - summary[k]['left_out']}/{summary[k]['runs']}" for k in servers)
    widths = [max(14, len(label(k)) + 2) for k in servers]
    out.append(f"   median of usable runs: {counts} (failed, generator-saturated and disturbed runs are left out)")
    ratio_head = "" if pair is None else ("ratio" if pair == ("chatroom", "ngircd") else "ratio 1/2")
    out.append(
        f"   {'figure':<32}"
        + "".join(f"{label(k):>{w}}" for k, w in zip(servers, widths, strict=True))
        + f"{ratio_head:>10}"
    )
    for key, name, fmt, _ in FIGURES[mode]:
        cells = []
        for kind, width in zip(servers, widths, strict=True):
            value = summary[kind]["figures"][key]
            text = "-" if value is None else fmt.format(value)
            if summary[kind]["none_usable"] and value is not None:
                text += "!"
            cells.append(f"{text:>{width}}")
        ratio = summary["ratio"][key]
        shown = "" if pair is None else ("-" if ratio is None else f"{ratio:.2f}")
        out.append(f"   {name:<32}{''.join(cells)}{shown:>10}")
    if any(summary[k]["none_usable"] for k in servers):
        out.append(
            "   ! every run of this server saturated the generator or was disturbed: "
            "the medians of all its runs, a figure of the generator or the machine more than of the server"
        )
    return "\n".join(out)


def rates_table(summaries: dict, args: argparse.Namespace) -> str:
    """Paced latency against offered load, side by side: where each server nears saturation."""
    paced = [summary for summary in summaries.values() if summary["mode"] == "paced"]
    servers, pair = paced[0]["servers"], paced[0]["compared"]
    out = [
        f"\n== paced, by offered rate ({args.seconds:g} s each; medians; CPU is % of the server's core,"
        f" '*' from {NEAR_SATURATION_PCT}%: near saturation, latency is mostly queueing;"
        " /gen: server CPU / generator CPU)",
        f"   {'offered/s':>10}"
        + "".join(
            f" | {label(k) + ' p50':>{max(12, len(label(k)) + 4)}} {'p99':>7} {'CPU':>5} {'µs/del':>6} {'/gen':>5}"
            for k in servers
        )
        + ("" if pair is None else f" | {'p99 ratio':>9}"),
    ]
    for summary in paced:
        row = f"   {summary['rate']:>10,.0f}"
        for kind in servers:
            f = summary[kind]["figures"]
            cpu = f["server_cpu_pct"]
            star = "*" if cpu is not None and cpu >= NEAR_SATURATION_PCT else " "
            bang = "!" if summary[kind]["none_usable"] else ""
            p50 = "-" if f["p50_ms"] is None else f"{f['p50_ms']:.1f}"
            p99 = "-" if f["p99_ms"] is None else f"{f['p99_ms']:.1f}{bang}"
            cpu_text = "-" if cpu is None else f"{cpu:.0f}%{star}"
            us = "-" if f["server_us_per_delivery"] is None else f"{f['server_us_per_delivery']:.2f}"
            per_gen = "-" if f["server_per_generator_cpu"] is None else f"{f['server_per_generator_cpu']:.2f}"
            row += f" | {p50:>{max(12, len(label(kind)) + 4)}} {p99:>7} {cpu_text:>5} {us:>6} {per_gen:>5}"
        if pair is not None:
            ratio = summary["ratio"]["p99_ms"]
            row += f" | {'-' if ratio is None else f'{ratio:.2f}':>9}"
        out.append(row)
    return "\n".join(out)


def targets(summaries: dict, args: argparse.Namespace) -> list[str]:
    """Issue 12's targets, where this run measured them at their settings."""
    lines = []
    at_target = args.clients == 1000 and args.senders == 10 and args.line_bytes == 64

    def verdict(ok: bool | None) -> str:
        return "?" if ok is None else ("PASS" if ok else "FAIL")

    if not {"chatroom", "ngircd"} <= set(args.servers):
        return lines

    def both(case: str, key: str) -> tuple:
        return summaries[case]["chatroom"]["figures"][key], summaries[case]["ngircd"]["figures"][key]

    if "burst" in summaries and at_target:
        r = summaries["burst"]["ratio"]["deliveries_per_s"]
        lines.append(f"burst throughput >= 2.0x ngircd: {'-' if r is None else f'{r:.2f}x'} "
                     f"{verdict(None if r is None else r >= 2.0)}")  # fmt: skip
        a, _ = both("burst", "server_peak_rss_mib")
        lines.append(f"burst peak RSS <= 24 MiB: {a and f'{a:.1f}'} MiB {verdict(None if a is None else a <= 24)}")
    paced = case_name("paced", 100_000)
    if paced in summaries and at_target:
        a, b = both(paced, "p99_ms")
        ok = None if a is None or b is None else a <= b
        lines.append(f"paced 100k/s p99 <= ngircd's: {a and f'{a:.1f}'} ms vs {b and f'{b:.1f}'} ms {verdict(ok)}")
        a, b = both(paced, "server_cpu_pct")
        ok = None if a is None or b is None else a <= b
        lines.append(f"paced 100k/s server CPU <= ngircd's: {a and f'{a:.0f}'}% vs {b and f'{b:.0f}'}% {verdict(ok)}")
    if "logins" in summaries and args.clients == 1000:
        a, _ = both("logins", "login_s")
        lines.append(f"1000 logged in within 0.5 s: {a and f'{a:.2f}'} s {verdict(None if a is None else a <= 0.5)}")
    if "idle" in summaries and args.idle_clients == 10_000:
        figures = summaries["idle"]["chatroom"]["figures"]
        a, inside = figures["idle_rss_mib"], figures["in_room"] or 0
        if a is None:
            lines.append("10,000 in one room within 80 MiB RSS: no figure ?")
        elif inside < 10_000:
            lines.append(f"10,000 in one room within 80 MiB RSS: only {inside:,.0f} got in ({a:.1f} MiB) ?")
        else:
            lines.append(f"10,000 in one room within 80 MiB RSS: {a:.1f} MiB {verdict(a <= 80)}")
    return lines


def print_run(record: dict, number: int, total: int) -> None:
    head = f"[{number}/{total}] {case_name(record['mode'], record.get('rate')):<11} {label(record['server']):<8}"
    if not record["ok"]:
        print(f"{head} FAILED: {record['error']}", flush=True)
        for note in record.get("server_drop_notes", [])[:3]:
            print(f"      server: {note}", flush=True)
        return
    mode = record["mode"]
    more = ""
    if mode in FANOUT_MODES:
        lat = record["p99_ms"]
        text = (
            f"{record['deliveries_per_s']:>10,.0f} deliveries/s  p50 {record['p50_ms'] or 0:6.1f} ms  "
            f"p99 {lat or 0:6.1f} ms  loss {record['loss_pct']:.3f}%  "
            f"server CPU {record['server_cpu_pct']:3.0f}% = {record['server_us_per_delivery'] or 0:.2f} µs/delivery "
            f"= {record['server_per_generator_cpu'] or 0:.2f} x gen  "
            f"gen CPU {record['generator_cpu_pct']:3.0f}%  RSS {record['server_peak_rss_mib']:.0f} MiB"
        )
        if record["dropped_clients"] or record["stray_lines"]:
            text += f"  dropped {record['dropped_clients']} stray {record['stray_lines']}"
        quarters = record.get("p99_by_quarter_ms")
        by_quarter = ""
        if quarters:
            by_quarter = "p99 by quarter " + " / ".join("-" if q is None else f"{q:.1f}" for q in quarters) + " ms; "
        lag = record.get("send_lag_p99_ms")
        more = (
            f"      {by_quarter}{'' if lag is None else f'sends late p99 {lag:.1f} ms; '}"
            f"waited for a core: server {record['server_wait_pct']:.1f}%, "
            f"generator {record['generator_wait_pct']:.1f}%; "
            f"server's core: steal {record.get('core_steal_pct', 0):.1f}%, "
            f"others {record.get('core_others_pct', 0):.0f}%;"
            f" machine {record['machine_speed_ms']:.1f} ms;"
            f" lines per read {record['lines_per_read'] or 0:.2f};"
            f" login {record['login_s']:.2f} s"
        )
    elif mode == "logins":
        text = (
            f"{record['login_s']:.3f} s for {record['clients']} clients, server CPU {record['server_cpu_pct']:.0f}%, "
            f"gen CPU {record['generator_cpu_pct']:.0f}%"
        )
    else:
        text = (
            f"idle RSS {record['idle_rss_mib']:.1f} MiB, {record['in_room']} of {record['clients']} in the room "
            f"(logged in in {record['login_s']:.1f} s, quiet {record['quiet_after_s']:.1f} s later; "
            f"server CPU {record['server_cpu_pct']:.0f}%, gen CPU {record['generator_cpu_pct']:.0f}%)"
        )
    flag = ("  SATURATED generator" if record["saturated"] else "") + ("  DISTURBED" if record["disturbed"] else "")
    print(f"{head} {text}{flag}  [{record['run_s']:.0f} s]", flush=True)
    if more:
        print(more, flush=True)
    for note in record.get("server_drop_notes", [])[:3]:
        print(f"      server: {note}", flush=True)


def revision(repo: Path) -> str:
    """The commit the chatroom server runs from, '+ uncommitted changes' if its code differs from it."""
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "chatroom", "twisted"],
                               capture_output=True, text=True, timeout=10).stdout.strip()  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return "an unknown commit"
    if not commit:
        return "an unknown commit (not a git checkout)"
    return commit + (" + uncommitted changes" if dirty else "")


# ----------------------------------------------------------------------------


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--modes", default=",".join(DEFAULT_MODES),
                   help=f"comma-separated, from: {' '.join(ALL_MODES)}; or 'all'")  # fmt: skip
    p.add_argument("--servers", default="chatroom,ngircd",
                   help="which servers, alternated in this order: chatroom, ngircd, and chatroom@DIR for chatroom "
                        "from another checkout (e.g. a git worktree of the commit before a change: before and "
                        "after in the same run); chatroom+pg keeps its store in PostgreSQL (a throwaway cluster "
                        "the run starts, tests/postgresql_cluster.py, on the server's core) instead of a SQLite "
                        "file")  # fmt: skip
    p.add_argument("--runs", type=int, default=3, help="runs per server and mode (and rate; medians are printed)")
    p.add_argument("--idle-runs", type=int, default=1, help="runs of the idle mode (it is the slowest)")
    p.add_argument("--clients", "-n", type=int, default=1000, help="N: clients in the room")
    p.add_argument("--senders", "-s", type=int, default=10, help="S: how many of them send")
    p.add_argument("--lines", "-m", type=int, default=500, help="M: lines per sender in a burst")
    p.add_argument("--line-bytes", type=int, default=64, help="bytes of each line a client sends, framing included")
    p.add_argument("--burst-window", type=int, default=0,
                   help="burst: lines a sender may have in flight, acknowledged by a designated receiver "
                        "(0: none, each sender writes all M lines at once)")  # fmt: skip
    p.add_argument("--window", type=int, default=4, help="closed mode: lines in flight per sender")
    p.add_argument("--rates", default="25000,50000,100000",
                   help="paced mode: the offered rates, deliveries/s, comma-separated; each is a run of its own, "
                        "and a run of the paced mode goes through them all")  # fmt: skip
    p.add_argument("--rate", type=float, help="paced mode: one offered rate (deliveries/s), instead of --rates")
    p.add_argument("--seconds", type=float, default=20,
                   help="closed and paced modes: how long senders send (long enough for a queue to show)")  # fmt: skip
    p.add_argument("--sample", type=int, default=40, help="receivers that parse timestamps for latency")
    p.add_argument("--idle-clients", type=int, default=10_000, help="clients in the idle mode")
    p.add_argument("--join-batch", type=int, default=20,
                   help="idle: clients log in up to the room, then enter it this many at a time "
                        "(0: one by one)")  # fmt: skip
    p.add_argument("--connect-window", type=int, default=8,
                   help="connections not yet answered by the server at once "
                        "(ngIRCd's listen backlog is 10)")  # fmt: skip
    p.add_argument("--rcvbuf", type=int, default=0,
                   help="SO_RCVBUF of every client in bytes (0: the kernel's autotuning)")  # fmt: skip
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--generator-core", type=int, default=1)
    p.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    p.add_argument("--saturated", type=float, default=0.90,
                   help="generator CPU (fraction of one core) from which a run is flagged and left out")  # fmt: skip
    p.add_argument("--disturbed", type=float, default=5,
                   help="%% of a fan-out window the generator waited for its core, or others took the server's "
                        "core, from which a run is flagged and left out")  # fmt: skip
    p.add_argument("--login-timeout", type=float, default=60)
    p.add_argument("--idle-timeout", type=float, default=150,
                   help="idle: no new batch enters the room after this many seconds "
                        "(the run then reports how many got in)")  # fmt: skip
    p.add_argument("--phase-timeout", type=float,
                   help="longest a fan-out phase may last (default: --seconds + 40, at least 60)")  # fmt: skip
    p.add_argument("--stall", type=float, default=5, help="a phase ends when nothing arrived for this long")
    p.add_argument("--run-timeout", type=float, default=300, help="longest one run may last, all phases included")
    p.add_argument("--chatroom-repo", type=Path, default=REPO, metavar="DIR",
                   help="the checkout chatroom's server runs from (default: this one); e.g. a git worktree "
                        "of an older commit, to tell a change in the code from a change in the machine")  # fmt: skip
    p.add_argument("--chatroom-option", action="append", default=[], metavar="OPTION",
                   help="one more option for the chatroom server, e.g. --chatroom-option=--store=... "
                        "(repeat for more)")  # fmt: skip
    p.add_argument("--json", metavar="PATH", help="also write every run and the medians as JSON")
    p.add_argument("--profile", metavar="DIR",
                   help="run chatroom under cProfile (twistd --profile --savestats), one .prof per run in DIR; "
                        "profiled figures are slower and not for comparison")  # fmt: skip
    p.add_argument("--py-spy", metavar="DIR",
                   help="sample chatroom with py-spy (pip install py-spy) over each fan-out window, at 100 Hz "
                        "without stopping it: collapsed stacks, one .txt per run in DIR (py-spy's own CPU is "
                        "on the generator's core; figures stay close to unprofiled ones)")  # fmt: skip
    args = p.parse_args(argv)
    args.modes = list(ALL_MODES) if args.modes == "all" else [m.strip() for m in args.modes.split(",") if m.strip()]
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    try:
        args.rates = [args.rate] if args.rate else [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        p.error("--rates takes numbers separated by commas")
    if not args.rates or min(args.rates) <= 0:
        p.error("--rates must be positive")
    if args.phase_timeout is None:
        args.phase_timeout = max(60.0, args.seconds + 40)
    for mode in args.modes:
        if mode not in ALL_MODES:
            p.error(f"unknown mode {mode!r}")
    for server in args.servers:
        base, _, folder = server.partition("@")
        base = base.removesuffix(POSTGRESQL)
        if base not in SERVERS or (folder and (base != "chatroom" or not Path(folder).is_dir())):
            p.error(f"unknown server {server!r}: chatroom, ngircd, or chatroom@DIR with DIR a checkout")
    if len(set(args.servers)) != len(args.servers):
        p.error("each server once in --servers")
    if args.clients <= args.senders + 1:
        p.error("--clients must exceed --senders + 1")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # a kill still runs the finally blocks that stop servers
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = max(args.clients, args.idle_clients if "idle" in args.modes else 0) + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    cores = os.sched_getaffinity(0)
    if {args.server_core, args.generator_core} <= cores and args.server_core != args.generator_core:
        os.sched_setaffinity(0, {args.generator_core})
        args.pin = args.server_core
        pinning = f"server on core {args.server_core}, generator on core {args.generator_core}"
    else:
        args.pin = None
        pinning = "NOT pinned (need two distinct cores)"
    loop_factory, loop_name = make_loop_factory(args.loop)
    revisions = {k: f"{checkout(k, args)} at {revision(checkout(k, args))}" for k in args.servers if k != "ngircd"}
    chatroom_options = CHATROOM_BASE_OPTIONS + CHATROOM_LOAD_OPTIONS + args.chatroom_option
    print(f"fanout: {loop_name} event loop; {pinning}; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}; machine {machine_speed(args.pin):.1f} ms for the fixed work"
          + "".join(f"\n{kind} from {where}" for kind, where in revisions.items())
          + f"\nchatroom's extra options: {' '.join(chatroom_options)}", flush=True)  # fmt: skip

    plan = []
    for mode in args.modes:
        runs = args.idle_runs if mode == "idle" else args.runs
        for _ in range(runs):
            plan.extend((kind, mode, rate) for rate in rates_of(mode, args) for kind in args.servers)
    records = []
    started = time.perf_counter()
    args.postgresql = None
    if any(kind.partition("@")[0].endswith(POSTGRESQL) for kind in args.servers):
        sys.path.insert(0, str(REPO / "tests"))
        from postgresql_cluster import Cluster

        args.postgresql = Cluster(core=args.pin)  # on the server's core, where SQLite's work is done too
    try:
        for number, (kind, mode, rate) in enumerate(plan, 1):
            record = run_one(kind, mode, rate, args, loop_factory)
            records.append(record)
            print_run(record, number, len(plan))
    finally:
        if args.postgresql is not None:
            args.postgresql.close()
    summaries = {}
    if len(args.servers) >= 2:
        for mode in args.modes:
            for rate in rates_of(mode, args):
                summaries[case_name(mode, rate)] = summarise(records, mode, rate, args.servers)
                print(table(summaries[case_name(mode, rate)], args))
        if "paced" in args.modes:
            print(rates_table(summaries, args))
    checks = targets(summaries, args)
    if checks:
        print("\n== targets (chatroom, medians above)")
        for line in checks:
            print("   " + line)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    if args.json:
        settings = {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ("json", "postgresql")
        }
        Path(args.json).write_text(
            json.dumps(
                {
                    "settings": settings,
                    "event_loop": loop_name,
                    "chatroom_revisions": revisions,
                    "chatroom_options": chatroom_options,
                    "load_average": os.getloadavg(),
                    "runs": records,
                    "medians": summaries,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the finally blocks have stopped the servers
        print("\nfanout: interrupted; every server it started has been stopped", file=sys.stderr)
        sys.exit(130)
