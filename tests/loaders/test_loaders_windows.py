"""MultimodalWindowDataset over the published grid and over samples: values, masks, padding."""

from __future__ import annotations

import numpy as np
import pytest
from loaders_factory import write_grid_recording

from flexsync.errors import InputFileError
from flexsync.loaders import MultimodalWindowDataset


@pytest.fixture(scope="module")
def grid_store(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    full = write_grid_recording(root, "S01_A01_T1", views=("cam1", "cam2"))
    no_emg = write_grid_recording(root, "S02_A01_T1", views=("cam1",), with_emg=False, seed=4)
    return root, {full.key: full, no_emg.key: no_emg}


def test_recording_windows_take_the_nearest_grid_row(grid_store):
    root, truths = grid_store
    ds = MultimodalWindowDataset(root, window_s=0.5, stride_s=0.25, keys=["S01_A01_T1"])
    truth = truths["S01_A01_T1"].arrays
    grid_t = truth["grid/t"]
    assert len(grid_t) == 61
    # 15 instants per window, stride round(7.5) = 8: starts 0..40 whole, then 48 padded
    assert [w.start for w in ds.windows] == [0, 8, 16, 24, 32, 40, 48]
    for index in (0, 6):
        item = ds[index]
        start = ds.windows[index].start
        expected_t = grid_t[0] + (start + np.arange(15)) / 30.0
        np.testing.assert_allclose(item["t"], expected_t, rtol=0, atol=1e-12)
        inside = start + np.arange(15) < 61
        np.testing.assert_array_equal(item["t_valid"], inside)
        rows = (start + np.arange(15))[inside]
        for v, view in enumerate(("cam1", "cam2")):
            frame_index = truth["grid/video_frame_index"][rows, v]
            ok = frame_index >= 0
            np.testing.assert_array_equal(item[f"video_{view}_valid"][inside], ok)
            np.testing.assert_array_equal(item[f"video_{view}"][inside][ok], truth[f"frames/{view}"][frame_index[ok]])
            assert not item[f"video_{view}"][~item[f"video_{view}_valid"]].any()
        pose_valid = truth["grid/pose_valid"][rows]
        np.testing.assert_array_equal(item["pose_valid"][inside], pose_valid)
        np.testing.assert_array_equal(item["pose"][inside][pose_valid], truth["grid/pose"][rows][pose_valid])
        np.testing.assert_array_equal(item["emg_envelope_valid"][inside], truth["grid/emg_valid"][rows])
        assert not item["pose_valid"][~inside].any() and not item["emg_envelope_valid"][~inside].any()
    assert not ds[0]["video_cam1_valid"][5:8].any()  # the dropped-frame gap of the factory


def test_lower_rate_picks_every_other_grid_row(grid_store):
    root, truths = grid_store
    ds = MultimodalWindowDataset(root, window_frames=10, rate_hz=15.0, keys=["S01_A01_T1"], streams=("physio",))
    item = ds[1]
    rows = 2 * (10 + np.arange(10))
    np.testing.assert_array_equal(item["physio"], truths["S01_A01_T1"].arrays["grid/physio"][rows])
    assert set(item) == {"key", "window_index", "start", "t", "t_valid", "physio", "physio_valid"}


def test_missing_view_and_stream_come_back_masked(grid_store):
    root, _ = grid_store
    ds = MultimodalWindowDataset(root, window_s=1.0, drop_last=True)
    assert ds.views == ["cam1", "cam2"]
    items = [ds[i] for i in range(len(ds)) if ds.windows[i].key == "S02_A01_T1"]
    assert len(items) == 2
    for item in items:
        assert item["video_cam2"].shape == (30, 6, 10, 3) and not item["video_cam2"].any()
        assert not item["video_cam2_valid"].any()
        assert item["emg_envelope"].shape == (30, 16) and not item["emg_envelope_valid"].any()
        assert item["video_cam1_valid"].sum() >= 27


def test_sample_windows_pad_the_tail(samples_store):
    ds = MultimodalWindowDataset(samples_store.root, source="samples", window_frames=40, views=("cam2",))
    n_samples = len(samples_store.rows)
    assert len(ds) == 3 * n_samples
    item = ds[2]  # third window of the first sample: instants 80..119, 23 real
    row = samples_store.row(item["sample_id"])
    truth = samples_store.arrays[row["recording"]]
    r = row["row"]
    np.testing.assert_array_equal(item["t_valid"], np.arange(80, 120) < 103)
    np.testing.assert_array_equal(item["t"][:23], truth["t"][r, 80:])
    step = truth["t"][r, 1] - truth["t"][r, 0]
    assert item["t"][-1] == pytest.approx(truth["t"][r, -1] + 17 * step, abs=1e-9)
    np.testing.assert_array_equal(item["video_cam2"][:23], truth["video/cam2"][r, 80:])
    assert not item["video_cam2"][23:].any()
    np.testing.assert_array_equal(item["video_cam2_valid"][:23], truth["video_valid"][r, 1, 80:])
    assert not item["video_cam2_valid"][22]  # the factory marks the last instant invalid
    np.testing.assert_array_equal(item["emg_envelope"][:23], truth["emg_envelope"][r, 80:])


def test_bad_window_options_are_refused(samples_store, grid_store):
    root, _ = grid_store
    with pytest.raises(ValueError, match="exactly one of window_s and window_frames"):
        MultimodalWindowDataset(root, window_s=1.0, window_frames=3)
    with pytest.raises(ValueError, match="use window_frames and stride_frames"):
        MultimodalWindowDataset(samples_store.root, source="samples", window_s=1.0)
    with pytest.raises(ValueError, match="streams must be a non-empty subset"):
        MultimodalWindowDataset(root, window_frames=3, streams=("audio",))
    with pytest.raises(InputFileError, match="view 'cam4' is in no indexed recordings group"):
        MultimodalWindowDataset(root, window_frames=3, views=("cam4",))
