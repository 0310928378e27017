"""Servers for the benchmarks: started fresh on a free loopback port in a temporary folder, read from /proc.

    with Server("--max-line", "1024", prefix="slow-reader-") as server:
        ... connect to 127.0.0.1:server.port, look at server.rss_kib() ...
        server.stop()
        log = server.log_text()
    # stopped (SIGTERM, then SIGKILL by pid) and its folder removed, whatever happened

    with Ngircd(core=0) as irc:        # ngIRCd as configured for a load test (NGIRCD_CONF), pinned to core 0
        before = irc.cpu_seconds()

Server is chatroom's twistd, run from this checkout (PYTHONPATH=<repo>, or
another checkout with repo=...) with its default limits unless options say
otherwise, without a pidfile, logging to chat.log in the folder. Ngircd is
/usr/sbin/ngircd (apt-get install ngircd) with its own config in the folder,
never the system's. Both write stdout and stderr to files there, not pipes: a
pipe nobody reads fills up and stalls the server in a long run.

Both are pinned to one core with taskset when given core=N (taskset execs the
server, so the pid is the server's own), and get SIGKILL if the process that
started them dies without stopping them. What /proc tells about them: RSS and
its peak (which can be reset at the start of a measured window), CPU time
(utime + stime, all threads), time spent waiting for a core (schedstat), and
context switches. Read after the process has gone, each gives its last value.
core_times() reads one core's counters from /proc/stat (steal: time the
hypervisor gave to someone else).
"""

from __future__ import annotations

import ctypes
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TWISTD = Path(sys.executable).with_name("twistd")
NGIRCD = "/usr/sbin/ngircd"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"

# ngIRCd as configured for a load test: no connection caps, no penalties (MaxPenaltyTime = 0 caps
# every one at 0 s), no DNS, ident or PAM, so registration completes at USER; pings far apart; and
# nothing read from /etc/ngircd (IncludeDir is an empty folder of its own). Its compiled-in limits,
# which no setting changes (defines.h and conn.c; checked against Debian's 26.1): a listen() backlog
# of 10 and one accept per main-loop pass; at most 3 commands per client per pass, with 2 KiB of
# unparsed input (a flooding sender is read at that pace, not dropped); 32 KiB queued for a client
# past what its socket takes, then it is dropped ("Write buffer space exhausted").
NGIRCD_CONF = """\
[Global]
	Name = bench.invalid
	Info = fan-out benchmark
	AdminInfo1 = bench/harness.py
	AdminInfo2 = loopback only
	AdminEMail = nobody@bench.invalid
	Listen = 127.0.0.1
	Ports = {port}
	MotdPhrase = bench
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxPenaltyTime = 0
	PingTimeout = 3600
	PongTimeout = 3600
	IdleTimeout = 0
[Options]
	DNS = no
	Ident = no
	PAM = no
	IncludeDir = {folder}/conf.d
"""


def _die_with_parent() -> None:
    """In the child before exec: if the benchmark dies without stopping it, the server gets SIGKILL."""
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def core_times(core: int) -> dict[str, float]:
    """One core's counters from /proc/stat, in seconds: busy (user to softirq), idle, steal."""
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith(f"cpu{core} "):
            user, nice, system, idle, iowait, irq, softirq, steal = (int(x) / CLOCK_TICKS for x in line.split()[1:9])
            return {"busy": user + nice + system + irq + softirq, "idle": idle + iowait, "steal": steal}
    raise ValueError(f"no core {core} in /proc/stat")


def waiting_seconds(pid: int) -> float:
    """Time the threads of `pid` were ready to run but waited for a core (another process or thread had it)."""
    tasks = glob.glob(f"/proc/{pid}/task/*/schedstat")
    return sum(int(Path(f).read_text().split()[1]) for f in tasks) / 1e9


class Process:
    """A server process in a temporary folder of its own: started, read from /proc, stopped by its pid."""

    name = "server"

    def __init__(self, prefix: str, core: int | None = None, stop_timeout: float = 15):
        self.folder = Path(tempfile.mkdtemp(prefix=prefix))
        self.core = core
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen | None = None
        self.pid = 0
        self.port = 0
        self._terminated = False
        self._last: dict[str, int | float] = {}

    def _spawn(self, command: list[str], **kwargs) -> None:
        pinning = ["taskset", "-c", str(self.core)] if self.core is not None else []
        with open(self.folder / "server.out", "wb") as stdout, open(self.folder / "server.err", "wb") as stderr:
            self.process = subprocess.Popen(
                [*pinning, *command], cwd=self.folder, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                preexec_fn=_die_with_parent, **kwargs,
            )  # fmt: skip
        self.pid = self.process.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    # The process, from /proc. Once it has gone, each reader gives the last value it read.

    def _proc(self, key: str, read) -> int | float:
        try:
            self._last[key] = read()
        except (OSError, ValueError, AttributeError, IndexError):
            pass
        return self._last.get(key, 0)

    def _status(self, field: str) -> int:
        return int(re.search(rf"^{field}:\s+(\d+)", Path(f"/proc/{self.pid}/status").read_text(), re.M).group(1))

    def rss_kib(self) -> int:
        return self._proc("rss", lambda: self._status("VmRSS"))

    def peak_rss_kib(self) -> int:
        """The highest RSS since the start, or since the last reset_peak_rss()."""
        return self._proc("hwm", lambda: self._status("VmHWM"))

    def reset_peak_rss(self) -> bool:
        """Start peak_rss_kib() afresh from the present RSS (Linux 4.0+, needs the right to write clear_refs)."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def cpu_seconds(self) -> float:
        """User plus system time so far, every thread included."""

        def read() -> float:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
            return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime and stime, fields 14 and 15 of stat

        return self._proc("cpu", read)

    def waiting_seconds(self) -> float:
        """Time its threads were ready to run but waited for a core (another process had it, or one of its own)."""
        return self._proc("wait", lambda: waiting_seconds(self.pid))

    def involuntary_switches(self) -> int:
        """Times it was taken off its core while it still wanted to run."""
        return self._proc("nvcsw", lambda: self._status("nonvoluntary_ctxt_switches"))

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    # Stopping, and what it left.

    def terminate(self) -> None:
        """SIGTERM once, without waiting."""
        if self.alive() and not self._terminated:
            self._terminated = True
            os.kill(self.pid, signal.SIGTERM)

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM (everyone is told, the log is closed); SIGKILL by pid if it has not exited in `timeout` s."""
        if self.process is None:
            return None
        self.terminate()
        try:
            return self.process.wait(timeout=self.stop_timeout if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            return self.process.wait()

    def output_text(self) -> str:
        """What the server wrote on stdout and stderr."""
        texts = []
        for name in ("server.out", "server.err"):
            try:
                texts.append((self.folder / name).read_text(errors="replace"))
            except OSError:
                pass
        return "".join(texts)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class Server(Process):
    """chatroom's twistd, listening on a free port of 127.0.0.1.

    `options` go to the chatroom plugin, `twistd_options` to twistd itself
    (e.g. --profile); `repo` is the checkout it runs from.
    """

    name = "chatroom"

    def __init__(
        self,
        *options: str,
        prefix: str = "chatroom-bench-",
        start_timeout: float = 30,
        core: int | None = None,
        twistd_options: tuple[str, ...] = (),
        repo: Path | str = REPO,
        stop_timeout: float = 15,
    ):
        super().__init__(prefix, core, stop_timeout)
        self.repo = Path(repo).resolve()
        try:
            self._spawn(
                [str(TWISTD), "-n", "--pidfile=", *twistd_options, "chatroom",
                 "--port", f"tcp:0:interface={HOST}", "--logfile", "chat.log", *options],
                env=dict(os.environ, PYTHONPATH=str(self.repo)),
            )  # fmt: skip
            deadline = time.monotonic() + start_timeout
            while time.monotonic() < deadline and self.alive():
                found = re.search(r"starting on (\d+)", self.output_text())
                if found:
                    self.port = int(found.group(1))
                    return
                time.sleep(0.05)
            raise RuntimeError(f"twistd did not start:\n{self.output_text()[-3000:]}")
        except BaseException:
            self.close()
            raise

    def log_files(self) -> list[Path]:
        """chat.log and the files loguru rotated out of it, oldest first."""
        return sorted((Path(f) for f in glob.glob(str(self.folder / "chat*.log"))), key=os.path.getmtime)

    def log_text(self) -> str:
        return "".join(path.read_text(errors="replace") for path in self.log_files())


class Ngircd(Process):
    """ngIRCd on a free port of 127.0.0.1, with `conf` (NGIRCD_CONF: {port} and {folder} filled in)."""

    name = "ngircd"

    def __init__(
        self,
        conf: str = NGIRCD_CONF,
        prefix: str = "ngircd-bench-",
        start_timeout: float = 15,
        core: int | None = None,
        stop_timeout: float = 15,
    ):
        super().__init__(prefix, core, stop_timeout)
        try:
            binary = shutil.which("ngircd") or NGIRCD
            if not os.path.exists(binary):
                raise RuntimeError("ngircd is not installed: apt-get install -y ngircd")
            self.port = free_port()
            (self.folder / "conf.d").mkdir()
            path = self.folder / "ngircd.conf"
            path.write_text(conf.format(port=self.port, folder=self.folder))
            os.chmod(self.folder, 0o755)  # ngircd drops root for 'nobody', who must still read its config
            self._spawn([binary, "-n", "-f", str(path)])
            deadline = time.monotonic() + start_timeout
            while time.monotonic() < deadline and self.alive():
                try:
                    socket.create_connection((HOST, self.port), timeout=1).close()
                    return
                except OSError:
                    time.sleep(0.05)
            raise RuntimeError(f"ngircd did not start:\n{self.output_text()[-3000:]}")
        except BaseException:
            self.close()
            raise
