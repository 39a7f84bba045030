"""The Dagster code location: ``dagster dev -m flexsync.definitions`` loads ``defs``."""

import dagster as dg

from flexsync.assets import ALL_ASSETS
from flexsync.assets.resources import FlexsyncResource
from flexsync.pipelines.jobs import build_training_products_job, ingest_recordings_job
from flexsync.sensors import automation_sensor, new_recordings_sensor

__all__ = ["defs"]

defs = dg.Definitions(
    assets=ALL_ASSETS,
    jobs=[ingest_recordings_job, build_training_products_job],
    sensors=[new_recordings_sensor, automation_sensor],
    resources={"flexsync": FlexsyncResource.from_environment()},
)
