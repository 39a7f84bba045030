"""Which errors a repetition shows: per-skill error rates scaled into the action's score range.

A repetition's score is the FKG formula ``(1 - observed weight / total weight) x 100``
(:func:`flexsync.fkg.fkg_score`), so the score distribution follows from how often errors occur.
Real FLEX scores do not spread over 0-100: each class has its own range (class 1: 40.99-93.79,
``flexsync/exports/flex_score_ranges.csv``), and FLEX's code normalises with exactly that range.
The generator therefore draws errors so the scores live in the same ranges:

1. **Error rate per skill.** A subject's ``error_rate`` (expert ~0.05, amateur ~0.2, novice ~0.4,
   :mod:`flexsync.synth.subjects`) becomes a level ``min(1, error_rate / SKILL_RATE_AT_RANGE_MIN)``:
   about 0.08, 0.33 and 0.67. Each error type of the action is then observed with probability
   ``p = f_lo + level x (f_hi - f_lo)``, where ``f_lo = 1 - max/100`` and ``f_hi = 1 - min/100`` are
   the lost-weight fractions at the range's ends. The expected lost fraction is ``p`` (independent
   draws, any weights), so the expected score is ``max - level x (max - min)``: an average expert
   lands 8 % of the way down the class's range, an amateur a third, a novice two thirds, and the
   range's ends belong to the best expert and the worst novice, as in a real cohort.
2. **Inside the range.** Scores are discrete (subsets of a handful of weights), and a lucky or
   unlucky repetition can fall outside the range (an expert with no error scores 100, above most
   classes' maxima). :func:`errors_in_range` then takes the in-range error set nearest to the draw:
   it flips as few errors as possible, and among those sets the errors whose uniform draws came
   closest to the threshold ``p`` (least ``sum |u_e - p|``). No extra random numbers are drawn, so
   the rest of the recording keeps its random stream.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "SKILL_RATE_AT_RANGE_MIN",
    "error_probability",
    "errors_in_range",
    "in_range_scores",
    "skill_level",
]

# A subject error_rate at which the expected score is the range's minimum (novices average 0.4 -> 2/3).
SKILL_RATE_AT_RANGE_MIN = 0.6
_MAX_ERROR_TYPES = 16  # 2**16 subsets: far above the FKG's 6-7 error types per action


def skill_level(error_rate: float) -> float:
    """Where a subject's expected score sits in the range: 0 at the maximum, 1 at the minimum."""
    return float(min(1.0, max(0.0, error_rate) / SKILL_RATE_AT_RANGE_MIN))


def error_probability(error_rate: float, score_range: tuple[float, float]) -> float:
    """Probability of each error type in one repetition so the expected score is in ``score_range``."""
    lo, hi = score_range
    f_lo, f_hi = 1.0 - hi / 100.0, 1.0 - lo / 100.0
    return float(f_lo + skill_level(error_rate) * (f_hi - f_lo))


@functools.cache
def _subsets(n: int) -> np.ndarray:
    """(2**n, n) bool: every error set, in binary order (the empty set first)."""
    if n > _MAX_ERROR_TYPES:
        raise ValueError(f"{n} error types: at most {_MAX_ERROR_TYPES} are supported")
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    return ((codes >> np.arange(n)[None, :]) & 1).astype(bool)


def in_range_scores(weights: tuple[float, ...], score_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Every error set of an action and whether its score (rounded to 2 decimals, as annotated) is in range.

    Returns (subsets (2**n, n) bool, ok (2**n,) bool). Scores follow :func:`flexsync.fkg.fkg_score`.
    """
    w = [float(x) for x in weights]
    subsets = _subsets(len(w))
    total = sum(w)
    lo, hi = score_range
    # fkg_score's float (weights summed in the action's order), rounded like the annotation writer
    scores = [round((1.0 - sum(x for x, m in zip(w, row, strict=True) if m) / total) * 100.0, 2) for row in subsets]
    return subsets, np.array([lo <= s <= hi for s in scores], dtype=bool)


def errors_in_range(
    weights: tuple[float, ...],
    draws: np.ndarray,
    p: float,
    score_range: tuple[float, float],
) -> np.ndarray:
    """The observed-error mask nearest to the draw ``draws < p`` whose score lies in ``score_range``.

    Parameters
    ----------
    weights
        The action's error weights, in its error order.
    draws
        One uniform [0, 1) number per error type; ``draws < p`` is the raw draw.
    p
        The per-error probability of this repetition.
    score_range
        Inclusive (min, max) of the score, compared after rounding to 2 decimals.

    Returns
    -------
    numpy.ndarray
        Bool mask over the error types: the drawn set when its score is in range, else the in-range
        set with the fewest flipped errors, then the least ``sum |draws - p|`` over them (first in
        binary order on ties).

    Raises
    ------
    ValueError
        No error set of the action scores inside the range.
    """
    draws = np.asarray(draws, dtype=np.float64)
    subsets, ok = _cached_in_range(tuple(float(w) for w in weights), (float(score_range[0]), float(score_range[1])))
    if not ok.any():
        raise ValueError(
            f"no error set of weights {list(weights)} scores inside [{score_range[0]}, {score_range[1]}]; "
            "widen the range or change the action's error weights"
        )
    flipped = subsets != (draws < p)[None, :]
    distance = flipped.astype(np.float64) @ np.abs(draws - p)  # each term < 1: the flip count dominates
    cost = flipped.sum(axis=1) + distance / (len(draws) + 1.0)
    cost[~ok] = np.inf
    return subsets[int(np.argmin(cost))].copy()


@functools.cache
def _cached_in_range(weights: tuple[float, ...], score_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    return in_range_scores(weights, score_range)
