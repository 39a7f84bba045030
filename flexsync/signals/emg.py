"""Surface EMG: cleaning, amplitude envelope and per-channel quality flags.

sEMG carries its information between ~20 and ~450 Hz; below that sit movement artefacts and
electrode drift, above it amplifier noise, and mains hum (50/60 Hz and harmonics) lands in the
middle of the band. Cleaning is a zero-phase Butterworth band-pass plus notches at the mains
frequency and its harmonics (zero-phase so the timing of bursts is not shifted: the point of
the whole project). Quality flags give the numbers behind each decision so a check can show
why a channel was flagged. Arrays are (n_samples, n_channels); results are float32.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["ChannelQuality", "channel_quality", "clean_emg", "emg_envelope", "mains_notch_frequencies"]

logger = logging.getLogger(__name__)


def _as_2d(data: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(data, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{what}: data must be (n_samples, n_channels), got shape {np.shape(data)}")
    return x


def mains_notch_frequencies(
    mains_hz: float, rate_hz: float, *, n_harmonics: int = 3, top_hz: float | None = None
) -> list[float]:
    """Mains frequency and harmonics (up to ``n_harmonics`` of them) below ``top_hz`` and Nyquist."""
    if mains_hz <= 0:
        raise ValueError(f"mains_hz must be > 0 (50 or 60), got {mains_hz}")
    limit = 0.5 * rate_hz if top_hz is None else min(top_hz, 0.5 * rate_hz)
    return [h * mains_hz for h in range(1, n_harmonics + 1) if h * mains_hz < limit]


def clean_emg(
    data_uv: np.ndarray,
    rate_hz: float,
    *,
    mains_hz: float,
    band_hz: tuple[float, float] = (20.0, 450.0),
    n_harmonics: int = 3,
    order: int = 4,
    notch_q: float = 30.0,
) -> np.ndarray:
    """Band-pass and mains-notch sEMG, zero phase.

    Parameters
    ----------
    data_uv : (N, C) microvolts
    rate_hz : sample rate
    mains_hz : 50 or 60
    band_hz : pass band (20, 450) Hz; the top is capped at 0.45 x rate
    n_harmonics : notches at mains x 1..n_harmonics, those below the band top and Nyquist (3)
    order : Butterworth order of each band edge (4; applied forward and backward, so the
        roll-off is that of order 8)
    notch_q : quality factor of each notch (30: 1.7 Hz wide at 50 Hz)

    Returns
    -------
    (N, C) float32, microvolts. Non-finite samples make the whole channel NaN (filter first
    what you can, after masking).
    """
    from scipy.signal import butter, iirnotch, sosfiltfilt, tf2sos

    x = _as_2d(data_uv, "clean_emg")
    low, high = band_hz
    high = min(high, 0.45 * rate_hz)
    if not 0 < low < high:
        raise ValueError(f"clean_emg: band {band_hz} Hz is not usable at {rate_hz} Hz sampling")
    if x.shape[0] == 0:
        return x.astype(np.float32)
    sections = [butter(order, [low, high], btype="bandpass", fs=rate_hz, output="sos")]
    for f0 in mains_notch_frequencies(mains_hz, rate_hz, n_harmonics=n_harmonics, top_hz=high):
        b, a = iirnotch(f0, notch_q, fs=rate_hz)
        sections.append(tf2sos(b, a))
    sos = np.concatenate(sections, axis=0)
    padlen = min(x.shape[0] - 1, int(3 * rate_hz / low))
    out = np.empty(x.shape, dtype=np.float32)
    for c in range(x.shape[1]):  # one channel at a time: the filter's padded copies stay small
        channel = x[:, c] - np.median(x[:, c])  # offsets would only ring at the edges
        out[:, c] = sosfiltfilt(sos, channel, padlen=padlen)
    return out


def emg_envelope(
    clean: np.ndarray, rate_hz: float, *, out_rate_hz: float = 100.0, window_s: float = 0.05
) -> tuple[np.ndarray, float]:
    """Moving-RMS amplitude envelope, decimated to ``out_rate_hz``.

    RMS over a centred boxcar of ``window_s`` (rounded to an odd number of samples), computed as
    the square root of the moving mean square; the mean square is brought to the output rate
    with ``resample_polyphase`` (anti-aliased), then the square root is taken. Output sample m
    is at ``m / out_rate`` from the first input sample.

    Returns
    -------
    envelope : (M, C) float32, same unit as ``clean`` (RMS)
    out_rate_hz : the rate actually produced (see ``resample_polyphase``)
    """
    from scipy.ndimage import uniform_filter1d

    from flexsync.timing.resample import resample_polyphase

    x = _as_2d(clean, "emg_envelope")
    width = max(1, round(window_s * rate_hz)) | 1
    mean_sq = uniform_filter1d(x * x, size=width, axis=0, mode="reflect")
    ms, actual = resample_polyphase(mean_sq, rate_hz, out_rate_hz)
    return np.sqrt(np.maximum(ms, 0.0)).astype(np.float32), actual


@dataclass(frozen=True)
class ChannelQuality:
    """Quality numbers and flags of one EMG channel.

    ``rms_uv``: standard deviation of the raw channel; ``saturation_fraction``: share of samples
    on clipped plateaus at the channel's extremes (or beyond the given rails);
    ``powerline_ratio``: power within +-1 Hz of the mains frequency and its harmonics over the
    power in ``band_hz``; ``snr_db``: 20 log10 of the 95th over the 10th percentile of the
    cleaned signal's 0.25 s moving RMS (activity over rest; ~2 dB for stationary noise).
    """

    name: str
    rms_uv: float
    saturation_fraction: float
    powerline_ratio: float
    snr_db: float
    flat: bool
    saturated: bool
    powerline: bool

    @property
    def flags(self) -> tuple[str, ...]:
        return tuple(f for f in ("flat", "saturated", "powerline") if getattr(self, f))

    @property
    def ok(self) -> bool:
        return not self.flags

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "flags": list(self.flags)}


def channel_quality(
    raw: np.ndarray,
    rate_hz: float,
    *,
    mains_hz: float,
    channel_names: Sequence[str],
    band_hz: tuple[float, float] = (20.0, 450.0),
    n_harmonics: int = 3,
    flat_rms_uv: float = 0.5,
    max_saturation_fraction: float = 0.005,
    min_plateau_samples: int = 3,
    rails_uv: tuple[float, float] | None = None,
    max_powerline_ratio: float = 0.3,
) -> list[ChannelQuality]:
    """Flag flat, saturated and hum-dominated channels.

    Parameters
    ----------
    raw : (N, C) microvolts, unfiltered
    rate_hz, mains_hz : sample rate and mains frequency
    channel_names : C names, used in the result
    flat_rms_uv : ``flat`` when the standard deviation is below this (0.5 uV; a live electrode's
        noise floor is a few uV)
    max_saturation_fraction : ``saturated`` when more than this share of samples sit on
        plateaus of at least ``min_plateau_samples`` equal samples at the channel's minimum or
        maximum, or at/beyond ``rails_uv`` when the digital range is known (0.5 %). Not raised
        for a flat channel (its only value is both extremes).
    max_powerline_ratio : ``powerline`` when the mains share of the band power exceeds this (0.3)

    Returns
    -------
    list of ChannelQuality, one per channel, in order.
    """
    from scipy.signal import welch

    x = _as_2d(raw, "channel_quality")
    n, c = x.shape
    if len(channel_names) != c:
        raise ValueError(f"channel_quality: {len(channel_names)} channel names for {c} channels")
    if n < 4:
        raise ValueError(f"channel_quality: need at least 4 samples, got {n}")
    finite = np.isfinite(x)
    if not finite.all():  # missing samples read as the channel's median (all missing: 0, i.e. flat)
        fill = np.array([np.median(x[finite[:, j], j]) if finite[:, j].any() else 0.0 for j in range(c)])
        x = np.where(finite, x, fill)
    rms = x.std(axis=0)
    sat = _saturation_fraction(x, min_plateau_samples, rails_uv)

    nper = int(min(n, 2 * round(rate_hz)))  # 0.5 Hz bins: +-1 Hz holds a Hann window's main lobe
    freqs, psd = welch(x, fs=rate_hz, nperseg=nper, axis=0, detrend="constant")
    top = min(band_hz[1], 0.5 * rate_hz)
    in_band = (freqs >= band_hz[0]) & (freqs <= top)
    hum = np.zeros_like(freqs, dtype=bool)
    for f0 in mains_notch_frequencies(mains_hz, rate_hz, n_harmonics=n_harmonics, top_hz=top):
        hum |= np.abs(freqs - f0) <= 1.0
    band_power = psd[in_band].sum(axis=0)
    hum_power = psd[hum & in_band].sum(axis=0)
    ratio = np.where(band_power > 0, hum_power / np.where(band_power > 0, band_power, 1.0), 0.0)

    snr = np.zeros(c)
    alive = rms >= flat_rms_uv
    if alive.any() and n > int(rate_hz * 0.5):
        clean = clean_emg(x[:, alive], rate_hz, mains_hz=mains_hz, band_hz=band_hz, n_harmonics=n_harmonics)
        env, _ = emg_envelope(clean, rate_hz, out_rate_hz=min(20.0, rate_hz / 2), window_s=0.25)
        p95 = np.percentile(env, 95, axis=0)
        p10 = np.percentile(env, 10, axis=0)
        snr[alive] = 20 * np.log10(np.maximum(p95, 1e-12) / np.maximum(p10, 1e-12))

    out = []
    for i, name in enumerate(channel_names):
        flat = bool(rms[i] < flat_rms_uv)
        q = ChannelQuality(
            name=str(name),
            rms_uv=float(rms[i]),
            saturation_fraction=float(sat[i]),
            powerline_ratio=float(ratio[i]),
            snr_db=float(snr[i]),
            flat=flat,
            saturated=bool(not flat and sat[i] > max_saturation_fraction),
            powerline=bool(not flat and ratio[i] > max_powerline_ratio),
        )
        if q.flags:
            logger.info(
                "EMG channel %s flagged %s (rms %.2f uV, saturation %.4f, powerline %.3f)",
                name,
                list(q.flags),
                q.rms_uv,
                q.saturation_fraction,
                q.powerline_ratio,
            )
        out.append(q)
    return out


def _saturation_fraction(x: np.ndarray, min_run: int, rails: tuple[float, float] | None) -> np.ndarray:
    """Share of samples on runs of >= min_run equal samples at a channel's extremes (or the rails)."""
    n, c = x.shape
    lo = x.min(axis=0)
    hi = x.max(axis=0)
    tol = 1e-9 * np.maximum(np.abs(lo), np.abs(hi)) + 1e-12
    at_ext = (np.abs(x - lo) <= tol) | (np.abs(x - hi) <= tol)
    if rails is not None:
        at_ext |= (x <= rails[0]) | (x >= rails[1])
    frac = np.zeros(c)
    for j in range(c):
        m = at_ext[:, j]
        if not m.any():
            continue
        edges = np.diff(np.concatenate([[0], m.astype(np.int8), [0]]))
        starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        lengths = stops - starts
        frac[j] = lengths[lengths >= min_run].sum() / n
    return frac
