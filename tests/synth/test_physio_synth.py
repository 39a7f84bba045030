"""Heart and breathing rate synthesis on the physiology clock, and their CSV files."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flexsync.synth.clocks import ClockSegment, DeviceClock
from flexsync.synth.physio_synth import (
    EVENTS_HEADER,
    PHYSIO_HEADER,
    first_order_response,
    synthesize_physio,
    write_events_csv,
    write_physio_csv,
)

CLOCK = DeviceClock.simple(0.6, -90e-6)


def _step_effort(duration_s: float = 180.0, step_s: float = 30.0) -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(0.0, duration_s, 1 / 200)
    return t, (t >= step_s).astype(float)


def test_first_order_response_matches_the_step_response():
    t, effort = _step_effort()
    y = first_order_response(t, effort, tau_s=15.0)
    after = t >= 30.0
    # Zero-order-hold discretisation: exact at the grid points, the step seen from its first sample.
    expected = 1.0 - np.exp(-(t[after] - 30.0 + 1 / 200) / 15.0)
    np.testing.assert_allclose(y[after], expected, atol=1e-9)
    assert np.all(y[~after] == 0.0)


def test_rates_rise_with_effort_after_a_lag():
    t, effort = _step_effort()
    times, hr, br = synthesize_physio(
        t,
        effort,
        clock=CLOCK,
        rng=np.random.default_rng(0),
        true_start_s=0.6,
        true_end_s=179.0,
        hr_noise_bpm=0.0,
        br_noise_bpm=0.0,
    )
    true = CLOCK.to_true(times)
    np.testing.assert_allclose(hr[true < 30.0], 70.0, atol=1e-9)
    np.testing.assert_allclose(br[true < 30.0], 14.0, atol=1e-9)
    expected_hr = 70.0 + 60.0 * (1.0 - np.exp(-np.clip(true - 30.0, 0, None) / 15.0))
    expected_br = 14.0 + 16.0 * (1.0 - np.exp(-np.clip(true - 30.0, 0, None) / 10.0))
    np.testing.assert_allclose(hr, expected_hr, atol=60.0 * (1 / 200) / 15.0)  # within one motion step
    np.testing.assert_allclose(br, expected_br, atol=16.0 * (1 / 200) / 10.0)
    one_tau = int(np.argmin(np.abs(true - 45.0)))
    assert hr[one_tau] == pytest.approx(70.0 + 60.0 * (1 - math.exp(-(true[one_tau] - 30.0) / 15.0)), abs=0.05)


def test_sample_times_and_noise():
    t, effort = _step_effort()
    times, hr, br = synthesize_physio(
        t, effort, clock=CLOCK, rng=np.random.default_rng(1), true_start_s=0.6, true_end_s=179.0
    )
    np.testing.assert_allclose(times * 1000, np.round(times * 1000), atol=1e-6)  # millisecond timestamps
    intervals = np.diff(times)
    assert intervals.min() >= 0.5 - 1e-3 and intervals.max() <= 1.5 + 1e-3
    assert intervals.mean() == pytest.approx(1.0, abs=0.02) and intervals.std() > 0.02
    true = CLOCK.to_true(times)
    assert times[0] == 0.0 and true[-1] <= 179.0 and true[-1] > 177.0
    _, clean_hr, clean_br = synthesize_physio(
        t,
        effort,
        clock=CLOCK,
        rng=np.random.default_rng(1),
        true_start_s=0.6,
        true_end_s=179.0,
        hr_noise_bpm=0.0,
        br_noise_bpm=0.0,
    )
    assert np.std(hr - clean_hr) == pytest.approx(1.0, rel=0.2)
    assert np.std(br - clean_br) == pytest.approx(0.4, rel=0.2)


def test_physio_times_jump_at_a_clock_reset():
    first = ClockSegment(0.0, 0.6, 50e-6)
    true_reset = 60.0
    jumped = round(float(first.to_device(np.float64(true_reset))) + 3.0, 3)
    clock = DeviceClock((first, ClockSegment(jumped, true_reset - (1 + 50e-6) * jumped, 50e-6)))
    t, effort = _step_effort()
    times, _, _ = synthesize_physio(
        t, effort, clock=clock, rng=np.random.default_rng(2), true_start_s=0.6, true_end_s=120.0
    )
    jump = int(np.argmax(np.diff(times) > 2.0))
    assert times[jump + 1] == jumped  # the count restarts at the new segment's start
    assert np.diff(clock.to_true(times)).max() < 1.6  # while true time runs on


def test_physio_csv_format_and_determinism(tmp_path):
    times = np.array([0.0, 1.0234, 2.05])
    write_physio_csv(tmp_path / "a.csv", times, np.array([70.04, 71.96, 100.0]), np.array([14.0, 14.25, 15.5]))
    assert (tmp_path / "a.csv").read_text() == (
        f"{PHYSIO_HEADER}\n0.000,70.0,14.0\n1.023,72.0,14.2\n2.050,100.0,15.5\n"
    )
    write_physio_csv(tmp_path / "b.csv", times, np.array([70.04, 71.96, 100.0]), np.array([14.0, 14.25, 15.5]))
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    with pytest.raises(ValueError, match="must be matching 1-D arrays"):
        write_physio_csv(tmp_path / "c.csv", times, np.zeros(2), np.zeros(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]


def test_events_csv(tmp_path):
    write_events_csv(tmp_path / "events.csv", np.array([1.2345678, 24.5]), ["sync", "sync"])
    assert (tmp_path / "events.csv").read_text() == f"{EVENTS_HEADER}\n1.234568,sync\n24.500000,sync\n"
    with pytest.raises(ValueError, match="without commas"):
        write_events_csv(tmp_path / "bad.csv", np.array([1.0]), ["a,b"])
