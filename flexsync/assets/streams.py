"""One asset per raw stream of a recording: read it, process it, stage it on its device clock."""

import dagster as dg

from flexsync.assets._translate import to_check_result, to_metadata
from flexsync.assets.partitions import recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.ingest.checks import STREAM_CHECKS
from flexsync.ingest.streams import STREAMS, StreamSpec, ingest_stream

__all__ = ["STREAM_ASSETS", "stream_asset_key"]


def stream_asset_key(stream: str) -> str:
    return f"{STREAMS[stream].kind}_{stream}"


def _build(spec: StreamSpec) -> dg.AssetsDefinition:
    key = stream_asset_key(spec.name)
    checks = [
        dg.AssetCheckSpec(name=c.name, asset=key, blocking=c.severity == "error", description=c.description)
        for c in STREAM_CHECKS[spec.kind]
    ]

    @dg.asset(
        name=key,
        partitions_def=recordings_partitions,
        group_name="streams",
        kinds={spec.kind, "zarr"},
        check_specs=checks,
        description=spec.description,
        pool="decode" if spec.kind == "video" else None,
    )
    def _stream_asset(context: dg.AssetExecutionContext, flexsync: FlexsyncResource) -> dg.MaterializeResult:
        recording = flexsync.recording(context.partition_key)
        result = ingest_stream(recording, spec.name, flexsync.store(), flexsync.settings())
        for warning in result.warnings:
            context.log.warning("%s %s: %s", recording.key, spec.name, warning)
        return dg.MaterializeResult(
            metadata=to_metadata(result.metadata),
            check_results=[to_check_result(outcome, key) for outcome in result.checks],
        )

    return _stream_asset


STREAM_ASSETS = [_build(spec) for spec in STREAMS.values()]
