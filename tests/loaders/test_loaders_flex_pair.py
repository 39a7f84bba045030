"""FlexPairDataset against the ground truth written by the factory: items, exemplars, delta, errors."""

from __future__ import annotations

import random
import subprocess
import sys
from itertools import combinations
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from flexsync.errors import InputFileError, MissingInputError
from flexsync.loaders import FlexPairDataset
from flexsync.loaders.flex_pair import PROTOCOLS as LOADER_PROTOCOLS
from flexsync.splits import PROTOCOLS
from flexsync.storage import Store


def _args(store, **overrides) -> SimpleNamespace:
    base = {
        "data_root": store.root,
        "class_idx": 0,
        "score_range": 100,
        "frame_length": 103,
        "voter_number": 2,
        "seed": 0,
        "mode": "fast",
    }
    return SimpleNamespace(**{**base, **overrides})


def _expected_score(store, sample_id: str, score_range: float = 100.0) -> float:
    row = store.row(sample_id)
    scores = [r["expert_score"] for r in store.rows if r["action"] == row["action"]]
    return (row["expert_score"] - min(scores)) / (max(scores) - min(scores)) * score_range


def _check_item(store, item: dict, views=("cam1", "cam2")) -> None:
    row = store.row(item["sample_id"])
    truth = store.arrays[row["recording"]]
    r = row["row"]
    for k, view in enumerate(views):
        np.testing.assert_array_equal(item["video" if k == 0 else f"video{k + 1}"], truth[f"video/{view}"][r])
    pose_valid = truth["pose_valid"][r]
    np.testing.assert_array_equal(item["Skeleton_valid"], pose_valid)
    np.testing.assert_array_equal(item["Skeleton"][pose_valid], truth["pose"][r][pose_valid])
    assert not item["Skeleton"][~pose_valid].any()
    env_valid = truth["emg_envelope_valid"][r]
    np.testing.assert_array_equal(item["EMG"][env_valid], truth["emg_envelope"][r][env_valid])
    assert not item["EMG"][~env_valid].any()
    assert item["final_score"] == pytest.approx(_expected_score(store, item["sample_id"]), abs=1e-9)
    assert item["class_idx"] == row["class_idx"]


def test_train_items_match_the_store_and_pair_with_another_sample_of_the_action(samples_store):
    ds = FlexPairDataset(_args(samples_store), "train", None)
    train_ids = [r["sample_id"] for r in samples_store.rows if r["action_sample_index"] % 3 != 0]
    assert sorted(e.sample_id for e in ds.dataset) == sorted(train_ids)
    for index in range(len(ds)):
        data, target = ds[index]
        _check_item(samples_store, data)
        _check_item(samples_store, target)
        assert target["sample_id"] != data["sample_id"]
        assert samples_store.row(target["sample_id"])["action"] == samples_store.row(data["sample_id"])["action"]
        assert target["sample_id"] in train_ids


def test_test_items_carry_voter_number_distinct_train_exemplars(samples_store):
    ds = FlexPairDataset(_args(samples_store, voter_number=2), "test", None)
    test_ids = {r["sample_id"] for r in samples_store.rows if r["action_sample_index"] % 3 == 0}
    assert {e.sample_id for e in ds.dataset} == test_ids
    for index in range(len(ds)):
        data, exemplars = ds[index]
        _check_item(samples_store, data)
        assert len(exemplars) == 2
        ids = [e["sample_id"] for e in exemplars]
        assert len(set(ids)) == 2
        for e in exemplars:
            _check_item(samples_store, e)
            assert e["sample_id"] not in test_ids
            assert e["class_idx"] == data["class_idx"]


def test_more_voters_than_train_samples_reuses_exemplars(samples_store):
    ds = FlexPairDataset(_args(samples_store, voter_number=5, class_idx=2), "test", None)
    n_train_a02 = len(ds.train_list)
    assert n_train_a02 == 4
    picks = ds.exemplar_indices(0)
    assert len(picks) == 5
    assert set(picks[:4]) == {0, 1, 2, 3}  # every train sample once, then one drawn again


def test_delta_is_every_same_action_pair_of_train_scores(samples_store):
    ds = FlexPairDataset(_args(samples_store, score_range=50), "train", None)
    expected = []
    for action in ("A01", "A02"):
        rows = sorted(
            (r for r in samples_store.rows if r["action"] == action and r["action_sample_index"] % 3 != 0),
            key=lambda r: r["action_sample_index"],
        )
        scores = [_expected_score(samples_store, r["sample_id"], 50.0) for r in rows]
        expected += [abs(a - b) for a, b in combinations(scores, 2)]
    np.testing.assert_allclose(ds.delta(), expected, rtol=0, atol=1e-9)
    assert len(expected) == 10 + 6  # 5 train samples of A01, 4 of A02


def test_exemplars_depend_on_seed_epoch_index_only(samples_store):
    a = FlexPairDataset(_args(samples_store), "train", None)
    random.seed(123)
    np.random.seed(7)  # the global state must not matter
    b = FlexPairDataset(_args(samples_store), "train", None)
    random.random()
    epoch0 = [a.exemplar_indices(i) for i in range(len(a))]
    assert epoch0 == [b.exemplar_indices(i) for i in range(len(b))]
    assert epoch0 == [a.exemplar_indices(i) for i in range(len(a))]  # repeatable
    epochs = []
    for epoch in range(1, 6):
        a.set_epoch(epoch)
        epochs.append([a.exemplar_indices(i) for i in range(len(a))])
    assert any(e != epoch0 for e in epochs)
    other_seed = FlexPairDataset(_args(samples_store, seed=1), "train", None)
    assert any([other_seed.exemplar_indices(i) for i in range(len(a))] != e for e in [epoch0, *epochs[:1]])


def test_compat_mode_hands_pil_frames_to_the_transform(samples_store):
    seen = []

    def transform(frames):
        seen.append(frames)
        return np.stack([np.asarray(f) for f in frames])

    ds = FlexPairDataset(_args(samples_store, mode="compat"), "train", transform)
    data, _ = ds[0]
    frames = seen[0]
    assert isinstance(frames, list) and len(frames) == 103
    assert frames[0].size == (12, 8) and frames[0].mode == "RGB"
    _check_item(samples_store, data)


def test_clean_emg_is_the_repetition_span(samples_store):
    ds = FlexPairDataset(_args(samples_store, emg="clean"), "train", None)
    data, _ = ds[1]
    row = samples_store.row(data["sample_id"])
    truth = samples_store.arrays[row["recording"]]
    offsets = truth["emg_offsets"]
    np.testing.assert_array_equal(data["EMG"], truth["emg"][offsets[row["row"]] : offsets[row["row"] + 1]])


def test_cross_view_reads_each_sides_views(samples_store):
    train = FlexPairDataset(_args(samples_store, protocol="cross_view"), "train", None)
    test = FlexPairDataset(_args(samples_store, protocol="cross_view", voter_number=1), "test", None)
    assert all(e.views == ("cam1", "cam2") for e in train.dataset)
    assert all(e.views == ("cam3",) for e in test.dataset)
    data, exemplars = test[0]
    _check_item(samples_store, data, views=("cam3",))
    _check_item(samples_store, exemplars[0], views=("cam1", "cam2"))


def test_class_filter_and_split_seed(samples_store):
    ds = FlexPairDataset(_args(samples_store, class_idx=1, protocol="cross_subject", split_seed=1), "train", None)
    assert {e.sample_id[:3] for e in ds.dataset} == {"S02"}
    assert {e.action for e in ds.dataset} == {"A01"}


def test_bad_options_and_inputs_raise_with_the_reason(samples_store, tmp_path):
    with pytest.raises(InputFileError, match=r"has seeds \[0, 1\]; set args\.split_seed"):
        FlexPairDataset(_args(samples_store, protocol="cross_subject"), "train", None)
    with pytest.raises(InputFileError, match="no split with seed 9"):
        FlexPairDataset(_args(samples_store, split_seed=9), "train", None)
    with pytest.raises(ValueError, match=r"args\.mode must be one of"):
        FlexPairDataset(_args(samples_store, mode="turbo"), "train", None)
    with pytest.raises(ValueError, match="subset must be one of"):
        FlexPairDataset(_args(samples_store), "val", None)
    with pytest.raises(InputFileError, match=r"view\(s\) cam4 not on this side"):
        FlexPairDataset(_args(samples_store, views=("cam1", "cam4")), "train", None)
    with pytest.raises(
        ValueError, match=r"class_idx must be 0 \(all actions\) or one of the classes .*\[1, 2\], got 3"
    ):
        FlexPairDataset(_args(samples_store, class_idx=3), "train", None)
    with pytest.raises(ValueError, match=r"args\.protocol must be one of"):
        FlexPairDataset(_args(samples_store, protocol="cross_day"), "train", None)
    with pytest.raises(MissingInputError, match="splits table missing"):
        FlexPairDataset(_args(samples_store, data_root=tmp_path), "train", None)
    ds = FlexPairDataset(_args(samples_store, frame_length=64), "train", None)
    with pytest.raises(InputFileError, match=r"frame_length is 103 but args\.frame_length is 64"):
        ds[0]


def test_protocols_are_the_split_protocols():
    assert LOADER_PROTOCOLS is PROTOCOLS


def test_split_naming_unknown_samples_is_refused(samples_store, tmp_path):
    import shutil

    root = tmp_path / "store"
    shutil.copytree(samples_store.root, root)
    store = Store(root)
    splits = pl.read_parquet(store.training_path("splits.parquet"))
    extra = splits.head(1).with_columns(pl.lit("S09_A01_T1_R01").alias("sample_id"))
    store.write_parquet(store.training_path("splits.parquet"), pl.concat([splits, extra]))
    with pytest.raises(InputFileError, match=r"1 split sample\(s\) not in the sample index.*S09_A01_T1_R01"):
        FlexPairDataset(_args(samples_store, data_root=root), "train", None)


def test_package_imports_and_works_without_torch(samples_store):
    code = (
        "import sys\n"
        "import polars  # polars probes for torch at import; probe before the block\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch' or name.startswith('torch.'):\n"
        "            raise ImportError('torch blocked for this test')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import types, flexsync.loaders as L\n"
        "assert 'torch' not in sys.modules\n"
        f"args = types.SimpleNamespace(data_root={str(samples_store.root)!r}, class_idx=0, score_range=100,\n"
        "    frame_length=103, voter_number=1, seed=0, mode='fast')\n"
        "ds = L.FlexPairDataset(args, 'train', None)\n"
        "assert L.FlexPairDataset.__mro__[1] is object\n"
        "print(len(ds), ds[0][0]['video'].shape)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "9 (103, 8, 12, 3)"
