"""Device clocks: exact inverses, realistic random clocks, sample and frame times, exposure overlap."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.synth.clocks import (
    CLOCK_KINDS,
    ClockSegment,
    DeviceClock,
    camera_frame_times,
    exposure_overlap,
    file_time_clock,
    jittered_device_times,
    random_clock,
    regular_device_times,
    vfr_frame_times,
)


def _reset_clock() -> DeviceClock:
    """Offset 0.4 s, +30 ppm; at device 10 s (true 10.4003 s) the count jumps forward by 2.5 s."""
    first = ClockSegment(0.0, 0.4, 30e-6)
    true_at_reset = float(first.to_true(np.float64(10.0)))
    jumped = 12.5
    return DeviceClock((first, ClockSegment(jumped, true_at_reset - (1 + 30e-6) * jumped, 30e-6)))


@pytest.mark.parametrize("clock", [DeviceClock.simple(0.73, -47e-6), _reset_clock()], ids=["simple", "reset"])
def test_to_device_inverts_to_true(clock):
    rng = np.random.default_rng(0)
    t_dev = np.sort(rng.uniform(0.0, 600.0, 10_000))
    if len(clock.segments) > 1:  # device times inside the jump belong to no sample
        t_dev = t_dev[(t_dev < 10.0) | (t_dev >= 12.5)]
    np.testing.assert_allclose(clock.to_device(clock.to_true(t_dev)), t_dev, rtol=0, atol=1e-12)
    t_true = rng.uniform(0.0, 600.0, 1000)
    np.testing.assert_allclose(clock.to_true(clock.to_device(t_true)), t_true, rtol=0, atol=1e-12)


def test_to_true_follows_the_segment_model():
    clock = _reset_clock()
    assert clock.to_true(np.array([5.0]))[0] == pytest.approx(0.4 + (1 + 30e-6) * 5.0, abs=1e-13)
    # True time runs on across the reset: device 12.5 s is the true instant of device 10 s before it.
    assert clock.to_true(np.array([12.5]))[0] == pytest.approx(0.4 + (1 + 30e-6) * 10.0, abs=1e-12)
    assert clock.to_true(np.float64(0.0)).shape == ()


def test_clock_rejects_backward_segments():
    with pytest.raises(ValueError, match="device time must jump forward"):
        DeviceClock((ClockSegment(0.0, 0.0, 0.0), ClockSegment(0.0, 5.0, 0.0)))
    with pytest.raises(ValueError, match="at least one"):
        DeviceClock(())


@pytest.mark.parametrize("kind", sorted(CLOCK_KINDS))
def test_random_clock_drift_and_offset_ranges(kind):
    rng = np.random.default_rng(1)
    low, high = CLOCK_KINDS[kind]
    clocks = [random_clock(kind, rng, max_offset_s=0.8) for _ in range(200)]
    drift_ppm = np.array([abs(c.segments[0].drift) * 1e6 for c in clocks])
    offsets = np.array([c.segments[0].offset_s for c in clocks])
    assert drift_ppm.min() >= low and drift_ppm.max() <= high
    assert drift_ppm.max() > low + 0.8 * (high - low)  # the range is used, not a constant
    assert offsets.min() >= 0.0 and offsets.max() <= 0.8
    signs = {np.sign(c.segments[0].drift) for c in clocks}
    assert signs == {-1.0, 1.0}


def test_random_clock_is_seeded_and_rejects_unknown_kind():
    a = random_clock("emg", np.random.default_rng(5), n_resets=2)
    b = random_clock("emg", np.random.default_rng(5), n_resets=2)
    assert a == b
    with pytest.raises(ValueError, match="unknown clock kind 'lidar'"):
        random_clock("lidar", np.random.default_rng(0))


def test_random_clock_resets_jump_forward_with_continuous_true_time():
    clock = random_clock("phone", np.random.default_rng(2), n_resets=2, duration_s=40.0, reset_jump_s=(0.5, 5.0))
    assert len(clock.segments) == 3
    for prev, seg in zip(clock.segments, clock.segments[1:], strict=False):
        assert seg.drift == prev.drift
        reset_dev_on_old = float(prev.to_device(np.float64(seg.true_start_s)))
        assert 0.5 - 1e-3 <= seg.device_start_s - reset_dev_on_old <= 5.0 + 1e-3  # jumped start on whole ms
        assert 0.2 * 40 <= seg.true_start_s - clock.segments[0].offset_s <= 0.8 * 40


def test_regular_device_times_are_k_over_rate():
    clock = DeviceClock.simple(0.37, 25e-6)
    times = regular_device_times(clock, rate_hz=150.0, true_end_s=20.0)
    np.testing.assert_array_equal(times, np.arange(len(times)) / 150.0)
    assert clock.to_true(times[-1]) <= 20.0 < clock.to_true(times[-1] + 1 / 150.0)
    late = regular_device_times(clock, rate_hz=150.0, true_start_s=5.0, true_end_s=20.0)
    assert clock.to_true(late[0]) >= 5.0 > clock.to_true(late[0] - 1 / 150.0)
    np.testing.assert_array_equal(late, times[times >= late[0]])


def test_regular_device_times_across_a_reset():
    clock = _reset_clock()
    times = regular_device_times(clock, rate_hz=100.0, true_end_s=30.0)
    before, after = times[times < 10.0 + 1e-9], times[times >= 12.5]
    assert len(before) + len(after) == len(times)
    np.testing.assert_allclose(np.diff(before), 0.01, atol=1e-12)
    np.testing.assert_allclose(after - 12.5, np.arange(len(after)) / 100.0, atol=1e-12)
    true = clock.to_true(times)
    assert np.all(np.diff(true) > 0)
    assert np.diff(true).max() <= 0.01 * (1 + 30e-6) + 1e-12  # no gap in true time, only in device time
    # A file without timestamps (EDF, C3D) sees index / rate: its clock maps those to the same true times.
    seen = file_time_clock(clock, times, rate_hz=100.0)
    np.testing.assert_allclose(seen.to_true(np.arange(len(times)) / 100.0), true, rtol=0, atol=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_camera_frame_drops(seed):
    clock = DeviceClock.simple(0.2, -12e-6)
    nominal = regular_device_times(clock, rate_hz=60.0, true_end_s=10.0)
    kept, dropped = camera_frame_times(
        clock, rate_hz=60.0, true_end_s=10.0, n_drops=40, rng=np.random.default_rng(seed)
    )
    assert len(dropped) == 40 and len(kept) == len(nominal) - 40
    assert np.all(np.diff(dropped) >= 2)  # never adjacent
    assert dropped[0] >= 10 and dropped[-1] <= len(nominal) - 11
    np.testing.assert_array_equal(np.sort(np.concatenate([kept, nominal[dropped]])), nominal)


def test_camera_frame_drops_just_possible_and_impossible():
    clock = DeviceClock.simple(0.0, 0.0)
    # 60 frames, 40 droppable (10..49): 20 non-adjacent drops fit with at most one wider step.
    kept, dropped = camera_frame_times(
        clock, rate_hz=60.0, true_end_s=59 / 60, n_drops=20, rng=np.random.default_rng(0)
    )
    assert len(kept) == 40 and dropped[0] >= 10 and dropped[-1] <= 49
    assert set(np.diff(dropped).tolist()) <= {2, 3} and np.count_nonzero(np.diff(dropped) == 3) <= 1
    with pytest.raises(ValueError, match="cannot drop 21 non-adjacent frames from 60"):
        camera_frame_times(clock, rate_hz=60.0, true_end_s=59 / 60, n_drops=21, rng=np.random.default_rng(0))


def test_vfr_frame_times_mean_rate_and_interval_bounds():
    clock = DeviceClock.simple(0.5, 40e-6)
    kept, dropped = vfr_frame_times(
        clock, mean_rate_hz=30.0, jitter_s=0.004, true_end_s=120.0, n_drops=5, rng=np.random.default_rng(3)
    )
    # Same seed: the undropped sequence is drawn first, so kept frames are it minus the drops.
    undropped = jittered_device_times(
        clock, mean_rate_hz=30.0, jitter_s=0.004, true_end_s=120.0, rng=np.random.default_rng(3)
    )
    np.testing.assert_array_equal(np.delete(undropped, dropped), kept)
    intervals = np.diff(undropped)
    assert (len(undropped) - 1) / (undropped[-1] - undropped[0]) == pytest.approx(30.0, rel=0.01)
    assert intervals.min() >= 0.5 / 30 - 1e-12 and intervals.max() <= 1.5 / 30 + 1e-12
    assert intervals.std() > 0.003  # jittered, not a fixed rate
    assert len(dropped) == 5 and np.all(np.diff(dropped) >= 2)
    assert undropped[0] == 0.0 and clock.to_true(undropped[-1]) <= 120.0


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ((0.0, 2.0), 1.0),  # covers the whole exposure
        ((1.5, 2.0), 0.0),  # after it
        ((-1.0, 0.99), 0.0),  # before it
        ((1.07, 3.0), 0.3),  # pulse starts 70% into the exposure: the last 30% lit
        ((0.5, 1.04), 0.4),  # pulse ends 40% into the exposure
        ((1.02, 1.05), 0.3),  # inside it
    ],
)
def test_exposure_overlap_hand_cases(window, expected):
    frac = exposure_overlap(np.array([1.0]), 0.1, [window])
    assert frac[0] == pytest.approx(expected, abs=1e-12)


def test_exposure_overlap_merges_windows_and_takes_per_frame_exposure():
    starts = np.array([0.0, 1.0, 2.0])
    frac = exposure_overlap(starts, np.array([1.0, 0.5, 0.25]), [(0.25, 0.75), (0.5, 1.25), (2.1, 2.15)])
    np.testing.assert_allclose(frac, [0.75, 0.5, 0.2], atol=1e-12)
    assert exposure_overlap(starts, 0.5, []).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="exposure must be > 0"):
        exposure_overlap(starts, 0.0, [(0.0, 1.0)])
