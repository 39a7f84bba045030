"""Muscle activation and overall exertion of a simulated set, from its phases and progress.

Activation per EMG channel drives the sEMG generator (amplitude envelope); effort drives the
heart and breathing rates. Both follow the repetition structure: concentric bursts high,
eccentric lower, a low tonic level at rest, the main muscles strongest, fatigue raising the
drive in later reps, and the weaker side lower in an asymmetric rep.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import filtfilt, lfilter

__all__ = ["PHASE_CODE", "effort_from_activation", "muscle_activation"]

PHASE_CODE = {"rest": 0, "preparation": 1, "eccentric": 2, "concentric": 3}
_DRIVE = np.array([0.05, 0.12, 0.4, 0.7])  # per phase code
_RELEVANCE = np.array([1.0, 0.85, 0.6, 0.5, 0.4, 0.3, 0.25, 0.2])  # per muscle, main muscles first
_TONIC = 0.02
_ACTIVATION_TAU_S = 0.025
_EFFORT_TAU_S = 90.0
_EFFORT_SCALE = 6.0


def muscle_activation(
    s: np.ndarray,
    phase_code: np.ndarray,
    rep_of: np.ndarray,
    asymmetry: np.ndarray | None,
    *,
    side_bias: float,
    rate_hz: float,
) -> np.ndarray:
    """Activation (T, 16) in [0, 1], channels ``muscle1_L, muscle1_R, ...``.

    Parameters
    ----------
    s
        Movement progress (0 start pose, 1 far end of the range).
    phase_code
        Per sample, a value of ``PHASE_CODE``.
    rep_of
        Per sample, the 1-based repetition index (0 before the first).
    asymmetry
        Severity 0-1 of an asymmetric-rep error per sample, or None.
    side_bias
        Subject's weaker side: < 0 right, >= 0 left; its magnitude lowers that side a little.
    """
    moving = phase_code >= PHASE_CODE["eccentric"]
    fatigue = 1.0 + 0.025 * np.maximum(rep_of - 1, 0)
    drive = _DRIVE[phase_code] * np.where(moving, 0.7 + 0.3 * s, 1.0) * fatigue
    asym = np.zeros_like(s) if asymmetry is None else asymmetry
    weak = "R" if side_bias < 0 else "L"
    gain = {
        weak: 1.0 - 0.05 * abs(side_bias) - 0.2 * asym,
        "R" if weak == "L" else "L": 1.0 + 0.1 * asym,
    }
    act = np.stack([_TONIC + rel * gain[side] * drive for rel in _RELEVANCE for side in ("L", "R")], axis=1)
    alpha = 1.0 - np.exp(-1.0 / (_ACTIVATION_TAU_S * rate_hz))
    act = filtfilt([alpha], [1.0, alpha - 1.0], act, axis=0, padtype="constant")  # zero-phase, tens of ms
    return np.clip(act, 0.0, 1.0)


def effort_from_activation(activation: np.ndarray, rate_hz: float) -> np.ndarray:
    """Overall exertion 0..1: a leaky integral of mean activation (rises across the set)."""
    dt = 1.0 / rate_hz
    integral = lfilter([dt], [1.0, -(1.0 - dt / _EFFORT_TAU_S)], activation.mean(axis=1))
    return 1.0 - np.exp(-integral / _EFFORT_SCALE)
