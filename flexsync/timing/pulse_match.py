"""Pair a stream's sync pulses with the reference's without knowing the offset: vote, then settle.

Every (device pulse, reference pulse) pair proposes an offset ``t_ref - t_dev``. The true offset
is proposed by every pulse both devices saw (within the timing noise and the drift over the
stretch), a wrong one only by chance coincidences, so the offset with the most proposals within
``tolerance_s`` wins (``offset_votes``). With a coded train (random intervals) it wins by far.
A periodic train proposes the true offset and every whole period away from it about equally:
those "rivals" (``rival_share`` of the winner's votes or more) are handed to a ``chooser`` (the
caller's coarse estimate: the train's markers, or motion), and when none settles them the
pairing is flagged ambiguous (the most voted wins).

Pairs are then drawn one to one: each device pulse takes the nearest reference pulse within
``tolerance_s`` of the chosen offset (``pair_nearest``), each reference pulse serving once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Hypothesis", "PulseMatch", "match_pulses", "offset_votes", "pair_nearest"]

# Choosers that pin the offset (not just rank candidates): they may pair a segment too short to vote.
_PINNING = ("markers", "continuity")
# A chooser gets the candidate offsets (s, best voted first) and returns the index it picks and
# how it decided ("markers", "motion"; "ambiguous" for a best guess among rivals it narrowed but
# could not settle), or None when it cannot tell them apart.
Chooser = Callable[[Sequence[float]], tuple[int, str] | None]


@dataclass(frozen=True)
class Hypothesis:
    """One candidate offset (s): the median of the proposals within tolerance, and how many there were."""

    offset_s: float
    votes: int


@dataclass(frozen=True)
class PulseMatch:
    """The chosen offset, its pairs (device index, reference index) and how the choice was made.

    ``how``: "unique" (no rival), "markers"/"motion" (a chooser settled the rivals), "ambiguous"
    (rivals left unsettled: the most voted was taken), "none" (fewer than ``min_votes`` and no
    pinning prior). A segment with fewer than ``min_votes`` pulses is paired only when the chooser
    pins its offset ("markers", "continuity").
    """

    offset_s: float
    pairs: np.ndarray
    votes: int
    rivals: tuple[Hypothesis, ...]
    how: str

    @property
    def n(self) -> int:
        return int(self.pairs.shape[0])


def offset_votes(
    device_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float, *, limit: int = 16
) -> list[Hypothesis]:
    """Candidate offsets, most voted first: greedy peaks of the pairwise differences, ``2 * tolerance_s`` apart."""
    d = np.asarray(device_s, dtype=np.float64).reshape(-1)
    r = np.asarray(reference_s, dtype=np.float64).reshape(-1)
    if d.size == 0 or r.size == 0:
        return []
    diffs = np.sort((r[None, :] - d[:, None]).reshape(-1))
    counts = np.searchsorted(diffs, diffs + tolerance_s, side="right") - np.searchsorted(
        diffs, diffs - tolerance_s, side="left"
    )
    taken = np.zeros(diffs.size, dtype=bool)
    out: list[Hypothesis] = []
    while len(out) < limit:
        free = np.where(taken, -1, counts)
        i = int(np.argmax(free))
        if free[i] <= 0:
            break
        lo = np.searchsorted(diffs, diffs[i] - tolerance_s, side="left")
        hi = np.searchsorted(diffs, diffs[i] + tolerance_s, side="right")
        out.append(Hypothesis(float(np.median(diffs[lo:hi])), int(hi - lo)))
        # Everything within two tolerances of this peak belongs to it.
        a = np.searchsorted(diffs, diffs[i] - 2 * tolerance_s, side="left")
        b = np.searchsorted(diffs, diffs[i] + 2 * tolerance_s, side="right")
        taken[a:b] = True
    return out


def pair_nearest(predicted_s: np.ndarray, reference_s: np.ndarray, tolerance_s: float) -> np.ndarray:
    """One-to-one pairs (i, j): device pulse i, predicted on the reference clock, with the nearest
    reference pulse j within ``tolerance_s``; a reference pulse claimed twice goes to the closer."""
    p = np.asarray(predicted_s, dtype=np.float64).reshape(-1)
    r = np.asarray(reference_s, dtype=np.float64).reshape(-1)
    if p.size == 0 or r.size == 0:
        return np.zeros((0, 2), dtype=np.intp)
    order = np.argsort(r)
    rs = r[order]
    k = np.clip(np.searchsorted(rs, p), 1, rs.size - 1) if rs.size > 1 else np.zeros(p.size, dtype=np.intp)
    left = np.maximum(k - 1, 0)
    pick = np.where(np.abs(rs[left] - p) <= np.abs(rs[k] - p), left, k)
    err = np.abs(rs[pick] - p)
    best: dict[int, tuple[float, int]] = {}
    for i in np.flatnonzero(err <= tolerance_s).tolist():
        j = int(order[pick[i]])
        if j not in best or err[i] < best[j][0]:
            best[j] = (float(err[i]), i)
    pairs = sorted((i, j) for j, (_, i) in best.items())
    return np.array(pairs, dtype=np.intp).reshape(-1, 2)


def match_pulses(
    device_s: np.ndarray,
    reference_s: np.ndarray,
    *,
    tolerance_s: float,
    chooser: Chooser | None = None,
    rival_share: float = 0.6,
    min_votes: int = 2,
) -> PulseMatch:
    """Vote for the offset, settle rivals with ``chooser``, pair the pulses (module docstring)."""
    # Every reference pulse may be a candidate (a one-pulse segment): list them all.
    hyps = offset_votes(device_s, reference_s, tolerance_s, limit=max(16, int(np.size(reference_s))))
    empty = np.zeros((0, 2), dtype=np.intp)
    if not hyps:
        return PulseMatch(0.0, empty, 0, (), "none")
    if hyps[0].votes < min_votes:
        # Too few pulses to vote: only a prior that pins the offset (markers, sample continuity) may pair them.
        picked = chooser([h.offset_s for h in hyps]) if chooser is not None else None
        if picked is None or picked[1] not in _PINNING:
            return PulseMatch(hyps[0].offset_s, empty, hyps[0].votes, (), "none")
        chosen = hyps[picked[0]]
        pairs = pair_nearest(
            np.asarray(device_s, dtype=np.float64).reshape(-1) + chosen.offset_s, reference_s, tolerance_s
        )
        return PulseMatch(chosen.offset_s, pairs, chosen.votes, (), picked[1])
    best = hyps[0]
    rivals = tuple(h for h in hyps[1:] if h.votes >= max(min_votes, rival_share * best.votes))
    chosen, how = best, "unique"
    if rivals:
        candidates = (best, *rivals)
        picked = chooser([h.offset_s for h in candidates]) if chooser is not None else None
        if picked is None:
            how = "ambiguous"
        else:  # a chooser may narrow the rivals without settling them: ("ambiguous", its best guess)
            chosen, how = candidates[picked[0]], picked[1]
    d = np.asarray(device_s, dtype=np.float64).reshape(-1)
    pairs = pair_nearest(d + chosen.offset_s, reference_s, tolerance_s)
    others = tuple(h for h in (best, *rivals) if h is not chosen)
    return PulseMatch(chosen.offset_s, pairs, chosen.votes, others, how)
