"""One dynamic partition per recording; keys are added by the sensor or the CLI."""

import dagster as dg

__all__ = ["RECORDINGS_PARTITIONS_NAME", "recordings_partitions"]

RECORDINGS_PARTITIONS_NAME = "recordings"
recordings_partitions = dg.DynamicPartitionsDefinition(name=RECORDINGS_PARTITIONS_NAME)
