"""Robust spread: the median absolute deviation scaled to a normal distribution's sigma."""

from __future__ import annotations

import numpy as np

__all__ = ["MAD_TO_SIGMA", "robust_sigma"]

# sigma = MAD_TO_SIGMA * MAD for normally distributed values (1 / Phi^-1(3/4)).
MAD_TO_SIGMA = 1.4826


def robust_sigma(values: np.ndarray, *, center: float | None = None) -> float:
    """``MAD_TO_SIGMA * median(|values - center|)``; ``center`` defaults to the values' median.

    Outliers (a dropped frame, a flash, one bad event) barely move it, unlike the standard deviation.
    """
    x = np.asarray(values, dtype=np.float64)
    c = np.median(x) if center is None else center
    return MAD_TO_SIGMA * float(np.median(np.abs(x - c)))
