"""Resampling onto a reference grid: nearest frame, pose interpolation, polyphase EMG, physio."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.timing import (
    ClockModel,
    ClockSegmentFit,
    emg_onto_grid,
    hold_or_interpolate,
    identity_model,
    interpolate_pose,
    make_grid,
    nearest_frame,
    resample_polyphase,
)


def model(offset: float, drift: float) -> ClockModel:
    seg = ClockSegmentFit(-np.inf, np.inf, offset, drift, 2, (0.0, 0.0))
    return ClockModel("emg", "mocap", "events", (seg,), 1.0)


def tone(t: np.ndarray, f_hz: float, amp: float = 1.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * f_hz * t)


def amplitude_at(x: np.ndarray, t: np.ndarray, f_hz: float) -> float:
    """Amplitude of the f_hz component by least-squares projection on sin/cos."""
    basis = np.column_stack([np.sin(2 * np.pi * f_hz * t), np.cos(2 * np.pi * f_hz * t), np.ones_like(t)])
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    return float(np.hypot(coef[0], coef[1]))


def test_make_grid_is_exact_and_aligned() -> None:
    g = make_grid(0.1, 0.5, 10.0)
    np.testing.assert_array_equal(g, np.arange(1, 6) / 10.0)
    g = make_grid(0.1234, 1.0, 100.0)
    assert g[0] == 13 / 100.0 and g[-1] == 1.0 and g.size == 88
    np.testing.assert_array_equal(g, np.arange(13, 101) / 100.0)
    assert make_grid(-0.015, 0.0, 100.0).tolist() == [-0.01, 0.0]
    assert make_grid(2.0, 1.0, 30.0).size == 0
    with pytest.raises(ValueError, match="rate_hz must be a positive number"):
        make_grid(0.0, 1.0, 0.0)


@pytest.mark.parametrize(("offset", "drift"), [(0.3127, 4e-5), (-1.05, -3e-5)])
def test_nearest_frame_with_drops(offset: float, drift: float) -> None:
    pts = np.delete(np.arange(600) / 60.0, [100, 101, 102, 400])
    frame_ref = offset + (1 + drift) * pts
    grid = make_grid(frame_ref[0] - 0.05, frame_ref[-1] + 0.05, 100.0)
    idx, valid = nearest_frame(frame_ref, grid, max_distance_s=0.5 / 60)
    dist = np.abs(grid[:, None] - frame_ref[None, :])
    brute = np.argmin(dist, axis=1)
    brute_valid = dist.min(axis=1) <= 0.5 / 60
    np.testing.assert_array_equal(valid, brute_valid)
    np.testing.assert_array_equal(idx[valid], brute[valid])
    assert np.all(idx[~valid] == -1) and idx.dtype == np.int32
    # Inside the 4-frame hole (3 dropped) some grid points have no frame within half an interval.
    hole = (grid > frame_ref[99] + 0.5 / 60) & (grid < frame_ref[100] - 0.5 / 60)
    assert hole.sum() >= 3 and not valid[hole].any()
    assert not valid[grid < frame_ref[0] - 0.5 / 60].any()


def test_nearest_frame_unsorted_and_nan() -> None:
    ft = np.array([0.3, 0.1, np.nan, 0.2])
    idx, valid = nearest_frame(ft, np.array([0.09, 0.21, 0.5]), max_distance_s=0.05)
    assert idx.tolist() == [1, 3, -1] and valid.tolist() == [True, True, False]


def test_interpolate_pose_linear_exact_and_gaps() -> None:
    rng = np.random.default_rng(0)
    rate = 150.0
    t = 0.37 + np.arange(600) / rate
    a, b = rng.normal(size=(1, 21, 3)), rng.normal(size=(1, 21, 3))
    joints = a + b * t[:, None, None]
    valid = np.ones((600, 21), dtype=bool)
    valid[200:260, 4] = False  # 0.4 s occlusion of one joint
    joints[200:260, 4] = 1e6  # garbage under the mask must not leak
    joints[300, 7] = np.nan  # one missing sample: a 13 ms gap, still interpolated
    grid = make_grid(0.3, 4.5, 100.0)
    out, mask = interpolate_pose(t, joints, valid, grid, max_gap_s=0.1)
    assert out.shape == (grid.size, 21, 3) and out.dtype == np.float32 and mask.shape == (grid.size, 21)
    want = a + b * grid[:, None, None]
    inside = (grid >= t[0]) & (grid <= t[-1])
    gap = (grid > t[199]) & (grid < t[260])
    expect_mask = np.repeat(inside[:, None], 21, axis=1)
    expect_mask[gap, 4] = False
    np.testing.assert_array_equal(mask, expect_mask)
    np.testing.assert_allclose(out[mask], want[mask], rtol=1e-5, atol=1e-5)
    assert np.isnan(out[~mask]).all()


def test_interpolate_pose_matches_per_channel_interp() -> None:
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 2, 300))
    joints = rng.normal(size=(300, 21, 3))
    grid = make_grid(t[0], t[-1], 60.0)
    out, mask = interpolate_pose(t, joints, None, grid, max_gap_s=1.0)
    assert mask.all()
    ref = np.stack([[np.interp(grid, t, joints[:, j, d]) for d in range(3)] for j in range(21)]).transpose(2, 0, 1)
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


def test_polyphase_keeps_passband_and_removes_alias() -> None:
    rate_in, rate_out = 2000.0, 500.0
    t = np.arange(int(4 * rate_in)) / rate_in
    x = np.column_stack([tone(t, 50.0), tone(t, 400.0)])  # 400 Hz is above the new Nyquist (250 Hz)
    y, actual = resample_polyphase(x, rate_in, rate_out)
    assert actual == 500.0 and y.shape == (2000, 2) and y.dtype == np.float32
    ty = np.arange(y.shape[0]) / actual
    core = slice(200, -200)
    assert amplitude_at(y[core, 0], ty[core], 50.0) == pytest.approx(1.0, abs=0.005)
    assert np.sqrt(np.mean(y[core, 1].astype(float) ** 2)) < 0.01  # > 40 dB below the 0.707 RMS input


def test_polyphase_rational_approximation() -> None:
    x = np.zeros((3000, 1))
    _, actual = resample_polyphase(x, 2000.0, 2000.0 * 7 / 9)
    assert actual == pytest.approx(2000.0 * 7 / 9, rel=1e-12)
    _, actual = resample_polyphase(x, 2000.0, 2000.0 * np.pi / 10, max_denominator=100)
    assert actual != 2000.0 * np.pi / 10 and actual == pytest.approx(2000.0 * np.pi / 10, rel=1e-3)


@pytest.mark.parametrize(("offset", "drift"), [(0.3127, 4e-5), (-0.8001, -2.5e-5)])
@pytest.mark.parametrize("grid_rate", [2000.0, 1000.0])
def test_emg_onto_grid_follows_the_clock(offset: float, drift: float, grid_rate: float) -> None:
    rate = 2000.0
    t_dev = np.arange(int(20 * rate)) / rate
    x = np.column_stack([tone(t_dev, 50.0, 100.0), tone(t_dev, 13.0, 30.0)])
    clock = model(offset, drift)
    grid = make_grid(offset - 0.5, offset + 21.0, grid_rate)
    out, mask = emg_onto_grid(x, rate, clock, grid)
    t_back = (grid - offset) / (1 + drift)  # device time of each grid point
    last_dev = (np.ceil(t_dev.size * grid_rate / rate) - 1) / grid_rate  # last resampled sample
    np.testing.assert_array_equal(mask, (t_back >= 0) & (t_back <= last_dev))
    want = np.column_stack([tone(t_back, 50.0, 100.0), tone(t_back, 13.0, 30.0)])
    core = mask & (t_back > 0.1) & (t_back < t_dev[-1] - 0.1)
    # Drift over 20 s slides the samples by 0.8 ms (1.6 samples): ignoring it would err by ~25%.
    np.testing.assert_allclose(out[core], want[core], rtol=0, atol=1.0)
    assert np.isnan(out[~mask]).all()


def test_emg_onto_grid_masks_bad_samples() -> None:
    rate = 2000.0
    x = tone(np.arange(8000) / rate, 50.0)[:, None].copy()
    x[4000] = np.nan
    grid = make_grid(0.0, 4.0, 1000.0)
    out, mask = emg_onto_grid(x, rate, identity_model("emg"), grid)
    assert not mask[np.abs(grid - 2.0) < 0.005].any()
    assert mask[np.abs(grid - 1.0) < 0.1].all() and np.isfinite(out[mask]).all()


def test_hold_vs_linear() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0, 10.0, 11.0])
    v = np.column_stack([t * 2.0, np.array([60, 61, np.nan, 63, 70, 71], float)])
    grid = np.array([-0.5, 0.5, 2.5, 5.0, 10.5, 11.0, 12.5])
    lin, mlin = hold_or_interpolate(t, v, grid, mode="linear", max_gap_s=5.0)
    hold, mhold = hold_or_interpolate(t, v, grid, mode="hold", max_gap_s=5.0)
    # Channel 0: linear exact inside; the 7 s gap 3 -> 10 is longer than max_gap_s.
    assert mlin[:, 0].tolist() == [False, True, True, False, True, True, False]
    np.testing.assert_allclose(lin[mlin[:, 0], 0], 2 * grid[mlin[:, 0]])
    # Channel 1: the NaN sample is skipped (61 -> 63 over 2 s).
    assert lin[2, 1] == pytest.approx(62.5)
    # Hold: last value, valid up to max_gap_s after it; nothing before the first sample.
    assert mhold[:, 0].tolist() == [False, True, True, True, True, True, True]
    np.testing.assert_array_equal(hold[mhold[:, 0], 0], [0.0, 4.0, 6.0, 20.0, 22.0, 22.0])
    assert hold[2, 1] == 61.0  # the NaN at t = 2 is not held
    assert np.isnan(hold[0]).all() and lin.dtype == np.float32
    with pytest.raises(ValueError, match="mode must be 'linear' or 'hold'"):
        hold_or_interpolate(t, v, grid, mode="cubic")  # type: ignore[arg-type]
