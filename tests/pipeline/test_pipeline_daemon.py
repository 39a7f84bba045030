"""The backfill commands of the docs, executed by a real `dagster-daemon` on a persistent instance.

`flexsync backfill KEY --wait` submits a backfill of the ingest_recordings job and follows it until the daemon has run
it; `dagster job backfill -j ingest_recordings --partitions KEY` submits a job backfill that the same
daemon executes. Both must leave the recording published in the store, from runs recorded in the
instance. Slow (the daemon launches each run in its own process), so both share one daemon, with
the sensors stopped so that only the backfills start runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import zarr

from flexsync.bench.scale.backfill import stop_sensors
from flexsync.bench.scale.processes import Background
from flexsync.pipelines.backfill import code_location_name
from flexsync.pipelines.runner import register_recordings
from flexsync.storage import Store

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TIMEOUT_S = 420.0


@pytest.fixture(scope="module")
def daemon(synth_dataset, tmp_path_factory):
    """A running dagster-daemon over a fresh DAGSTER_HOME (the repo's dagster.yaml), raw and store roots."""
    raw, _, keys = synth_dataset
    base = tmp_path_factory.mktemp("daemon")
    home, store = base / "dagster_home", base / "store"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "FLEXSYNC_RAW_ROOT": str(raw),
        "FLEXSYNC_STORE_ROOT": str(store),
    }
    # The new-recordings sensor would ingest every recording by itself, and the automation sensor
    # would build the training products after them: these tests drive the runs. Their states are
    # stored as stopped, as `dagster sensor stop` stores them, before the daemon starts.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        stop_sensors(instance, code_location_name())
    daemon = Background(
        [str(BIN / "dagster-daemon"), "run", "-m", "flexsync.definitions"], env=env, cwd=base, log=base / "daemon.log"
    )
    try:
        yield env, store, keys, daemon.log
    finally:
        daemon.stop(timeout_s=60.0)


def _published(store: Path, key: str) -> bool:
    path = Store(store).recording_path(key)
    return path.is_dir() and zarr.open_group(path, mode="r").attrs.get("status") == "complete"


def _in_instance(env: dict[str, str], work):
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
    try:
        with dg.DagsterInstance.get() as instance:
            return work(instance)
    finally:
        del os.environ["DAGSTER_HOME"]


def _runs_for(env: dict[str, str], key: str) -> list[dg.DagsterRun]:
    return _in_instance(env, lambda i: list(i.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": key}))))


def test_flexsync_backfill_waits_for_the_daemon(daemon):
    env, store, keys, log = daemon
    key = keys[0]
    done = subprocess.run(
        [str(BIN / "flexsync"), "backfill", key, "--wait", "--timeout-s", str(TIMEOUT_S)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S + 60,
    )
    assert done.returncode == 0, done.stdout + done.stderr + log.read_text()[-3000:]
    assert "submitted for 1 recordings" in done.stdout
    runs = _runs_for(env, key)
    assert runs and all(run.status == dg.DagsterRunStatus.SUCCESS for run in runs), [r.status for r in runs]
    assert _published(store, key)
    assert not _published(store, keys[1])  # only what was asked for


def test_dagster_job_backfill_runs_through_the_daemon(daemon):
    env, store, keys, log = daemon
    key = keys[1]
    # A job backfill names existing partitions: the sensor (stopped here) registers new recordings.
    _in_instance(env, lambda i: register_recordings(i, [key]))
    done = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "backfill",
            "-m",
            "flexsync.definitions",
            "-j",
            "ingest_recordings",
            "--partitions",
            key,
            "--noprompt",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    deadline = time.monotonic() + TIMEOUT_S
    runs: list[dg.DagsterRun] = []
    while time.monotonic() < deadline:
        runs = _runs_for(env, key)
        if runs and all(run.is_finished for run in runs):
            break
        time.sleep(2.0)
    assert runs, "the daemon launched no run for the job backfill:\n" + log.read_text()[-3000:]
    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS], log.read_text()[-3000:]
    assert runs[0].job_name == "ingest_recordings"
    assert _published(store, key)
