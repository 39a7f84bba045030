"""sEMG cleaning, envelope and quality flags on synthetic signals with known content."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.signals import channel_quality, clean_emg, emg_envelope, mains_notch_frequencies

RATE = 2000.0


def tone(t: np.ndarray, f_hz: float, amp: float = 1.0) -> np.ndarray:
    return amp * np.sin(2 * np.pi * f_hz * t)


def amplitude_at(x: np.ndarray, t: np.ndarray, f_hz: float) -> float:
    basis = np.column_stack([np.sin(2 * np.pi * f_hz * t), np.cos(2 * np.pi * f_hz * t)])
    coef, *_ = np.linalg.lstsq(basis, x, rcond=None)
    return float(np.hypot(*coef))


def gain_db(f_hz: float, mains_hz: float = 50.0) -> float:
    t = np.arange(int(10 * RATE)) / RATE
    y = clean_emg(tone(t, f_hz, 100.0)[:, None], RATE, mains_hz=mains_hz)[:, 0].astype(float)
    core = slice(int(2 * RATE), int(8 * RATE))  # away from the edges
    return 20 * np.log10(amplitude_at(y[core], t[core], f_hz) / 100.0)


def emg_like(rng: np.random.Generator, n: int, rms_uv: float) -> np.ndarray:
    """Band-limited noise with slow bursts, like a muscle working in repetitions."""
    from scipy.signal import butter, sosfiltfilt

    x = sosfiltfilt(butter(4, [30, 300], btype="bandpass", fs=RATE, output="sos"), rng.normal(size=n))
    t = np.arange(n) / RATE
    x *= 0.3 + np.clip(np.sin(2 * np.pi * 0.4 * t), 0, None) ** 2
    return rms_uv * x / x.std()


@pytest.mark.parametrize(("f_hz", "mains"), [(5.0, 50.0), (800.0, 50.0), (50.0, 50.0), (60.0, 60.0), (180.0, 60.0)])
def test_stopband_and_notches_beyond_30_db(f_hz: float, mains: float) -> None:
    assert gain_db(f_hz, mains) < -30.0


@pytest.mark.parametrize(("f_hz", "mains"), [(130.0, 50.0), (80.0, 50.0), (250.0, 60.0)])
def test_passband_within_1_db(f_hz: float, mains: float) -> None:
    assert abs(gain_db(f_hz, mains)) < 1.0


def test_clean_emg_shape_dtype_and_notch_list() -> None:
    x = np.random.default_rng(0).normal(size=(4000, 3)) + 500.0  # an offset must not matter
    y = clean_emg(x, RATE, mains_hz=50.0)
    assert y.shape == (4000, 3) and y.dtype == np.float32
    assert abs(float(y[1000:3000].mean())) < 0.05
    assert mains_notch_frequencies(50.0, RATE, n_harmonics=3, top_hz=450) == [50.0, 100.0, 150.0]
    assert mains_notch_frequencies(60.0, 250.0, n_harmonics=3) == [60.0, 120.0]
    with pytest.raises(ValueError, match=r"band .* is not usable at 30\.0 Hz"):
        clean_emg(x, 30.0, mains_hz=50.0)


def test_envelope_tracks_amplitude_modulation() -> None:
    t = np.arange(int(10 * RATE)) / RATE
    amp = 100.0 * (1.0 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
    x = (amp * np.sin(2 * np.pi * 100.0 * t))[:, None]
    env, rate = emg_envelope(x, RATE, out_rate_hz=100.0, window_s=0.05)
    assert rate == 100.0 and env.shape == (1000, 1) and env.dtype == np.float32
    t_env = np.arange(env.shape[0]) / rate
    want = 100.0 * (1.0 + 0.5 * np.sin(2 * np.pi * 0.5 * t_env)) / np.sqrt(2)
    core = slice(50, -50)
    err = np.abs(env[core, 0] - want[core])
    assert err.max() < 0.015 * 100 / np.sqrt(2)  # 1.5 % of the mean RMS


def test_quality_flags() -> None:
    rng = np.random.default_rng(4)
    n = int(20 * RATE)
    t = np.arange(n) / RATE
    clean_a = emg_like(rng, n, 25.0)
    clean_b = emg_like(rng, n, 8.0) + tone(t, 50.0, 2.0)  # a little hum is normal
    flat = 1e-3 * rng.normal(size=n)
    clipped = np.clip(emg_like(rng, n, 60.0), -80.0, 80.0)
    hum = emg_like(rng, n, 10.0) + tone(t, 50.0, 60.0) + tone(t, 150.0, 15.0)
    data = np.column_stack([clean_a, clean_b, flat, clipped, hum])
    names = ["vl_L", "vl_R", "bf_L", "bf_R", "gm_L"]
    q = channel_quality(data, RATE, mains_hz=50.0, channel_names=names)
    assert [c.name for c in q] == names
    assert [c.flags for c in q] == [(), (), ("flat",), ("saturated",), ("powerline",)]
    assert q[0].ok and not q[2].ok
    assert q[0].rms_uv == pytest.approx(25.0, rel=1e-3)
    assert q[2].rms_uv < 0.01
    expected_clip = float(np.mean(np.abs(clipped) >= 80.0))
    assert q[3].saturation_fraction == pytest.approx(expected_clip, rel=0.2) and expected_clip > 0.01
    assert q[0].saturation_fraction == 0.0
    assert q[4].powerline_ratio > 0.8 and q[0].powerline_ratio < 0.05
    assert q[0].snr_db > 6.0  # bursts over rest
    d = q[3].to_dict()
    assert d["flags"] == ["saturated"] and d["name"] == "bf_R"


def test_rails_count_plateaus_beyond_known_range() -> None:
    rng = np.random.default_rng(5)
    x = emg_like(rng, 40000, 30.0)
    x[1000:1400] = 5000.0  # a run pinned at the positive rail
    q = channel_quality(x[:, None], RATE, mains_hz=50.0, channel_names=["c"], rails_uv=(-5000.0, 5000.0))
    assert q[0].saturation_fraction == pytest.approx(400 / 40000) and q[0].saturated


def test_quality_bad_names_raise() -> None:
    with pytest.raises(ValueError, match="2 channel names for 1 channels"):
        channel_quality(np.zeros((100, 1)), RATE, mains_hz=50.0, channel_names=["a", "b"])


def test_missing_samples_do_not_break_quality() -> None:
    rng = np.random.default_rng(6)
    x = np.column_stack([emg_like(rng, 20000, 20.0), np.full(20000, np.nan)])
    x[5000:5010, 0] = np.nan
    q = channel_quality(x, RATE, mains_hz=50.0, channel_names=["a", "b"])
    assert q[0].ok and q[1].flags == ("flat",)
