"""`flexsync backfill` submits one asset backfill over the chosen recordings to the instance.

The daemon executes it (make ui); here we check what was submitted and how progress is read,
without a daemon: the backfill waits in REQUESTED with no runs.
"""

from __future__ import annotations

import dagster as dg
import pytest

from flexsync.assets import ALL_ASSETS
from flexsync.definitions import defs
from flexsync.pipelines.backfill import launch_backfill, read_progress, wait_for_backfill


def test_backfill_targets_every_asset_of_the_chosen_recordings(tmp_path):
    keys = ["S01_A01_T1", "S02_A13_T1"]
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        backfill_id = launch_backfill(instance, defs, keys)
        assert set(instance.get_dynamic_partitions("recordings")) == set(keys)
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        assert sorted(k.to_user_string() for k in backfill.asset_selection) == sorted(
            key.to_user_string() for asset in ALL_ASSETS for key in asset.keys
        )
        partitions = backfill.asset_backfill_data.target_subset.get_partitions_subset(dg.AssetKey("video_streams"))
        assert sorted(partitions.get_partition_keys()) == keys
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


def test_backfill_refuses_an_empty_selection(tmp_path):
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance, pytest.raises(ValueError, match="no recordings"):
        launch_backfill(instance, defs, [])
