"""A robust straight-line fit of clock offsets, and the search for a hidden offset step in it.

Many matched sync pulses turn the clock fit into a regression: ``y = t_ref - t_dev`` against
``x = t_dev`` is ``offset + drift * x`` plus timing noise, plus the odd outlier (a limb in front
of the LED, a glitch on a trigger line). ``robust_line`` starts from the repeated-medians line
(``scipy.stats.siegelslopes``, which survives up to half the points being wrong), then iterates
weighted least squares on the points within ``reject_sigmas`` of the line, where the scale is
the larger of the inliers' robust spread and each point's own timing uncertainty, until the
inlier set stops changing. Weights are 1 / uncertainty^2 (uniform when unknown).

``offset_step`` looks for one place where the offset jumps while the drift stays (the same
oscillator on both sides): a clock reset that the timestamps cannot show, e.g. an EDF/BDF or C3D
file whose sample times are ``index / rate``, where a reset leaves only a sub-sample phase step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from flexsync.robust import robust_sigma

__all__ = [
    "LineFit",
    "OffsetStep",
    "SharedSlope",
    "leave_one_out",
    "offset_step",
    "robust_line",
    "shared_slope",
    "slope_error",
    "weighted_line",
]


@dataclass(frozen=True)
class LineFit:
    """``y = offset + drift * x`` fitted to the ``inliers``; ``residuals`` of all points; robust ``scale`` (y units)."""

    offset: float
    drift: float
    inliers: np.ndarray
    residuals: np.ndarray
    scale: float

    def at(self, x: np.ndarray) -> np.ndarray:
        return self.offset + self.drift * np.asarray(x, dtype=np.float64)


def weighted_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares (offset, slope) of ``y = offset + slope * x``; slope 0 for a single x value."""
    xm = float(np.average(x, weights=w))
    ym = float(np.average(y, weights=w))
    xc = x - xm
    denom = float(np.sum(w * xc * xc))
    slope = float(np.sum(w * xc * (y - ym)) / denom) if denom > 0 else 0.0
    return ym - slope * xm, slope


def _weights(uncertainty: np.ndarray | None, n: int, floor: float) -> np.ndarray:
    if uncertainty is None:
        return np.ones(n)
    u = np.asarray(uncertainty, dtype=np.float64)
    if not np.all(np.isfinite(u)):
        return np.ones(n)
    return 1.0 / np.maximum(u, floor) ** 2


def robust_line(
    x: np.ndarray,
    y: np.ndarray,
    *,
    uncertainty: np.ndarray | None = None,
    sigma_floor: float = 1e-6,
    reject_sigmas: float = 4.0,
    max_iter: int = 30,
) -> LineFit:
    """Fit ``y = offset + drift * x`` robustly (see the module docstring); needs 2+ points.

    ``uncertainty`` (one per point, same unit as y) weighs the points and widens their rejection
    bound; ``sigma_floor`` keeps a noise-free fit from rejecting points by rounding error.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.size < 2:
        raise ValueError(f"robust_line: needs at least 2 points, got {x.size}")
    u = None if uncertainty is None else np.asarray(uncertainty, dtype=np.float64).reshape(-1)
    w = _weights(u, x.size, sigma_floor)
    x0 = float(np.median(x))  # centred abscissa: offset and slope stay well conditioned
    xc = x - x0
    if x.size >= 3 and np.ptp(xc) > 0:
        slope, intercept = stats.siegelslopes(y, xc)
        offset, drift = float(intercept), float(slope)
    else:
        offset, drift = weighted_line(xc, y, w)
    own = u if u is not None and np.all(np.isfinite(u)) else np.zeros(x.size)
    inliers = np.ones(x.size, dtype=bool)
    scale = sigma_floor
    for iteration in range(max_iter):
        resid = y - (offset + drift * xc)
        core = resid[inliers] if inliers.sum() >= 3 else resid
        scale = max(robust_sigma(core, center=0.0), sigma_floor)
        new = np.abs(resid) <= reject_sigmas * np.maximum(scale, own)
        if new.sum() < 2:  # keep the two closest: a line needs two points
            new = np.zeros(x.size, dtype=bool)
            new[np.argsort(np.abs(resid))[:2]] = True
        if iteration > 0 and np.array_equal(new, inliers):
            break
        inliers = new
        offset, drift = weighted_line(xc[inliers], y[inliers], w[inliers])
    resid = y - (offset + drift * xc)
    return LineFit(offset - drift * x0, drift, inliers, resid, float(scale))


def leave_one_out(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Prediction error of each point from the weighted line through the others (needs 3+ points).

    Exact for least squares: the residual over one minus the point's leverage.
    """
    return shared_slope([(x, y, w)]).loo[0]


def slope_error(x: np.ndarray, y: np.ndarray, w: np.ndarray, *, min_variance: float = 0.0) -> float:
    """Standard error of a weighted line's slope from its own scatter (NaN with fewer than 3 points).

    ``min_variance`` floors the scatter's weighted variance: 1 when the weights are 1 / uncertainty^2,
    so a few points that happen to line up cannot claim more precision than their uncertainties allow.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < 3:
        return math.nan
    a, b = weighted_line(x, y, w)
    r = np.asarray(y, dtype=np.float64) - (a + b * x)
    xc = x - np.average(x, weights=w)
    sxx = float(np.sum(w * xc * xc))
    if sxx <= 0:
        return math.nan
    s2 = max(float(np.sum(w * r * r)) / (x.size - 2), min_variance)
    return math.sqrt(s2 / sxx)


@dataclass(frozen=True)
class SharedSlope:
    """Lines with one slope and an offset per group: ``y = offsets[k] + slope * x``; per group its
    residuals and leave-one-out errors."""

    offsets: tuple[float, ...]
    slope: float
    residuals: tuple[np.ndarray, ...]
    loo: tuple[np.ndarray, ...]


def shared_slope(groups: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> SharedSlope:
    """Weighted least squares of several groups ``(x, y, w)`` sharing one slope (e.g. clock segments
    of one oscillator): the slope from every group's deviations about its own means.

    Leave-one-out errors use the exact leverage ``w_i / W_k + w_i (x_i - mean_k)^2 / Sxx``; a point
    alone in its group (leverage 1) gets NaN.
    """
    prepared = []
    sxx = sxy = 0.0
    for x, y, w in groups:
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        w = np.asarray(w, dtype=np.float64)
        xm = float(np.average(x, weights=w))
        ym = float(np.average(y, weights=w))
        sxx += float(np.sum(w * (x - xm) ** 2))
        sxy += float(np.sum(w * (x - xm) * (y - ym)))
        prepared.append((x, y, w, xm, ym))
    slope = sxy / sxx if sxx > 0 else 0.0
    offsets, residuals, loo = [], [], []
    for x, y, w, xm, ym in prepared:
        offset = ym - slope * xm
        r = y - (offset + slope * x)
        leverage = w / float(np.sum(w)) + (w * (x - xm) ** 2 / sxx if sxx > 0 else 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            loo.append(np.where(leverage < 1.0 - 1e-12, r / (1.0 - leverage), np.nan))
        offsets.append(float(offset))
        residuals.append(r)
    return SharedSlope(tuple(offsets), float(slope), tuple(residuals), tuple(loo))


@dataclass(frozen=True)
class OffsetStep:
    """An offset step between points ``index - 1`` and ``index`` (sorted by x): ``step`` (y units), the
    residual scale without and with it."""

    index: int
    step: float
    scale_one: float
    scale_two: float


def offset_step(
    x: np.ndarray,
    y: np.ndarray,
    *,
    min_side: int = 4,
    min_step: float = 2e-5,
    sigmas: float = 8.0,
) -> OffsetStep | None:
    """The best single offset step with a common slope, if it is real: None otherwise.

    Every split leaving ``min_side`` points on each side is tried (least squares, two offsets,
    one slope). The best is kept when its step exceeds ``min_step`` and ``sigmas`` x the residual
    scale with the step, and the step at least halves that scale. Points must be sorted by x.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    n = x.size
    if n < 2 * min_side:
        return None
    xc = x - float(np.median(x))
    one = y - np.polyval(np.polyfit(xc, y, 1), xc)
    best: tuple[float, int, float, np.ndarray] | None = None
    for k in range(min_side, n - min_side + 1):
        side = (np.arange(n) >= k).astype(np.float64)
        design = np.column_stack([np.ones(n), side, xc])
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        resid = y - design @ coef
        sse = float(resid @ resid)
        if best is None or sse < best[0]:
            best = (sse, k, float(coef[1]), resid)
    assert best is not None
    _, k, step, resid = best
    scale_one = robust_sigma(one, center=0.0)
    scale_two = robust_sigma(resid, center=0.0)
    if math.isnan(scale_two):
        return None
    if abs(step) > max(min_step, sigmas * scale_two) and scale_two <= 0.5 * scale_one:
        return OffsetStep(k, step, float(scale_one), float(scale_two))
    return None
