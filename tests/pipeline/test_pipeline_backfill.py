"""`flexsync backfill` submits one backfill of the named `ingest_recordings` job over the chosen recordings.

The daemon executes it (make ui; test_pipeline_daemon.py); here we check what was submitted and how
progress is read, without a daemon: the backfill waits in REQUESTED with no runs.
"""

from __future__ import annotations

import dagster as dg
import pytest

from flexsync.definitions import defs
from flexsync.pipelines.backfill import CODE_LOCATION_ENV, launch_backfill, read_progress, wait_for_backfill


def test_backfill_runs_the_named_job_over_the_chosen_recordings(tmp_path, monkeypatch):
    keys = ["S01_A01_T1", "S02_A13_T1"]
    monkeypatch.delenv(CODE_LOCATION_ENV, raising=False)
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        backfill_id = launch_backfill(instance, defs, keys)
        assert set(instance.get_dynamic_partitions("recordings")) == set(keys)
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        # A job backfill: the daemon launches `ingest_recordings` runs, not the implicit __ASSET_JOB.
        assert backfill.asset_selection is None and backfill.serialized_asset_backfill_data is None
        assert backfill.partition_set_origin.partition_set_name == "ingest_recordings_partition_set"
        repository = backfill.partition_set_origin.repository_origin
        # the location `-m flexsync.definitions` gives (make ui, dagster-daemon run -m ...)
        assert repository.code_location_origin.location_name == "flexsync.definitions"
        assert repository.repository_name == "__repository__"
        assert list(backfill.partition_names) == keys
        progress = read_progress(instance, backfill_id, len(keys))
        assert (progress.status, progress.runs_succeeded, progress.runs_failed, progress.done) == (
            "REQUESTED",
            0,
            0,
            False,
        )
        # Without a daemon nothing moves: waiting gives up after its timeout and says so.
        final = wait_for_backfill(instance, backfill_id, len(keys), timeout_s=0.2, poll_s=0.05)
        assert not final.done


def test_backfill_names_the_configured_code_location(tmp_path, monkeypatch):
    monkeypatch.setenv(CODE_LOCATION_ENV, "flexsync")
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        backfill = instance.get_backfill(launch_backfill(instance, defs, ["S01_A01_T1"]))
        assert backfill.partition_set_origin.repository_origin.code_location_origin.location_name == "flexsync"


def test_backfill_refuses_an_empty_selection(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance, pytest.raises(ValueError, match="no recordings"):
        launch_backfill(instance, defs, [])
