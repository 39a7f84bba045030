"""One dynamic partition per recording; keys are added by the sensor or the CLI."""

import warnings

import dagster as dg

__all__ = ["RECORDINGS_PARTITIONS_NAME", "recording_check_spec", "recordings_partitions"]

RECORDINGS_PARTITIONS_NAME = "recordings"
recordings_partitions = dg.DynamicPartitionsDefinition(name=RECORDINGS_PARTITIONS_NAME)


def recording_check_spec(name: str, asset: str, *, blocking: bool, description: str) -> dg.AssetCheckSpec:
    """A check of one recording's partition of ``asset``.

    Without the partitions, Dagster records each result for the whole asset and compares it with
    the asset's latest materialisation of any recording: with two runs interleaved the UI shows
    the checks as "Not Evaluated" (graph: "0 / 2 Passed") after fully successful runs.
    """
    with warnings.catch_warnings():
        # A partitioned check is a Dagster preview: one notice at every import helps nobody.
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name=name,
            asset=asset,
            blocking=blocking,
            description=description,
            partitions_def=recordings_partitions,
        )
