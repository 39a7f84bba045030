"""The export's score-range check, its class report, every protocol at once, and the blocking Dagster check."""

from __future__ import annotations

import json
import os
import shutil

import dagster as dg
import polars as pl
import pytest
from flex_samples_factory import build_samples_store

from flexsync.errors import InputFileError, MissingInputError
from flexsync.exports import (
    FlexExport,
    ScoreRangeError,
    export_flex,
    flex_score_ranges,
    read_score_ranges,
    score_range_problems,
)
from flexsync.exports.flex import export_flex_protocols, export_name
from flexsync.exports.score_ranges import FLEX_SCORE_RANGES_FILE, SCORE_CHECK
from flexsync.splits import PROTOCOLS, write_splits
from flexsync.storage import Store

WITH_DATA = (1, 3, 7, 8)  # the factory's actions A01, A03, A07, A08


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Store, pl.DataFrame]:
    root = tmp_path_factory.mktemp("flex_scores")
    index = build_samples_store(root)
    write_splits(Store(root), protocols=PROTOCOLS, seeds=(0,))
    return Store(root), index


def test_the_flex_table_is_flexs_hard_coded_ranges() -> None:
    ranges = flex_score_ranges()
    assert sorted(ranges) == list(range(1, 21))
    assert ranges[1] == (40.99, 93.79) and ranges[13] == (48.3, 94.56) and ranges[15] == (22.16, 96.41)
    assert ranges[8] == (37.4, 100.0) and ranges[20] == (44.89, 89.77)
    header = FLEX_SCORE_RANGES_FILE.read_text(encoding="utf-8").splitlines()[:5]
    assert any("HaoYin116/FLEX_AQA_Dataset" in line and "1f56231c" in line for line in header)
    assert read_score_ranges(None) == ranges and read_score_ranges(FLEX_SCORE_RANGES_FILE) == ranges


def test_scores_outside_the_consumer_ranges_stop_the_export_and_name_the_samples(store, tmp_path) -> None:
    root, index = store
    a01 = sorted(index.filter(pl.col("action") == "A01").get_column("sample_id").to_list())
    lowest = index.filter(pl.col("action") == "A01").get_column("expert_score").min()
    narrow = {**flex_score_ranges(), 1: (lowest + 0.005, 99.0)}  # the lowest A01 score falls out
    out = tmp_path / "flex"
    kept = export_flex(root, out=out, views=("cam1", "cam2"))
    (out / "marker.txt").write_text("previous export")
    with pytest.raises(ScoreRangeError, match=r"1 sample\(s\) outside the consumer's score ranges: sample S0") as err:
        export_flex(root, out=out, views=("cam1", "cam2"), score_ranges=narrow)
    problems = err.value.problems
    assert problems.height == 1 and problems.item(0, "sample_id") in a01
    assert problems.item(0, "expert_score") == lowest and problems.item(0, "range_min") == lowest + 0.005
    assert f"score {lowest:g} is below class 1's range" in str(err.value)
    assert (out / "marker.txt").read_text() == "previous export"  # nothing was written
    assert kept.out == out and FlexExport(out).missing_files() == []
    with pytest.raises(ScoreRangeError, match=r"class 8 \(A08\) has no score range"):
        export_flex(root, out=tmp_path / "x", score_ranges={1: (0, 100), 3: (0, 100), 7: (0, 100)})
    assert not (tmp_path / "x").exists()


def test_users_pass_their_own_ranges_as_a_csv_or_json_file(store, tmp_path) -> None:
    root, _ = store
    csv_path = tmp_path / "mine.csv"
    csv_path.write_text("# my lab's ranges\naction,score_min,score_max\nA01,0,100\nA03,0,100\nA07,10,100\nA08,0,120\n")
    result = export_flex(root, out=tmp_path / "csv", views=("cam1", "cam2"), score_ranges=csv_path)
    flex = FlexExport(result.out)
    assert flex.score_ranges()["7"] == (10.0, 100.0) and flex.score_ranges()["A08"] == (0.0, 120.0)
    assert flex.export_info()["score_ranges"] == str(csv_path)
    assert flex.score_problems(csv_path).height == 0
    json_path = tmp_path / "mine.json"
    json_path.write_text(json.dumps(flex.score_ranges()))  # the export's own file reads back
    assert read_score_ranges(json_path) == {1: (0.0, 100.0), 3: (0.0, 100.0), 7: (10.0, 100.0), 8: (0.0, 120.0)}


def test_bad_range_tables_are_refused_with_the_reason(tmp_path) -> None:
    with pytest.raises(MissingInputError, match="score range table not found"):
        read_score_ranges(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("class,low,high\n1,0,100\n")
    with pytest.raises(InputFileError, match="needs score_min, score_max and class_idx or action"):
        read_score_ranges(bad)
    bad.write_text("class_idx,score_min,score_max\n1,90,40\n")
    with pytest.raises(InputFileError, match=r"row 2: range \[90.0, 40.0\] must be finite with min < max"):
        read_score_ranges(bad)
    bad.write_text("class_idx,score_min,score_max\n1,0,90\n1,0,80\n")
    with pytest.raises(InputFileError, match="row 3: class 1 is listed twice"):
        read_score_ranges(bad)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"1": [0, 100], "A01": [0, 90]}')
    with pytest.raises(InputFileError, match="class 1 has two different ranges"):
        read_score_ranges(bad_json)
    with pytest.raises(ValueError, match="bad class key 'squat'"):
        read_score_ranges({"squat": (0, 100)})


def test_score_range_problems_lists_each_offending_sample_once() -> None:
    scores = pl.DataFrame(
        {
            "sample_id": ["a", "b", "b", "c", "d"],
            "class_idx": [1, 1, 1, 2, 21],
            "expert_score": [30.0, 95.0, 95.0, 50.0, 60.0],
        }
    )
    problems = score_range_problems(scores, flex_score_ranges())
    assert problems.get_column("sample_id").to_list() == ["a", "b", "d"]
    assert problems.columns == ["sample_id", "action", "class_idx", "expert_score", "range_min", "range_max", "problem"]
    assert problems.row(2, named=True)["range_min"] is None
    assert problems.get_column("problem").to_list() == [
        "sample a: score 30 is below class 1's range [40.99, 93.79]",
        "sample b: score 95 is above class 1's range [40.99, 93.79]",
        "sample d: class 21 (A21) has no score range in the consumer's table",
    ]


def test_the_export_reports_which_classes_hold_data_and_are_trainable(store, tmp_path) -> None:
    root, index = store
    result = export_flex(root, protocol="vanilla", seed=0, out=tmp_path / "v", views=("cam1", "cam2"))
    flex = FlexExport(result.out)
    classes = flex.classes()
    assert [c["class_idx"] for c in classes] == list(range(1, 21))
    held = {c["class_idx"]: (c["n_train"], c["n_test"], c["trainable"]) for c in classes if c["n_train"] + c["n_test"]}
    # A01: 4 samples (3 train, 1 test); A03, A07: 2 (1 + 1: too few train pairs); A08: 3 (2 + 1)
    assert held == {1: (3, 1, True), 3: (1, 1, False), 7: (1, 1, False), 8: (2, 1, True)}
    assert result.classes == WITH_DATA and result.trainable_classes == (1, 8)
    by_class = {c["class_idx"]: c for c in classes}
    assert by_class[2]["score_min"] == "" and float(by_class[2]["range_min"]) == 47.68  # FLEX class 2 stays empty
    info = flex.export_info()
    assert info["classes_with_data"] == list(WITH_DATA) and info["trainable_classes"] == [1, 8]
    assert (info["protocol"], info["seed"], info["cross_view_index_offset"]) == ("vanilla", 0, None)
    assert info["views"] == {"train": ["cam1", "cam2"], "test": ["cam1", "cam2"]}
    assert len(index) == sum(n + m for n, m, _ in held.values())


def test_every_protocol_is_exported_and_jpegs_are_encoded_once(store, tmp_path) -> None:
    root, _ = store
    outs = {p: tmp_path / p for p in PROTOCOLS}
    results = export_flex_protocols(root, protocols=PROTOCOLS, outs=outs, views=("cam1", "cam2", "cam4", "phone"))
    assert [r.protocol for r in results] == list(PROTOCOLS)
    by = {r.protocol: r for r in results}
    assert by["vanilla"].n_frames_linked == 0
    assert by["cross_subject"].n_frames_linked == by["cross_skill"].n_frames_linked == 11 * 4 * 103
    assert by["cross_view"].n_frames_linked == 2 * 11 * 2 * 103 and by["cross_view"].index_offset == 10
    a = outs["vanilla"] / "A01" / "001" / "View-1" / "img_00001.JPG"
    b = outs["cross_subject"] / "A01" / "001" / "View-1" / "img_00001.JPG"
    assert os.stat(a).st_ino == os.stat(b).st_ino
    # the same bytes as a tree exported alone; and each tree stands alone
    alone = export_flex(root, protocol="cross_skill", out=tmp_path / "alone", views=("cam1", "cam2", "cam4", "phone"))
    files = sorted(p.relative_to(alone.out) for p in alone.out.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs["cross_skill"]) for p in outs["cross_skill"].rglob("*") if p.is_file())
    assert all((alone.out / f).read_bytes() == (outs["cross_skill"] / f).read_bytes() for f in files)
    shutil.rmtree(outs["vanilla"])
    for protocol in ("cross_subject", "cross_view", "cross_skill"):
        flex = FlexExport(outs[protocol])
        assert flex.export_info()["protocol"] == protocol
        assert [p for p in flex.missing_files() if "no train row" not in p] == []
    assert export_name("vanilla") == "flex" and export_name("cross_view") == "flex-cross_view"
    assert export_name("vanilla", 2) == "flex-vanilla-seed2"


def _materialise_export(store: Store, config: dict | None = None):
    from flexsync.assets import ALL_ASSETS
    from flexsync.assets.resources import FlexsyncResource
    from flexsync.assets.training import flex_export

    with dg.DagsterInstance.ephemeral() as instance:  # disposed: its temporary folder goes with it
        return dg.materialize(
            ALL_ASSETS,
            selection=[flex_export],
            resources={"flexsync": FlexsyncResource(raw_root=str(store.root / "raw"), store_root=str(store.root))},
            run_config={"ops": {"flex_export": {"config": config}}} if config else None,
            raise_on_error=False,
            instance=instance,
        )


def _check_evaluation(result) -> dg.AssetCheckEvaluation:
    events = [e for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert len(events) == 1
    return events[0].event_specific_data


def test_the_dagster_check_blocks_an_export_whose_scores_the_consumer_cannot_normalise(store, tmp_path) -> None:
    source, _ = store
    copy = Store(tmp_path / "store")
    shutil.copytree(source.root, copy.root, ignore=shutil.ignore_patterns("export"))
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("class_idx,score_min,score_max\n1,90,99\n3,0,100\n7,0,100\n8,0,100\n")
    failed = _materialise_export(copy, {"score_ranges": str(narrow), "protocols": ["vanilla"]})
    assert not failed.success
    evaluation = _check_evaluation(failed)
    assert evaluation.check_name == SCORE_CHECK and not evaluation.passed
    assert "outside the consumer's score ranges: sample S0" in evaluation.description
    assert "nothing was exported" in evaluation.description
    assert not copy.export_dir("flex").exists()
    assert not [e for e in failed.all_events if e.event_type_value == "ASSET_MATERIALIZATION"]

    passed = _materialise_export(copy, {"protocols": ["vanilla", "cross_view"]})
    assert passed.success
    evaluation = _check_evaluation(passed)
    assert evaluation.passed and "all 33 exported raw scores lie inside" in evaluation.description
    assert FlexExport(copy.export_dir("flex")).export_info()["protocol"] == "vanilla"
    assert FlexExport(copy.export_dir("flex-cross_view")).export_info()["cross_view_index_offset"] == 10
    meta = passed.asset_materializations_for_node("flex_export")[0].metadata
    assert meta["classes_with_data"].value == list(WITH_DATA) and meta["trainable_classes"].value == [1, 8]
    assert meta["jpegs_linked"].value == 11 * 5 * 103  # cross_view reuses all of vanilla's JPEGs (5 views)
