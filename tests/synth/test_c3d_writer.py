"""Mocap C3D writing: occlusion gaps, round trip through ezc3d and the c3d package, sync channel."""

from __future__ import annotations

import c3d
import ezc3d
import numpy as np
import pytest

from flexsync.skeleton import JOINT_NAMES, N_JOINTS, joint_index
from flexsync.synth.c3d_writer import EXTREMITY_JOINTS, occlusion_mask, sync_analog, write_c3d
from flexsync.synth.clocks import DeviceClock, regular_device_times
from flexsync.synth.emg_synth import trigger_signal

POINT_HZ = 150.0
ANALOG_HZ = 1500.0
CLOCK = DeviceClock.simple(0.12, 3e-6)


def _gap_starts(valid: np.ndarray) -> np.ndarray:
    """Number of gaps (runs of False) per joint."""
    padded = np.vstack([np.ones((1, valid.shape[1]), bool), valid])
    return np.count_nonzero(padded[:-1] & ~padded[1:], axis=0)


def test_occlusion_mask_rate_lengths_and_extremities():
    rate = 100.0
    n_frames = int(60 * 60 * rate)  # one hour, so the per-joint counts are well determined
    valid = occlusion_mask(
        np.random.default_rng(0),
        n_frames=n_frames,
        n_joints=N_JOINTS,
        rate_hz=rate,
        gaps_per_minute=30.0,
        gap_s=(0.05, 0.5),
    )
    assert valid.shape == (n_frames, N_JOINTS) and valid.dtype == bool
    gaps = _gap_starts(valid)
    extremities = [joint_index(n) for n in EXTREMITY_JOINTS]
    others = [j for j in range(N_JOINTS) if j not in extremities]
    # Expected 30/min x 60 min = 1800 gaps (a few merge when they overlap).
    assert 1650 <= gaps.sum() <= 1850
    assert gaps[extremities].mean() / gaps[others].mean() == pytest.approx(3.0, rel=0.2)
    # Mean gap length ~ (0.05 + 0.5) / 2 s = 27.5 frames: occluded share ~ 1800 x 27.5 / (n_frames x 21).
    assert (~valid).mean() == pytest.approx(1800 * 27.5 / (n_frames * N_JOINTS), rel=0.1)
    again = occlusion_mask(
        np.random.default_rng(0),
        n_frames=n_frames,
        n_joints=N_JOINTS,
        rate_hz=rate,
        gaps_per_minute=30.0,
        gap_s=(0.05, 0.5),
    )
    np.testing.assert_array_equal(valid, again)


def _points(n_frames: int) -> np.ndarray:
    t = np.arange(n_frames) / POINT_HZ
    base = np.random.default_rng(3).uniform(-0.8, 1.8, size=(1, N_JOINTS, 3))
    return base + 0.3 * np.sin(2 * np.pi * 0.5 * t)[:, None, None] * np.array([0.2, 0.5, 1.0])


def _write(path, n_frames=600, n_analog_channels=1):
    points = _points(n_frames)
    valid = np.ones((n_frames, N_JOINTS), bool)
    valid[100:130, joint_index("r_hand")] = False
    valid[0:5, joint_index("l_toe")] = False
    times = np.arange(n_frames * 10) / ANALOG_HZ
    sync = sync_analog(times, CLOCK, [(1.5, 1.6)], rate_hz=ANALOG_HZ)
    analog = np.column_stack([sync] + [np.full_like(sync, 0.25 * k) for k in range(1, n_analog_channels)])
    labels = ["SYNC"] + [f"AUX{k}" for k in range(1, n_analog_channels)]
    write_c3d(
        path,
        points_m=points,
        valid=valid,
        labels=list(JOINT_NAMES),
        point_rate_hz=POINT_HZ,
        analog=analog.astype(np.float32),
        analog_labels=labels,
        analog_rate_hz=ANALOG_HZ,
    )
    return points, valid, analog


def test_write_c3d_round_trip_ezc3d(tmp_path):
    path = tmp_path / "mocap.c3d"
    points, valid, analog = _write(path)
    c = ezc3d.c3d(str(path))
    params = c["parameters"]
    assert params["POINT"]["LABELS"]["value"] == list(JOINT_NAMES)
    assert params["POINT"]["RATE"]["value"][0] == POINT_HZ
    assert params["POINT"]["UNITS"]["value"] == ["mm"]
    assert params["ANALOG"]["RATE"]["value"][0] == ANALOG_HZ
    assert params["ANALOG"]["LABELS"]["value"] == ["SYNC"] and params["ANALOG"]["UNITS"]["value"] == ["V"]
    xyz = c["data"]["points"][:3].transpose(2, 1, 0) / 1000.0  # (N, J, 3) metres
    residuals = c["data"]["meta_points"]["residuals"][0].T
    assert xyz.shape == points.shape
    np.testing.assert_array_equal(np.isnan(xyz).any(axis=2), ~valid)
    np.testing.assert_array_equal(residuals < 0, ~valid)
    assert np.all(residuals[~valid] == -1)
    np.testing.assert_allclose(xyz[valid], points[valid], rtol=2**-23, atol=1e-9)  # float32 millimetres
    np.testing.assert_allclose(c["data"]["analogs"][0, 0], analog[:, 0].astype(np.float32), rtol=0, atol=0)


def test_write_c3d_read_by_c3d_package(tmp_path):
    # c3d 0.6 cannot read a one-element ANALOG:OFFSET written as a scalar, so use two channels here.
    path = tmp_path / "mocap.c3d"
    points, valid, analog = _write(path, n_analog_channels=2)
    with path.open("rb") as handle:
        reader = c3d.Reader(handle)
        assert reader.point_rate == POINT_HZ and reader.analog_rate == ANALOG_HZ
        assert [s.strip() for s in reader.point_labels] == list(JOINT_NAMES)
        assert [s.strip() for s in reader.analog_labels] == ["SYNC", "AUX1"]
        frames = list(reader.read_frames())
    xyz = np.stack([f[1][:, :3] for f in frames]) / 1000.0
    residual = np.stack([f[1][:, 3] for f in frames])
    sync = np.concatenate([f[2][0] for f in frames])
    assert len(frames) == len(points)
    np.testing.assert_array_equal(residual < 0, ~valid)
    np.testing.assert_allclose(xyz[valid], points[valid], rtol=2**-23, atol=1e-9)
    np.testing.assert_allclose(sync, analog[:, 0], atol=1e-6)


def test_write_c3d_deterministic_and_atomic(tmp_path):
    _write(tmp_path / "a.c3d")
    _write(tmp_path / "b.c3d")
    assert (tmp_path / "a.c3d").read_bytes() == (tmp_path / "b.c3d").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.c3d", "b.c3d"]


def test_write_c3d_rejects_non_integer_analog_ratio(tmp_path):
    points = _points(30)
    with pytest.raises(ValueError, match=r"analog rate 1000\.0 Hz must be an integer multiple of the point rate 150"):
        write_c3d(
            tmp_path / "x.c3d",
            points_m=points,
            valid=np.ones((30, N_JOINTS), bool),
            labels=list(JOINT_NAMES),
            point_rate_hz=POINT_HZ,
            analog=np.zeros((200, 1)),
            analog_labels=["SYNC"],
            analog_rate_hz=1000.0,
        )
    with pytest.raises(ValueError, match=r"analog has 200 samples, expected 30 frames x 10 = 300"):
        write_c3d(
            tmp_path / "x.c3d",
            points_m=points,
            valid=np.ones((30, N_JOINTS), bool),
            labels=list(JOINT_NAMES),
            point_rate_hz=POINT_HZ,
            analog=np.zeros((200, 1)),
            analog_labels=["SYNC"],
            analog_rate_hz=1500.0,
        )
    assert list(tmp_path.iterdir()) == []


def test_sync_analog_is_the_trigger_model():
    times = regular_device_times(CLOCK, rate_hz=ANALOG_HZ, true_end_s=3.0)
    sync = sync_analog(times, CLOCK, [(1.5, 1.6)], rate_hz=ANALOG_HZ)
    np.testing.assert_array_equal(sync, trigger_signal(times, CLOCK, [(1.5, 1.6)], rate_hz=ANALOG_HZ))
    j = int(np.argmax(sync >= 2.5))
    crossing = times[j - 1] + (2.5 - sync[j - 1]) / (sync[j] - sync[j - 1]) / ANALOG_HZ
    assert CLOCK.to_true(crossing) == pytest.approx(1.5, abs=1e-9)
