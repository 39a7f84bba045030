"""Synthetic heart and breathing rate from a chest strap, about one row a second on its own clock.

Both rates follow the effort of the exercise with a physiological lag (a first-order response:
heart rate with a ~15 s time constant, breathing ~10 s), plus small measurement noise. The device
reports roughly once a second with jittered intervals and millisecond timestamps, as consumer
straps do. The CSV writers fix the decimals so the same inputs give the same bytes.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import signal

from flexsync.synth.clocks import DeviceClock, jittered_device_times

__all__ = [
    "EVENTS_HEADER",
    "PHYSIO_HEADER",
    "first_order_response",
    "synthesize_physio",
    "write_events_csv",
    "write_physio_csv",
]

logger = logging.getLogger(__name__)

PHYSIO_HEADER = "time_s,heart_rate_bpm,breathing_rate_bpm"
EVENTS_HEADER = "time_s,label"


def first_order_response(t_s: np.ndarray, x: np.ndarray, *, tau_s: float) -> np.ndarray:
    """Output of ``tau dy/dt = x - y`` on a uniform grid ``t_s``, starting at rest (y(0) = x(0)).

    Exact for an input that is constant over each step (zero-order hold).
    """
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    if t.shape[0] < 2:
        return x.copy()
    dt = float(np.median(np.diff(t)))
    if np.max(np.abs(np.diff(t) - dt)) > 1e-6 * dt + 1e-12:
        raise ValueError("first_order_response needs a uniform time grid")
    alpha = 1.0 - math.exp(-dt / tau_s)
    y, _ = signal.lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * x[0]])
    return y


def synthesize_physio(
    t_true_motion: np.ndarray,
    effort: np.ndarray,
    *,
    clock: DeviceClock,
    rng: np.random.Generator,
    true_start_s: float,
    true_end_s: float,
    rest_hr_bpm: float = 70.0,
    rest_br_bpm: float = 14.0,
    rate_hz: float = 1.0,
    hr_gain_bpm: float = 60.0,
    br_gain_bpm: float = 16.0,
    hr_tau_s: float = 15.0,
    br_tau_s: float = 10.0,
    interval_jitter_s: float = 0.05,
    hr_noise_bpm: float = 1.0,
    br_noise_bpm: float = 0.4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sample heart and breathing rate on the physiology device clock.

    Parameters
    ----------
    t_true_motion, effort : (T,) uniform true times (s) and effort in [0, 1]; held outside.
    clock : the physiology device clock; samples lie at true times in [true_start_s, true_end_s].
    rate_hz : mean reporting rate; intervals are ``1/rate_hz + N(0, interval_jitter_s)`` clipped to
        [0.5, 1.5] / rate_hz, from device time ``clock.to_device(true_start_s)`` (and from each
        segment's start after a clock reset), timestamps rounded to 1 ms.
    hr_gain_bpm, br_gain_bpm : rise at full effort; ``*_tau_s`` the first-order lag (s).

    Returns
    -------
    (device_times_s, heart_rate_bpm, breathing_rate_bpm), each (n,).
    """
    t_motion = np.asarray(t_true_motion, dtype=np.float64)
    effort = np.clip(np.asarray(effort, dtype=np.float64), 0.0, 1.0)
    if t_motion.shape != effort.shape or t_motion.ndim != 1:
        raise ValueError(f"t_true_motion {t_motion.shape} and effort {effort.shape} must be matching 1-D arrays")
    if not true_end_s > true_start_s or rate_hz <= 0:
        raise ValueError(f"need true_end_s > true_start_s and rate_hz > 0; got {true_start_s}, {true_end_s}, {rate_hz}")
    heart = first_order_response(t_motion, rest_hr_bpm + hr_gain_bpm * effort, tau_s=hr_tau_s)
    breath = first_order_response(t_motion, rest_br_bpm + br_gain_bpm * effort, tau_s=br_tau_s)

    times = np.round(
        jittered_device_times(
            clock,
            mean_rate_hz=rate_hz,
            jitter_s=interval_jitter_s,
            true_end_s=true_end_s,
            rng=rng,
            true_start_s=true_start_s,
        ),
        3,
    )
    true = clock.to_true(times)
    # Rounding to 1 ms may push a sample next to a clock reset across the segment boundary: drop it.
    consistent = clock.segment_index_device(times) == clock.segment_index_true(true)
    keep = consistent & (true >= true_start_s - 1e-3) & (true <= true_end_s)
    times, true = times[keep], true[keep]
    hr = np.interp(true, t_motion, heart) + rng.normal(0.0, hr_noise_bpm, size=times.shape)
    br = np.interp(true, t_motion, breath) + rng.normal(0.0, br_noise_bpm, size=times.shape)
    return times, hr, br


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so no reader sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_physio_csv(path: Path | str, times: np.ndarray, hr: np.ndarray, br: np.ndarray) -> None:
    """CSV ``time_s,heart_rate_bpm,breathing_rate_bpm``: time %.3f s, rates %.1f per minute."""
    path = Path(path)
    times, hr, br = (np.asarray(a, dtype=np.float64) for a in (times, hr, br))
    if not times.shape == hr.shape == br.shape or times.ndim != 1:
        raise ValueError(f"{path}: times {times.shape}, hr {hr.shape}, br {br.shape} must be matching 1-D arrays")
    rows = [f"{t:.3f},{h:.1f},{b:.1f}" for t, h, b in zip(times.tolist(), hr.tolist(), br.tolist(), strict=True)]
    _write_text(path, "\n".join([PHYSIO_HEADER, *rows]) + "\n")


def write_events_csv(path: Path | str, times: np.ndarray, labels: Sequence[str]) -> None:
    """CSV ``time_s,label``: device time %.6f s and a label without commas, quotes or newlines."""
    path = Path(path)
    times = np.asarray(times, dtype=np.float64)
    if times.ndim != 1 or len(labels) != times.shape[0]:
        raise ValueError(f"{path}: {len(labels)} labels for times of shape {times.shape}")
    bad = [label for label in labels if not label or any(c in label for c in ',"\r\n')]
    if bad:
        raise ValueError(f"{path}: event labels must be non-empty without commas, quotes or newlines: {bad}")
    rows = [f"{t:.6f},{label}" for t, label in zip(times.tolist(), labels, strict=True)]
    _write_text(path, "\n".join([EVENTS_HEADER, *rows]) + "\n")
