"""sEMG synthesis, the sync trigger channel, and the BDF/EDF files they are written to."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from scipy import signal

from flexsync.synth.clocks import DeviceClock, regular_device_times
from flexsync.synth.edf_writer import DIGITAL_RANGE, EdfChannel, quantize, write_emg_file
from flexsync.synth.emg_synth import EmgSynthesizer, synthesize_emg, trigger_signal

RATE_HZ = 2000.0
CLOCK = DeviceClock.simple(0.31, 55e-6)


def _motion(duration_s: float, n_channels: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Motion-model-like inputs at 200 Hz: per-channel activation waves in [0, 1] with rest spells."""
    t = np.arange(0.0, duration_s, 1 / 200)
    phase = np.arange(n_channels) * 0.4
    activation = np.clip(np.sin(2 * np.pi * 0.25 * t[:, None] + phase), 0.0, 1.0) ** 2
    return t, activation


def _emg(duration_s: float, **kwargs) -> tuple[np.ndarray, np.ndarray, np.ndarray, EmgSynthesizer]:
    t, activation = _motion(duration_s + 1.0)
    times = regular_device_times(CLOCK, rate_hz=RATE_HZ, true_end_s=duration_s)
    synth = EmgSynthesizer(t, activation, device_times_s=times, clock=CLOCK, rng=np.random.default_rng(7), **kwargs)
    return t, activation, times, synth


@pytest.mark.parametrize("block_s", [2.0, 0.377])
def test_blocks_equal_one_shot(block_s):
    t, activation, times, _ = _emg(6.0, block_s=block_s)
    blocks = list(
        EmgSynthesizer(
            t, activation, device_times_s=times, clock=CLOCK, rng=np.random.default_rng(7), block_s=block_s
        ).blocks()
    )
    starts = [s for s, _ in blocks]
    assert starts == list(range(0, len(times), round(block_s * RATE_HZ)))
    blockwise = np.concatenate([b for _, b in blocks])
    one_shot = synthesize_emg(t, activation, device_times_s=times, clock=CLOCK, rng=np.random.default_rng(7))
    assert blockwise.dtype == np.float32 and blockwise.shape == (len(times), 16)
    np.testing.assert_array_equal(blockwise, one_shot)


def test_spectrum_band_and_mains_line():
    t = np.arange(0.0, 21.0, 1 / 200)
    activation = np.zeros((len(t), 16))
    activation[t < 10.0] = 0.5  # active for 10 s, then rest
    times = regular_device_times(CLOCK, rate_hz=RATE_HZ, true_end_s=20.0)
    emg = synthesize_emg(t, activation, device_times_s=times, clock=CLOCK, rng=np.random.default_rng(1))
    true = CLOCK.to_true(times)
    freqs, psd = signal.welch(emg[true < 9.5], fs=RATE_HZ, nperseg=2000, axis=0)
    band = (freqs >= 20) & (freqs <= 450)
    wide = (freqs >= 10) & (freqs <= 600)
    # A 4th-order band-pass is -3 dB at the edges, so ~6% of the power sits in its skirts.
    assert (psd[band].sum(axis=0) / psd.sum(axis=0)).min() > 0.92
    assert (psd[wide].sum(axis=0) / psd.sum(axis=0)).min() > 0.98
    # At rest only hum and amplifier noise remain: a line at 50 Hz and at 150 Hz, none at 60 Hz.
    freqs, psd = signal.welch(emg[true > 10.5], fs=RATE_HZ, nperseg=2000, axis=0)
    floor = np.median(psd[(freqs > 70) & (freqs < 130)], axis=0)
    at = {f: psd[np.argmin(np.abs(freqs - f))] for f in (50.0, 60.0, 150.0)}
    assert (at[50.0] / floor).min() > 100
    assert (at[150.0] / floor).min() > 5
    assert (at[60.0] / floor).max() < 5


def test_mains_frequency_follows_the_argument():
    t, activation = _motion(5.0)
    times = regular_device_times(CLOCK, rate_hz=RATE_HZ, true_end_s=4.0)
    emg = synthesize_emg(
        t, 0 * activation, device_times_s=times, clock=CLOCK, rng=np.random.default_rng(2), mains_hz=60.0
    )
    freqs, psd = signal.welch(emg, fs=RATE_HZ, nperseg=2000, axis=0)
    assert np.all(freqs[np.argmax(psd, axis=0)] == 60.0)


def test_amplitude_follows_activation():
    _, _, times, synth = _emg(20.0, mains_hz=0.0)
    emg = synth.next_block(synth.n_samples).astype(np.float64)
    t, activation = _motion(21.0)
    true = CLOCK.to_true(times)
    block = 500  # 0.25 s
    n = len(times) // block
    rms = np.sqrt((emg[: n * block].reshape(n, block, 16) ** 2).mean(axis=1))
    act = np.stack([np.interp(true[: n * block], t, activation[:, c]) for c in range(16)], axis=1)
    mean_act = act.reshape(n, block, 16).mean(axis=1)
    corr = [np.corrcoef(rms[:, c], mean_act[:, c])[0, 1] for c in range(16)]
    assert min(corr) > 0.95
    # At full activation the RMS is the channel's peak (400 uV x 0.6..1.0), plus 3 uV of noise.
    full = act > 0.98
    for c in range(16):
        measured = np.sqrt(np.mean(emg[: n * block][full[:, c], c] ** 2))
        assert measured == pytest.approx(synth.channel_peak_uv[c], rel=0.1)
    assert synth.channel_peak_uv.min() >= 240 and synth.channel_peak_uv.max() <= 400


def test_flat_and_saturated_channels():
    _, _, _, synth = _emg(4.0, flat_channels=[3], saturated_channels=[5])
    emg = synth.next_block(synth.n_samples)
    assert np.all(emg[:, 3] == 0.0)
    assert np.abs(emg[:, 5]).max() == 6000.0
    assert np.count_nonzero(np.abs(emg[:, 5]) == 6000.0) > 100
    assert np.abs(emg[:, 4]).max() < 3000
    with pytest.raises(ValueError, match=r"flat_channels \[16\] out of range for 16 channels"):
        _emg(1.0, flat_channels=[16])


def _crossing(times: np.ndarray, values: np.ndarray, level: float, rising: bool) -> float:
    """Linear interpolation of the first crossing of ``level``."""
    above = values >= level if rising else values <= level
    j = int(np.argmax(above))
    return times[j - 1] + (level - values[j - 1]) / (values[j] - values[j - 1]) * (times[j] - times[j - 1])


@pytest.mark.parametrize("seed", range(4))
def test_trigger_edges_exact_by_linear_interpolation(seed):
    rng = np.random.default_rng(seed)
    start = 1.2 + rng.uniform(0, 1e-3)  # arbitrary sub-sample phase
    window = (start, start + 0.1)
    times = regular_device_times(CLOCK, rate_hz=RATE_HZ, true_end_s=3.0)
    trig = trigger_signal(times, CLOCK, [window], rate_hz=RATE_HZ)
    true = CLOCK.to_true(times)
    # The first sample at or above half height is the first whose true time is inside the pulse.
    first_high = int(np.argmax(trig >= 2.5))
    assert first_high == int(np.argmax(true >= window[0]))
    assert trig[true < window[0] - 1 / RATE_HZ].max() == 0.0
    np.testing.assert_allclose(
        trig[(true > window[0] + 1 / RATE_HZ) & (true < window[1] - 1 / RATE_HZ)], 5.0, atol=1e-9
    )
    # Linear interpolation of the 50% crossing, mapped through the clock, is the true edge.
    rise_dev = _crossing(times, trig, 2.5, rising=True)
    fall_dev = _crossing(times[first_high:], trig[first_high:], 2.5, rising=False)
    assert CLOCK.to_true(rise_dev) == pytest.approx(window[0], abs=1e-9)
    assert CLOCK.to_true(fall_dev) == pytest.approx(window[1], abs=1e-9)


def test_trigger_one_sample_box_is_exact_by_area_not_by_interpolation():
    times = regular_device_times(CLOCK, rate_hz=RATE_HZ, true_end_s=3.0)
    true = CLOCK.to_true(times)
    edge = float(true[2400]) - 0.3 / RATE_HZ  # 30% of a sample before sample 2400
    trig = trigger_signal(times, CLOCK, [(edge, edge + 0.1)], rate_hz=RATE_HZ, box_samples=1.0)
    half_true = 0.5 / RATE_HZ * (1 + CLOCK.segments[0].drift)  # half a sample in true seconds
    ramp = np.flatnonzero((trig > 1e-9) & (trig < 5.0 - 1e-9))
    assert ramp[ramp < 2500].tolist() == [2400]  # a one-sample ramp, lit for 0.3 sample + half a sample
    assert trig[2400] == pytest.approx(5.0 * (half_true + 0.3 / RATE_HZ) / (2 * half_true), abs=1e-9)
    j = ramp[0]
    assert true[j] + half_true - 2 * half_true * trig[j] / 5.0 == pytest.approx(edge, abs=1e-9)
    error_samples = (CLOCK.to_true(_crossing(times, trig, 2.5, rising=True)) - edge) * RATE_HZ
    assert 0.01 < abs(error_samples) <= 0.086


@pytest.mark.parametrize("fmt", ["bdf", "edf"])
def test_emg_file_read_by_mne_exact_to_the_lsb(tmp_path, fmt):
    names = [f"muscle{c:02d}_{'LR'[c % 2]}" for c in range(16)]
    _, _, times, synth = _emg(3.03, saturated_channels=[2])
    expected = synthesize_emg(
        *_motion(4.03), device_times_s=times, clock=CLOCK, rng=np.random.default_rng(7), saturated_channels=[2]
    )
    trig = trigger_signal(times, CLOCK, [(1.2, 1.3)], rate_hz=RATE_HZ)
    path = tmp_path / f"emg.{fmt}"
    n_file = write_emg_file(
        path,
        channel_names=names,
        rate_hz=RATE_HZ,
        blocks=synth.blocks(),
        trigger=trig,
        fmt=fmt,
        start_datetime="2026-01-05T10:00:00",
    )
    assert len(times) % 200 != 0 and n_file == -(-len(times) // 200) * 200  # last 0.1 s record completed
    reader = mne.io.read_raw_bdf if fmt == "bdf" else mne.io.read_raw_edf
    raw = reader(path, preload=True, verbose="error")
    assert raw.ch_names == [*names, "TRIG"]
    assert raw.info["sfreq"] == RATE_HZ and raw.n_times == n_file
    assert raw.info["meas_date"].isoformat() == "2026-01-05T10:00:00+00:00"
    data = raw.get_data()
    n = len(times)
    lo, hi = DIGITAL_RANGE[fmt]
    emg_ch = EdfChannel("x", "uV", -6000.0, 6000.0, lo, hi)
    trig_ch = EdfChannel("TRIG", "V", 0.0, 5.0, lo, hi)
    # mne returns exactly the quantised values (uV -> V) ...
    dequant = (quantize(expected, emg_ch) - lo) * emg_ch.lsb - 6000.0
    np.testing.assert_allclose(data[:16, :n].T * 1e6, dequant, rtol=0, atol=1e-9 * 6000)
    np.testing.assert_allclose(data[16, :n], (quantize(trig, trig_ch) - lo) * trig_ch.lsb, rtol=0, atol=1e-12)
    # ... which are within half a least significant bit of what was written.
    assert np.abs(data[:16, :n].T * 1e6 - expected).max() <= emg_ch.lsb / 2 + 1e-9 * 6000
    assert np.abs(data[16, :n] - trig).max() <= trig_ch.lsb / 2 + 1e-12
    assert np.abs(data[2] * 1e6).max() == pytest.approx(6000.0)  # saturated channel at full scale
    np.testing.assert_array_equal(data[:, n:], np.repeat(data[:, n - 1 : n], n_file - n, axis=1))  # held tail


def test_emg_file_bytes_are_deterministic(tmp_path):
    paths = []
    for name in ("a.bdf", "b.bdf"):
        _, _, times, synth = _emg(1.0)
        trig = trigger_signal(times, CLOCK, [(0.5, 0.6)], rate_hz=RATE_HZ)
        write_emg_file(
            tmp_path / name,
            channel_names=[f"ch{c}" for c in range(16)],
            rate_hz=RATE_HZ,
            blocks=synth.blocks(),
            trigger=trig,
            start_datetime="2026-01-05T10:00:00",
        )
        paths.append(tmp_path / name)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bdf", "b.bdf"]  # no temporary files left


def test_emg_file_rejects_bad_labels_and_leaves_nothing(tmp_path):
    _, _, times, synth = _emg(1.0)
    trig = np.zeros(len(times))
    with pytest.raises(
        ValueError, match=r"labels \['vastus_lateralis_L'\] are not printable ASCII of at most 16 characters"
    ):
        write_emg_file(
            tmp_path / "x.bdf",
            channel_names=["vastus_lateralis_L", *[f"c{i}" for i in range(15)]],
            rate_hz=RATE_HZ,
            blocks=synth.blocks(),
            trigger=trig,
            start_datetime="2026-01-05T10:00:00",
        )
    with pytest.raises(ValueError, match="EMG blocks run to sample"):
        write_emg_file(
            tmp_path / "x.bdf",
            channel_names=[f"c{i}" for i in range(16)],
            rate_hz=RATE_HZ,
            blocks=synth.blocks(),
            trigger=trig[:100],
            start_datetime="2026-01-05T10:00:00",
        )
    assert list(tmp_path.iterdir()) == []
