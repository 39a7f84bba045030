"""Synthetic surface EMG and sync-trigger signals, sampled on the EMG device's own clock.

sEMG is modelled as band-limited (20-450 Hz) Gaussian noise whose amplitude follows the muscle
activation of the motion model, plus broadband amplifier noise and powerline hum at the mains
frequency (and its 3rd harmonic) on the true time axis. It is produced block by block with the
band-pass filter state carried across blocks, so a 10-minute recording never sits in memory and
the result does not depend on the block size.

The trigger channel models an integrating ADC: each sample is the mean of the sync pulse over a box
around its sample time, so an edge becomes a short linear ramp whose position encodes the sub-sample
edge time (see ``trigger_signal``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

import numpy as np
from scipy import signal

from flexsync.synth.clocks import DeviceClock, exposure_overlap

__all__ = ["EmgSynthesizer", "synthesize_emg", "trigger_signal"]

logger = logging.getLogger(__name__)

EMG_BAND_HZ = (20.0, 450.0)
_FILTER_ORDER = 4  # per band edge; sosfilt state carries across blocks
_TRIGGER_CHUNK = 1 << 16  # samples per vectorised step of trigger_signal


class EmgSynthesizer:
    """Blockwise sEMG generator for one recording's EMG device.

    Parameters
    ----------
    t_true_motion : (T,) true times (s) of the motion model's samples, increasing.
    activation : (T, C) muscle activation in [0, 1] per EMG channel.
    device_times_s : (N,) sample times on the EMG device clock (s).
    clock : the EMG device clock (device -> true time).
    rng : the only source of randomness; consumed in a fixed order (per-channel parameters first,
        then block after block), so the output does not depend on ``block_s``.
    rate_hz : sampling rate (Hz), for the band-pass design.
    mains_hz : powerline frequency (Hz); 0 disables hum.
    noise_uv : RMS of the broadband amplifier noise (uV).
    peak_uv : RMS of the sEMG at full activation (uV); each channel gets 0.6-1.0 of it.
    flat_channels : channel indices that read exactly 0 uV (electrode off).
    saturated_channels : channel indices amplified 20x and clipped at +-``saturation_uv``.
    block_s : block length (s) of ``blocks()``.
    """

    def __init__(
        self,
        t_true_motion: np.ndarray,
        activation: np.ndarray,
        *,
        device_times_s: np.ndarray,
        clock: DeviceClock,
        rng: np.random.Generator,
        rate_hz: float = 2000.0,
        mains_hz: float = 50.0,
        noise_uv: float = 3.0,
        peak_uv: float = 400.0,
        flat_channels: Sequence[int] = (),
        saturated_channels: Sequence[int] = (),
        saturation_uv: float = 6000.0,
        block_s: float = 2.0,
    ) -> None:
        self.t_true_motion = np.asarray(t_true_motion, dtype=np.float64)
        self.activation = np.asarray(activation, dtype=np.float64)
        if self.activation.ndim != 2 or self.activation.shape[0] != self.t_true_motion.shape[0]:
            raise ValueError(
                f"activation must have shape (T, channels) with T = len(t_true_motion) = "
                f"{self.t_true_motion.shape[0]}; got {self.activation.shape}"
            )
        if np.any(np.diff(self.t_true_motion) <= 0):
            raise ValueError("t_true_motion must be strictly increasing")
        if rate_hz <= 2 * EMG_BAND_HZ[1]:
            raise ValueError(f"EMG rate {rate_hz} Hz is too low for a {EMG_BAND_HZ[1]:g} Hz band edge")
        n_channels = self.activation.shape[1]
        for name, chans in (("flat_channels", flat_channels), ("saturated_channels", saturated_channels)):
            bad = [c for c in chans if not 0 <= c < n_channels]
            if bad:
                raise ValueError(f"{name} {bad} out of range for {n_channels} channels")
        self.device_times_s = np.asarray(device_times_s, dtype=np.float64)
        self.clock = clock
        self.rng = rng
        self.rate_hz = float(rate_hz)
        self.mains_hz = float(mains_hz)
        self.noise_uv = float(noise_uv)
        self.n_channels = n_channels
        self.block_samples = max(1, round(block_s * rate_hz))
        self.flat_channels = tuple(int(c) for c in flat_channels)
        self.saturated_channels = tuple(int(c) for c in saturated_channels)
        self.saturation_uv = float(saturation_uv)

        self._sos = signal.butter(_FILTER_ORDER, EMG_BAND_HZ, btype="bandpass", fs=self.rate_hz, output="sos")
        impulse = np.zeros(int(self.rate_hz))
        impulse[0] = 1.0
        # Unit white noise through the band-pass has RMS sqrt(sum h^2): divide it out.
        self._carrier_gain = 1.0 / float(np.sqrt(np.sum(signal.sosfilt(self._sos, impulse) ** 2)))
        self._zi = np.zeros((self._sos.shape[0], 2, n_channels))
        # Per-channel parameters, drawn once, before any block.
        self.channel_peak_uv = peak_uv * rng.uniform(0.6, 1.0, size=n_channels)
        self.hum_uv = rng.uniform(1.0, 10.0, size=n_channels) if self.mains_hz > 0 else np.zeros(n_channels)
        self.hum3_uv = self.hum_uv * rng.uniform(0.1, 0.3, size=n_channels)
        self.hum_phase = rng.uniform(0.0, 2 * np.pi, size=(2, n_channels))
        self._next = 0

    @property
    def n_samples(self) -> int:
        return int(self.device_times_s.shape[0])

    def _activation_at(self, t_true: np.ndarray) -> np.ndarray:
        """Linear interpolation of all channels at once, holding the end values outside."""
        t = np.clip(t_true, self.t_true_motion[0], self.t_true_motion[-1])
        i = np.clip(np.searchsorted(self.t_true_motion, t, side="right") - 1, 0, len(self.t_true_motion) - 2)
        t0, t1 = self.t_true_motion[i], self.t_true_motion[i + 1]
        w = ((t - t0) / (t1 - t0))[:, None]
        return (1.0 - w) * self.activation[i] + w * self.activation[i + 1]

    def next_block(self, n: int) -> np.ndarray:
        """The next ``n`` samples (n, C) as float32 microvolts; consecutive calls continue the signal."""
        start = self._next
        stop = min(start + n, self.n_samples)
        t_true = self.clock.to_true(self.device_times_s[start:stop])
        white = self.rng.standard_normal((stop - start, 2 * self.n_channels))
        carrier, self._zi = signal.sosfilt(self._sos, white[:, : self.n_channels], axis=0, zi=self._zi)
        amplitude = np.clip(self._activation_at(t_true), 0.0, 1.0) * self.channel_peak_uv
        emg = amplitude * carrier * self._carrier_gain + self.noise_uv * white[:, self.n_channels :]
        if self.mains_hz > 0:
            phase = 2 * np.pi * self.mains_hz * t_true[:, None]
            emg += self.hum_uv * np.sin(phase + self.hum_phase[0]) + self.hum3_uv * np.sin(
                3 * phase + self.hum_phase[1]
            )
        for c in self.saturated_channels:
            emg[:, c] = np.clip(20.0 * emg[:, c], -self.saturation_uv, self.saturation_uv)
        for c in self.flat_channels:
            emg[:, c] = 0.0
        self._next = stop
        return emg.astype(np.float32)

    def blocks(self) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (start_index, block (n, C) float32 uV) over the remaining samples, ``block_s`` at a time."""
        while self._next < self.n_samples:
            start = self._next
            yield start, self.next_block(self.block_samples)


def synthesize_emg(
    t_true_motion: np.ndarray,
    activation: np.ndarray,
    *,
    device_times_s: np.ndarray,
    clock: DeviceClock,
    rng: np.random.Generator,
    rate_hz: float = 2000.0,
    mains_hz: float = 50.0,
    noise_uv: float = 3.0,
    peak_uv: float = 400.0,
    flat_channels: Sequence[int] = (),
    saturated_channels: Sequence[int] = (),
) -> np.ndarray:
    """All samples at once, (N, C) float32 microvolts (identical to concatenating the blocks)."""
    synth = EmgSynthesizer(
        t_true_motion,
        activation,
        device_times_s=device_times_s,
        clock=clock,
        rng=rng,
        rate_hz=rate_hz,
        mains_hz=mains_hz,
        noise_uv=noise_uv,
        peak_uv=peak_uv,
        flat_channels=flat_channels,
        saturated_channels=saturated_channels,
    )
    return synth.next_block(synth.n_samples)


def trigger_signal(
    device_times_s: np.ndarray,
    clock: DeviceClock,
    windows_true_s: Sequence[tuple[float, float]],
    *,
    rate_hz: float,
    high_v: float = 5.0,
    box_samples: float = 2.0,
) -> np.ndarray:
    """Sync-pulse channel (volts) as an integrating ADC would sample it; vectorised.

    Sample i reads ``high_v`` x the fraction of the box
    ``[t_i - box/2, t_i + box/2]`` (``box = box_samples / rate_hz`` of device time, mapped to true
    time through ``clock``) during which a pulse in ``windows_true_s`` is on.

    A box-filtered step is a linear ramp of width ``box`` centred on the edge, so every sample
    within ``box/2`` of the edge lies on the ramp. With the default ``box_samples=2`` the two
    samples bracketing the edge both lie on it, and the 50% crossing found by linear interpolation
    between them is exactly the edge time. With ``box_samples=1`` (a one-sample ramp) linear
    interpolation is off by up to 0.086 sample; the exact estimate is then
    ``edge = t_j + box/2 - box * v_j / high_v`` for the single intermediate sample j of a rising
    edge. Either way the first sample at or above 50% is the first whose true time is inside the pulse.
    """
    if rate_hz <= 0 or box_samples <= 0:
        raise ValueError(f"trigger_signal: rate_hz and box_samples must be > 0, got {rate_hz}, {box_samples}")
    t = np.asarray(device_times_s, dtype=np.float64)
    out = np.empty(t.shape)
    for start in range(0, t.shape[0], _TRIGGER_CHUNK):  # chunks bound the (n, windows) temporaries
        chunk = t[start : start + _TRIGGER_CHUNK]
        # The box is scaled by the sample's own segment (a box never straddles a clock reset).
        half_true = 0.5 * box_samples / rate_hz * clock.rate_scale(chunk)
        centre = clock.to_true(chunk)
        out[start : start + chunk.shape[0]] = exposure_overlap(centre - half_true, 2.0 * half_true, windows_true_s)
    return high_v * out
