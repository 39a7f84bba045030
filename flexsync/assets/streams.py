"""Every raw stream of a recording as its own asset, ingested together in one step.

One asset per stream keeps the UI honest (each view, the EMG, the mocap has its own metadata,
checks and history), while one step per recording lets the streams share the cores: the in-process
executor runs steps one after another, and a single video cannot keep two cores busy.
"""

import dagster as dg

from flexsync.assets._translate import to_check_result, to_metadata
from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.errors import FlexsyncError
from flexsync.ingest.checks import STREAM_CHECKS
from flexsync.ingest.streams import STREAMS, ingest_streams

__all__ = ["StreamsFailedError", "recording_streams", "stream_asset_key"]


class StreamsFailedError(FlexsyncError):
    """More than one stream of a recording failed; the message lists each with its reason."""


def stream_asset_key(stream: str) -> str:
    return f"{STREAMS[stream].kind}_{stream}"


def _spec(stream: str) -> dg.AssetSpec:
    spec = STREAMS[stream]
    return dg.AssetSpec(
        stream_asset_key(stream),
        partitions_def=recordings_partitions,
        group_name="streams",
        kinds={spec.kind, "zarr"},
        description=spec.description,
    )


CHECK_SPECS = [
    dg.AssetCheckSpec(
        name=check.name,
        asset=stream_asset_key(stream),
        blocking=check.severity == "error",
        description=check.description,
    )
    for stream, spec in STREAMS.items()
    for check in STREAM_CHECKS[spec.kind]
]


@dg.multi_asset(
    specs=[_spec(stream) for stream in STREAMS],
    check_specs=CHECK_SPECS,
    partitions_def=recordings_partitions,
    can_subset=True,
    pool="decode",
)
def recording_streams(context: dg.AssetExecutionContext, flexsync: FlexsyncResource):
    """Read, process and stage the selected streams of one recording on their device clocks."""
    recording = flexsync.recording(context.partition_key)
    selected = [s for s in STREAMS if dg.AssetKey(stream_asset_key(s)) in context.selected_asset_keys]
    checks = context.selected_asset_check_keys
    failed: list[tuple[str, Exception]] = []
    store, settings = flexsync.store(), flexsync.settings()
    for stream, result in ingest_streams(recording, selected, store, settings, workers=flexsync.stream_workers):
        if isinstance(result, Exception):
            context.log.error("%s %s: %s", recording.key, stream, result)
            failed.append((stream, result))
            continue
        key = dg.AssetKey(stream_asset_key(stream))
        for warning in result.warnings:
            context.log.warning("%s %s: %s", recording.key, stream, warning)
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=to_metadata(result.metadata),
            check_results=[
                to_check_result(outcome, key)
                for outcome in result.checks
                if dg.AssetCheckKey(key, outcome.name) in checks
            ],
        )
    if len(failed) == 1:
        raise failed[0][1]
    if failed:
        raise StreamsFailedError(
            f"recording {recording.key}: {len(failed)} streams failed: "
            + "; ".join(f"{stream}: {type(error).__name__}: {error}" for stream, error in failed)
        )
