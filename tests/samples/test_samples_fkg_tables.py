"""The FKG as tables: complete, consistent with the graph, enough to recompute a score by joins."""

from __future__ import annotations

import polars as pl
import pytest

from flexsync.errors import FlexsyncError
from flexsync.fkg import default_fkg, fkg_score
from flexsync.samples import fkg_tables, read_samples, validate_sample_table, write_fkg_tables
from flexsync.storage import Store


@pytest.fixture(scope="module")
def tables():
    return fkg_tables(default_fkg())


def test_tables_mirror_the_graph(tables):
    fkg = default_fkg()
    n_steps = sum(len(a.key_steps) for a in fkg.actions)
    n_errors = sum(len(a.errors) for a in fkg.actions)
    assert tables["actions"].height == 20 and tables["actions"]["class_idx"].to_list() == list(range(1, 21))
    assert tables["key_steps"].height == n_steps
    assert tables["error_types"].height == tables["feedback"].height == n_errors
    assert tables["links"].height == n_steps + 2 * n_errors
    totals = dict(tables["actions"].select("action_id", "total_weight").iter_rows())
    assert totals == {a.id: fkg.total_weight(a.id) for a in fkg.actions}
    a01 = tables["key_steps"].filter(pl.col("action_id") == "A01")
    assert a01["phase"].to_list()[0] == "preparation" and a01["step_order"].to_list() == [1, 2, 3, 4]


def test_a_score_recomputed_by_joining_tables_equals_fkg_score(sample_store, tables):
    samples = read_samples(sample_store.store)
    weights = tables["error_types"].select("error_id", "weight")
    totals = tables["actions"].select(pl.col("action_id").alias("action"), "total_weight")
    exploded = samples.select("sample_id", "action", "errors").explode("errors")
    lost = (
        exploded.join(weights, left_on="errors", right_on="error_id", how="left")
        .group_by("sample_id", "action")
        .agg(pl.col("weight").sum())
        .join(totals, on="action")
        .with_columns(((1 - pl.col("weight") / pl.col("total_weight")) * 100).alias("score"))
    )
    for row in lost.iter_rows(named=True):
        errors = samples.filter(pl.col("sample_id") == row["sample_id"])["errors"][0].to_list()
        assert row["score"] == pytest.approx(fkg_score(sample_store.fkg, row["action"], errors), abs=1e-9)


def test_feedback_links_resolve(tables):
    links = tables["links"].filter(pl.col("relation") == "corrected_by")
    joined = links.join(tables["feedback"], left_on="target_id", right_on="feedback_id")
    assert joined.height == links.height and (joined["source_id"] == joined["error_id"]).all()


def test_written_tables_and_validation(tmp_path, tables):
    store = Store(tmp_path)
    paths = write_fkg_tables(store, default_fkg())
    assert sorted(paths) == sorted(tables)
    for name, path in paths.items():
        assert path == store.fkg_table_path(name)
        assert pl.read_parquet(path).equals(tables[name])
    broken = tables["error_types"].with_columns(pl.lit(-1.0).alias("weight"))
    with pytest.raises(FlexsyncError, match=r"table 'fkg_error_types'.*weight"):
        validate_sample_table(broken, "fkg_error_types")
