"""`flexsync run` and flexsync's readers in subprocesses: memory and file-size limits, timing of the first write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexsync.bench.faults.targets import FAULT_SETTINGS

# -- reading an absurd file in a memory-limited process -------------------------------------------------------

_READ_SCRIPT = """
import json, resource, sys
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from flexsync.readers.registry import read_file
try:
    contents = read_file(sys.argv[2], format=sys.argv[3], options=json.loads(sys.argv[4]))
    out = {"error": None, "type": None, "signals": {k: list(v.data.shape) for k, v in contents.signals.items()}}
except MemoryError as exc:
    out = {"error": f"MemoryError: {exc}", "type": "MemoryError"}
except Exception as exc:
    out = {"error": str(exc), "type": type(exc).__name__}
# VmHWM, not ru_maxrss: Linux carries the parent's resident size at fork over the exec into ru_maxrss
with open("/proc/self/status", encoding="ascii") as status:
    peak = [line.split()[1] for line in status if line.startswith("VmHWM:")]
out["maxrss_mb"] = int(peak[0]) / 1024 if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def read_with_memory_limit(
    path: Path,
    fmt: str,
    options: Mapping[str, Any] | None = None,
    *,
    limit_bytes: int = 2 << 30,
    timeout_s: float = 120,
) -> dict[str, Any]:
    """Read ``path`` with flexsync's reader in a fresh process whose address space is capped at ``limit_bytes``.

    Returns ``{"error", "type", "maxrss_mb"}`` (or ``signals`` when it reads; ``maxrss_mb`` is the
    process's peak resident size): a reader that tried to allocate what an absurd header declares gets
    a MemoryError here instead of exhausting the machine.
    """
    command = [sys.executable, "-c", _READ_SCRIPT, str(limit_bytes), str(path), fmt, json.dumps(dict(options or {}))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": f"reader process exited {done.returncode}: {done.stderr[-2000:]}", "type": "crash"}
    return json.loads(lines[-1])


# -- killing `flexsync run` ----------------------------------------------------------------------------------------


def cli_run_command(raw_root: Path, store_root: Path, *, settings: Mapping[str, Any] | None = None) -> list[str]:
    """``python -m flexsync.cli run`` over ``raw_root`` into ``store_root``: in-process runs, no training products."""
    command = [sys.executable, "-m", "flexsync.cli", "run", "--raw", str(raw_root), "--store", str(store_root)]
    command += ["--no-training", "--parallel", "1"]
    for name, value in (FAULT_SETTINGS if settings is None else settings).items():
        command += ["--set", f"{name}={json.dumps(value)}"]
    return command


def with_file_size_limit(command: Sequence[str], limit_bytes: int) -> list[str]:
    """``command`` run with RLIMIT_FSIZE set (a full disk: writes past ``limit_bytes`` fail with EFBIG)."""
    script = (
        "import os, resource, sys; "
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({int(limit_bytes)}, {int(limit_bytes)})); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    )
    return [sys.executable, "-c", script, *command]


def cli_environment(temp_dir: Path) -> dict[str, str]:
    """The environment of a CLI run: no DAGSTER_HOME (a throwaway instance), temporaries under ``temp_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "FLEXSYNC_STORE_ROOT", "FLEXSYNC_RAW_ROOT")}
    Path(temp_dir).mkdir(parents=True, exist_ok=True)
    env["TMPDIR"] = str(temp_dir)
    return env


@dataclass
class CliRun:
    """How one CLI process went: exit code (-9 when killed), output, wall seconds.

    ``killed``: the SIGKILL ended it (a process that exited by itself just before the signal is not killed).
    """

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool
    first_write_s: float | None  # when ``watch`` was first created or changed (None: never, or not watched)


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return None


def run_cli(
    command: Sequence[str],
    *,
    env: Mapping[str, str],
    kill_after_s: float | None = None,
    watch: Path | None = None,
    kill_after_write_s: float | None = None,
    timeout_s: float = 600.0,
) -> CliRun:
    """Run ``command`` in its own process group; SIGKILL the group after ``kill_after_s`` (when still running),
    or ``kill_after_write_s`` after it first wrote ``watch``.

    ``watch``: a folder whose creation or change marks the run's first write (the store's ``.work/``,
    where ``Store.check_writable`` probes before any other write, in a fresh store as in a rerun).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        stamp = _stamp(watch) if watch is not None else None
        started = time.perf_counter()
        proc = subprocess.Popen(list(command), stdout=out, stderr=err, env=dict(env), start_new_session=True)
        first_write = None
        killed = False
        while proc.poll() is None:
            elapsed = time.perf_counter() - started
            if watch is not None and first_write is None and _stamp(watch) != stamp:
                first_write = elapsed
            due = kill_after_s is not None and elapsed >= kill_after_s
            due |= (
                kill_after_write_s is not None
                and first_write is not None
                and elapsed - first_write >= kill_after_write_s
            )
            if due or elapsed > timeout_s:
                os.killpg(proc.pid, signal.SIGKILL)  # the process group we started: the run and any child
                proc.wait()
                killed = proc.returncode == -signal.SIGKILL  # not when it had just exited by itself
                break
            time.sleep(0.005)
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return CliRun(
            returncode=proc.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            seconds=seconds,
            killed=killed,
            first_write_s=first_write,
        )
