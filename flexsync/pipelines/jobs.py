"""The asset job that ingests, aligns and publishes recordings (one run per partition)."""

import dagster as dg

__all__ = ["build_training_products_job", "ingest_recordings_job"]

ingest_recordings_job = dg.define_asset_job(
    name="ingest_recordings",
    # Partitioned by `recordings`, inferred from the selected assets (Dagster deprecates passing it).
    selection=dg.AssetSelection.groups("streams", "sync", "aligned") | dg.AssetSelection.assets("repetition_samples"),
    description="Ingest every stream of a recording, fit its clocks, publish the aligned recording and its samples.",
)

build_training_products_job = dg.define_asset_job(
    name="build_training_products",
    selection=dg.AssetSelection.groups("training") - dg.AssetSelection.assets("repetition_samples"),
    description="Sample index, splits, FLEX export, VideoQA and FKG tables over every recording's samples.",
)
