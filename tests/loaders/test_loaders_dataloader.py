"""Both datasets through torch's DataLoader: 2 workers give exactly the items of 0 workers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is a dev extra: pip install torch")
from torch.utils.data import DataLoader  # noqa: E402

from flexsync.loaders import FlexPairDataset, MultimodalWindowDataset  # noqa: E402


def _pairs(ds, workers: int) -> list:
    loader = DataLoader(ds, batch_size=2, shuffle=False, num_workers=workers)
    out = []
    for data, target in loader:
        items = [target] if isinstance(target, dict) else target
        out.append(
            (
                list(data["sample_id"]),
                [list(t["sample_id"]) for t in items],
                data["video"].numpy().copy(),
                [t["video2"].numpy().copy() for t in items],
                data["final_score"].numpy().copy(),
            )
        )
    return out


def _assert_same(a: list, b: list) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x[0] == y[0] and x[1] == y[1]
        np.testing.assert_array_equal(x[2], y[2])
        for u, v in zip(x[3], y[3], strict=True):
            np.testing.assert_array_equal(u, v)
        np.testing.assert_array_equal(x[4], y[4])


@pytest.mark.parametrize("subset", ["train", "test"])
def test_pair_items_are_identical_with_two_workers(samples_store, subset):
    args = SimpleNamespace(
        data_root=samples_store.root,
        class_idx=0,
        score_range=100,
        frame_length=103,
        voter_number=2,
        seed=3,
        mode="fast",
    )
    ds = FlexPairDataset(args, subset, None)
    ds.set_epoch(4)
    serial = _pairs(ds, 0)
    parallel = _pairs(ds, 2)
    _assert_same(serial, parallel)
    expected = [ds.train_list[p].sample_id for i in range(len(ds)) for p in ds.exemplar_indices(i)]
    got = [sid for batch in parallel for k in range(len(batch[0])) for ids in batch[1] for sid in [ids[k]]]
    assert sorted(got) == sorted(expected)
    rerun = FlexPairDataset(args, subset, None)
    rerun.set_epoch(4)
    _assert_same(serial, _pairs(rerun, 2))


def test_window_items_are_identical_with_two_workers(samples_store):
    ds = MultimodalWindowDataset(samples_store.root, source="samples", window_frames=50, stride_frames=30)
    batches = {}
    for workers in (0, 2):
        loader = DataLoader(ds, batch_size=3, shuffle=False, num_workers=workers)
        batches[workers] = [{k: v.numpy() if hasattr(v, "numpy") else v for k, v in b.items()} for b in loader]
    assert len(batches[0]) == len(batches[2]) == -(-len(ds) // 3)
    for a, b in zip(batches[0], batches[2], strict=True):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    assert batches[0][0]["video_cam1"].shape == (3, 50, 8, 12, 3)
