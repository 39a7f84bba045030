"""The asset jobs that ingest, align and publish recordings (one run per partition) and build the products.

Both take their executor from run config (flexsync.pipelines.executors): in-process, multiprocess
or Dask, the same definitions everywhere.
"""

import dagster as dg

from flexsync.pipelines.executors import flexsync_executor

__all__ = ["INGEST_JOB", "PRODUCTS_JOB", "build_training_products_job", "ingest_recordings_job"]

INGEST_JOB = "ingest_recordings"
PRODUCTS_JOB = "build_training_products"

ingest_recordings_job = dg.define_asset_job(
    name=INGEST_JOB,
    # Partitioned by `recordings`, inferred from the selected assets (Dagster deprecates passing it).
    selection=dg.AssetSelection.groups("streams", "sync", "aligned") | dg.AssetSelection.assets("repetition_samples"),
    description="Ingest every stream of a recording, fit its clocks, publish the aligned recording and its samples.",
    executor_def=flexsync_executor,
)

build_training_products_job = dg.define_asset_job(
    name=PRODUCTS_JOB,
    selection=dg.AssetSelection.groups("training") - dg.AssetSelection.assets("repetition_samples"),
    description="Sample index, splits, FLEX export, VideoQA and FKG tables over every recording's samples.",
    executor_def=flexsync_executor,
)
