"""Clock models: every stream's device clock mapped onto the reference clock, with residuals."""

import dagster as dg

from flexsync.assets._translate import to_check_result, to_metadata
from flexsync.assets.partitions import recording_check_spec, recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.assets.streams import STREAM_ASSET_KEYS
from flexsync.ingest.checks import CLOCK_CHECKS
from flexsync.ingest.clocks import fit_recording_clocks

__all__ = ["clock_models"]


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="sync",
    kinds={"parquet"},
    deps=STREAM_ASSET_KEYS,
    check_specs=[
        recording_check_spec(c.name, "clock_models", blocking=c.severity == "error", description=c.description)
        for c in CLOCK_CHECKS
    ],
    description="Fit offset and drift of every stream against the reference clock from the sync events.",
)
def clock_models(context: dg.AssetExecutionContext, flexsync: FlexsyncResource) -> dg.MaterializeResult:
    recording = flexsync.recording(context.partition_key)
    result = fit_recording_clocks(recording, flexsync.store(), flexsync.settings())
    for warning in result.warnings:
        context.log.warning("%s: %s", recording.key, warning)
    return dg.MaterializeResult(
        metadata=to_metadata(result.metadata),
        check_results=[to_check_result(outcome, "clock_models") for outcome in result.checks],
    )
