"""detect_pulses on integrating-ADC pulses with known sub-sample edges."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.timing import detect_pulses


def integrate_pulses(t: np.ndarray, rate_hz: float, edges: list[tuple[float, float]], high: float) -> np.ndarray:
    """Each sample = high x the on-fraction of [t - 0.5/rate, t + 0.5/rate] (the synthetic ADC model)."""
    lo, hi = t - 0.5 / rate_hz, t + 0.5 / rate_hz
    v = np.zeros_like(t)
    for a, b in edges:
        v += np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) * rate_hz
    return high * v


@pytest.mark.parametrize("rate_hz", [2000.0, 1500.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_exact_edges_integrating_model(rate_hz: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    t = 0.25 + np.arange(int(12 * rate_hz)) / rate_hz  # device clock need not start at 0
    onsets = np.array([1.0, 10.0]) + rng.uniform(0, 1.0, 2)
    pulse_s = 0.1 + rng.uniform(-0.002, 0.002)
    v = integrate_pulses(t, rate_hz, [(a, a + pulse_s) for a in onsets], high=4.7) + 0.3
    p = detect_pulses(v, t)
    assert p.n == 2
    np.testing.assert_allclose(p.onset_s, onsets, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p.offset_s, onsets + pulse_s, rtol=0, atol=1e-6)
    assert p.low_level == pytest.approx(0.3) and p.high_level == pytest.approx(5.0)


def test_linear_crossing_alone_would_not_be_exact() -> None:
    # Guards the reason for the area estimate: the interpolated 50% crossing is off by ~0.075 sample here.
    rate = 2000.0
    t = np.arange(4000) / rate
    onset = 1.0 + 0.3 / rate
    v = integrate_pulses(t, rate, [(onset, onset + 0.1)], 1.0)
    i = int(np.flatnonzero(v >= 0.5)[0])
    crossing = t[i - 1] + (0.5 - v[i - 1]) / (v[i] - v[i - 1]) / rate
    assert abs(crossing - onset) > 3e-5
    assert abs(detect_pulses(v, t).onset_s[0] - onset) < 1e-9


@pytest.mark.parametrize("rate_hz", [2000.0, 1500.0])
def test_noisy_edges_within_50_us(rate_hz: float) -> None:
    rng = np.random.default_rng(7)
    t = np.arange(int(8 * rate_hz)) / rate_hz
    onsets = np.array([0.7, 6.1]) + rng.uniform(0, 1 / rate_hz, 2)
    v = integrate_pulses(t, rate_hz, [(a, a + 0.1) for a in onsets], 5.0)
    v += rng.normal(0.0, 0.05, t.size)  # 1% of the pulse height
    p = detect_pulses(v, t)
    assert p.n == 2
    assert np.max(np.abs(p.onset_s - onsets)) < 5e-5
    assert np.max(np.abs(p.offset_s - (onsets + 0.1))) < 5e-5


def test_glitch_and_dropout_rejected() -> None:
    rate = 2000.0
    t = np.arange(int(6 * rate)) / rate
    v = integrate_pulses(t, rate, [(1.00013, 1.10013), (4.50031, 4.60031)], 5.0)
    v[int(3.0 * rate) : int(3.0 * rate) + 6] = 5.0  # 3 ms spike: a glitch
    v[int(1.05 * rate) : int(1.05 * rate) + 2] = 0.0  # 1 ms dropout inside the first pulse
    p = detect_pulses(v, t, min_width_s=0.01)
    np.testing.assert_allclose(p.onset_s, [1.00013, 4.50031], atol=1e-6)
    np.testing.assert_allclose(p.offset_s, [1.10013, 4.60031], atol=1e-6)


def test_no_pulse_is_empty_not_an_error() -> None:
    rng = np.random.default_rng(3)
    t = np.arange(5000) / 1000.0
    for v in (np.zeros(t.size), rng.normal(0, 0.01, t.size)):
        p = detect_pulses(v, t)
        assert p.n == 0 and p.onset_s.shape == (0,) and p.offset_s.shape == (0,)


def test_non_uniform_timestamps() -> None:
    # Samples integrate over their Voronoi cells; jittered sample times still give exact edges.
    rng = np.random.default_rng(11)
    t = np.cumsum(rng.uniform(0.8, 1.2, 6000)) / 1000.0
    cells = np.concatenate([[t[0] - (t[1] - t[0]) / 2], (t[1:] + t[:-1]) / 2, [t[-1] + (t[-1] - t[-2]) / 2]])
    onset, offset = 1.23456, 1.33456
    v = np.clip(np.minimum(cells[1:], offset) - np.maximum(cells[:-1], onset), 0, None) / np.diff(cells)
    p = detect_pulses(3.0 * v, t)
    np.testing.assert_allclose([p.onset_s[0], p.offset_s[0]], [onset, offset], atol=1e-9)


def test_explicit_threshold_and_bounce_merge() -> None:
    rate = 1000.0
    t = np.arange(4000) / rate
    v = integrate_pulses(t, rate, [(1.0, 1.1), (1.2, 1.3), (3.0, 3.1)], 2.0)
    p = detect_pulses(v, t, threshold=1.0, min_separation_s=0.5)
    np.testing.assert_allclose(p.onset_s, [1.0, 3.0], atol=1e-9)
    np.testing.assert_allclose(p.offset_s, [1.3, 3.1], atol=1e-9)  # the bounce extends the first pulse
    assert p.threshold == 1.0


def test_pulse_cut_by_recording_edge_is_left_out() -> None:
    t = np.arange(3000) / 1000.0
    v = integrate_pulses(t, 1000.0, [(-0.05, 0.05), (1.5, 1.6)], 1.0)
    p = detect_pulses(v, t)
    np.testing.assert_allclose(p.onset_s, [1.5], atol=1e-9)


def test_bad_timestamps_raise() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        detect_pulses(np.zeros(10), np.r_[np.arange(5), np.arange(5)].astype(float))
    with pytest.raises(ValueError, match="values has 10 samples but timestamps_s has 9"):
        detect_pulses(np.zeros(10), np.arange(9.0))
