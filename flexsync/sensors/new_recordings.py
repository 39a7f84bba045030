"""Pick up complete recordings (manifest present) that are not yet partitions, and run them.

Each tick registers a batch of new recordings and requests one run per recording of that batch
(``run_key`` = key), so a registered partition always has its run requested in the same tick.
The batch is ``MAX_NEW_RECORDINGS_PER_TICK`` when few recordings are new, and grows with the raw
root so that a backlog, however large (a first import of FLEX's 760 recordings), is registered
in at most ``BACKLOG_TICKS`` ticks: ``tick_batch_size``. Bounded batches keep one tick's work
bounded (the daemon creates one queued run per request, measured by ``flexsync bench scale``);
the instance's run queue then spreads the runs over the run slots.
"""

import math

import dagster as dg

from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.pipelines.jobs import ingest_recordings_job
from flexsync.raw.layout import scan_recordings

__all__ = ["BACKLOG_TICKS", "MAX_NEW_RECORDINGS_PER_TICK", "new_recordings_sensor", "tick_batch_size"]

# Recordings registered (and runs requested) per tick while the raw root is small.
MAX_NEW_RECORDINGS_PER_TICK = 25
# Any backlog is registered within this many ticks (760 recordings: 4 ticks of 190, not 31 of 25).
BACKLOG_TICKS = 4


def tick_batch_size(n_complete: int) -> int:
    """New recordings one tick registers when the raw root holds ``n_complete`` complete ones.

    At least ``MAX_NEW_RECORDINGS_PER_TICK``, and a quarter (1 / ``BACKLOG_TICKS``) of the raw
    root: the new recordings are never more than the complete ones, so every backlog is registered
    within ``BACKLOG_TICKS`` ticks, in batches of equal size while the raw root does not grow.
    """
    return max(MAX_NEW_RECORDINGS_PER_TICK, math.ceil(n_complete / BACKLOG_TICKS))


@dg.sensor(
    job=ingest_recordings_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Registers new complete recordings as partitions and requests one run per new recording.",
)
def new_recordings_sensor(context: dg.SensorEvaluationContext, flexsync: FlexsyncResource) -> dg.SensorResult:
    complete, refused = scan_recordings(flexsync.raw_root)
    for folder, why in refused:  # every tick, until the folder is renamed
        context.log.warning(f"recording folder {folder!r} refused: {why}")
    refused_note = "".join(f"; refused folder {folder!r} (not a valid key)" for folder, _ in refused)
    known = set(context.instance.get_dynamic_partitions(recordings_partitions.name))
    new = [key for key in complete if key not in known]
    if not new:
        return dg.SensorResult(
            skip_reason=dg.SkipReason(
                f"{len(complete)} complete recordings under {flexsync.raw_root}, all already registered{refused_note}"
            )
        )
    batch = new[: tick_batch_size(len(complete))]
    context.log.info("registering %d new recordings (%d more wait for later ticks)", len(batch), len(new) - len(batch))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=key) for key in batch],
        dynamic_partitions_requests=[recordings_partitions.build_add_request(batch)],
    )
