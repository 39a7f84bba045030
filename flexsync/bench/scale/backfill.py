"""Backfill the registered partitions through the instance: a real ``dagster-daemon``, queue, launcher, engine.

``flexsync backfill``'s path: one job backfill of ``ingest_recordings`` submitted to the instance;
the daemon's backfill daemon creates one queued run per partition, the run queue starts
``workers`` at a time, the default run launcher starts each run in its own process, and the run
executes on the chosen engine. The sensors are stored as stopped first, so only the backfill
starts runs (the automation sensor would build the training products after them).

Per run, from the instance: the run record's start and end (run wall), the event log's
RUN_STARTING (the launcher took the run off the queue) and the step stats (each step's start
and end): step work = the sum of the step durations, orchestration overhead = run wall - step
work, launch = RUN_STARTING -> run start (a new process loads the code location).
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import yaml
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemoteRepositoryOrigin

from flexsync.bench.scale.engines import Engine
from flexsync.bench.scale.processes import Background, ProcessUsage, free_port, own_cpu_s, wait_for_port
from flexsync.pipelines.backfill import code_location_name, launch_backfill, read_progress

__all__ = ["BackfillFigures", "RunFigures", "run_backfill"]

BIN = Path(sys.executable).parent
LOCATION = ["-m", "flexsync.definitions"]
CODE_SERVER_START_S = 300.0  # loading flexsync.definitions under load
SENSORS = ("new_recordings_sensor", "automation_sensor")


@dataclass(frozen=True)
class RunFigures:
    """One backfill run, read back from the instance (epoch seconds)."""

    key: str
    run_id: str
    status: str
    created: float
    starting: float | None  # RUN_STARTING: taken off the queue and launched
    started: float
    ended: float
    steps: dict[str, float]  # step key -> seconds

    @property
    def wall_s(self) -> float:
        return self.ended - self.started

    @property
    def step_s(self) -> float:
        return sum(self.steps.values())

    @property
    def overhead_s(self) -> float:
        return self.wall_s - self.step_s

    @property
    def launch_s(self) -> float | None:
        return None if self.starting is None else self.started - self.starting

    def to_dict(self) -> dict:
        return {
            **asdict(self),
            "wall_s": self.wall_s,
            "step_s": self.step_s,
            "overhead_s": self.overhead_s,
            "launch_s": self.launch_s,
        }


@dataclass(frozen=True)
class BackfillFigures:
    """The backfill as a whole: its runs, wall time, run creation, every process's peak memory and CPU."""

    backfill_id: str
    engine: str
    runs: list[RunFigures]
    daemon_start: float  # epoch s
    pickup_s: float  # daemon start -> the first run created: the daemon loading the code location, once
    wall_s: float  # the first run created -> the last run's end: every per-run cost, no one-off start
    status: str
    processes: dict[str, dict[str, float]]  # per role: processes, peak RSS (MB), CPU s during the backfill
    other_runs: int  # runs in the instance that the backfill did not start (0: the sensors stayed stopped)
    benchmark_cpu_s: float = 0.0  # this process meanwhile: polling the instance, sampling /proc

    @property
    def succeeded(self) -> int:
        return sum(r.status == "SUCCESS" for r in self.runs)

    @property
    def run_create_s(self) -> float | None:
        """Seconds the daemon takes to create one queued run: the median gap between consecutive creations.

        The median, because the backfill daemon creates runs in chunks of 25 with a pause between chunks.
        """
        created = sorted(r.created for r in self.runs)
        gaps = [b - a for a, b in itertools.pairwise(created)]
        return statistics.median(gaps) if gaps else None

    def slots_busy_share(self, slots: int) -> float | None:
        """Share of the backfill wall x ``slots`` that runs held a slot (launch + run wall): 1 = never idle."""
        held = sum(r.ended - (r.starting if r.starting is not None else r.started) for r in self.runs)
        return held / (self.wall_s * slots) if self.wall_s > 0 and slots > 0 else None

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds during the backfill by role, this benchmark's own included, and their total."""
        by_role = {role: v["cpu_s"] for role, v in self.processes.items()}
        by_role["benchmark"] = self.benchmark_cpu_s
        return {**by_role, "total": sum(by_role.values())}

    def summary(self) -> dict[str, float | None]:
        ok = [r for r in self.runs if r.status == "SUCCESS"]
        launches = [r.launch_s for r in ok if r.launch_s is not None]

        def median(values: list[float]) -> float | None:
            return statistics.median(values) if values else None

        return {
            "run_wall_s_median": median([r.wall_s for r in ok]),
            "step_s_median": median([r.step_s for r in ok]),
            "overhead_s_median": median([r.overhead_s for r in ok]),
            "overhead_s_mean": statistics.fmean([r.overhead_s for r in ok]) if ok else None,
            "overhead_s_max": max((r.overhead_s for r in ok), default=None),
            "launch_s_median": median(launches),
            "run_create_s": self.run_create_s,
        }

    def to_dict(self) -> dict:
        return {
            "backfill_id": self.backfill_id,
            "engine": self.engine,
            "runs": len(self.runs),
            "succeeded": self.succeeded,
            "status": self.status,
            "daemon_start": self.daemon_start,
            "pickup_s": self.pickup_s,
            "wall_s": self.wall_s,
            **self.summary(),
            "processes": self.processes,
            "cpu_s": self.cpu_s(),
            "other_runs": self.other_runs,
            "per_run": [r.to_dict() for r in self.runs],
        }


def stop_sensors(instance: dg.DagsterInstance, location_name: str) -> None:
    """Store both sensors as stopped before the daemon starts, so that it never ticks them.

    What ``dagster sensor stop`` stores, without loading the code location in a subprocess per
    sensor: the daemons look a sensor's state up by its selector (code location, repository and
    sensor name), so a state whose origin names the registered location is found (the origin that
    launch_backfill uses too).
    """
    from dagster._core.definitions.run_request import InstigatorType
    from dagster._core.definitions.sensor_definition import SensorType
    from dagster._core.remote_origin import RemoteInstigatorOrigin
    from dagster._core.scheduler.instigation import InstigatorState, InstigatorStatus, SensorInstigatorData

    from flexsync.definitions import defs

    repository = RemoteRepositoryOrigin(RegisteredCodeLocationOrigin(location_name), SINGLETON_REPOSITORY_NAME)
    for name in SENSORS:
        sensor = defs.resolve_sensor_def(name)
        sensor_type = SensorType.AUTOMATION if isinstance(sensor, dg.AutomationConditionSensorDefinition) else None
        state = InstigatorState(
            RemoteInstigatorOrigin(repository, name),
            InstigatorType.SENSOR,
            InstigatorStatus.STOPPED,
            SensorInstigatorData(
                min_interval=sensor.minimum_interval_seconds, sensor_type=sensor_type or sensor.sensor_type
            ),
        )
        instance.add_instigator_state(state)


def _event_time(instance: dg.DagsterInstance, run_id: str, event: dg.DagsterEventType) -> float | None:
    records = instance.all_logs(run_id, of_type=event)
    return records[0].timestamp if records else None


def read_runs(instance: dg.DagsterInstance, backfill_id: str) -> list[RunFigures]:
    """Every run of the backfill, with its step durations, in partition key order."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    runs = []
    for record in records:
        run = record.dagster_run
        steps = {
            s.step_key: s.end_time - s.start_time
            for s in instance.get_run_step_stats(run.run_id)
            if s.start_time is not None and s.end_time is not None
        }
        runs.append(
            RunFigures(
                key=run.tags.get("dagster/partition", ""),
                run_id=run.run_id,
                status=run.status.value,
                created=record.create_timestamp.timestamp(),
                starting=_event_time(instance, run.run_id, dg.DagsterEventType.RUN_STARTING),
                started=record.start_time or float("nan"),
                ended=record.end_time or float("nan"),
                steps=steps,
            )
        )
    return sorted(runs, key=lambda r: r.key)


def _wait(
    instance: dg.DagsterInstance,
    backfill_id: str,
    n_runs: int,
    daemon: Background,
    engine: Engine,
    timeout_s: float,
    status: Callable[[str], None],
) -> str:
    """Poll until every run of the backfill has finished; the backfill's last status."""
    deadline, last_line, last_print = time.monotonic() + timeout_s, "", 0.0
    while True:
        daemon.check_running()
        engine.check_running()
        progress = read_progress(instance, backfill_id, n_runs)
        finished = progress.runs_succeeded + progress.runs_failed
        line = f"backfill: {finished}/{n_runs} runs finished ({progress.runs_failed} failed), {progress.status}"
        if (line != last_line and time.monotonic() - last_print > 30) or finished == n_runs:
            status(line)
            last_line, last_print = line, time.monotonic()
        if finished == n_runs:
            return progress.status
        if time.monotonic() > deadline:
            raise TimeoutError(f"{line} after {timeout_s:.0f} s:\n{daemon.log_tail()}")
        time.sleep(2.0)


WORKSPACE = "workspace.yaml"


class _CodeServer(Background):
    """``dagster api grpc`` on ``port``; stopped through its ShutdownServer call (it leaves SIGTERM unanswered)."""

    def __init__(self, command: list[str], port: int, **kwargs: Any) -> None:
        super().__init__(command, **kwargs)
        self.port = port

    def stop(self, timeout_s: float = 10.0) -> None:
        from dagster._grpc.client import DagsterGrpcClient

        with contextlib.suppress(Exception):  # already gone, or not listening yet: the signals below end it
            DagsterGrpcClient(port=self.port, host="127.0.0.1").shutdown_server(timeout=5)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout_s)
        super().stop(timeout_s=1.0)


def _start_code_server(env: dict[str, str], folder: Path) -> Background:
    """``dagster api grpc`` on 127.0.0.1 (it loads the code, then listens) and a workspace.yaml naming it."""
    port = free_port()
    command = [str(BIN / "dagster"), "api", "grpc", *LOCATION, "--host", "127.0.0.1", "--port", str(port)]
    server = _CodeServer(
        [*command, "--location-name", code_location_name()],
        port,
        env=env,
        cwd=folder,
        log=folder / "code-server.log",
    )
    try:
        wait_for_port(port, server, CODE_SERVER_START_S)
    except BaseException:
        server.stop()
        raise
    entry = {"host": "127.0.0.1", "port": port, "location_name": code_location_name()}
    (folder / WORKSPACE).write_text(yaml.safe_dump({"load_from": [{"grpc_server": entry}]}), encoding="utf-8")
    return server


def run_backfill(
    instance: dg.DagsterInstance,
    keys: list[str],
    *,
    env: dict[str, str],
    engine: Engine,
    folder: Path,
    timeout_s: float,
    status: Callable[[str], None],
    watch_pids: Sequence[int] = (),
    code_server: str = "standalone",
) -> BackfillFigures:
    """Submit the backfill of ``keys``, start the daemon (sensors stopped), wait for every run, read them back.

    ``watch_pids``: more processes whose memory and CPU to sample with the daemon's (the storage's server).
    ``code_server``: "standalone" starts ``dagster api grpc`` first and gives the daemon a workspace
    naming it (as deployed); "daemon" lets the daemon start its own (``-m``).
    The backfill goes in before the daemon starts, so its first iteration picks it up (the backfill
    daemon otherwise looks every 30 s); the throughput window starts with the first run's creation.
    """
    from flexsync.definitions import defs

    stop_sensors(instance, code_location_name())
    backfill_id = launch_backfill(instance, defs, keys, title=f"flexsync bench scale: {len(keys)} recordings")
    status(
        f"backfill {backfill_id} of {len(keys)} recordings submitted ({engine.name} engine); starting dagster-daemon"
    )
    with ExitStack() as stack:
        server = _start_code_server(env, folder) if code_server == "standalone" else None
        if server is not None:
            stack.callback(server.stop)
        location = ["-w", str(folder / WORKSPACE)] if server is not None else LOCATION
        daemon_start = time.time()
        daemon_command = [str(BIN / "dagster-daemon"), "run", *location]
        daemon = Background(daemon_command, env=env, cwd=folder, log=folder / "daemon.log")
        stack.callback(daemon.stop)
        servers = [server.pid] if server is not None else []
        cpu_before = own_cpu_s()
        with ProcessUsage([daemon.pid, *servers, *engine.worker_pids, *watch_pids]) as usage:
            final = _wait(instance, backfill_id, len(keys), daemon, engine, timeout_s, status)
            usage.sample()
        own_cpu = own_cpu_s() - cpu_before
    runs = read_runs(instance, backfill_id)
    other_runs = instance.get_runs_count() - len(runs)
    first = min((r.created for r in runs), default=daemon_start)
    ended = max((r.ended for r in runs), default=first)
    return BackfillFigures(
        backfill_id,
        engine.name,
        runs,
        daemon_start,
        first - daemon_start,
        ended - first,
        final,
        usage.by_role(),
        other_runs,
        own_cpu,
    )
