"""A real twistd for the benchmarks: started on a free loopback port in a temporary folder, read from /proc.

    with Server("--max-line", "1024", prefix="slow-reader-") as server:
        ... connect to 127.0.0.1:server.port, look at server.rss_kib() ...
        server.stop()
        log = server.log_text()
    # stopped (SIGTERM, then SIGKILL by pid) and its folder removed, whatever happened

twistd runs from this checkout (PYTHONPATH=<repo>) with its default limits
unless options say otherwise, without a pidfile, logging to chat.log in the
folder. Its stdout and stderr go to files there, not pipes: a pipe nobody
reads fills up and stalls the server in a long run.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TWISTD = Path(sys.executable).with_name("twistd")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(self, *options: str, prefix: str = "chatroom-bench-", start_timeout: float = 30):
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        self.process: subprocess.Popen | None = None
        try:
            self._start(options, start_timeout)
        except BaseException:
            self.close()
            raise

    def _start(self, options: tuple[str, ...], timeout: float) -> None:
        out = self.folder / "twistd.out"
        with open(out, "wb") as stdout, open(self.folder / "twistd.err", "wb") as stderr:
            self.process = subprocess.Popen(
                [str(TWISTD), "-n", "--pidfile=", "chatroom", "--port", "tcp:0:interface=127.0.0.1",
                 "--logfile", "chat.log", *options],
                cwd=self.folder, env=dict(os.environ, PYTHONPATH=str(REPO)), stdout=stdout, stderr=stderr,
            )  # fmt: skip
        self.pid = self.process.pid
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            found = re.search(r"starting on (\d+)", out.read_text(errors="replace"))
            if found:
                self.port = int(found.group(1))
                return
            time.sleep(0.05)
        raise RuntimeError(f"twistd did not start:\n{out.read_text(errors='replace')}")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # The process, from /proc.

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status).group(1))

    def cpu_seconds(self) -> float:
        """User plus system time so far."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime, fields 14 and 15 of stat

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    # Stopping, and what it left.

    def stop(self, timeout: float = 15) -> int | None:
        """SIGTERM (everyone is told, the log is closed); SIGKILL by pid if it has not exited in `timeout` s."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            return self.process.wait()

    def log_files(self) -> list[Path]:
        """chat.log and the files loguru rotated out of it, oldest first."""
        return sorted((Path(f) for f in glob.glob(str(self.folder / "chat*.log"))), key=os.path.getmtime)

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.log_files())

    def output_text(self) -> str:
        """What twistd wrote on stdout (Twisted's own log) and stderr."""
        return "".join((self.folder / name).read_text(errors="replace") for name in ("twistd.out", "twistd.err"))

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
