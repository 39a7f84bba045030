"""The processes the benchmark starts (daemon, webserver, Redis, Celery workers), their peak memory and CPU.

Each starts in its own session, so ``stop`` ends it and every child it started (run workers, step
workers, code servers) by process group. ``ProcessUsage`` samples the peak resident set (Linux's
``VmHWM``, a high-water mark kept by the kernel) and the CPU time of those processes and all their
descendants, and sorts them by role from their command line.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import statistics
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["Background", "ProcessUsage", "free_port", "own_cpu_s", "wait_for_port", "wait_for_url"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Background:
    """``command`` in a new session with its output in ``log``; ``stop`` ends its whole process group."""

    def __init__(self, command: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.command, self.log = command, log
        self._out = log.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def check_running(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(
                f"{Path(self.command[0]).name} exited with {self.process.returncode}:\n{self.log_tail()}"
            )

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to the group, SIGKILL to what is left of it after ``timeout_s``."""
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=timeout_s)
        with contextlib.suppress(ProcessLookupError):  # children that outlived the leader are in its group
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self._out.close()


def wait_for_port(port: int, process: Background, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        process.check_running()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s:\n{process.log_tail()}")


def wait_for_url(url: str, process: Background, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log if it exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        process.check_running()
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {timeout_s:.0f} s:\n{process.log_tail()}")


def _role(cmdline: str, parent: str | None) -> str:
    """A process's role from its command line and its parent's role.

    Dagster's code server starts each run in a multiprocessing (spawn) child: the run worker; the
    multiprocess executor starts each step in a multiprocessing child of the run worker (spawned, or
    forked by a forkserver whose children keep its command line): the step workers. Anything else
    (resource trackers, log capture, shells) is a helper.
    """
    if "dagster-daemon" in cmdline:
        return "daemon"
    if cmdline.startswith("postgres:") or Path(cmdline.split(" ", 1)[0]).name == "postgres":
        return "postgres"  # the postmaster (bin/postgres -D ...) and its backends ("postgres: user db ...")
    if "api grpc" in cmdline:
        return "code server"
    if "celery" in cmdline and parent != "celery worker":
        return "celery worker"
    if "execute_run" in cmdline:
        return "run worker"
    if "resource_tracker" in cmdline:
        return "helper"
    if "forkserver" in cmdline and parent != "forkserver":
        return "forkserver"
    if "multiprocessing" in cmdline:
        if parent == "code server":
            return "run worker"
        if parent in ("run worker", "forkserver", "celery worker"):
            return "step worker"
    return "helper"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(entry.path, "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _peak_kb(pid: int) -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return None


def own_cpu_s() -> float:
    """User + system CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (its own threads, not its children)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime: fields 14 and 15 of stat
    return None


class ProcessUsage:
    """Peak RSS and CPU time of ``roots`` and their descendants, sampled every ``interval_s`` in a thread.

    CPU counts from the first sample (a process already running then counts what it uses after it).
    VmHWM only grows, so a sample misses at most the growth of a process's last ``interval_s``;
    likewise a process that exits loses the CPU time of its last ``interval_s`` at most.
    """

    def __init__(self, roots: list[int], interval_s: float = 0.5) -> None:
        self.interval_s = interval_s
        self.roots = list(roots)
        self.peaks: dict[int, tuple[str, int]] = {}  # pid -> (role, peak kB)
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds at its last sample
        self.cpu_before: dict[int, float] = {}  # processes already running at the first sample: their CPU then
        self._sampled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="process-usage", daemon=True)

    def __enter__(self) -> ProcessUsage:
        if Path("/proc/self/status").is_file():  # Linux only; elsewhere nothing is sampled
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def sample(self) -> None:
        tree = _children()
        pending: list[tuple[int, str | None]] = [(pid, None) for pid in self.roots]
        seen: set[int] = set()
        while pending:
            pid, parent = pending.pop()
            if pid in seen:
                continue
            seen.add(pid)
            peak = _peak_kb(pid)
            if peak is None:
                continue
            role = self.peaks[pid][0] if pid in self.peaks else None
            if role is None:
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                role = _role(cmdline, parent)
            self.peaks[pid] = (role, max(peak, self.peaks.get(pid, (role, 0))[1]))
            cpu = _cpu_s(pid)
            if cpu is not None:
                self.cpu[pid] = cpu
                if not self._sampled:
                    self.cpu_before[pid] = cpu
            pending += [(child, role) for child in tree.get(pid, [])]
        self._sampled = True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval_s)

    def by_role(self) -> dict[str, dict[str, float]]:
        """Per role: processes seen, the largest and the median peak RSS (MB), CPU seconds summed."""
        roles: dict[str, list[int]] = {}
        cpu: dict[str, float] = {}
        for pid, (role, peak) in self.peaks.items():
            roles.setdefault(role, []).append(peak)
            cpu[role] = cpu.get(role, 0.0) + self.cpu.get(pid, 0.0) - self.cpu_before.get(pid, 0.0)
        return {
            role: {
                "processes": len(peaks),
                "peak_rss_mb_max": max(peaks) / 1024.0,
                "peak_rss_mb_median": statistics.median(peaks) / 1024.0,
                "cpu_s": cpu[role],
            }
            for role, peaks in sorted(roles.items())
        }
