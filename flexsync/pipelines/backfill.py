"""Launch an asset backfill of many recordings through the Dagster instance.

The backfill is stored in the instance and executed by the daemon (``make ui`` or
``dagster-daemon run`` with the same DAGSTER_HOME); ``wait_for_backfill`` follows it.
Dagster has no public Python API for creating asset backfills, so this uses the same
internal constructor the Dagster CLI and GraphQL layer use (pinned Dagster version).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.utils import make_new_backfill_id

from flexsync.pipelines.runner import register_recordings

__all__ = ["BackfillProgress", "launch_backfill", "read_progress", "wait_for_backfill"]

TERMINAL = {
    BulkActionStatus.COMPLETED,
    BulkActionStatus.COMPLETED_SUCCESS,
    BulkActionStatus.COMPLETED_FAILED,
    BulkActionStatus.FAILED,
    BulkActionStatus.CANCELED,
}


@dataclass(frozen=True)
class BackfillProgress:
    backfill_id: str
    status: str
    recordings: int
    runs_succeeded: int
    runs_failed: int
    runs_in_progress: int

    @property
    def done(self) -> bool:
        return self.status in {s.value for s in TERMINAL}


def launch_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    keys: Sequence[str],
    *,
    title: str | None = None,
) -> str:
    """Register ``keys`` as partitions if needed and submit one asset backfill over all assets."""
    if not keys:
        raise ValueError("no recordings to backfill: pass keys or make sure the raw root has complete recordings")
    register_recordings(instance, keys)
    asset_graph = defs.resolve_asset_graph()
    selection = sorted(asset_graph.get_all_asset_keys())
    backfill_id = make_new_backfill_id()
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=asset_graph,
        partition_names=list(keys),
        asset_selection=selection,
        backfill_timestamp=time.time(),
        tags={"flexsync/backfill": "cli"},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=title or f"flexsync backfill of {len(keys)} recordings",
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill_id


def read_progress(instance: dg.DagsterInstance, backfill_id: str, n_recordings: int) -> BackfillProgress:
    backfill = instance.get_backfill(backfill_id)
    if backfill is None:
        raise KeyError(f"backfill {backfill_id} not found in this instance (is DAGSTER_HOME the same?)")
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill_id}))
    succeeded = sum(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    failed = sum(r.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED) for r in runs)
    return BackfillProgress(
        backfill_id=backfill_id,
        status=backfill.status.value,
        recordings=n_recordings,
        runs_succeeded=succeeded,
        runs_failed=failed,
        runs_in_progress=len(runs) - succeeded - failed,
    )


def wait_for_backfill(
    instance: dg.DagsterInstance,
    backfill_id: str,
    n_recordings: int,
    *,
    timeout_s: float,
    poll_s: float = 2.0,
    on_progress: Callable[[BackfillProgress], None] | None = None,
) -> BackfillProgress:
    """Poll until the backfill is finished or ``timeout_s`` passes; return the last progress."""
    deadline = time.monotonic() + timeout_s
    while True:
        progress = read_progress(instance, backfill_id, n_recordings)
        if on_progress:
            on_progress(progress)
        if progress.done or time.monotonic() >= deadline:
            return progress
        time.sleep(poll_s)
