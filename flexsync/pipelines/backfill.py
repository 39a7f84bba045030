"""Launch a backfill of the ``ingest_recordings`` job over many recordings through the Dagster instance.

The backfill is stored in the instance and executed by the daemon (``make ui`` or
``dagster-daemon run`` with the same DAGSTER_HOME), which launches one run of the named job per
recording: the runs the job's page and the Overview list (an asset backfill would run Dagster's
implicit ``__ASSET_JOB`` instead). The dataset-wide products follow through their automation
conditions (or ``flexsync run``). ``wait_for_backfill`` follows it.

A job backfill names its code location; the daemon looks it up by name in its own workspace.
``-m flexsync.definitions`` (make ui, dagster-daemon run -m ...) names it after the module; a
workspace that names it otherwise (a Helm user deployment) sets FLEXSYNC_CODE_LOCATION. Dagster
has no public Python API for creating backfills, so this uses the same internal constructor the
Dagster CLI and GraphQL layer use (pinned Dagster version).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.repository_definition.valid_definitions import SINGLETON_REPOSITORY_NAME
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
from dagster._core.remote_origin import RegisteredCodeLocationOrigin, RemotePartitionSetOrigin, RemoteRepositoryOrigin
from dagster._core.remote_representation.external_data import partition_set_snap_name_for_job_name
from dagster._core.utils import make_new_backfill_id

from flexsync.pipelines.jobs import INGEST_JOB
from flexsync.pipelines.runner import register_recordings

__all__ = [
    "CODE_LOCATION_ENV",
    "BackfillProgress",
    "code_location_name",
    "launch_backfill",
    "read_progress",
    "wait_for_backfill",
]

CODE_LOCATION_ENV = "FLEXSYNC_CODE_LOCATION"
DEFAULT_CODE_LOCATION = "flexsync.definitions"

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


def code_location_name() -> str:
    """The daemon's name for flexsync's code location: FLEXSYNC_CODE_LOCATION, else the module's name."""
    return os.environ.get(CODE_LOCATION_ENV) or DEFAULT_CODE_LOCATION


def launch_backfill(
    instance: dg.DagsterInstance,
    defs: dg.Definitions,
    keys: Sequence[str],
    *,
    title: str | None = None,
    location_name: str | None = None,
) -> str:
    """Register ``keys`` as partitions if needed and submit one backfill of ``ingest_recordings`` over them."""
    if not keys:
        raise ValueError("no recordings to backfill: pass keys or make sure the raw root has complete recordings")
    job = defs.resolve_job_def(INGEST_JOB)  # fails here, not in the daemon, if the job is gone
    register_recordings(instance, keys)
    origin = RemotePartitionSetOrigin(
        repository_origin=RemoteRepositoryOrigin(
            RegisteredCodeLocationOrigin(location_name or code_location_name()), SINGLETON_REPOSITORY_NAME
        ),
        partition_set_name=partition_set_snap_name_for_job_name(job.name),
    )
    backfill_id = make_new_backfill_id()
    backfill = PartitionBackfill(
        backfill_id=backfill_id,
        status=BulkActionStatus.REQUESTED,
        from_failure=False,
        tags={"flexsync/backfill": "cli"},
        backfill_timestamp=time.time(),
        title=title or f"flexsync backfill of {len(keys)} recordings",
        partition_set_origin=origin,
        partition_names=list(keys),
        reexecution_steps=None,
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
