"""``FlexPairDataset(mode="flex")`` gives FLEX's items, checked against FLEX's items computed from the export.

The reference is :class:`flexsync.exports.FlexExport` (our independent reader, which computes each
item from the exported JPEG, CSV and MAT files the way FLEX's ``SevenPair_Dataset`` does). The
store is the flex-mini preset (all 20 classes, 3 subjects, 1 repetition) exported for every split
protocol. Frames differ only by the export's JPEG coding; skeleton and EMG by the CSVs' decimals.
"""

from __future__ import annotations

from itertools import combinations
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is a dev extra: pip install torch")
from torch.utils.data import DataLoader  # noqa: E402

from flexsync.errors import InputFileError  # noqa: E402
from flexsync.exports import FlexExport, flex_score_ranges  # noqa: E402
from flexsync.loaders import FlexPairDataset, pad_collate  # noqa: E402
from flexsync.splits import PROTOCOLS  # noqa: E402

FLEX_KEYS = {"video", "video2", "Skeleton", "EMG", "final_score"}
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)[:, None, None, None]
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)[:, None, None, None]
VIDEO_MEAN_ABS = 0.03  # normalised units (1 grey level = 0.017): the export's JPEG coding, q95, tiny frames
VIDEO_MAX_ABS = 0.35
SKELETON_ATOL = 1e-4  # spine lengths (values up to ~5); the CSV keeps micrometres
EMG_ATOL = 2e-6  # shares; the CSV keeps 4 decimals of uV


def flex_like_transform(frames):
    """What FLEX's test transform ends with: (3, T, H, W) float32, /255, ImageNet mean and std (no resize here)."""
    clip = np.stack([np.asarray(f, dtype=np.float32) for f in frames]).transpose(3, 0, 1, 2) / 255.0
    return torch.from_numpy((clip - MEAN) / STD)


def _args(root, **overrides) -> SimpleNamespace:
    base = {"data_root": root, "class_idx": 0, "score_range": 100, "frame_length": 103, "voter_number": 2,
            "seed": 0, "mode": "flex"}  # fmt: skip
    return SimpleNamespace(**{**base, **overrides})


def _assert_item_matches(ours: dict, flex: dict) -> dict[str, float]:
    assert set(ours) == FLEX_KEYS == set(flex)
    assert isinstance(ours["Skeleton"], torch.Tensor) and ours["Skeleton"].dtype == torch.float32
    assert tuple(ours["Skeleton"].shape) == flex["Skeleton"].shape == (3, 103, 25, 1)
    assert isinstance(ours["EMG"], torch.Tensor) and ours["EMG"].dtype == torch.float32
    assert tuple(ours["EMG"].shape) == flex["EMG"].shape == (1, 2)
    assert isinstance(ours["final_score"], float)
    assert ours["final_score"] == pytest.approx(flex["final_score"], abs=1e-9)
    assert 0.0 <= ours["final_score"] <= 100.0
    diffs = {}
    for key in ("video", "video2"):
        a, b = ours[key].numpy(), flex[key].numpy()
        assert a.shape == b.shape == (3, 103, 24, 32)
        diffs[key] = float(np.abs(a - b).max())
        assert np.abs(a - b).mean() < VIDEO_MEAN_ABS and diffs[key] < VIDEO_MAX_ABS, key
    np.testing.assert_allclose(ours["Skeleton"].numpy(), flex["Skeleton"], rtol=0, atol=SKELETON_ATOL)
    np.testing.assert_allclose(ours["EMG"].numpy(), flex["EMG"], rtol=0, atol=EMG_ATOL)
    np.testing.assert_allclose(ours["EMG"].numpy().sum(), 1.0, atol=1e-6)
    return diffs


def test_every_class_is_trainable_and_every_label_in_range_in_every_protocol(flex_mini) -> None:
    assert set(flex_mini.exports) == set(PROTOCOLS)
    ranges = flex_score_ranges()
    for protocol, result in flex_mini.exports.items():
        flex = FlexExport(result.out)
        assert result.trainable_classes == tuple(range(1, 21)), protocol
        classes = flex.classes()
        assert [c["class_idx"] for c in classes] == list(range(1, 21))
        assert all(c["trainable"] and c["n_train"] >= 2 and c["n_test"] >= 1 for c in classes), protocol
        info = flex.export_info()
        assert (info["protocol"], info["seed"], info["trainable_classes"]) == (protocol, 0, list(range(1, 21)))
        assert flex.score_problems().height == 0
        assert flex.missing_files() == []
        for subset in ("train", "test"):
            for class_f, _, score in flex.rows(subset):
                lo, hi = ranges[int(class_f)]
                assert 0.0 <= (score - lo) / (hi - lo) * 100 <= 100.0, (protocol, subset, class_f, score)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("subset", ["train", "test"])
def test_flex_mode_items_match_flex_items_from_the_export(flex_mini, protocol, subset) -> None:
    result = flex_mini.exports[protocol]
    flex = FlexExport(result.out)
    ds = FlexPairDataset(_args(flex_mini.root, protocol=protocol), subset, flex_like_transform)
    rows, train_rows = flex.rows(subset), flex.rows("train")
    # same lists in the same order: (class, folder index, raw score)
    offset = result.index_offset if subset == "test" else None
    assert [(e.class_idx, e.action_sample_index + (offset or 0), e.expert_score) for e in ds.dataset] == [
        (int(c), int(i), s) for c, i, s in rows
    ]
    assert [(e.class_idx, e.action_sample_index) for e in ds.train_list] == [(int(c), int(i)) for c, i, _ in train_rows]
    assert len(ds) == len(rows)
    for position in range(0, len(ds), 7):
        picks = ds.exemplar_indices(position)
        data, target = ds[position]
        expected_data, expected_target = flex.flex_getitem(subset, position, picks, flex_like_transform)
        _assert_item_matches(data, expected_data)
        if subset == "train":
            assert isinstance(target, dict)
            _assert_item_matches(target, expected_target)
        else:
            n_class = sum(1 for e in ds.train_list if e.class_idx == ds.dataset[position].class_idx)
            assert isinstance(target, list) and len(target) == min(2, n_class) == len(expected_target)
            for ours, theirs in zip(target, expected_target, strict=True):
                _assert_item_matches(ours, theirs)


def test_delta_is_flexs_delta_with_flexs_ranges(flex_mini) -> None:
    flex = FlexExport(flex_mini.exports["vanilla"].out)
    ds = FlexPairDataset(_args(flex_mini.root), "train", None)
    ranges = flex_score_ranges()
    expected = []
    for class_idx in range(1, 21):
        rows = [r for r in flex.rows("train") if r[0] == class_idx]
        labels = [(s - ranges[class_idx][0]) / (ranges[class_idx][1] - ranges[class_idx][0]) * 100 for _, _, s in rows]
        expected += [abs(a - b) for a, b in combinations(labels, 2)]
    np.testing.assert_allclose(ds.delta(), expected, rtol=0, atol=1e-9)
    assert len(expected) == 20 and max(expected) <= 100.0  # 2 train samples per class: one pair each


def test_the_export_folder_works_as_data_root(flex_mini) -> None:
    export = flex_mini.exports["cross_view"].out
    ds = FlexPairDataset(_args(export, voter_number=3), "test", flex_like_transform)
    assert ds.protocol == "cross_view" and ds.store.root == flex_mini.root
    assert all(e.views == ("cam4", "phone") for e in ds.dataset)
    flex = FlexExport(export)
    assert len(ds) == len(flex.rows("test")) == 60
    data, exemplars = ds[5]
    picks = ds.exemplar_indices(5)
    assert len(exemplars) == 3  # FLEX: min(voter_number, train rows of the class), its own train copy included
    expected = flex.flex_getitem("test", 5, picks, flex_like_transform)
    _assert_item_matches(data, expected[0])


def test_flex_mode_refuses_scores_outside_the_consumer_ranges_and_native_options(flex_mini) -> None:
    narrow = {c: (lo + 30.0, hi) for c, (lo, hi) in flex_score_ranges().items()}
    with pytest.raises(
        InputFileError, match=r"sample\(s\) outside the consumer's score ranges: sample S\d\d_A\d\d_T1_R01"
    ):
        FlexPairDataset(_args(flex_mini.root, score_ranges=narrow), "train", None)
    wide = {c: (0.0, 200.0) for c in range(1, 21)}
    ds = FlexPairDataset(_args(flex_mini.root, score_ranges=wide), "train", None)
    entry = ds.dataset[0]
    assert ds._score(entry) == pytest.approx(entry.expert_score / 2)
    with pytest.raises(ValueError, match="applies to the native modes"):
        FlexPairDataset(_args(flex_mini.root, emg="clean"), "train", None)


def test_native_mode_keeps_masks_and_zero_fills_invalid_joints(flex_mini) -> None:
    ds = FlexPairDataset(_args(flex_mini.root, mode="fast"), "train", None)
    items = ((e, ds.load_item(e)) for e in ds.dataset)
    entry, item = next((e, i) for e, i in items if not i["Skeleton_valid"].all())  # the factory's gaps
    assert item["Skeleton"].shape == (103, 21, 3) and item["EMG"].shape == (103, 16)
    valid = item["Skeleton_valid"]
    assert not valid.all() and not item["Skeleton"][~valid].any()
    flex = FlexPairDataset(_args(flex_mini.root), "train", None).load_item(entry)
    assert torch.isfinite(flex["Skeleton"]).all()  # flex mode interpolates, as the export does


def _batches(ds, workers: int) -> list:
    loader = DataLoader(ds, batch_size=2, shuffle=False, num_workers=workers, collate_fn=pad_collate)
    return list(loader)


def _flat(value, prefix="") -> dict[str, np.ndarray]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}{key}.").items()}
    if isinstance(value, list | tuple):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}{i}.").items()}
    return {prefix: value.numpy() if isinstance(value, torch.Tensor) else np.asarray(value)}


@pytest.mark.parametrize(
    ("mode", "emg", "subset"),
    [
        ("compat", "envelope", "train"),
        ("compat", "clean", "test"),
        ("fast", "clean", "train"),
        ("fast", "envelope", "test"),
        ("flex", None, "train"),
        ("flex", None, "test"),
    ],
)
def test_batches_of_two_with_two_workers_in_every_mode(flex_mini, mode, emg, subset) -> None:
    transform = flex_like_transform if mode != "fast" else None
    args = _args(flex_mini.root, mode=mode, class_idx=0, **({"emg": emg} if emg else {}))
    ds = FlexPairDataset(args, subset, transform)
    ds.dataset = ds.dataset[:6]  # three batches are enough to see the workers agree
    serial, parallel = _batches(ds, 0), _batches(ds, 2)
    assert len(serial) == len(parallel) == 3
    for a, b in zip(serial, parallel, strict=True):
        flat_a, flat_b = _flat(a), _flat(b)
        assert flat_a.keys() == flat_b.keys()
        for key in flat_a:
            np.testing.assert_array_equal(flat_a[key], flat_b[key], err_msg=key)
    data, target = serial[0]
    if mode == "flex":
        assert set(data) == FLEX_KEYS
        assert tuple(data["Skeleton"].shape) == (2, 3, 103, 25, 1) and tuple(data["EMG"].shape) == (2, 1, 2)
        assert data["final_score"].dtype == torch.float64 and data["video"].shape == (2, 3, 103, 24, 32)
    elif emg == "clean":
        lengths = [ds.load_item(e)["EMG"].shape[0] for e in ds.dataset[:2]]
        assert lengths[0] != lengths[1]  # the reason for the padding
        assert tuple(data["EMG"].shape) == (2, max(lengths), 16)
        np.testing.assert_array_equal(data["EMG_mask"].sum(dim=1).numpy(), lengths)
        assert not data["EMG"][~data["EMG_mask"]].any()
    else:
        assert tuple(data["EMG"].shape) == (2, 103, 16) and "EMG_mask" not in data
    exemplars = [target] if subset == "train" else target
    assert all(isinstance(t, dict) and len(t["sample_id" if mode != "flex" else "final_score"]) == 2 for t in exemplars)


def test_pad_collate_pads_only_ragged_arrays() -> None:
    batch = [
        ({"a": np.ones((3, 2), np.float32), "b": np.zeros(4), "s": "x", "n": 1.5}, [{"c": np.arange(2)}]),
        ({"a": np.ones((5, 2), np.float32), "b": np.ones(4), "s": "y", "n": 2.5}, [{"c": np.arange(3)}]),
    ]
    data, targets = pad_collate(batch)
    assert tuple(data["a"].shape) == (2, 5, 2) and data["a_mask"].tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    assert tuple(data["b"].shape) == (2, 4) and "b_mask" not in data
    assert data["s"] == ["x", "y"] and data["n"].tolist() == [1.5, 2.5]
    assert targets[0]["c"].tolist() == [[0, 1, 0], [0, 1, 2]] and targets[0]["c_mask"].sum().item() == 5
    with pytest.raises(ValueError, match="differ beyond their first axis"):
        pad_collate([{"a": np.ones((3, 2))}, {"a": np.ones((3, 4))}])
