"""Putting streams on a common reference-clock grid, with one rule per modality and validity masks.

Only consumers that need a common grid call these; the stored streams keep their own measured
timestamps. The rules (BLUEPRINT, "Timing model"):

- video frames are *chosen* (nearest frame in time), never blended;
- pose is linearly interpolated, all joints at once, and masked across occlusion gaps;
- EMG is resampled with an anti-aliasing polyphase filter, then placed on the grid through the
  clock model (its samples are not at k / rate on the reference clock because of drift);
- physiological signals are held or linearly interpolated.

Nothing here raises on gaps, edges or missing samples: the mask says what is valid and invalid
values are NaN (or index -1). Bad arguments (shapes, rates) do raise ``ValueError``.
"""

from __future__ import annotations

import logging
import math
from fractions import Fraction
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from flexsync.timing.clock_model import ClockModel

__all__ = [
    "emg_onto_grid",
    "hold_or_interpolate",
    "interpolate_pose",
    "make_grid",
    "nearest_frame",
    "resample_polyphase",
]

logger = logging.getLogger(__name__)

# Relative tolerance when snapping grid ends to multiples of 1 / rate.
_GRID_SNAP = 1e-9
# Largest up/down factor accepted for the rational approximation of a rate ratio.
_MAX_DENOMINATOR = 1000


def make_grid(t_start_s: float, t_end_s: float, rate_hz: float) -> np.ndarray:
    """Reference-clock grid ``k / rate_hz`` for every integer k with start <= k / rate <= end.

    The first point is ``t_start_s`` rounded up to the grid, so grids of one rate line up across
    streams and recordings, and the values are exactly ``k / rate_hz`` (deterministic).
    Returns an empty float64 array when end < start.
    """
    if not rate_hz > 0 or not math.isfinite(rate_hz):
        raise ValueError(f"make_grid: rate_hz must be a positive number, got {rate_hz}")
    if not (math.isfinite(t_start_s) and math.isfinite(t_end_s)):
        raise ValueError(f"make_grid: start and end must be finite, got {t_start_s}, {t_end_s}")
    a, b = t_start_s * rate_hz, t_end_s * rate_hz
    k0 = round(a) if abs(a - round(a)) <= _GRID_SNAP * max(1.0, abs(a)) else math.ceil(a)
    k1 = round(b) if abs(b - round(b)) <= _GRID_SNAP * max(1.0, abs(b)) else math.floor(b)
    if k1 < k0:
        return np.zeros(0, dtype=np.float64)
    return np.arange(k0, k1 + 1, dtype=np.float64) / rate_hz


def nearest_frame(
    frame_times_ref_s: np.ndarray, grid_s: np.ndarray, *, max_distance_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """The frame nearest in time to each grid point (chosen, never blended).

    Parameters
    ----------
    frame_times_ref_s : (F,) array
        Frame times on the reference clock (NaN frames are never chosen); any order.
    grid_s : (G,) array
    max_distance_s : float
        A grid point further than this from every frame (a wide dropped-frame gap, outside the
        recording) is invalid. Half a frame interval is a natural choice.

    Returns
    -------
    indices : (G,) int32, index into ``frame_times_ref_s``, -1 where invalid (ties: the earlier frame)
    valid : (G,) bool
    """
    ft = np.asarray(frame_times_ref_s, dtype=np.float64).reshape(-1)
    g = np.asarray(grid_s, dtype=np.float64).reshape(-1)
    good = np.flatnonzero(np.isfinite(ft))
    order = good[np.argsort(ft[good], kind="stable")]
    st = ft[order]
    idx = np.full(g.shape, -1, dtype=np.int32)
    valid = np.zeros(g.shape, dtype=bool)
    if st.size == 0 or g.size == 0:
        return idx, valid
    right = np.clip(np.searchsorted(st, g, side="left"), 0, st.size - 1)
    left = np.clip(right - 1, 0, st.size - 1)
    d_left = np.abs(g - st[left])
    d_right = np.abs(st[right] - g)
    pick = np.where(d_left <= d_right, left, right)
    dist = np.minimum(d_left, d_right)
    valid = np.isfinite(g) & (dist <= max_distance_s)
    idx[valid] = order[pick[valid]]
    return idx, valid


def _bracket(
    t: np.ndarray, valid: np.ndarray, grid: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per grid point and channel: the last valid sample at/before it and the first valid after.

    ``t`` (N,) increasing, ``valid`` (N, K). Returns lo, hi (G, K) intp (-1 / N when none),
    exact (G, K) bool (a valid sample at exactly the grid time), and s (G,) = last sample <= g.
    """
    n = t.size
    ar = np.arange(n)[:, None]
    prev_valid = np.maximum.accumulate(np.where(valid, ar, -1), axis=0)
    next_valid = np.minimum.accumulate(np.where(valid, ar, n)[::-1], axis=0)[::-1]
    s = np.searchsorted(t, grid, side="right") - 1  # t[s] <= g < t[s + 1]
    lo = np.where((s >= 0)[:, None], prev_valid[np.clip(s, 0, n - 1)], -1)
    hi = np.where((s + 1 <= n - 1)[:, None], next_valid[np.clip(s + 1, 0, n - 1)], n)
    exact = (lo >= 0) & (t[np.clip(lo, 0, n - 1)] == grid[:, None])
    return lo, hi, exact, s


def _sorted_inputs(
    t_s: np.ndarray, values: np.ndarray, valid: np.ndarray | None, what: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t = np.asarray(t_s, dtype=np.float64).reshape(-1)
    v = np.asarray(values)
    if v.shape[0] != t.size:
        raise ValueError(f"{what}: {t.size} timestamps but values has {v.shape[0]} rows")
    v3 = v.reshape(v.shape[0], v.shape[1], -1)
    total = v3[:, :, 0].copy()
    for i in range(1, v3.shape[2]):  # NaN/inf in any coordinate poisons the sum (faster than all(axis=2))
        total += v3[:, :, i]
    ok = np.isfinite(total) & np.isfinite(t)[:, None]
    if valid is not None:
        vm = np.asarray(valid, dtype=bool)
        if vm.shape != ok.shape:
            raise ValueError(f"{what}: valid has shape {vm.shape}, expected {ok.shape}")
        ok &= vm
    finite_t = np.isfinite(t)
    if not finite_t.all() or np.any(np.diff(t[finite_t]) < 0):
        order = np.argsort(np.where(finite_t, t, np.inf), kind="stable")
        t, v, ok = t[order], v[order], ok[order]
    return t, v, ok


def interpolate_pose(
    t_ref_s: np.ndarray,
    joints: np.ndarray,
    valid: np.ndarray | None,
    grid_s: np.ndarray,
    *,
    max_gap_s: float = 0.1,
) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation of all joints onto the grid at once, masked across gaps.

    Parameters
    ----------
    t_ref_s : (N,) reference-clock sample times
    joints : (N, J, 3) positions (any unit); non-finite values count as invalid
    valid : (N, J) bool or None (None: every finite sample is valid)
    grid_s : (G,)
    max_gap_s : float
        A grid point is valid for a joint only if the valid samples bracketing it are at most
        this far apart (0.1 s), or one sits exactly on it.

    Returns
    -------
    out : (G, J, 3) float32, NaN where invalid
    mask : (G, J) bool
    """
    arr = np.asarray(joints)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"interpolate_pose: joints must be (N, J, 3), got shape {arr.shape}")
    t, v, ok = _sorted_inputs(t_ref_s, arr, valid, "interpolate_pose")
    out, mask = _interp(
        t, v.astype(np.float64, copy=False), ok, np.asarray(grid_s, dtype=np.float64).reshape(-1), max_gap_s, "linear"
    )
    return out.astype(np.float32), mask


def hold_or_interpolate(
    t_ref_s: np.ndarray,
    values: np.ndarray,
    grid_s: np.ndarray,
    *,
    mode: Literal["linear", "hold"] = "linear",
    max_gap_s: float = 5.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Slow physiological signals (heart rate, breathing) onto the grid.

    ``mode="linear"``: valid where the valid samples around the grid point are at most
    ``max_gap_s`` apart. ``mode="hold"``: the last valid sample's value, valid for
    ``max_gap_s`` after it (so the last sample is held, nothing before the first one).
    NaN samples are invalid. Returns ``(out (G, C) float32 with NaN where invalid, mask (G, C))``.
    """
    if mode not in ("linear", "hold"):
        raise ValueError(f"hold_or_interpolate: mode must be 'linear' or 'hold', got {mode!r}")
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"hold_or_interpolate: values must be (N, C), got shape {np.shape(values)}")
    t, v, ok = _sorted_inputs(t_ref_s, arr[:, :, None], None, "hold_or_interpolate")
    out, mask = _interp(t, v, ok, np.asarray(grid_s, dtype=np.float64).reshape(-1), max_gap_s, mode)
    return out[:, :, 0].astype(np.float32), mask


def _interp(
    t: np.ndarray, v: np.ndarray, ok: np.ndarray, grid: np.ndarray, max_gap_s: float, mode: str
) -> tuple[np.ndarray, np.ndarray]:
    """Core for (N, K, D) values with (N, K) validity: (G, K, D) float64 and (G, K) mask."""
    n, k, d = v.shape
    if n == 0 or grid.size == 0:
        return np.full((grid.size, k, d), np.nan), np.zeros((grid.size, k), dtype=bool)
    if mode == "hold":
        lo, _, _, _ = _bracket(t, ok, grid)
        lo_c = np.clip(lo, 0, n - 1)
        out = v[lo_c, np.arange(k)[None, :]]
        mask = (lo >= 0) & (grid[:, None] - t[lo_c] <= max_gap_s) & np.isfinite(grid)[:, None]
        out[~mask] = np.nan
        return out, mask

    # Fast path, shared by every channel: the samples bracketing each grid point.
    s = np.searchsorted(t, grid, side="right") - 1
    s0, s1 = np.clip(s, 0, n - 1), np.clip(s + 1, 0, n - 1)
    t0, t1 = t[s0], t[s1]
    inside = (s >= 0) & (s + 1 < n)
    exact = (s >= 0) & (t0 == grid)
    span = np.where(inside & (t1 > t0), t1 - t0, 1.0)
    w = np.where(inside & ~exact, (grid - t0) / span, 0.0)
    # One gather per side over all channels (rows of K*D values), then in-place arithmetic.
    flat = v.reshape(n, k * d)
    a = np.take(flat, s0, axis=0)
    out = np.take(flat, s1, axis=0)
    out -= a
    out *= w[:, None]
    out += a
    out = out.reshape(grid.size, k, d)
    pair_ok = ok[s0] & ok[s1]
    mask = ok[s0] & (exact | (inside & (t1 - t0 <= max_gap_s)))[:, None]
    mask &= exact[:, None] | pair_ok
    if not ok.all():
        # Entries next to an invalid sample: look for the nearest valid samples of that channel.
        gi, ki = np.nonzero(~pair_ok & ~(exact[:, None] & ok[s0]) & (s >= 0)[:, None])
        if gi.size:
            lo_all, hi_all, _, _ = _bracket(t, ok, grid[np.unique(gi)])
            row = np.searchsorted(np.unique(gi), gi)
            lo, hi = lo_all[row, ki], hi_all[row, ki]
            lo_c, hi_c = np.clip(lo, 0, n - 1), np.clip(hi, 0, n - 1)
            g = grid[gi]
            ex = (lo >= 0) & (t[lo_c] == g)
            both = (lo >= 0) & (hi < n)
            valid = ex | (both & (t[hi_c] - t[lo_c] <= max_gap_s))
            sp = np.where(both & (t[hi_c] > t[lo_c]), t[hi_c] - t[lo_c], 1.0)
            ww = np.where(both & ~ex, (g - t[lo_c]) / sp, 0.0)
            va = v[lo_c, ki]
            out[gi, ki] = va + ww[:, None] * (v[hi_c, ki] - va)
            mask[gi, ki] = valid
    mask &= np.isfinite(grid)[:, None]
    out[~mask] = np.nan
    return out, mask


def resample_polyphase(
    values: np.ndarray, rate_in_hz: float, rate_out_hz: float, *, max_denominator: int = _MAX_DENOMINATOR
) -> tuple[np.ndarray, float]:
    """Anti-aliased rate change with ``scipy.signal.resample_poly`` along axis 0.

    The ratio ``rate_out / rate_in`` is approximated by a fraction up/down with
    ``down <= max_denominator``; the rate actually produced (``rate_in * up / down``) is returned
    and may differ slightly from the request. Output sample m is at ``m / actual_rate`` from the
    first input sample (same clock). The edges are padded with a line fit (``padtype="line"``),
    which keeps offsets and slow trends from ringing.

    Returns
    -------
    out : (M, C) float32 (or (M,) for 1-D input)
    actual_rate_hz : float
    """
    from scipy.signal import resample_poly

    if not (rate_in_hz > 0 and rate_out_hz > 0):
        raise ValueError(f"resample_polyphase: rates must be > 0, got {rate_in_hz} -> {rate_out_hz}")
    frac = Fraction(rate_out_hz / rate_in_hz).limit_denominator(max_denominator)
    if frac.numerator == 0:
        raise ValueError(f"resample_polyphase: ratio {rate_out_hz}/{rate_in_hz} too small for 1/{max_denominator}")
    up, down = frac.numerator, frac.denominator
    actual = rate_in_hz * up / down
    if abs(actual - rate_out_hz) > 1e-9 * rate_out_hz:
        logger.info(
            "resample_polyphase: %.6g Hz -> %.6g Hz approximated as x%d/%d = %.9g Hz",
            rate_in_hz,
            rate_out_hz,
            up,
            down,
            actual,
        )
    x = np.asarray(values, dtype=np.float64)
    if x.shape[0] == 0:
        return np.zeros((0, *x.shape[1:]), dtype=np.float32), actual
    if up == down:
        return x.astype(np.float32), actual
    out = resample_poly(x, up, down, axis=0, padtype="line")
    return out.astype(np.float32), actual


def emg_onto_grid(
    values: np.ndarray,
    rate_hz: float,
    clock_model: ClockModel,
    grid_s: np.ndarray,
    *,
    t0_dev_s: float = 0.0,
    grid_rate_hz: float | None = None,
    segment: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """EMG (or any uniformly sampled signal) onto a reference-clock grid.

    The samples are first brought to the grid's rate with ``resample_polyphase`` (anti-aliasing
    at the grid's Nyquist frequency; skipped when the rates are equal), then their device times
    ``t0_dev_s + m / rate`` are mapped through ``clock_model`` and the series is evaluated at the
    grid times by cubic spline interpolation (the drift makes the sample times slide against the
    grid; at a half-sample offset a cubic errs by < 1% of the amplitude up to 0.2 x grid rate and
    2% at 0.25 x, where linear interpolation loses 19% and 29%; so choose a grid rate of at least
    4 x the highest frequency of interest). Non-finite input samples are zeroed and
    grid points within the filter's reach of them masked.

    Parameters
    ----------
    values : (N, C) samples on the device clock, uniformly spaced at ``rate_hz``
    rate_hz : the device's nominal sample rate
    clock_model : device -> reference map
    grid_s : (G,) reference-clock times, uniformly spaced
    t0_dev_s : device time of the first sample (0)
    grid_rate_hz : the grid's rate (default: from the grid spacing)
    segment : clock segment to use (default: decided by the model from the sample times; a
        signal cut by a clock reset should be split and mapped one piece at a time)

    Returns
    -------
    out : (G, C) float32, NaN where invalid
    mask : (G,) bool, True inside the signal's span on the reference clock
    """
    from scipy.interpolate import make_interp_spline

    x = np.asarray(values, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"emg_onto_grid: values must be (N, C), got shape {np.shape(values)}")
    g = np.asarray(grid_s, dtype=np.float64).reshape(-1)
    n_ch = x.shape[1]
    out = np.full((g.size, n_ch), np.nan, dtype=np.float32)
    mask = np.zeros(g.size, dtype=bool)
    if x.shape[0] < 4 or g.size == 0:
        return out, mask
    if grid_rate_hz is None:
        if g.size < 2:
            raise ValueError("emg_onto_grid: give grid_rate_hz for a grid of fewer than 2 points")
        grid_rate_hz = float((g.size - 1) / (g[-1] - g[0]))

    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        x = np.where(np.isfinite(x), x, 0.0)
    if abs(grid_rate_hz - rate_hz) > 1e-9 * rate_hz:
        y, rate = resample_polyphase(x, rate_hz, grid_rate_hz)
        y = y.astype(np.float64)
    else:
        y, rate = x, rate_hz
    if y.shape[0] < 4:
        return out, mask
    t_dev = t0_dev_s + np.arange(y.shape[0]) / rate
    t_ref = clock_model.to_reference(t_dev, segment=segment)
    if np.any(np.diff(t_ref) <= 0):
        raise ValueError(
            f"emg_onto_grid: clock model for stream {clock_model.stream} is not increasing over the "
            "signal; split the signal at clock resets and pass segment="
        )
    spline = make_interp_spline(t_ref, y, k=3, axis=0)
    mask = np.isfinite(g) & (g >= t_ref[0]) & (g <= t_ref[-1])
    if bad.any():
        # A bad input sample spoils the polyphase filter's reach (~10 input periods of the
        # slower rate) around it on the reference clock.
        reach_s = 10.0 / min(rate_hz, rate) + 1.0 / rate
        t_bad = clock_model.to_reference(t0_dev_s + np.flatnonzero(bad) / rate_hz, segment=segment)
        pos = np.searchsorted(t_bad, g)
        near = np.minimum(
            np.abs(g - t_bad[np.clip(pos - 1, 0, t_bad.size - 1)]), np.abs(t_bad[np.clip(pos, 0, t_bad.size - 1)] - g)
        )
        mask &= near > reach_s
    out[mask] = spline(g[mask]).astype(np.float32)
    return out, mask
