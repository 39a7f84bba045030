"""The raw streams of a recording: one asset per stream kind, all kinds ingested in one step.

The assets come from the ingester registry: ``video_streams`` holds every view the manifest
names (cam1..cam4, a phone, a sixth camera), ``emg_streams`` every EMG device, and so on. One
step per recording lets the streams share the cores: the in-process executor runs steps one
after another, and a single video cannot keep two cores busy. Each kind's checks cover every
stream of that kind and name the streams that fail.
"""

import dagster as dg

from flexsync.assets._translate import to_check_result, to_metadata
from flexsync.assets.partitions import recording_check_spec, recordings_partitions
from flexsync.assets.resources import FlexsyncResource
from flexsync.errors import FlexsyncError
from flexsync.ingest.contract import StreamResult
from flexsync.ingest.registry import INGESTERS
from flexsync.ingest.streams import ingest_streams, streams_of_kind
from flexsync.quality import CheckOutcome, TableMeta

__all__ = ["STREAM_ASSET_KEYS", "StreamsFailedError", "recording_streams", "stream_asset_key"]


class StreamsFailedError(FlexsyncError):
    """More than one stream of a recording failed; the message lists each with its reason."""


def stream_asset_key(kind: str) -> str:
    """The asset holding every stream of ``kind`` (``video_streams``, ``emg_streams``, ...)."""
    return f"{kind}_streams"


STREAM_ASSET_KEYS = [stream_asset_key(kind) for kind in INGESTERS]


def _spec(kind: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        stream_asset_key(kind),
        partitions_def=recordings_partitions,
        group_name="streams",
        kinds={kind, "zarr"},
        description=INGESTERS[kind].description,
    )


CHECK_SPECS = [
    recording_check_spec(
        check.name, stream_asset_key(kind), blocking=check.severity == "error", description=check.description
    )
    for kind, ingester in INGESTERS.items()
    for check in ingester.checks
]


def combine_outcomes(kind: str, results: list[StreamResult]) -> list[CheckOutcome]:
    """One outcome per check of ``kind`` over all its streams: passed if every stream passed."""
    combined = []
    for check in INGESTERS[kind].checks:
        per_stream = [(r.stream, o) for r in results for o in r.checks if o.name == check.name]
        failed = [(stream, o) for stream, o in per_stream if not o.passed]
        shown = failed or per_stream
        combined.append(
            CheckOutcome(
                name=check.name,
                passed=not failed,
                severity=check.severity,
                description="; ".join(o.description for _, o in shown) or f"no {kind} stream in the manifest",
                metadata={
                    "streams": TableMeta(
                        ("stream", "passed", "description"), tuple((s, o.passed, o.description) for s, o in per_stream)
                    ),
                    **({"failing_streams": [s for s, _ in failed]} if failed else {}),
                },
            )
        )
    return combined


def _kind_metadata(kind: str, results: list[StreamResult]) -> dict:
    metadata: dict = {"streams": [r.stream for r in results]}
    for result in results:
        metadata.update({f"{result.stream}/{name}": value for name, value in result.metadata.items()})
    return metadata


@dg.multi_asset(
    specs=[_spec(kind) for kind in INGESTERS],
    check_specs=CHECK_SPECS,
    partitions_def=recordings_partitions,
    can_subset=True,
    pool="decode",
)
def recording_streams(context: dg.AssetExecutionContext, flexsync: FlexsyncResource):
    """Read, process and stage every manifest stream of the selected kinds on its device clock."""
    recording = flexsync.recording(context.partition_key)
    kinds = [k for k in INGESTERS if dg.AssetKey(stream_asset_key(k)) in context.selected_asset_keys]
    streams = [s for kind in kinds for s in streams_of_kind(recording, kind)]
    checks = context.selected_asset_check_keys
    store, settings = flexsync.store(), flexsync.settings()
    results: dict[str, list[StreamResult]] = {kind: [] for kind in kinds}
    failed: dict[str, list[tuple[str, Exception]]] = {kind: [] for kind in kinds}
    for stream, result in ingest_streams(recording, streams, store, settings, workers=flexsync.stream_workers):
        kind = recording.stream(stream).kind
        if isinstance(result, Exception):
            context.log.error("%s %s: %s", recording.key, stream, result)
            failed[kind].append((stream, result))
            continue
        for warning in result.warnings:
            context.log.warning("%s %s: %s", recording.key, stream, warning)
        results[kind].append(result)
    for kind in kinds:
        if failed[kind]:
            continue  # a kind with a failed stream is not materialised; the step fails below
        key = dg.AssetKey(stream_asset_key(kind))
        yield dg.MaterializeResult(
            asset_key=key,
            metadata=to_metadata(_kind_metadata(kind, results[kind])),
            check_results=[
                to_check_result(outcome, key)
                for outcome in combine_outcomes(kind, results[kind])
                if dg.AssetCheckKey(key, outcome.name) in checks
            ],
        )
    errors = [item for kind in kinds for item in failed[kind]]
    if len(errors) == 1:
        raise errors[0][1]
    if errors:
        raise StreamsFailedError(
            f"recording {recording.key}: {len(errors)} streams failed: "
            + "; ".join(f"{stream}: {type(error).__name__}: {error}" for stream, error in errors)
        )
