"""The published recording: every stream on the reference clock plus a common grid, in one Zarr."""

import dagster as dg

from flexsync.assets._translate import to_check_result, to_metadata
from flexsync.assets.partitions import recording_check_spec, recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.assets.sync import clock_models
from flexsync.ingest.align import PublishRefusedError, publish_recording
from flexsync.ingest.checks import RECORDING_CHECKS

__all__ = ["aligned_recording"]


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="aligned",
    kinds={"zarr", "parquet"},
    deps=[clock_models],
    check_specs=[
        recording_check_spec(c.name, "aligned_recording", blocking=c.severity == "error", description=c.description)
        for c in RECORDING_CHECKS
    ],
    description="Align every stream to the reference clock and publish the recording's Zarr and tables atomically.",
)
def aligned_recording(context: dg.AssetExecutionContext, flexsync: FlexsyncResource):
    """Publish the recording; when its validation fails, report the failed checks and publish nothing."""
    recording = flexsync.recording(context.partition_key)
    try:
        result = publish_recording(recording, flexsync.store(), flexsync.settings())
    except PublishRefusedError as refused:
        for outcome in refused.checks:
            yield to_check_result(outcome, "aligned_recording")
        raise
    yield dg.MaterializeResult(
        metadata=to_metadata(result.metadata),
        check_results=[to_check_result(outcome, "aligned_recording") for outcome in result.checks],
    )
