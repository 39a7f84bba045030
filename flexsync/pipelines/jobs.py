"""The asset job that ingests, aligns and publishes recordings (one run per partition)."""

import dagster as dg

from flexsync.assets.partitions import recordings_partitions

__all__ = ["ingest_recordings_job"]

ingest_recordings_job = dg.define_asset_job(
    name="ingest_recordings",
    selection=dg.AssetSelection.groups("streams", "sync", "aligned"),
    partitions_def=recordings_partitions,
    description="Ingest every stream of a recording, fit its clocks and publish the aligned recording.",
)
