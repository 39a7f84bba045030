"""The dataset-wide sample index: FLEX numbering per action and per-action score normalisation.

FLEX (like CoRe) names a sample by its class and a 1-based number within the class ("NNN") and
normalises scores per class with the class's min and max. Both are computed here once, from
every samples partition, so the exporters, the loaders and the splits agree on them: numbers
follow (recording, rep_index) order within each action, so they are deterministic and a new
recording never renumbers the samples of recordings sorted before it.
"""

from __future__ import annotations

import logging

import polars as pl

from flexsync.samples._io import write_json, write_validated_parquet
from flexsync.samples.schemas import empty_sample_table, validate_sample_table
from flexsync.storage.store import SAMPLES_TABLE, Store

__all__ = ["NEUTRAL_SCORE_NORM", "build_sample_index", "read_samples", "score_ranges"]

logger = logging.getLogger(__name__)

# score_norm of every sample of an action whose scores are all equal (max == min).
NEUTRAL_SCORE_NORM = 0.5


def read_samples(store: Store, *, validate: bool = True) -> pl.DataFrame:
    """Every published samples partition, sorted by (recording, rep_index); the empty table when there are none."""
    df = store.read_unit_parquets(SAMPLES_TABLE)
    if df is None:
        return empty_sample_table(SAMPLES_TABLE)
    df = df.sort("recording", "rep_index")
    return validate_sample_table(df, SAMPLES_TABLE) if validate else df


def build_sample_index(store: Store) -> pl.DataFrame:
    """Write the store's ``sample_index.parquet`` and ``score_ranges.json`` training files; return the index.

    Columns: every samples column, then ``action_sample_index`` (Int32, 1-based per action in
    (recording, rep_index) order), ``score_min`` / ``score_max`` (the action's expert-score
    range over the dataset) and ``score_norm = (expert_score - min) / (max - min)``
    (``NEUTRAL_SCORE_NORM`` when max == min).

    Raises
    ------
    TableValidationError
        If a partition no longer matches the samples schema, or the index fails its own.
    """
    samples = read_samples(store)
    ranges = pl.col("expert_score")
    index = (
        samples.with_columns(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("action").alias("action_sample_index"),
            ranges.min().over("action").alias("score_min"),
            ranges.max().over("action").alias("score_max"),
        )
        .with_columns(
            pl.when(pl.col("score_max") > pl.col("score_min"))
            .then((ranges - pl.col("score_min")) / (pl.col("score_max") - pl.col("score_min")))
            .otherwise(pl.lit(NEUTRAL_SCORE_NORM))
            .alias("score_norm")
        )
        .sort("action", "action_sample_index")
    )
    index = write_validated_parquet(store, index, "sample_index", store.training_path("sample_index.parquet"))
    write_json(store, store.training_path("score_ranges.json"), score_ranges(index))
    logger.info(
        "sample index: %d samples in %d actions from %d recordings",
        index.height,
        index.get_column("action").n_unique(),
        index.get_column("recording").n_unique(),
    )
    return index


def score_ranges(index: pl.DataFrame) -> dict[str, list[float]]:
    """``{"A01": [min, max], ...}`` then ``{"1": [min, max], ...}`` in one object (FLEX uses class numbers)."""
    per_action = (
        index.group_by("action", "class_idx")
        .agg(pl.col("score_min").first(), pl.col("score_max").first())
        .sort("class_idx", "action")
    )
    out: dict[str, list[float]] = {}
    for action, _, low, high in per_action.iter_rows():
        out[action] = [float(low), float(high)]
    for _, class_idx, low, high in per_action.iter_rows():
        out[str(class_idx)] = [float(low), float(high)]
    return out
