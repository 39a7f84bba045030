"""The sample index: FLEX numbering per action, score ranges and normalisation, deterministic files."""

from __future__ import annotations

import json

import polars as pl
import pytest

from flexsync.errors import FlexsyncError
from flexsync.samples import build_sample_index, read_samples, validate_sample_table
from flexsync.storage import SAMPLES_TABLE, Store


def _publish_table(store: Store, key: str, table: pl.DataFrame) -> None:
    """A samples unit holding only its table partition, validated first (what the samples builder commits)."""
    with store.publish_samples(key) as unit:
        store.write_unit_parquet(unit, SAMPLES_TABLE, validate_sample_table(table, SAMPLES_TABLE))


def test_numbering_is_per_action_in_recording_order(sample_store):
    index = pl.read_parquet(sample_store.store.training_path("sample_index.parquet"))
    samples = read_samples(sample_store.store)
    assert index.height == samples.height == 4
    for action, group in index.group_by("action", maintain_order=True):
        ordered = group.sort("recording", "rep_index")
        assert ordered["action_sample_index"].to_list() == list(range(1, group.height + 1)), action
    assert index["sample_id"].to_list() == index.sort("action", "recording", "rep_index")["sample_id"].to_list()
    assert index.schema["action_sample_index"] == pl.Int32


def test_score_ranges_and_normalisation(sample_store):
    index = pl.read_parquet(sample_store.store.training_path("sample_index.parquet"))
    ranges = json.loads(sample_store.store.training_path("score_ranges.json").read_text(encoding="utf-8"))
    for row in index.iter_rows(named=True):
        scores = index.filter(pl.col("action") == row["action"])["expert_score"]
        low, high = scores.min(), scores.max()
        assert (row["score_min"], row["score_max"]) == (low, high)
        expected = 0.5 if high == low else (row["expert_score"] - low) / (high - low)
        assert row["score_norm"] == pytest.approx(expected, abs=1e-12)
        assert 0.0 <= row["score_norm"] <= 1.0
        assert ranges[row["action"]] == ranges[str(row["class_idx"])] == [low, high]
    assert sorted(ranges) == sorted([*index["action"].unique(), *index["class_idx"].unique().cast(pl.String)])


def test_single_sample_action_gets_neutral_norm_and_build_is_deterministic(sample_store, tmp_path, tree_digest):
    key = sample_store.keys[0]
    one = pl.read_parquet(sample_store.store.table_partition(SAMPLES_TABLE, key)).head(1)
    store = Store(tmp_path)
    _publish_table(store, key, one)
    index = build_sample_index(store)
    assert index["score_norm"].to_list() == [0.5] and index["action_sample_index"].to_list() == [1]
    first = {**tree_digest(store.training_path("sample_index.parquet")),
             **tree_digest(store.training_path("score_ranges.json"))}  # fmt: skip
    build_sample_index(store)
    again = {**tree_digest(store.training_path("sample_index.parquet")),
             **tree_digest(store.training_path("score_ranges.json"))}  # fmt: skip
    assert again == first


def test_a_partition_that_breaks_the_schema_is_refused(sample_store, tmp_path):
    key = sample_store.keys[0]
    table = pl.read_parquet(sample_store.store.table_partition(SAMPLES_TABLE, key))
    bad = table.with_columns(pl.lit(101.0).alias("expert_score"))
    store = Store(tmp_path)
    with pytest.raises(FlexsyncError, match=r"table 'samples' \(recording S01_A\d\d_T1\): .*expert_score"):
        _publish_table(store, key, bad)
    assert not store.table_partition(SAMPLES_TABLE, key).exists() and store.samples_keys() == []
    assert read_samples(store).height == 0
