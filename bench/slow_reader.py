"""A client that never reads, beside two that do: is it cut off, and does the server's memory stay flat?

    python bench/slow_reader.py [--lines 100000]

Starts its own twistd on a free loopback port (stopped at the end), logs in a
client with a 4 KB receive buffer that never reads, a talker and a listener
that both read everything, and has the talker send --lines lines of ~190
bytes. Prints server RSS before and at its peak, how many lines each reader
got, and whether the log shows the silent client cut off.
"""

from __future__ import annotations

import argparse
import socket
import threading
import time

from harness import Server


def read_all(sock: socket.socket, counts: dict, name: str) -> None:
    received = b""
    sock.settimeout(5)
    try:
        while chunk := sock.recv(1 << 20):
            received += chunk
    except OSError:
        pass
    counts[name] = received.count(b"talker\x1b[0m: line ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    # 100,000 lines from one talker is a flood by design: flood control is off, so what is measured is
    # the cap on what may queue for a client that stops reading.
    with Server("--flood-rate", "0", prefix="slow-reader-") as server:
        silent = socket.socket()
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # no kernel autotuning to hide behind
        silent.connect(("127.0.0.1", server.port))
        silent.sendall(b"silent\n\n")
        talker = socket.create_connection(("127.0.0.1", server.port))
        talker.sendall(b"talker\n\n")
        listener = socket.create_connection(("127.0.0.1", server.port))
        listener.sendall(b"listener\n\n")
        counts: dict[str, int] = {}
        readers = [
            threading.Thread(target=read_all, args=(s, counts, n))
            for n, s in (("talker", talker), ("listener", listener))
        ]  # noqa: E501
        for reader in readers:
            reader.start()
        time.sleep(0.5)
        before = peak = server.rss_kib() // 1024
        started = time.monotonic()
        for i in range(args.lines):
            talker.sendall(f"line {i} ".encode() + b"x" * 180 + b"\n")
            if i % 1000 == 0:
                peak = max(peak, server.rss_kib() // 1024)
        elapsed = time.monotonic() - started
        time.sleep(2)
        peak = max(peak, server.rss_kib() // 1024)
        talker.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        server.stop()
        for reader in readers:
            reader.join()
        log = server.log_text()
    print(f"sent {args.lines} lines in {elapsed:.1f} s")
    print(f"server RSS: {before} MiB before, {peak} MiB at peak")
    print(f"lines received: talker {counts.get('talker')}, listener {counts.get('listener')} (of {args.lines})")
    print("silent client cut off:", "yes" if "silent cut off" in log else "NO")


if __name__ == "__main__":
    main()
