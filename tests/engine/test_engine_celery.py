"""The ingest job on the distributed engine: a Redis broker and two Celery worker processes on 127.0.0.1.

Same job definitions, same runner; only the run config's executor changes. Every step must run
in a worker process (not the test's), the run must be recorded in the PostgreSQL instance the
workers open from its reference, and the store must be byte-identical to the in-process run.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from engine_helpers import KEY, SETTINGS, file_digests

from flexsync.bench.scale.processes import free_port
from flexsync.pipelines.celery_app import BROKER_ENV
from flexsync.pipelines.jobs import INGEST_JOB
from flexsync.pipelines.runner import run_recordings

BIN = Path(sys.executable).parent
WORKERS = 2


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM (Celery's warm shutdown), then SIGKILL what is still there after 30 s."""
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def broker(tmp_path) -> Iterator[str]:
    """A Redis server on 127.0.0.1 with nothing on disk; its URL."""
    port = free_port()
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        # The run's Celery results unsubscribe from Redis when collected: while it still answers,
        # not later in another test (where the refused connection is an unraisable exception).
        gc.collect()
        _stop([server])


@pytest.fixture
def celery_workers(broker, pg_instance, tmp_path) -> Iterator[list[subprocess.Popen]]:
    """Two worker processes (one step at a time each), with the DAGSTER_PG_* variables of the test's database."""
    env = {**os.environ, BROKER_ENV: broker}
    workers = []
    for index in range(WORKERS):
        command = [str(BIN / "celery"), "-A", "flexsync.pipelines.celery_app", "worker", "-Q", "dagster"]
        command += ["--pool", "solo", "-n", f"w{index}@%h", "--loglevel", "WARNING", "--without-heartbeat"]
        with (tmp_path / f"worker{index}.log").open("w") as log:  # the worker keeps its own handle
            worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        workers.append(worker)
    try:
        yield workers
    finally:
        _stop(workers)


def test_ingest_on_celery_workers_matches_in_process(
    synth_dataset, pg_instance, broker, celery_workers, reference_store, tmp_path
):
    raw, _, _ = synth_dataset
    store = tmp_path / "store"
    execution = {"celery": {"broker": broker, "backend": broker}}
    with pg_instance() as instance:
        (run,) = run_recordings(raw, store, keys=[KEY], instance=instance, settings=SETTINGS, execution=execution)
        assert run.success and run.failures == [], run.failures + [
            p.read_text()[-2000:] for p in tmp_path.glob("worker*.log")
        ]

        (record,) = instance.get_runs()
        assert (record.job_name, record.status, record.tags["dagster/partition"]) == (
            INGEST_JOB,
            dg.DagsterRunStatus.SUCCESS,
            KEY,
        )
        starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        steps = {event.dagster_event.step_key: event.dagster_event.pid for event in starts}
        assert sorted(steps) == ["aligned_recording", "clock_models", "recording_streams", "repetition_samples"]
        worker_pids = {worker.pid for worker in celery_workers}  # --pool solo: the worker runs the step itself
        assert set(steps.values()) <= worker_pids and os.getpid() not in steps.values(), (steps, worker_pids)
        for key in ("video_streams", "clock_models", "aligned_recording", "repetition_samples"):
            assert instance.get_materialized_partitions(dg.AssetKey(key)) == {KEY}, key

    assert file_digests(store) == file_digests(reference_store)
