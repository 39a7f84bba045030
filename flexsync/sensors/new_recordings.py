"""Pick up complete recordings (manifest present) that are not yet partitions, and run them."""

import dagster as dg

from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.pipelines.jobs import ingest_recordings_job
from flexsync.raw.layout import scan_recordings

__all__ = ["MAX_NEW_RECORDINGS_PER_TICK", "new_recordings_sensor"]

# A large first import (760 FLEX recordings) spreads over ticks instead of flooding the queue.
MAX_NEW_RECORDINGS_PER_TICK = 25


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
    batch = new[:MAX_NEW_RECORDINGS_PER_TICK]
    context.log.info("registering %d new recordings (%d more wait for later ticks)", len(batch), len(new) - len(batch))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(partition_key=key, run_key=key) for key in batch],
        dynamic_partitions_requests=[recordings_partitions.build_add_request(batch)],
    )
