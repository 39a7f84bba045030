"""The FLEX / CoRe export, read back with the independent reader the way FLEX's dataset class reads it."""

from __future__ import annotations

import os

import numpy as np
import polars as pl
import pytest
import scipy.io
from flex_samples_factory import HEIGHT, WIDTH, RecordingSpec, T, build_samples_store

from flexsync.errors import InputFileError, MissingInputError
from flexsync.exports import (
    FLEX_EMG_PICKS,
    FlexExport,
    cross_view_index_offset,
    emg_column_order,
    export_flex,
    flex_score_ranges,
)
from flexsync.fkg.catalogue import default_fkg
from flexsync.frame_quality import psnr_db as _psnr_db
from flexsync.skeleton import JOINT_NAMES
from flexsync.splits import make_splits
from flexsync.storage import Store

VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[Store, pl.DataFrame]:
    root = tmp_path_factory.mktemp("flex_store")
    return Store(root), build_samples_store(root)


@pytest.fixture(scope="module")
def vanilla(store):
    root, index = store
    result = export_flex(root, protocol="vanilla", seed=3)
    return result, FlexExport(result.out), index


def _source(root: Store, index: pl.DataFrame, sample_id: str):
    row = index.filter(pl.col("sample_id") == sample_id).row(0, named=True)
    group = root.open_samples(row["recording"])
    return group, list(group.attrs["sample_ids"]).index(sample_id), row


def _by_folder(index: pl.DataFrame) -> dict[tuple[int, int], str]:
    return {(c, i): s for s, c, i in index.select("sample_id", "class_idx", "action_sample_index").iter_rows()}


def test_split_lists_match_sample_index_and_split(vanilla) -> None:
    result, flex, index = vanilla
    split = make_splits(index, protocol="vanilla", seed=3).join(index, on="sample_id")
    for side in ("train", "test"):
        raw = scipy.io.loadmat(result.out / f"Split_4/split_4_{side}_list.mat")[f"consolidated_{side}_list"]
        assert raw.shape == (split.filter(pl.col("side") == side).height, 3)
        assert raw.dtype == np.float64
        expected = sorted(
            split.filter(pl.col("side") == side).select("class_idx", "action_sample_index", "expert_score").rows()
        )
        assert sorted(map(tuple, raw.tolist())) == [(float(c), float(i), s) for c, i, s in expected]
    assert (result.n_train, result.n_test) == (7, 4)
    # FLEX's per-class filtering: class 8 (3 samples) is split 2 train / 1 test
    assert len(flex.rows("train", 8)) == 2 and len(flex.rows("test", 8)) == 1
    assert all(r[0] == 8 for r in flex.rows("train", 8))


def test_every_row_has_its_files_like_the_flex_loader_needs(vanilla) -> None:
    result, flex, _ = vanilla
    assert flex.missing_files(views=(1, 2, 3, 4, 5)) == []
    n_rows = len(flex.rows("train")) + len(flex.rows("test"))
    assert n_rows == result.n_folders == 11
    # 103 JPEGs per view, 5 views, plus skeleton and EMG per row; 2 mats, 5 JSON/CSV side files
    assert result.n_files == n_rows * (5 * T + 2) + 2 + 5
    assert sum(1 for _ in (result.out / "A01").rglob("*.JPG")) == 4 * 5 * T  # A01: 2 recordings x 2 repetitions


def test_frames_are_the_source_frames_of_the_right_view(vanilla, store) -> None:
    root, _ = store
    _, flex, index = vanilla
    folders = _by_folder(index)
    for subset in ("train", "test"):
        for class_f, index_f, _ in flex.rows(subset):
            group, r, _ = _source(root, index, folders[int(class_f), int(index_f)])
            for k, view in enumerate(VIEWS, start=1):
                clip = flex.load_clip(int(class_f), int(index_f), k)
                assert len(clip) == T and all(im.size == (WIDTH, HEIGHT) and im.mode == "RGB" for im in clip)
                got = np.stack([np.asarray(im) for im in clip])
                assert _psnr_db(got, group[f"video/{view}"][r]) > 30.0
            # View-2 is cam2, not cam1: the mapping is visible in the pixels
            assert _psnr_db(flex.load_clip_array(int(class_f), int(index_f), 2), group["video/cam1"][r]) < 20.0


def test_skeleton_csv_is_the_sample_pose(vanilla, store) -> None:
    root, _ = store
    _, flex, index = vanilla
    folders = _by_folder(index)
    checked_gap = False
    for class_f, index_f, _ in flex.rows("train") + flex.rows("test"):
        skeleton, header = flex.load_skeleton(int(class_f), int(index_f))
        assert header[:4] == ["head_x", "head_y", "head_z", "neck_x"]
        assert header == [f"{j}_{a}" for j in JOINT_NAMES for a in "xyz"]
        assert skeleton.shape == (T, 21, 3)
        group, r, _ = _source(root, index, folders[int(class_f), int(index_f)])
        pose, valid = group["pose"][r].astype(np.float64), group["pose_valid"][r]
        np.testing.assert_allclose(skeleton[valid], pose[valid], rtol=0, atol=1e-6)  # metres: 1 um
        assert np.isfinite(skeleton).all()
        if not valid.all():  # the wrist gap (frames 40-44) is filled linearly between frames 39 and 45
            frac = (np.arange(40, 45) - 39) / 6.0
            expected = pose[39, 5] + frac[:, None] * (pose[45, 5] - pose[39, 5])
            np.testing.assert_allclose(skeleton[40:45, 5], expected, rtol=0, atol=1e-6)
            checked_gap = True
    assert checked_gap


def test_emg_class_picks_are_the_main_muscles(vanilla, store) -> None:
    root, _ = store
    _, flex, index = vanilla
    fkg = default_fkg()
    folders = _by_folder(index)
    seen_classes = set()
    for class_f, index_f, _ in flex.rows("train") + flex.rows("test"):
        class_idx = int(class_f)
        group, r, row = _source(root, index, folders[class_idx, int(index_f)])
        names = list(group.attrs["emg_channel_names"])
        offsets = group["emg_offsets"][:]
        source = np.abs(group["emg"][offsets[r] : offsets[r + 1]].astype(np.float64))
        m1, m2 = fkg.action(row["action"]).main_muscles
        col = {name: source[:, names.index(name)] for name in names}
        if class_idx == 8:  # FLEX averages two columns per side: both main muscles
            want_l, want_r = (col[f"{m1}_L"] + col[f"{m2}_L"]) / 2, (col[f"{m1}_R"] + col[f"{m2}_R"]) / 2
        else:  # FLEX takes one column per side: the primary main muscle
            want_l, want_r = col[f"{m1}_L"], col[f"{m1}_R"]
        left, right = flex.emg_left_right(class_idx, int(index_f))
        assert left.shape == (offsets[r + 1] - offsets[r],)
        np.testing.assert_allclose(left, want_l, rtol=0, atol=6e-5)
        np.testing.assert_allclose(right, want_r, rtol=0, atol=6e-5)
        emg = flex.load_emg(class_idx, int(index_f))
        assert emg.shape == (offsets[r + 1] - offsets[r], 16)
        # all 16 channels are there, each exactly once
        np.testing.assert_allclose(np.sort(np.abs(emg).sum(axis=0)), np.sort(source.sum(axis=0)), rtol=1e-6)
        seen_classes.add(class_idx)
    assert seen_classes == {1, 3, 7, 8}  # one class of each FLEX column group


def test_emg_column_order_per_class_group() -> None:
    names = ["a_L", "a_R", "b_L", "b_R", *[f"x{i}_{s}" for i in range(6) for s in "LR"]]
    assert emg_column_order(1, names, ("a", "b"))[:4] == [0, 2, 1, 3]
    assert emg_column_order(3, names, ("a", "b"))[:4] == [2, 0, 3, 1]
    assert emg_column_order(7, names, ("a", "b"))[:4] == [0, 1, 2, 3]
    assert emg_column_order(8, names, ("a", "b"))[:4] == [0, 2, 1, 3]
    assert emg_column_order(8, names, ("a", "b"))[4:] == list(range(4, 16))
    for class_idx, (left, right) in FLEX_EMG_PICKS.items():
        order = emg_column_order(class_idx, names, ("a", "b"))
        assert {names[order[c]] for c in left} >= {"a_L"} and {names[order[c]] for c in right} >= {"a_R"}
    with pytest.raises(ValueError, match="FLEX classes are 1-20"):
        emg_column_order(21, names, ("a", "b"))
    with pytest.raises(ValueError, match="'zz_L' not among the EMG channels"):
        emg_column_order(1, names, ("zz", "a"))


def test_score_ranges_are_the_consumers_and_cover_scores_and_side_files(vanilla) -> None:
    result, flex, index = vanilla
    ranges = flex.score_ranges()
    flex_table = flex_score_ranges()
    assert sorted(k for k in ranges if k.isdigit()) == ["1", "3", "7", "8"]  # the classes with data
    for action, class_idx in index.select("action", "class_idx").unique().rows():
        assert ranges[action] == ranges[str(class_idx)] == flex_table[class_idx]
    for class_f, _, score in flex.rows("train") + flex.rows("test"):
        lo, hi = ranges[str(int(class_f))]
        assert lo <= score <= hi
        assert 0 <= (score - lo) / (hi - lo) * 100 <= 100  # FLEX's label
    manifest = pl.read_csv(result.out / "samples.csv")
    assert manifest.height == 11 and set(manifest.get_column("views").to_list()) == {"|".join(VIEWS)}
    columns = (result.out / "EMG/columns.json").read_text()
    assert '"A08"' in columns


def test_cross_view_gives_test_rows_their_own_folders(store, tmp_path) -> None:
    root, index = store
    result = export_flex(root, protocol="cross_view", seed=0, out=tmp_path / "cv")
    flex = FlexExport(result.out)
    assert result.train_views == ("cam1", "cam2", "cam3") and result.test_views == ("cam4", "phone")
    offset = cross_view_index_offset(3)
    assert offset == 10
    train, test = flex.split_list("train"), flex.split_list("test")
    assert train.shape == test.shape == (11, 3)
    np.testing.assert_array_equal(test[:, 1] - offset, train[:, 1])  # same samples, same order
    assert flex.missing_files() == []
    group, r, _ = _source(root, index, _by_folder(index)[1, 1])
    assert _psnr_db(flex.load_clip_array(1, 1 + offset, 1), group["video/cam4"][r]) > 30.0
    assert _psnr_db(flex.load_clip_array(1, 1 + offset, 2), group["video/phone"][r]) > 30.0
    assert _psnr_db(flex.load_clip_array(1, 1, 3), group["video/cam3"][r]) > 30.0
    assert not (result.out / "A01" / "011" / "View-3").exists()
    assert not (result.out / "A01" / "001" / "View-4").exists()
    skeleton_train, _ = flex.load_skeleton(1, 1)
    skeleton_test, _ = flex.load_skeleton(1, 1 + offset)
    np.testing.assert_array_equal(skeleton_train, skeleton_test)


def test_stored_split_is_used(store, tmp_path) -> None:
    root, index = store
    store_copy = Store(tmp_path / "store")
    for key in root.samples_keys():  # the samples units, shared by symbolic links
        store_copy.samples_path(key).parent.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(root.samples_path(key).parent, store_copy.samples_path(key).parent)
    store_copy.write_parquet(store_copy.training_path("sample_index.parquet"), index)
    split = make_splits(index, protocol="cross_subject", seed=5)
    # move every S03 sample (A08) to test by hand: the export must follow the stored rows, not recompute
    split = split.with_columns(
        pl.when(pl.col("sample_id").str.starts_with("S03")).then(pl.lit("test")).otherwise(pl.col("side")).alias("side")
    )
    store_copy.write_parquet(store_copy.training_path("splits.parquet"), split)
    result = export_flex(store_copy, protocol="cross_subject", seed=5)
    flex = FlexExport(result.out)
    assert sorted(int(r[1]) for r in flex.rows("test", 8)) == [1, 2, 3]
    assert flex.rows("train", 8) == []
    assert any("no train row of that class" in p for p in flex.missing_files())


def test_export_is_deterministic_and_atomic(store, tmp_path) -> None:
    root, _ = store
    a = export_flex(root, protocol="cross_skill", seed=1, out=tmp_path / "a", views=("cam1", "cam2"))
    b = export_flex(root, protocol="cross_skill", seed=1, out=tmp_path / "b", views=("cam1", "cam2"))
    files_a = sorted(p.relative_to(a.out) for p in a.out.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b.out) for p in b.out.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) == a.n_files
    assert all((a.out / f).read_bytes() == (b.out / f).read_bytes() for f in files_a)
    assert (a.out / "Split_4/split_4_train_list.mat").read_bytes()[:116].decode().startswith("MATLAB 5.0 MAT-file")
    # re-export into an existing folder replaces it whole and leaves no temporaries
    (a.out / "stale.txt").write_text("old")
    export_flex(root, protocol="cross_skill", seed=1, out=tmp_path / "a", views=("cam1", "cam2"))
    assert not (a.out / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]
    # novice samples (S02) are on test: classes 1 and 7
    assert {int(r[0]) for r in FlexExport(a.out).rows("test")} == {1, 7}


def test_export_errors_name_the_problem(store, tmp_path) -> None:
    root, _ = store
    with pytest.raises(MissingInputError, match=r"sample_index\.parquet not found: materialise sample_index first"):
        export_flex(Store(tmp_path / "empty"))
    with pytest.raises(ValueError, match="unknown split protocol 'random'"):
        export_flex(root, protocol="random")
    with pytest.raises(ValueError, match=r"jpeg_quality must be in 1\.\.95"):
        export_flex(root, jpeg_quality=100, out=tmp_path / "q")
    with pytest.raises(ValueError, match="no split view is among the export views"):
        export_flex(root, views=("cam9",), out=tmp_path / "v")
    no_phone = Store(tmp_path / "no_phone")
    build_samples_store(no_phone.root, (RecordingSpec("S01_A01_T1", "S01", "expert", "A01", 2),), views=VIEWS[:4])
    with pytest.raises(InputFileError, match=r"view phone is not in this recording's samples"):
        export_flex(no_phone, out=tmp_path / "np")
    assert not (tmp_path / "np").exists()
    ok = export_flex(no_phone, views=VIEWS[:4], out=tmp_path / "np")
    assert ok.train_views == VIEWS[:4]
