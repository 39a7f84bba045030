"""Sync pulses on analog and trigger channels (EMG ``TRIG``, mocap ``SYNC``), to sub-sample precision.

The sync box drives a rectangular pulse. An ADC that integrates its input over each sample
interval records, at an edge, one sample whose value is the on-fraction of that interval. The
50% crossing of the linearly interpolated samples is then up to ~0.1 sample off (about 50 us at
2 kHz), so the crossing only *locates* an edge; its time comes from the area under the
normalised samples around it, which is exact for an integrating ADC and unbiased for any
symmetric smoothing of the edge. Samples are taken to integrate over their Voronoi cell
(half-way to each neighbour), which makes the same estimate valid for non-uniform timestamps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from flexsync.robust import robust_sigma

__all__ = ["PulseEvents", "detect_pulses"]

logger = logging.getLogger(__name__)

# Samples on each side of a threshold crossing that enter the area estimate of an edge.
_EDGE_HALF_WINDOW = 2
# A channel is "flat" (no pulses) when its high-low spread is below this many noise sigmas.
_MIN_CONTRAST_SIGMA = 10.0


@dataclass(frozen=True)
class PulseEvents:
    """Pulses found on one channel, on the channel's (device) clock.

    ``onset_s``/``offset_s`` are float64 seconds, one entry per pulse, in time order.
    ``threshold``, ``low_level`` and ``high_level`` are in the channel's units (NaN when the
    channel showed no pulse at all).
    """

    onset_s: np.ndarray
    offset_s: np.ndarray
    threshold: float
    low_level: float
    high_level: float

    @property
    def n(self) -> int:
        return int(self.onset_s.shape[0])


def _empty(threshold: float = np.nan, low: float = np.nan, high: float = np.nan) -> PulseEvents:
    return PulseEvents(np.zeros(0), np.zeros(0), float(threshold), float(low), float(high))


def detect_pulses(
    values: np.ndarray,
    timestamps_s: np.ndarray,
    *,
    threshold: float | None = None,
    min_separation_s: float = 0.5,
    min_width_s: float = 0.01,
) -> PulseEvents:
    """Find rectangular pulses and time their edges to a fraction of a sample.

    Parameters
    ----------
    values : (N,) array
        The channel (any unit). Pulses go up from a low baseline.
    timestamps_s : (N,) array
        Sample times in seconds, strictly increasing (need not be uniform).
    threshold : float, optional
        Level that separates low from high. Default: midway between the robust low level and
        the sustained high level (the highest level held for at least ``min_width_s``), and
        no pulse at all when that spread is under 10 noise sigmas.
    min_separation_s : float
        A pulse starting less than this after the previous pulse's onset is a bounce of it and
        is merged into it (0.5 s).
    min_width_s : float
        High runs shorter than this are glitches and are dropped; low dips shorter than this
        inside a pulse are bridged (0.01 s).

    Returns
    -------
    PulseEvents
        Empty arrays when there is no pulse (not an error). Pulses cut by the start or end of
        the recording (no edge on one side) are left out and logged.

    Raises
    ------
    ValueError
        Shapes differ, or timestamps are not strictly increasing.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    t = np.asarray(timestamps_s, dtype=np.float64).reshape(-1)
    if x.shape != t.shape:
        raise ValueError(f"detect_pulses: values has {x.shape[0]} samples but timestamps_s has {t.shape[0]}")
    if x.size < 3:
        return _empty()
    if not np.all(np.diff(t) > 0):
        raise ValueError("detect_pulses: timestamps_s must be strictly increasing (sort them or split at resets)")
    finite = np.isfinite(x)
    if not finite.all():
        # Missing samples read as the baseline so they can neither start nor end a pulse.
        x = np.where(finite, x, np.nanmedian(x) if finite.any() else 0.0)

    dt_med = float(np.median(np.diff(t)))
    low, high, thr = _levels(x, max(1, round(min_width_s / dt_med)), threshold)
    if thr is None:
        return _empty(np.nan, low, high)

    above = x >= thr
    runs = _high_runs(above, t, min_width_s)
    if not runs:
        return _empty(thr, low, high)

    onsets, offsets = [], []
    for start, stop in runs:  # samples start..stop-1 are high
        if start == 0 or stop == x.size:
            logger.info("pulse at %.4f s cut by the start/end of the channel; ignored", t[min(start, x.size - 1)])
            continue
        # Keep each edge's window clear of the other edge (stop-1 and start may be partial).
        onset = _edge_time(x, t, start, low, high, rising=True, limit=max(start + 1, stop - 1))
        offset = _edge_time(x, t, stop, low, high, rising=False, limit=min(stop - 1, start + 1))
        if onsets and onset - onsets[-1] < min_separation_s:
            logger.debug("pulse at %.4f s within %.3f s of the previous one: merged", onset, min_separation_s)
            offsets[-1] = offset
            continue
        onsets.append(onset)
        offsets.append(offset)
    return PulseEvents(np.asarray(onsets, dtype=np.float64), np.asarray(offsets, dtype=np.float64), thr, low, high)


def _levels(x: np.ndarray, width_samples: int, threshold: float | None) -> tuple[float, float, float | None]:
    """Robust low level, sustained high level and the threshold (None: no pulses)."""
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    # A level "held" for width_samples: glitches and single noisy samples cannot set it.
    held_high = float(minimum_filter1d(x, width_samples, mode="nearest").max())
    held_low = float(maximum_filter1d(x, width_samples, mode="nearest").min())
    if threshold is not None:
        thr = float(threshold)
        lo_vals, hi_vals = x[x < thr], x[x >= thr]
        low = float(np.median(lo_vals)) if lo_vals.size else held_low
        high = float(np.median(hi_vals)) if hi_vals.size else held_high
        return low, high, thr
    noise = robust_sigma(np.diff(x), center=0.0) / np.sqrt(2.0)
    spread = held_high - held_low
    if spread <= 0 or spread < _MIN_CONTRAST_SIGMA * noise:
        return held_low, held_high, None
    thr = 0.5 * (held_low + held_high)
    # Refine both levels as medians of the samples on each side of the first threshold.
    low = float(np.median(x[x < thr]))
    high = float(np.median(x[x >= thr]))
    return low, high, 0.5 * (low + high)


def _high_runs(above: np.ndarray, t: np.ndarray, min_width_s: float) -> list[tuple[int, int]]:
    """(start, stop) sample ranges that are high, after dropping glitches and bridging dips."""
    edges = np.diff(above.astype(np.int8))
    starts = list(np.flatnonzero(edges == 1) + 1)
    stops = list(np.flatnonzero(edges == -1) + 1)
    if above[0]:
        starts.insert(0, 0)
    if above[-1]:
        stops.append(above.size)
    runs = [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]

    def span(a: int, b: int) -> float:  # duration of samples a..b-1, each counting one cell
        lo = t[a] - (t[a + 1] - t[a]) / 2 if a + 1 < t.size else t[a]
        hi = t[b - 1] + (t[b - 1] - t[b - 2]) / 2 if b - 2 >= 0 else t[b - 1]
        return float(hi - lo)

    runs = [r for r in runs if span(*r) >= min_width_s or r[0] == 0 or r[1] == above.size]
    merged: list[tuple[int, int]] = []
    for a, b in runs:
        if merged and t[a] - t[merged[-1][1] - 1] < min_width_s:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _edge_time(x: np.ndarray, t: np.ndarray, idx: int, low: float, high: float, *, rising: bool, limit: int) -> float:
    """Sub-sample time of the edge between samples idx-1 and idx from the on-area nearby.

    ``limit`` bounds the window on the pulse side: exclusive end for a rising edge, first
    sample for a falling one.
    """
    n = x.size
    a = max(0, idx - 1 - _EDGE_HALF_WINDOW)
    b = min(n, idx + 1 + _EDGE_HALF_WINDOW)  # samples a..b-1
    if rising:
        b = min(b, limit)
    else:
        a = max(a, limit)
    # Voronoi cell bounds of those samples.
    tt = t[max(0, a - 1) : min(n, b + 1)]
    mids = 0.5 * (tt[1:] + tt[:-1])
    left = mids[0] if a > 0 else t[a] - (t[a + 1] - t[a]) / 2
    right = mids[-1] if b < n else t[b - 1] + (t[b - 1] - t[b - 2]) / 2
    inner = 0.5 * (t[a + 1 : b] + t[a : b - 1])
    bounds = np.concatenate([[left], inner, [right]])
    widths = np.diff(bounds)
    frac = (x[a:b] - low) / (high - low)
    on_time = float(np.dot(frac, widths))
    # Rising: low, then high until the window's right bound. Falling: high from the left bound.
    return float(bounds[-1] - on_time) if rising else float(bounds[0] + on_time)
