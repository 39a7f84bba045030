"""FLEX-VideoQA built from the real samples: four levels per sample, answers true to the labels."""

from __future__ import annotations

import json

import polars as pl
import pytest
import zarr

from flexsync.errors import MissingInputError
from flexsync.samples import build_videoqa
from flexsync.storage import Store


def _qa(sample_store):
    return pl.read_parquet(sample_store.store.training_path("videoqa.parquet"))


def _index(sample_store):
    return pl.read_parquet(sample_store.store.training_path("sample_index.parquet"))


def test_four_hierarchical_questions_per_sample(sample_store):
    qa, index = _qa(sample_store), _index(sample_store)
    assert qa.height == 4 * index.height
    for sample_id, group in qa.group_by("sample_id", maintain_order=True):
        assert group["level"].to_list() == [1, 2, 3, 4], sample_id
    assert qa["sample_id"].unique(maintain_order=True).to_list() == index["sample_id"].to_list()


def test_answers_follow_the_labels(sample_store):
    qa, index = _qa(sample_store), _index(sample_store)
    fkg = sample_store.fkg
    for sample in index.iter_rows(named=True):
        rows = {r["level"]: r for r in qa.filter(pl.col("sample_id") == sample["sample_id"]).iter_rows(named=True)}
        action = fkg.action(sample["action"])
        assert action.name in rows[1]["answer"] and sample["action"] in rows[1]["answer"]
        assert all(step.name in rows[2]["answer"] for step in action.key_steps)
        level3 = rows[3]["answer"]
        assert all(text in level3 for text in sample["feedback"])
        assert all(fkg.error(action.id, e).name in level3 for e in sample["errors"])
        flagged = set(sample["error_key_steps"])
        to_standard = [s for s in action.key_steps if s.id not in flagged]
        assert level3.count("performed to standard") == len(to_standard)
        assert float(rows[4]["answer"]) == sample["expert_score"] == rows[4]["answer_score"]
        assert all(rows[level]["answer_score"] is None for level in (1, 2, 3))


def test_rows_point_at_the_clip_to_show(sample_store):
    qa = _qa(sample_store)
    for row in qa.unique("sample_id", maintain_order=True).iter_rows(named=True):
        assert row["clip_path"] == sample_store.store.samples_member(row["recording"])
        # what a consumer does with the row: the path is relative to the store root
        group = zarr.open_group(sample_store.store.root / row["clip_path"], mode="r")
        assert group.attrs["sample_ids"][row["clip_row"]] == row["sample_id"]
        assert row["views"] == group.attrs["views"] == ["cam1", "cam2", "cam3", "cam4", "phone"]
        assert group["t"][row["clip_row"], 0] == row["t_start_s"]


def test_jsonl_matches_parquet_and_rebuild_is_identical(sample_store, tree_digest):
    qa = _qa(sample_store)
    path = sample_store.store.training_path("videoqa.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == qa.to_dicts()
    before = {**tree_digest(path), **tree_digest(sample_store.store.training_path("videoqa.parquet"))}
    build_videoqa(sample_store.store, sample_store.fkg)
    after = {**tree_digest(path), **tree_digest(sample_store.store.training_path("videoqa.parquet"))}
    assert after == before


def test_missing_index_is_a_clear_error(sample_store, tmp_path):
    with pytest.raises(MissingInputError, match=r"sample_index\.parquet not found: materialise sample_index first"):
        build_videoqa(Store(tmp_path), sample_store.fkg)
