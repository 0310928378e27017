"""Soak: a server with its default limits, a few hundred chatters, churn and hostile clients, for minutes.

    .venv/bin/python bench/soak.py                   # 5 minutes, 200 chatters, 5 connections a second
    .venv/bin/python bench/soak.py --duration 30     # a quick check
    .venv/bin/python bench/soak.py --help            # every option

Starts its own twistd (bench/harness.py) on a free loopback port with no
option beyond where to listen and log, so every limit is the default one:
flood control, login timeout, connections per address, backlog of a client
that does not read. Then, from one asyncio process:

- well-behaved ("stable") clients log in, and each says a line every
  --interval seconds or so (with jitter); every line carries a unique number;
- churn: --churn connections a second that chat and leave (by /quit, by
  closing, by a reset), lurk, give only a name, never log in, try a taken or
  a bad name, or sit idle until the login timeout drops them;
- one flooder that logs in and sends as fast as it can (or --flooder-rate
  lines/s); it is slowed, then kicked, and comes back, all through the run;
- one client that never reads, with a 4 KB receive buffer; once the server
  cuts it off, another takes its place. The sockets hold about 2 MiB on top
  of the server's 1 MiB, so it is cut off after about 3 MiB of chat: at the
  default pace (about 1.6 KiB/s) that is half an hour; with --interval 2
  (7.5 KiB/s) about 6 minutes, so --interval 2 --duration 900 sees two;
- --random-senders clients that send junk: random bytes, telnet commands,
  escape sequences, invalid UTF-8, NULs, lines far over 4096 bytes.

Clients connect from the loopback addresses 127.0.0.2 to .250 in turn (Linux
routes all of 127/8 to this machine), as people on a LAN would from theirs,
so a few hundred fit under the default 50 connections per address.

The first --warmup seconds are not measured. After them the server's RSS is
taken, and every line a stable client says from then until the end is
expected by every stable client (its sender included). At the end the RSS is
taken again, with the same load still running; the chat stops and the
script waits (10 s at most) for the last lines, then stops the server with
SIGTERM and reads its log.

It prints a summary and exits 1 if a target failed, 0 otherwise:
- lines lost by the stable clients: 0 (nor out of order, nor from the wrong
  sender; and no stable client dropped, or told anything about itself: a
  slow-down, a kick, an error);
- server RSS at the end within 10% of the start;
- ERROR or CRITICAL lines, or tracebacks, in the server's log: 0;
- at SIGTERM every stable client is told the server is going down, and the
  log ends with 'chatroom stopped'; and this script raised no errors itself.
Everything else (flooder kicks, cut-offs, churn, CPU, latency) is reported.
The flooder's "sent" figure counts what it handed to its own transport, not
what the server read: past 1 MiB after its kick the server resets the
connection and reads no more of it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import struct
import sys
import time
from collections import Counter

from harness import Server

from chatroom.core.events.terminal import NOTICE_MARK
from chatroom.core.settings import Settings

NOTICE = NOTICE_MARK.encode()
LOBBY = b"You are in the lobby"
# A stable client's line as others see it: "[HH:MM] <colour>s12<reset>: soak 345 ...".
# Anchored at a line's start, so nothing typed inside someone else's line can match.
STABLE_LINE = re.compile(rb"^\[\d\d:\d\d\] \x1b\[[0-9;]*m(s\d+)\x1b\[0m: soak (\d+) ", re.M)
# A notice to this one client (room events start with a time instead).
PERSONAL_NOTICE = re.compile(rb"^" + re.escape(NOTICE) + rb" ([^\r\n]*)", re.M)
SGR = re.compile(rb"\x1b\[[0-9;]*m")
WORDS = (
    "the of and to in is you that it was for on are as with they at be this have from or one had by word "
    "but not what all were we when your can said there use an each which she do how their if will up other "
    "about out many then them these so some her would make like him into time has look two more write go see"
).split()

FIRST_HOST, LAST_HOST = 2, 250  # 127.0.0.X
LATENCY_CAP_MS = 60_000
COOL_DOWN = 10.0  # seconds, at most, for the last lines to arrive
TCP_ESTABLISHED = 1
TELNET = {"IAC": 255, "DONT": 254, "DO": 253, "WONT": 252, "WILL": 251, "SB": 250, "SE": 240, "IP": 244, "BRK": 243}


def plain(data: bytes) -> str:
    return SGR.sub(b"", data).decode("utf-8", "replace")


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


class Ledger:
    """Every line the stable clients say: who said it, when, and how many stable clients heard it."""

    def __init__(self) -> None:
        self.sender: list[bytes] = []
        self.sent_at: list[float] = []
        self.heard: list[int] = []
        self.first = self.end = 1 << 62  # lines first..end-1 are counted; none until the window opens
        self.latency = [0] * (LATENCY_CAP_MS + 1)  # a histogram, in ms
        self.out_of_order = 0
        self.misattributed = 0

    def new_line(self, sender: bytes, now: float) -> int:
        self.sender.append(sender)
        self.sent_at.append(now)
        self.heard.append(0)
        return len(self.heard) - 1

    def open(self) -> None:
        self.first = len(self.heard)

    def close(self) -> None:
        self.end = len(self.heard)

    def counted(self) -> range:
        return range(self.first, min(self.end, len(self.heard)))

    def hear(self, client: StableClient, data: bytes, now: float) -> None:
        first, end = self.first, min(self.end, len(self.heard))
        for found in STABLE_LINE.finditer(data):
            number = int(found[2])
            if not first <= number < end:
                continue
            name = found[1]
            if self.sender[number] != name:
                self.misattributed += 1
                continue
            if number <= client.last_from.get(name, -1):
                self.out_of_order += 1  # or heard twice
                continue
            client.last_from[name] = number
            self.heard[number] += 1
            self.latency[min(int((now - self.sent_at[number]) * 1000), LATENCY_CAP_MS)] += 1

    def missing(self, expected: int) -> tuple[int, int]:
        """Lines that some stable client did not hear, and deliveries missing in all."""
        lines = deliveries = 0
        for number in self.counted():
            short = expected - self.heard[number]
            if short > 0:
                lines += 1
                deliveries += short
        return lines, deliveries

    def percentile(self, fraction: float) -> int | None:
        total = sum(self.latency)
        if not total:
            return None
        rank, seen = fraction * total, 0
        for ms, count in enumerate(self.latency):
            seen += count
            if seen >= rank:
                return ms
        return LATENCY_CAP_MS


class StableClient(asyncio.Protocol):
    """A well-behaved chatter: logs in, says a numbered line now and then, reads everything."""

    def __init__(self, soak: Soak, number: int):
        self.soak = soak
        self.name = f"s{number}"
        self.key = self.name.encode()
        self.rest = b""
        self.online = False
        self.logged_in = soak.loop.create_future()
        self.last_from: dict[bytes, int] = {}
        self.gone = False
        self.told_goodbye = False
        self.bytes_in = 0

    def connection_made(self, transport) -> None:
        self.transport = transport
        transport.write(self.key + b"\n\n")  # a name, then Enter at the colour prompt: the server picks one

    def data_received(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self.rest:
            data = self.rest + data
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        if not cut:
            return
        data = data[:cut]
        soak = self.soak
        if not self.online and LOBBY in data:
            self.online = True
            self.logged_in.set_result(True)
        soak.ledger.hear(self, data, soak.loop.time())
        if NOTICE in data:
            if soak.watching:
                for found in PERSONAL_NOTICE.finditer(data):
                    soak.disturbed(self, found[1])
            elif soak.stopping and b"The server is going down" in data:
                self.told_goodbye = True

    def connection_lost(self, exc) -> None:
        self.gone = True
        if not self.logged_in.done():
            self.logged_in.set_result(False)
        if not self.soak.stopping:
            self.soak.stable_dropped.append((self.name, round(self.soak.elapsed()), repr(exc)))

    def speak(self) -> None:
        soak = self.soak
        if not soak.chatting or self.gone:
            return
        number = soak.ledger.new_line(self.key, soak.loop.time())
        self.transport.write(b"soak %d %s\n" % (number, soak.words(2, 12).encode()))
        soak.loop.call_later(soak.pause(), self.speak)


class ScriptClient(asyncio.Protocol):
    """A connection a coroutine drives: it keeps the last bytes the server sent and can wait for a text."""

    KEEP = 1 << 16

    def __init__(self, soak: Soak, stay_after_eof: bool = False):
        self.soak = soak
        self.stay_after_eof = stay_after_eof
        self.buffer = bytearray()
        self.eof = False
        self.closed = soak.loop.create_future()
        self._changed: asyncio.Future | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.soak.scripted.add(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > 2 * self.KEEP:
            del self.buffer[: -self.KEEP]
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return self.stay_after_eof

    def connection_lost(self, exc) -> None:
        self.soak.scripted.discard(self)
        if not self.closed.done():
            self.closed.set_result(exc)
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)

    @property
    def open(self) -> bool:
        return not self.closed.done() and not self.transport.is_closing()

    async def expect(self, text: bytes, timeout: float) -> bool:
        """Wait until the server has sent `text` (consumed with all before it); False if it closed or time ran out."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    at = self.buffer.find(text)
                    if at >= 0:
                        del self.buffer[: at + len(text)]
                        return True
                    if self.eof or self.closed.done():
                        return False
                    self._changed = self.soak.loop.create_future()
                    await self._changed
        except TimeoutError:
            return False

    async def wait_closed(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
            return True
        except TimeoutError:
            return False

    def send(self, data: bytes) -> None:
        if not self.transport.is_closing():
            self.transport.write(data)

    def reset(self) -> None:
        """Close with a TCP reset, as a crashed client or a pulled cable (on the next packet) would."""
        sock = self.transport.get_extra_info("socket")
        if sock is not None and not self.transport.is_closing():
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.transport.abort()

    def tail(self) -> str:
        return plain(bytes(self.buffer[-300:])).replace("\r\n", " | ")


class Flooder(ScriptClient):
    """Sends lines as fast as the socket takes them (or at `rate` lines/s), whatever the server says."""

    def __init__(self, soak: Soak, rate: int):
        super().__init__(soak, stay_after_eof=True)  # a script that keeps going after the server has said goodbye
        self.rate = rate
        self.paused = False
        self.pumping = False
        self.lines = 0
        self.bytes = 0

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        if self.pumping and not self.rate:
            self.soak.loop.call_soon(self.pump)

    def start(self) -> None:
        self.pumping = True
        self.pump()

    def pump(self) -> None:
        if not self.pumping or self.transport.is_closing():
            return
        started = time.thread_time()
        try:
            self._pump()
        finally:
            self.soak.flood_cpu += time.thread_time() - started  # the flooder's share of this process's CPU

    def _pump(self) -> None:
        block = self.soak.flood_block
        if self.rate:  # a fixed pace: a slice of the block every 10 ms
            if not self.paused:
                count = max(1, self.rate // 100)
                data = b"".join(block[:count])
                self.transport.write(data)
                self.lines += count
                self.bytes += len(data)
            self.soak.loop.call_later(0.01, self.pump)
            return
        written = 0
        while not self.paused and written < 1 << 18 and not self.transport.is_closing():
            self.transport.write(self.soak.flood_bytes)
            self.lines += len(block)
            written += len(self.soak.flood_bytes)
        self.bytes += written
        if not self.paused:  # let the others have the loop, then go on
            self.soak.loop.call_soon(self.pump)


class NeverReader(ScriptClient):
    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        transport.pause_reading()

    def tcp_state(self) -> int:
        sock = self.transport.get_extra_info("socket")
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0]


def junk(rng: random.Random) -> bytes:
    """A chunk of what a broken or hostile client might send."""
    iac = TELNET["IAC"]

    def random_bytes() -> bytes:
        return rng.randbytes(rng.randint(1, 300))

    def telnet() -> bytes:
        option = rng.randrange(256)
        return rng.choice([
            bytes((iac, TELNET[rng.choice(("WILL", "WONT", "DO", "DONT"))], option)),
            bytes((iac, TELNET["SB"], option)) + rng.randbytes(rng.randint(0, 2000))
            + (bytes((iac, TELNET["SE"])) if rng.random() < 0.5 else b""),
            bytes((iac, TELNET["IP"])), bytes((iac, TELNET["BRK"])), bytes((iac, iac)),
            bytes((iac, rng.randrange(256))), bytes((iac,)),
        ])  # fmt: skip

    def escape() -> bytes:
        return rng.choice([
            b"\x1b[2J\x1b[H", b"\x1b[31;1m", b"\x1b]0;owned\x07", b"\x1b]8;;http://x.example\x1b\\link\x1b]8;;\x1b\\",
            b"\x1bP+q544e\x1b\\", b"\x9b2J", b"\x1b[", b"\x1b", b"\x1b[?1049h", b"\x1bc", b"\x1b[6n",
        ])  # fmt: skip

    def bad_utf8() -> bytes:
        return rng.choice([
            b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80", b"\xc0\xaf",
            b"\xf8\x88\x80\x80\x80", b"\xfe\xfe\xff", b"\x80" * 5, b"\xe2\x82",
        ])  # fmt: skip

    def tricky_text() -> bytes:
        return rng.choice([
            "\u202eevil\u202c", "zero\u200bwidth", "line\u2028sep", "erase\x08\x08\x08\x7f",
            "\U0001f469\u200d\U0001f4bb", "[00:00] *** fake notice", "\t\t  lots   of\x0b\x0c space  ",
            "caf\u00e9 \u0430\u0440\u0440le",
        ]).encode()  # fmt: skip

    def nuls() -> bytes:
        return b"\0" * rng.randint(1, 50)

    def text() -> bytes:
        return " ".join(rng.choices(WORDS, k=rng.randint(1, 8))).encode()

    if rng.random() < 0.1:  # a line far over the 4096-byte limit
        return bytes(rng.choices(range(32, 127), k=rng.randint(4097, 20000))) + b"\n"
    makers = (random_bytes, telnet, escape, bad_utf8, tricky_text, nuls, text)
    chunk = b"".join(rng.choice(makers)() for _ in range(rng.randint(1, 4)))
    return chunk + rng.choice((b"\n", b"\r\n", b"\r", b"\r\0", b""))


CHURN_KINDS = {  # what a churning connection does, and how often
    "chat": 40,  # logs in, may say a line or two, leaves
    "lurk": 10,  # logs in, stays a few seconds, leaves
    "half": 15,  # gives a name, then vanishes
    "silent": 15,  # never says anything, vanishes
    "taken": 7,  # tries a stable client's name first
    "bad": 8,  # tries a refused name, vanishes
    "idle": 5,  # never logs in, and waits to be dropped by the login timeout
}


class Soak:
    def __init__(self, args: argparse.Namespace, server: Server):
        self.args = args
        self.server = server
        self.rng = random.Random(args.seed)
        self.ledger = Ledger()
        self.stable: list[StableClient] = []
        self.scripted: set[ScriptClient] = set()
        self.tasks: set[asyncio.Task] = set()
        self.next_host = 0
        self.chatting = self.watching = self.hostile = self.stopping = False
        self.stable_dropped: list[tuple] = []
        self.disturbances: list[tuple[str, str]] = []
        self.disturbed_count = 0
        self.loop_errors: list[str] = []
        self.counts: Counter[str] = Counter()
        self.churn: Counter[str] = Counter()
        self.churn_surprises: list[str] = []
        self.flood: Counter[str] = Counter()
        self.kick_after: list[float] = []
        self.cut_offs: list[tuple[str, float, float]] = []  # name, seconds after login, room traffic meanwhile
        self.junk: Counter[str] = Counter()
        self.junk_ends: Counter[str] = Counter()
        self.samples: list[tuple[float, int, float]] = []  # elapsed, RSS KiB, server CPU s
        self.lag: list[float] = []
        self.marks: dict[str, dict] = {}
        self.flood_cpu = 0.0
        self.muted: tuple[str, float, int] | None = None  # the never-reader connected now: name, since, traffic
        self.flood_block = [b"spam %d flooding the room with this line\n" % i for i in range(1000)]
        self.flood_bytes = b"".join(self.flood_block)

    # Small things.

    def elapsed(self) -> float:
        return self.loop.time() - self.started

    def words(self, low: int, high: int) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(low, high)))

    def pause(self) -> float:
        return self.rng.uniform(0.67, 1.33) * self.args.interval

    def disturbed(self, client: StableClient, text: bytes) -> None:
        self.disturbed_count += 1
        if len(self.disturbances) < 10:
            self.disturbances.append((client.name, plain(text)))

    def spawn(self, coroutine) -> asyncio.Task:
        task = self.loop.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def loop_error(self, loop, context: dict) -> None:
        self.counts["generator errors"] += 1
        if len(self.loop_errors) < 5:
            self.loop_errors.append(f"{context.get('message')}: {context.get('exception')!r}")

    async def connect(self, protocol: asyncio.Protocol, rcvbuf: int | None = None) -> asyncio.Protocol:
        """Connect `protocol` from the next loopback address in turn."""
        host = f"127.0.0.{FIRST_HOST + self.next_host % (LAST_HOST - FIRST_HOST + 1)}"
        self.next_host += 1
        sock = socket.socket()
        try:
            if rcvbuf:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # before connecting, or it is ignored
            sock.setblocking(False)
            sock.bind((host, 0))
            async with asyncio.timeout(10):
                await self.loop.sock_connect(sock, ("127.0.0.1", self.server.port))
            await self.loop.create_connection(lambda: protocol, sock=sock)
        except (OSError, TimeoutError):
            sock.close()
            self.counts["connect failures"] += 1
            raise
        except BaseException:
            sock.close()
            raise
        return protocol

    def mark(self, name: str) -> None:
        """The server's and this process's counters at a moment of the run."""
        times = os.times()
        self.marks[name] = {
            "at": self.elapsed(),
            "rss": self.server.rss_kib(),
            "cpu": self.server.cpu_seconds(),
            "files": self.server.open_files(),
            "own_cpu": times.user + times.system,
            "flood_cpu": self.flood_cpu,
            "traffic": self.stable[0].bytes_in if self.stable else 0,
            "lines": len(self.ledger.heard),
        }

    # The run.

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.loop.set_exception_handler(self.loop_error)
        self.started = self.loop.time()
        args = self.args
        try:
            self.mark("empty")
            await self.log_in_stable_clients()
            self.mark("logged in")
            self.chatting = self.hostile = True
            for client in self.stable:
                self.loop.call_later(self.rng.uniform(0, args.interval), client.speak)
            self.spawn(self.monitor())
            self.spawn(self.churner())
            self.spawn(self.flooder())
            self.spawn(self.never_reader())
            for number in range(args.random_senders):
                self.spawn(self.random_sender(number))
            await asyncio.sleep(args.warmup)
            self.mark("start")
            self.ledger.open()
            self.watching = True
            await asyncio.sleep(args.duration - args.warmup)
            self.mark("end")
            self.ledger.close()
            self.chatting = self.hostile = False
            await self.stop_load()
            await self.cool_down()
            self.watching = False
            self.mark("cooled")
            await self.shut_down()
        finally:
            self.stopping = True
            self.watching = self.chatting = self.hostile = False
            for task in list(self.tasks):
                task.cancel()
            for client in list(self.scripted):
                client.reset()
            for client in self.stable:
                if hasattr(client, "transport"):
                    client.transport.abort()
            await asyncio.sleep(0.1)

    async def log_in_stable_clients(self) -> None:
        self.stable = [StableClient(self, number) for number in range(self.args.clients)]
        started = self.loop.time()
        for at in range(0, len(self.stable), 25):
            await asyncio.gather(*(self.connect(c) for c in self.stable[at : at + 25]), return_exceptions=True)
        try:
            async with asyncio.timeout(60):
                await asyncio.gather(*(c.logged_in for c in self.stable))
        except TimeoutError:
            pass
        self.login_seconds = self.loop.time() - started
        online = sum(c.online for c in self.stable)
        print(f"{online} of {len(self.stable)} stable clients logged in after {self.login_seconds:.1f} s", flush=True)
        if online < len(self.stable):
            raise SystemExit("not every stable client could log in: no point going on")

    async def monitor(self) -> None:
        """RSS and CPU every second, the generator's own lag, a progress line now and then."""
        every = max(10.0, round(self.args.duration / 10))
        last_print = self.loop.time()
        while True:
            before = self.loop.time()
            await asyncio.sleep(1)
            self.lag.append(self.loop.time() - before - 1)
            self.samples.append((self.elapsed(), self.server.rss_kib(), self.server.cpu_seconds()))
            if self.loop.time() - last_print >= every:
                last_print = self.loop.time()
                at, rss, cpu = self.samples[-1]
                print(
                    f"  {at:5.0f} s  RSS {mib(rss)}  server CPU {cpu:.0f} s  lines said {len(self.ledger.heard)}"
                    f"  churn {self.churn['started']}  flooder kicks {self.flood['kicked']}"
                    f"  cut-offs {len(self.cut_offs)}  junk chunks {self.junk['chunks']}",
                    flush=True,
                )

    async def stop_load(self) -> None:
        """Stop the churn and the hostile clients; the stable ones stay for the cool-down."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for client in list(self.scripted):
            client.reset()

    async def cool_down(self) -> None:
        deadline = self.loop.time() + COOL_DOWN
        while self.loop.time() < deadline and self.ledger.missing(len(self.stable))[0]:
            await asyncio.sleep(0.2)
        self.cool_down_seconds = COOL_DOWN - max(0.0, deadline - self.loop.time())

    async def shut_down(self) -> None:
        """SIGTERM with the stable clients still there: each should be told before its connection closes."""
        self.stopping = True
        self.exit_code = await asyncio.to_thread(self.server.stop)
        try:
            async with asyncio.timeout(5):
                while not all(c.gone for c in self.stable):
                    await asyncio.sleep(0.1)
        except TimeoutError:
            pass

    # Churn.

    async def churner(self) -> None:
        kinds, weights = list(CHURN_KINDS), list(CHURN_KINDS.values())
        number, due = 0, self.loop.time()
        while True:
            due += self.rng.uniform(0.5, 1.5) / self.args.churn  # --churn a second, with jitter, on a clock
            await asyncio.sleep(max(0.0, due - self.loop.time()))  # that does not drift by each sleep's overshoot
            number += 1
            self.spawn(self.churn_one(number, self.rng.choices(kinds, weights)[0]))

    async def churn_one(self, number: int, kind: str) -> None:
        self.churn["started"] += 1
        self.churn[kind] += 1
        try:
            client = await self.connect(ScriptClient(self))
        except (OSError, TimeoutError):
            self.churn["connect failed"] += 1
            return
        try:
            async with asyncio.timeout(Settings.login_timeout + 30):
                ok = await getattr(self, f"churn_{kind}")(client, f"c{number}")
        except TimeoutError:
            ok = False
        except asyncio.CancelledError:
            self.churn["cut short by the end"] += 1
            raise
        finally:
            if client.open:
                client.reset()
        if ok:
            self.churn["as expected"] += 1
        else:
            self.churn["unexpected"] += 1
            if len(self.churn_surprises) < 10:
                self.churn_surprises.append(f"{kind} c{number} at {self.elapsed():.0f} s: ...{client.tail()}")

    async def log_in(self, client: ScriptClient, name: str) -> bool:
        colour = self.rng.choice(["", "", "blue", "7", "light blue", "Purple"])
        if self.rng.random() < 0.15:
            client.send(f"{name}\nmauve\n".encode())  # not a colour: asked again
            if not await client.expect(b"is not one of the colours", 10):
                return False
        else:
            client.send(f"{name}\n".encode())
        client.send(f"{colour}\n".encode())
        return await client.expect(LOBBY, 10)

    async def leave(self, client: ScriptClient) -> bool:
        how = self.rng.choice(["quit", "quit with words", "close", "reset"])
        self.churn[f"left by {how}"] += 1
        if how.startswith("quit"):
            client.send(b"/quit\n" if how == "quit" else f"/quit {self.words(1, 4)}\n".encode())
            ok = await client.expect(b"Goodbye!", 10)
            client.transport.close()
            return ok
        if how == "close":
            client.transport.close()
        else:
            client.reset()
        return True

    async def vanish(self, client: ScriptClient) -> bool:
        await asyncio.sleep(self.rng.uniform(0, 2))
        if self.rng.random() < 0.5:
            client.transport.close()
        else:
            client.reset()
        return True

    async def churn_chat(self, client: ScriptClient, name: str) -> bool:
        if not await self.log_in(client, name):
            return False
        for _ in range(self.rng.randint(0, 2)):
            await asyncio.sleep(self.rng.uniform(0.1, 1))
            client.send(f"churn {name} {self.words(1, 10)}\n".encode())
        await asyncio.sleep(self.rng.uniform(0, 3))
        return await self.leave(client)

    async def churn_lurk(self, client: ScriptClient, name: str) -> bool:
        if not await self.log_in(client, name):
            return False
        await asyncio.sleep(self.rng.uniform(2, 10))
        return await self.leave(client)

    async def churn_half(self, client: ScriptClient, name: str) -> bool:
        client.send(f"{name}\n".encode())
        return await client.expect(b"Pick a colour", 10) and await self.vanish(client)

    async def churn_silent(self, client: ScriptClient, name: str) -> bool:
        if self.rng.random() < 0.3:  # gone before the banner is even read
            client.reset() if self.rng.random() < 0.5 else client.transport.close()
            return True
        return await client.expect(b"What is your name", 10) and await self.vanish(client)

    async def churn_taken(self, client: ScriptClient, name: str) -> bool:
        taken = self.rng.choice(self.stable).name
        taken = taken.upper() if self.rng.random() < 0.5 else taken  # names are the same whatever their case
        client.send(f"{taken}\n".encode())
        if not await client.expect(b"is taken", 10):
            return False
        return await self.log_in(client, name) and await self.leave(client)

    async def churn_bad(self, client: ScriptClient, name: str) -> bool:
        bad = self.rng.choice(["admin", "all", "with space", "x" * 25, "", "bad!name", "\u0430lice", "---"])
        if not await client.expect(b"What is your name", 10):
            return False
        client.send(f"{bad}\n".encode())
        return await client.expect(b"What is your name", 10) and await self.vanish(client)

    async def churn_idle(self, client: ScriptClient, name: str) -> bool:
        dropped = await client.expect(b"did not log in within", Settings.login_timeout + 15)
        self.churn["dropped by the login timeout"] += dropped
        return dropped and await client.wait_closed(10)

    # The hostile ones.

    async def flooder(self) -> None:
        number = 0
        while True:
            if number:
                await asyncio.sleep(1)  # before coming back
            number += 1
            try:
                client = await self.connect(Flooder(self, self.args.flooder_rate))
            except (OSError, TimeoutError):
                continue
            try:
                self.flood["connections"] += 1
                client.send(f"flood{number}\n\n".encode())
                if not await client.expect(LOBBY, 10):
                    self.flood["could not log in"] += 1
                    continue
                started = self.loop.time()
                client.start()
                self.flood["slowed"] += await client.expect(b"Slow down", 10)
                if await client.expect(b"You have been kicked for flooding", 60):
                    self.flood["kicked"] += 1
                    self.kick_after.append(self.loop.time() - started)
                # It goes on sending: the server must close the connection itself.
                self.flood["closed by the server"] += await client.wait_closed(30)
            finally:
                client.pumping = False
                self.flood["lines sent"] += client.lines
                self.flood["bytes sent"] += client.bytes
                if client.open:
                    client.reset()

    async def never_reader(self) -> None:
        number = 0
        while True:
            if number:
                await asyncio.sleep(1)  # before coming back
            number += 1
            try:
                client = await self.connect(NeverReader(self), rcvbuf=4096)
            except (OSError, TimeoutError):
                continue
            self.counts["never-reader connections"] += 1
            client.send(f"mute{number}\n\n".encode())
            since, traffic = self.loop.time(), self.stable[0].bytes_in
            self.muted = (f"mute{number}", since, traffic)
            try:
                while client.tcp_state() == TCP_ESTABLISHED:
                    await asyncio.sleep(1)
                self.cut_offs.append(
                    (f"mute{number}", self.loop.time() - since, (self.stable[0].bytes_in - traffic) / 1024)
                )
                self.muted = None
            finally:
                if client.open:
                    client.reset()

    async def random_sender(self, index: int) -> None:
        number = 0
        while True:
            if number:
                await asyncio.sleep(1)  # before coming back
            number += 1
            try:
                client = await self.connect(ScriptClient(self))
            except (OSError, TimeoutError):
                continue
            try:
                self.junk["connections"] += 1
                client.send(f"junk{index}-{number}\n\n".encode())
                if not await client.expect(LOBBY, 10):
                    self.junk["could not log in"] += 1
                    continue
                while client.open:
                    await asyncio.sleep(self.rng.uniform(1, 3))
                    chunk = junk(self.rng)
                    client.send(chunk)
                    self.junk["chunks"] += 1
                    self.junk["bytes"] += len(chunk)
                    self.junk["long lines"] += len(chunk) > 4096
                heard = plain(bytes(client.buffer))
                why = re.search(r"kicked for (\w+)", heard)
                self.junk_ends[f"kicked for {why[1]}" if why else "closed by the server"] += 1
            finally:
                if client.open:
                    client.reset()

    # The report.

    def report(self, log: str, output: str, log_files: int) -> tuple[str, bool]:
        """The summary table, and whether every target was met."""
        args, marks, ledger = self.args, self.marks, self.ledger
        start, end = marks.get("start"), marks.get("end")
        rows: list[tuple[str, str]] = []
        failed: list[str] = []

        def row(label: str, value: str, ok: bool | None = None) -> None:
            if ok is not None:
                value += "   PASS" if ok else "   FAIL"
                if not ok:
                    failed.append(label.strip())
            rows.append((label, value))

        measured = end["at"] - start["at"]
        defaults = Settings()
        row(
            "run",
            f"{args.duration:.0f} s of load ({args.warmup:.0f} s warm-up, {measured:.0f} s measured), seed {args.seed}",
        )
        row(
            "server limits",
            f"defaults: flood {defaults.flood_rate} lines/s after a burst of {defaults.flood_burst}, "
            f"kicked at {defaults.flood_queue} waiting; backlog {defaults.max_backlog_kib} KiB; "
            f"login {defaults.login_timeout} s; {defaults.max_per_ip} per address",
        )

        # The well-behaved.
        stable = len(self.stable)
        counted = len(ledger.counted())
        received = sum(ledger.heard[number] for number in ledger.counted())
        lost_lines, lost_deliveries = ledger.missing(stable)
        dropped = len(self.stable_dropped)
        row("stable clients", f"{stable}, logged in in {self.login_seconds:.1f} s; dropped {dropped}", not dropped)
        row("  lines said (counted)", f"{counted} ({counted / measured:.1f}/s), one each ~{args.interval:.0f} s")
        row("  deliveries", f"{received} of {counted * stable} expected (their senders' echoes included)")
        row("  lines lost", f"{lost_lines} ({lost_deliveries} deliveries missing)", lost_lines == 0)
        wrong = (ledger.out_of_order, ledger.misattributed)
        row("  out of order / wrong sender", f"{wrong[0]} / {wrong[1]}", wrong == (0, 0))
        row(
            "  told about themselves", f"{self.disturbed_count} (a slow-down, kick, error...)", not self.disturbed_count
        )
        worst = max((ms for ms, count in enumerate(ledger.latency) if count), default=None)
        latency = f"{ledger.percentile(0.5)} / {ledger.percentile(0.99)} / {worst} ms"
        row("  latency p50 / p99 / max", f"{latency} (said -> read); cool-down {self.cool_down_seconds:.1f} s")

        # The others.
        churn = self.churn
        kinds = ", ".join(f"{kind} {churn[kind]}" for kind in CHURN_KINDS)
        row("churn", f"{churn['started']} connections ({churn['started'] / args.duration:.1f}/s): {kinds}")
        row(
            "  went as expected",
            f"{churn['as expected']}; otherwise {churn['unexpected']}; connect failed {churn['connect failed']}; "
            f"cut short by the end {churn['cut short by the end']}",
        )
        left = [f"{key.removeprefix('left by ')} {n}" for key, n in sorted(churn.items()) if key.startswith("left by")]
        row("  left by", f"{', '.join(left)}; dropped by the login timeout {churn['dropped by the login timeout']}")
        flood, kicks = self.flood, sorted(self.kick_after)
        pace = f"{args.flooder_rate} lines/s" if args.flooder_rate else "as fast as the socket takes"
        row(
            "flooder",
            f"{flood['connections']} connections, {flood['kicked']} kicked for flooding"
            + (f" (median {kicks[len(kicks) // 2]:.2f} s after it started)" if kicks else "")
            + f", slowed first {flood['slowed']}, then closed by the server {flood['closed by the server']}",
        )
        row("  sent", f"{flood['lines sent']} lines, {mib(flood['bytes sent'] / 1024)} ({pace})")
        cuts = "; ".join(f"{name} after {s:.0f} s, the room said {said:.0f} KiB" for name, s, said in self.cut_offs)
        row(
            "never-reader",
            f"{self.counts['never-reader connections']} connections, {len(self.cut_offs)} cut off: {cuts or '-'}",
        )
        if self.muted:
            name, since, traffic = self.muted
            row(
                "  still connected",
                f"{name}, for {end['at'] - (since - self.started):.0f} s at the end, while the room said "
                f"{(end['traffic'] - traffic) / 1024:.0f} KiB (cut off past {Settings.max_backlog_kib} KiB queued "
                "beyond what the sockets hold)",
            )
        ends = ", ".join(f"{why} {n}" for why, n in sorted(self.junk_ends.items())) or "none"
        junk = self.junk
        row(
            "random senders",
            f"{args.random_senders}: {junk['chunks']} chunks, {mib(junk['bytes'] / 1024)}, {junk['long lines']} "
            f"lines over 4096 bytes; {junk['connections']} connections, ended by the server: {ends}",
        )

        # The server, and this process.
        ratio = end["rss"] / start["rss"]
        peak = max(rss for _, rss, _ in self.samples)
        row(
            "server RSS",
            f"start {mib(start['rss'])}, end {mib(end['rss'])} (end/start {ratio:.3f}), peak {mib(peak)}; "
            f"{mib(marks['empty']['rss'])} before anyone connected",
            ratio <= 1.10,
        )
        quarters = [self.samples[int(q * (len(self.samples) - 1))] for q in (0, 0.25, 0.5, 0.75, 1)]
        row("  RSS over the run", "  ".join(f"{at:.0f} s: {mib(rss)}" for at, rss, _ in quarters))
        row("server CPU", f"{(end['cpu'] - start['cpu']) / measured:.0%} of a core while measured")
        row("server open files", f"start {start['files']}, end {end['files']}")
        own = (end["own_cpu"] - start["own_cpu"]) / measured
        flooding = (end["flood_cpu"] - start["flood_cpu"]) / measured
        lag = sorted(self.lag)
        errors = self.counts["generator errors"]
        row(
            "generator",
            f"{own:.0%} of a core while measured ({flooding:.0%} in the flooder's writes); loop lag p99 "
            f"{lag[int(0.99 * (len(lag) - 1))] * 1000:.0f} ms, max {lag[-1] * 1000:.0f} ms; errors {errors}",
            not errors,
        )

        problems = log_problems(log)
        # twistd's stdout is Twisted's own log (also bridged into the file); its stderr, loguru's copy of
        # the chat events and whatever else Python printed there: a traceback in either counts too.
        marks_of_trouble = ("Traceback", "Unhandled", "Logging error")
        printed = [f"(twistd stdout/stderr) {line[:300]}" for line in output.splitlines()
                   if any(mark in line for mark in marks_of_trouble)]  # fmt: skip
        row(
            "server log",
            f"{len(log.splitlines())} lines in {log_files} files; ERROR/CRITICAL/Traceback {len(problems)}; "
            f"tracebacks on twistd's stdout/stderr {len(printed)}",
            not problems and not printed,
        )
        problems += printed
        row("  events", log_events(log))
        told = sum(client.told_goodbye for client in self.stable)
        code = getattr(self, "exit_code", None)
        # twistd stops cleanly on SIGTERM, then raises the signal again, so its status says what stopped it.
        exited = "on SIGTERM (status -15, as twistd does)" if code == -signal.SIGTERM else f"with status {code}"
        stopped = "chatroom stopped" in log
        row(
            "shutdown",
            f"{told}/{stable} stable clients told the server is going down; twistd exited {exited}; "
            f"log {'says' if stopped else 'does NOT say'} 'chatroom stopped'",
            told == stable and stopped and code in (0, -signal.SIGTERM),
        )
        row("result", "FAIL: " + ", ".join(failed) if failed else "PASS")

        width = max(len(label) for label, _ in rows) + 2
        lines = ["", "soak summary", "-" * 12] + [f"{label:<{width}}{value}" for label, value in rows]
        for title, items in (
            ("stable clients dropped (name, second, why)", self.stable_dropped),
            ("told to stable clients", self.disturbances),
            ("churn that went otherwise", self.churn_surprises),
            ("generator errors", self.loop_errors),
            ("server log problems (first 10)", problems[:10]),
        ):
            if items:
                lines += ["", f"{title}:"] + [f"  {item}" for item in items]
        return "\n".join(lines), not failed


def log_problems(log: str) -> list[str]:
    """ERROR and CRITICAL lines, and traceback lines, of a loguru log: 'time | LEVEL | fields | message'."""
    problems = []
    for line in log.splitlines():
        parts = line.split(" | ", 2)
        level = parts[1].strip() if len(parts) > 2 else ""
        if level in ("ERROR", "CRITICAL") or line.startswith("Traceback"):
            problems.append(line[:300])
    return problems


def log_events(log: str) -> str:
    events = Counter(re.findall(r"^[^|]+\|[^|]+\| (?:\S+=\S* )*?event=(\w+)", log, re.M))
    kicks = Counter(re.findall(r"\| event=kick [^|]*\| \S+ kicked for (\w+)", log))
    shown = ", ".join(f"{name} {count}" for name, count in sorted(events.items()))
    return shown + " | kicks: " + (", ".join(f"{why} {n}" for why, n in sorted(kicks.items())) or "none")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=300, help="seconds of load, warm-up included (300)")
    parser.add_argument("--clients", type=int, default=200, help="stable, well-behaved clients (200)")
    parser.add_argument("--churn", type=float, default=5, help="churning connections a second (5)")
    parser.add_argument("--random-senders", type=int, default=3, help="clients sending junk (3)")
    parser.add_argument("--interval", type=float, default=15, help="seconds between a stable client's lines (15)")
    parser.add_argument("--warmup", type=float, help="seconds before measuring (10%% of --duration, 5 to 30)")
    parser.add_argument("--flooder-rate", type=int, default=0, help="the flooder's lines/s (0: as fast as it can)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = min(30.0, max(5.0, args.duration / 10))
    if not 0 <= args.warmup < args.duration or args.clients < 2 or args.churn <= 0 or args.interval <= 0:
        parser.error("need 0 <= --warmup < --duration, --clients >= 2, --churn > 0 and --interval > 0")
    if args.clients + 100 > 50 * (LAST_HOST - FIRST_HOST + 1):
        parser.error("too many clients for the loopback addresses under the default 50 per address")

    print(f"soak: {args.clients} stable clients, churn {args.churn}/s, one flooder, one never-reader, "
          f"{args.random_senders} random senders, {args.duration:.0f} s", flush=True)  # fmt: skip
    wall = time.monotonic()
    with Server(prefix="soak-") as server:
        print(f"twistd pid {server.pid} on 127.0.0.1:{server.port}, folder {server.folder}", flush=True)
        soak = Soak(args, server)
        try:
            asyncio.run(soak.run())
        finally:
            server.stop()
        text, ok = soak.report(server.log_text(), server.output_text(), len(server.log_files()))
    print(text)
    print(f"\n(wall time {time.monotonic() - wall:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
