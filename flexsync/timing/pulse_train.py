"""Clock models from a sync pulse train: every pulse matched, every clock segment fitted on its own.

A pulse train (periodic, or coded with random intervals) gives tens of events per recording
instead of two. ``fit_pulse_train`` turns them into a ``ClockModel``:

1. The stream's timestamps give its clock segments (``clock_segments``: resets show as jumps).
2. Per segment, its pulses are paired with the reference's without knowing the offset
   (``flexsync.timing.pulse_match``): the code identifies them; a periodic train's one-period
   rivals are settled by the train's start/end markers when both clocks saw one, else by the
   caller's ``motion_scores`` (how well the stream's motion lines up with the reference's at each
   candidate offset: the best wins when it agrees clearly and clearly better than every other),
   else flagged ambiguous.
3. With ``hidden_resets`` (files whose sample times are ``index / rate``: EDF/BDF, C3D, where a
   reset leaves only a sub-sample phase step), the pairs are searched for offset steps
   (``flexsync.timing.robust_line.offset_step``) and a segment is split at each one found, half-way
   between the pulses on either side.
4. Each piece is fitted robustly (``robust_line``: repeated medians, then reweighted least squares
   on the pulses within 4 sigma), paired again around that line (pulses the drift kept out of
   the first vote come in) and fitted again. Residuals, leave-one-out errors and the events'
   own uncertainty stay separate in the segment fit.
5. A segment with one fitted pulse gets its offset from it and the drift of its nearest fitted
   neighbour; a segment without one is placed by sample continuity across its reset (the counter
   restarts, sampling goes on; ``forward_gap="pause"`` carries the neighbour's model over instead).

The result keeps, per device pulse, the reference pulse it was paired with and whether the fit
used it, so tables can list every pulse found, matched and rejected.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from flexsync.robust import robust_sigma
from flexsync.timing.clock_model import (
    ClockModel,
    ClockSegmentFit,
    EventTimes,
    ForwardGap,
    assign_event_segments,
    clock_segments,
    fill_eventless_segments,
)
from flexsync.timing.pulse_match import Chooser, match_pulses, pair_nearest
from flexsync.timing.robust_line import (
    leave_one_out,
    offset_step,
    robust_line,
    shared_slope,
    slope_error,
    weighted_line,
)

__all__ = [
    "MARKER_LABELS",
    "MARKER_WIDTH_FACTOR",
    "TRAIN_SOURCES",
    "MotionScores",
    "TrainFit",
    "TrainFitOptions",
    "fit_pulse_train",
]

logger = logging.getLogger(__name__)

TRAIN_SOURCES = ("pulse_train", "coded_train")
MARKER_LABELS = ("start", "end")  # labels of a pulse train's wide marker pulses
# A pulse train's start/end markers last this many pulse widths (the wiring convention, docs/sync-notes.md).
MARKER_WIDTH_FACTOR = 3.0
_CONFIDENCE_HALF_S = 0.005  # as fit_clock_model's heuristic
_MIN_TOLERANCE_S = 0.002
_CONTINUITY_SLACK_S = 0.05  # how near sample continuity a candidate must be (a few frames, plus drift)
_DRIFT_BOUND = 2e-4  # largest |drift| the pairing tolerance allows for over a segment (200 ppm)
# Motion settles rivals when the best candidate's agreement (a normalised correlation peak) is at
# least this, and beats every other candidate's by the margin: at the true offset video energy and
# EMG activity correlate with joint speed at ~0.6-0.9, a period (1 s) away at ~0.1-0.3.
_MIN_MOTION_AGREEMENT = 0.4
_MOTION_AGREEMENT_MARGIN = 0.2
_MAX_SPLITS = 4
_DRIFT_ERROR_FLOOR = 1e-7  # 0.1 ppm: below this, drift differences between segments are not told apart
_MIN_SIDE = 2  # pulses on each side of a hidden offset step (its offset; the slope is shared)

# motion_scores((device_start_s, device_end_s), candidate offsets t_ref - t_dev) -> per candidate, how
# well the segment's motion lines up with the reference's at that offset (NaN: too little motion).
MotionScores = Callable[[tuple[float, float], Sequence[float]], np.ndarray]


@dataclass(frozen=True)
class TrainFitOptions:
    """How ``fit_pulse_train`` pairs and fits (module docstring).

    ``tolerance_s``: pairing tolerance (default: the largest of 2 ms, 6 x the pulses' median
    uncertainty and 200 ppm of the segment's span, capped at a fifth of the shortest reference
    interval). ``reject_sigmas``: outlier bound of the robust fit. ``drift_sigmas``: segments share
    one drift unless one's own drift is this many standard errors away. ``rival_share``: votes (share of
    the winner's) that make another offset a rival. ``hidden_resets``, ``min_step_s``: look for
    offset steps the timestamps cannot show, and the smallest step believed. ``reset_gap_s``,
    ``forward_gap``, ``continuity_step_intervals``: as ``ClockFitOptions``.
    """

    tolerance_s: float | None = None
    reject_sigmas: float = 4.0
    drift_sigmas: float = 4.0
    rival_share: float = 0.6
    hidden_resets: bool = False
    min_step_s: float = 2e-5
    reset_gap_s: float = 1.0
    forward_gap: ForwardGap = "auto"
    continuity_step_intervals: float = 1.0


@dataclass(frozen=True)
class TrainFit:
    """The model, and per device pulse: its reference pulse (-1: none), whether the fit used it, its segment.

    ``settled``: per clock segment with pulses, how its offset was chosen ("unique", "markers",
    "motion", "ambiguous", "none").
    """

    model: ClockModel
    reference_index: np.ndarray
    in_fit: np.ndarray
    segment: np.ndarray
    settled: tuple[str, ...]

    @property
    def ambiguous(self) -> bool:
        return "ambiguous" in self.settled


@dataclass
class _Piece:
    """A stretch of one clock segment fitted by one line: its bounds and its pulses (device indices)."""

    bounds: tuple[float, float]
    kind: str
    members: np.ndarray
    pairs: np.ndarray  # (K, 2): device index, reference index
    fit: ClockSegmentFit | None = None
    inliers: np.ndarray | None = None  # device indices used
    xyw: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # the fitted points: t_dev, t_ref - t_dev, weight


def fit_pulse_train(
    stream: str,
    device_events: EventTimes,
    reference_events: EventTimes,
    *,
    reference: str,
    sync_source: str,
    device_timestamps_s: np.ndarray | None = None,
    nominal_rate_hz: float | None = None,
    motion_scores: MotionScores | None = None,
    options: TrainFitOptions = TrainFitOptions(),
) -> TrainFit:
    """Fit ``t_ref = offset + (1 + drift) * t_dev`` per clock segment from a pulse train (module docstring).

    ``device_events``/``reference_events``: every pulse each clock saw, in order; labels "start"/"end"
    mark a pulse train's markers. ``motion_scores``: optional motion agreement per candidate offset,
    settling a periodic train's rivals where markers and continuity do not.
    """
    dev, ref = device_events.times_s, reference_events.times_s
    u_dev, u_ref = device_events.uncertainty_s, reference_events.uncertainty_s
    bounds, kinds = clock_segments(
        device_timestamps_s, nominal_rate_hz=nominal_rate_hz, reset_gap_s=options.reset_gap_s
    )
    seg_of = assign_event_segments(dev, bounds, kinds) if dev.size else np.zeros(0, dtype=np.intp)
    # A reset restarts the counter while sampling goes on: the first sample after it comes at most
    # one interval after the last one before (on any clock with timestamps, within its own interval
    # jitter: a jittery phone, a 1 Hz physio log). That settles rivals after a reset when one
    # candidate alone lies in the window (forwards from the segment before, else backwards from
    # the one after), and places a segment without pulses (the pulse gate still fails it).
    continuity = options.forward_gap != "pause" and device_timestamps_s is not None
    slack_s = max(_CONTINUITY_SLACK_S, 4.0 * _interval_jitter(device_timestamps_s, options.reset_gap_s))
    step_s = _sample_step(device_timestamps_s, nominal_rate_hz) * options.continuity_step_intervals

    def pair_segment(
        k: int, window: tuple[float, float] | None, neighbour: str = "the segment before"
    ) -> tuple[str | None, list[_Piece], list[str]]:
        """Segment ``k``'s pulses paired and fitted: how it was settled (None: no pulses), its pieces, notes."""
        span, kind = bounds[k], kinds[k]
        members = np.flatnonzero(seg_of == k)
        if members.size == 0 or ref.size == 0:
            return None, [_Piece(span, kind, members, np.zeros((0, 2), dtype=np.intp))], []
        seg_notes: list[str] = []
        tol = _tolerance(dev[members], ref, u_dev[members], u_ref, options.tolerance_s)
        chooser = _chooser(k, span, members, device_events, reference_events, tol, motion_scores, window, slack_s)
        match = match_pulses(dev[members], ref, tolerance_s=tol, chooser=chooser, rival_share=options.rival_share)
        if match.how == "ambiguous":
            seg_notes.append(
                f"segment {k}: pulse pairing ambiguous (offsets {[round(h.offset_s, 3) for h in match.rivals]} s "
                f"as likely as {match.offset_s:.3f} s); chose a best guess (the most voted, within sample "
                "continuity's window when there is one)"
            )
        elif match.how == "continuity":
            seg_notes.append(f"segment {k}: rival pulse pairings settled by sample continuity with {neighbour}")
        elif match.how in ("markers", "motion"):
            seg_notes.append(f"segment {k}: rival pulse pairings settled by {match.how}")
        pairs = np.column_stack([members[match.pairs[:, 0]], match.pairs[:, 1]]) if match.n else match.pairs
        pieces_k = _split(span, kind, members, pairs, dev, ref, options, seg_notes, k)
        for piece in pieces_k:
            _fit_piece(piece, dev, ref, u_dev, u_ref, tol_default=options.tolerance_s, options=options)
        return match.how, pieces_k, seg_notes

    by_segment: list[tuple[str | None, list[_Piece], list[str]]] = []
    open_ = ("ambiguous", "none")
    for k in range(len(bounds)):
        # Only a settled segment vouches for its neighbour (a guess would pass its error on).
        vouches = bool(by_segment) and by_segment[-1][0] not in (None, *open_)
        before = _last_fit(by_segment[-1][1]) if vouches and continuity and kinds[k] != "start" else None
        window = _window_after(before, bounds[k - 1][1], bounds[k][0], step_s) if before is not None else None
        by_segment.append(pair_segment(k, window))
    for k in range(len(bounds) - 2, -1, -1):  # backwards: a settled segment vouches for the one before it
        after = by_segment[k + 1]
        if not continuity or by_segment[k][0] not in open_ or after[0] in (None, *open_) or kinds[k + 1] == "start":
            continue
        nxt = _first_fit(after[1])
        if nxt is None:
            continue
        again = pair_segment(k, _window_before(nxt, bounds[k + 1][0], bounds[k][1], step_s), "the segment after")
        if again[0] == "continuity":
            by_segment[k] = again
    settled = [how for how, _, _ in by_segment if how is not None]
    pieces = [piece for _, pieces_k, _ in by_segment for piece in pieces_k]
    notes = [note for _, _, notes_k in by_segment for note in notes_k]

    _share_drift(pieces, notes, options.drift_sigmas)
    fits = _borrow_drift(pieces, dev, ref, notes)
    p_bounds = [p.bounds for p in pieces]
    p_kinds = [p.kind for p in pieces]
    filled = fill_eventless_segments(
        stream,
        fits,
        p_bounds,
        p_kinds,
        notes,
        device_timestamps_s,
        nominal_rate_hz,
        forward_continuity=continuity,
        # The first sample after a reset comes 0 to 1 interval after the last one before: half is the
        # expected gap (a 1 Hz log errs by up to 0.5 s this way, not 1 s).
        continuity_step_intervals=0.5 * options.continuity_step_intervals,
    )
    # Segments placed from a neighbour still count the pulses found in them (none fitted).
    found_in = {p.bounds: int(p.members.size) for p in pieces}
    filled = [
        replace(f, n_found=found_in.get((f.device_start_s, f.device_end_s), 0), n_rejected=None)
        if f.n_found is None
        else f
        for f in filled
    ]
    filled = [replace(f, n_rejected=f.n_found) if f.n_rejected is None else f for f in filled]
    reference_index = np.full(dev.size, -1, dtype=np.intp)
    in_fit = np.zeros(dev.size, dtype=bool)
    segment = np.zeros(dev.size, dtype=np.intp)
    for k, piece in enumerate(pieces):
        segment[piece.members] = k
        if piece.pairs.size:
            reference_index[piece.pairs[:, 0]] = piece.pairs[:, 1]
        if piece.inliers is not None:
            in_fit[piece.inliers] = True
    if not filled or not any(s.n_events for s in filled):
        segs = tuple(
            ClockSegmentFit(a, b, 0.0, 0.0, 0, (), (), math.nan, int(p.members.size), int(p.members.size))
            for (a, b), p in zip(p_bounds, pieces, strict=True)
        )
        why = "no pulse could be matched: offset 0, drift 0"
        model = ClockModel(stream, reference, "nominal", segs, 0.0, notes=(*notes, why), sync_source=sync_source)
        return TrainFit(model, reference_index, in_fit, segment, tuple(settled))
    multi = any(s.n_events >= 2 for s in filled)
    method = "events" if multi else "events+offset-only"
    dropped_dev = tuple(int(i) for i in np.flatnonzero(~in_fit))
    used_ref = set(reference_index[in_fit].tolist())
    dropped_ref = tuple(i for i in range(ref.size) if i not in used_ref)
    found, matched = int(dev.size), int(in_fit.sum())
    counts = f"{matched} of {found} pulses matched and fitted ({found - matched} rejected)"
    logger.info("stream %s: %s", stream, counts)
    model = ClockModel(
        stream, reference, method, tuple(filled), 0.0, dropped_dev, dropped_ref, (counts, *notes), sync_source
    )
    q = model.quality_s
    conf = 1.0 / (1.0 + q / _CONFIDENCE_HALF_S) if math.isfinite(q) else 0.5
    if not multi or any(s.n_events == 0 for s in filled):
        conf *= 0.5
    if "ambiguous" in settled or matched < 0.5 * found:
        conf *= 0.5
    return TrainFit(replace(model, confidence=float(conf)), reference_index, in_fit, segment, tuple(settled))


def _tolerance(dev: np.ndarray, ref: np.ndarray, u_dev: np.ndarray, u_ref: np.ndarray, given: float | None) -> float:
    """Pairing tolerance (s): noise, drift over the span, capped by the reference's spacing."""
    if given is not None:
        return float(given)
    u = np.concatenate([u_dev, u_ref])
    u = u[np.isfinite(u)]
    span = float(np.ptp(dev)) if dev.size > 1 else 0.0
    # The typical uncertainty: one wild detection must not widen every pairing.
    tol = max(_MIN_TOLERANCE_S, 6.0 * float(np.median(u)) if u.size else 0.0, _DRIFT_BOUND * span)
    gaps = np.diff(np.sort(ref))
    return min(tol, 0.2 * float(gaps.min())) if gaps.size else tol


def _chooser(
    k: int,
    span: tuple[float, float],
    members: np.ndarray,
    device_events: EventTimes,
    reference_events: EventTimes,
    tol: float,
    motion_scores: MotionScores | None,
    continuity_window: tuple[float, float] | None = None,
    continuity_slack_s: float = _CONTINUITY_SLACK_S,
) -> Chooser:
    """Settle rival pairings: the markers both clocks saw, else sample continuity across the reset
    (the one candidate within ``continuity_slack_s`` of ``continuity_window``, the offsets sample
    continuity allows), else the motion agreement of each candidate, else nothing."""
    marker_offsets = []
    dev_labels = device_events.labels or ()
    ref_labels = reference_events.labels or ()
    for label in MARKER_LABELS:
        d = [i for i in members.tolist() if i < len(dev_labels) and dev_labels[i] == label]
        r = [j for j, name in enumerate(ref_labels) if name == label]
        if len(d) == 1 and len(r) == 1:
            marker_offsets.append(float(reference_events.times_s[r[0]] - device_events.times_s[d[0]]))

    def choose(candidates: Sequence[float]) -> tuple[int, str] | None:
        c = np.asarray(candidates, dtype=np.float64)
        narrowed: int | None = None
        if marker_offsets:
            gap = np.abs(c[:, None] - np.asarray(marker_offsets)[None, :]).min(axis=1)
            i = int(np.argmin(gap))
            if gap[i] <= 4.0 * tol:
                return i, "markers"
        if continuity_window is not None:
            slack = max(4.0 * tol, continuity_slack_s)
            inside = np.flatnonzero((c >= continuity_window[0] - slack) & (c <= continuity_window[1] + slack))
            if inside.size == 1:
                return int(inside[0]), "continuity"
            if inside.size > 1:  # continuity narrows the rivals to a few periods: guess among those only
                narrowed = int(inside[0])
        if motion_scores is not None:
            picked = _best_agreement(np.asarray(motion_scores(span, c.tolist()), dtype=np.float64))
            if picked is not None:
                return picked, "motion"
        logger.debug("segment %d: no marker or motion settles candidates %s", k, c.tolist())
        return None if narrowed is None else (narrowed, "ambiguous")

    return choose


def _best_agreement(scores: np.ndarray) -> int | None:
    """The candidate whose motion agrees clearly, and clearly better than every other (None: no such one).

    A candidate without a score (NaN: too little motion) counts as a possible rival, not a loser.
    """
    if scores.size == 0 or not np.isfinite(scores).any():
        return None
    i = int(np.nanargmax(scores))
    others = np.delete(scores, i)
    if np.isnan(others).any():
        return None
    runner_up = float(others.max()) if others.size else -1.0
    if scores[i] >= _MIN_MOTION_AGREEMENT and scores[i] - runner_up >= _MOTION_AGREEMENT_MARGIN:
        return i
    return None


def _interval_jitter(ts: np.ndarray | None, reset_gap_s: float) -> float:
    """Robust spread (s) of a clock's forward sample intervals, resets and gaps left out (0 without timestamps)."""
    if ts is None or np.size(ts) < 4:
        return 0.0
    d = np.diff(np.asarray(ts, dtype=np.float64).reshape(-1))
    d = d[(d > 0) & (d < reset_gap_s)]
    return robust_sigma(d) if d.size >= 3 else 0.0


def _sample_step(ts: np.ndarray | None, rate_hz: float | None) -> float:
    """One nominal sample interval (s): from the rate, else the timestamps' median step (0 without either)."""
    if rate_hz:
        return 1.0 / rate_hz
    if ts is not None and np.size(ts) > 1:
        return float(np.median(np.diff(np.asarray(ts, dtype=np.float64))))
    return 0.0


def _last_fit(pieces: list[_Piece]) -> ClockSegmentFit | None:
    fitted = [p.fit for p in pieces if p.fit is not None]
    return fitted[-1] if fitted else None


def _first_fit(pieces: list[_Piece]) -> ClockSegmentFit | None:
    fitted = [p.fit for p in pieces if p.fit is not None]
    return fitted[0] if fitted else None


def _window_after(
    before: ClockSegmentFit, last_before_s: float, first_after_s: float, step_s: float
) -> tuple[float, float]:
    """Offsets (t_ref - t_dev) a segment may have if its first sample came after the previous
    segment's last one, by at most one interval."""
    at = before.offset_s + (1.0 + before.drift) * last_before_s - first_after_s
    return at, at + step_s


def _window_before(
    after: ClockSegmentFit, first_after_s: float, last_before_s: float, step_s: float
) -> tuple[float, float]:
    """Offsets a segment may have if its last sample came before the next segment's first one, by at
    most one interval."""
    at = after.offset_s + (1.0 + after.drift) * first_after_s - last_before_s
    return at - step_s, at


def _split(
    span: tuple[float, float],
    kind: str,
    members: np.ndarray,
    pairs: np.ndarray,
    dev: np.ndarray,
    ref: np.ndarray,
    options: TrainFitOptions,
    notes: list[str],
    k: int,
) -> list[_Piece]:
    """The segment as one piece, or split at offset steps the timestamps do not show (``hidden_resets``)."""
    if not options.hidden_resets or pairs.shape[0] < 2 * _MIN_SIDE:
        return [_Piece(span, kind, members, pairs)]
    order = np.argsort(dev[pairs[:, 0]])
    pairs = pairs[order]
    cuts: list[int] = []  # indices into pairs where a new piece starts

    def search(lo: int, hi: int, depth: int) -> None:
        if depth >= _MAX_SPLITS:
            return
        x = dev[pairs[lo:hi, 0]]
        y = ref[pairs[lo:hi, 1]] - x
        step = offset_step(x, y, min_side=_MIN_SIDE, min_step=options.min_step_s)
        if step is None:
            return
        cut = lo + step.index
        cuts.append(cut)
        notes.append(
            f"segment {k}: offset step of {step.step * 1e3:+.4f} ms between pulses at device "
            f"{float(x[step.index - 1]):.3f} s and {float(x[step.index]):.3f} s (a clock reset the timestamps do "
            "not show); split half-way"
        )
        search(lo, cut, depth + 1)
        search(cut, hi, depth + 1)

    search(0, pairs.shape[0], 0)
    if not cuts:
        return [_Piece(span, kind, members, pairs)]
    cuts.sort()
    edges = np.array([0.5 * (float(dev[pairs[c - 1, 0]]) + float(dev[pairs[c, 0]])) for c in cuts])
    starts = [span[0], *edges.tolist()]
    ends = [*edges.tolist(), span[1]]
    piece_of_member = np.searchsorted(edges, dev[members], side="right")
    piece_of_pair = np.searchsorted(edges, dev[pairs[:, 0]], side="right")
    return [
        _Piece((a, b), kind if i == 0 else "gap", members[piece_of_member == i], pairs[piece_of_pair == i])
        for i, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]


def _fit_piece(
    piece: _Piece,
    dev: np.ndarray,
    ref: np.ndarray,
    u_dev: np.ndarray,
    u_ref: np.ndarray,
    *,
    tol_default: float | None,
    options: TrainFitOptions,
) -> None:
    """Robust line through the piece's pairs, re-paired around it once, then fitted again."""
    if piece.pairs.shape[0] == 0:
        return
    pairs = piece.pairs
    tol = _tolerance(dev[piece.members], ref, u_dev[piece.members], u_ref, tol_default)
    for _ in range(2):
        if pairs.shape[0] < 2:
            break
        x = dev[pairs[:, 0]]
        line = robust_line(
            x,
            ref[pairs[:, 1]] - x,
            uncertainty=_combined(u_dev[pairs[:, 0]], u_ref[pairs[:, 1]]),
            reject_sigmas=options.reject_sigmas,
        )
        d = dev[piece.members]
        again = pair_nearest(d + line.at(d), ref, tol)
        pairs = np.column_stack([piece.members[again[:, 0]], again[:, 1]]) if again.size else pairs
    piece.pairs = pairs
    x = dev[pairs[:, 0]]
    y = ref[pairs[:, 1]] - x
    u = _combined(u_dev[pairs[:, 0]], u_ref[pairs[:, 1]])
    n_found = int(piece.members.size)
    if pairs.shape[0] == 1:
        piece.inliers = pairs[:, 0].copy()
        piece.xyw = (x, y, 1.0 / np.maximum(u, 1e-6) ** 2 if np.all(np.isfinite(u)) else np.ones(1))
        piece.fit = ClockSegmentFit(
            piece.bounds[0], piece.bounds[1], float(y[0]), 0.0, 1, (), (), _rms(u), n_found, n_found - 1
        )
        return
    line = robust_line(x, y, uncertainty=u, reject_sigmas=options.reject_sigmas)
    keep = line.inliers
    w = 1.0 / np.maximum(u[keep], 1e-6) ** 2 if np.all(np.isfinite(u)) else np.ones(int(keep.sum()))
    offset, drift = weighted_line(x[keep], y[keep], w)
    resid = y[keep] - (offset + drift * x[keep])
    loo = leave_one_out(x[keep], y[keep], w) if keep.sum() >= 3 else np.zeros(0)
    piece.inliers = pairs[keep, 0]
    piece.xyw = (x[keep], y[keep], w)
    piece.fit = ClockSegmentFit(
        piece.bounds[0],
        piece.bounds[1],
        float(offset),
        float(drift),
        int(keep.sum()),
        tuple(float(r) for r in resid),
        tuple(float(r) for r in loo),
        _rms(u[keep]),
        n_found,
        n_found - int(keep.sum()),
    )


def _share_drift(pieces: list[_Piece], notes: list[str], sigmas: float) -> None:
    """One drift for every fitted segment when their own drifts agree within ``sigmas`` standard errors.

    A reset restarts a device's counter, not its oscillator: sharing the slope lets a short segment
    borrow the precision of the whole recording. Segments that disagree keep their own lines.
    """
    fitted = [p for p in pieces if p.fit is not None and p.xyw is not None]
    if len(fitted) < 2 or not any(p.fit.n_events >= 2 for p in fitted):
        return
    groups = [p.xyw for p in fitted]
    joint = shared_slope(groups)
    for p in fitted:
        x, y, w = p.xyw
        weighted = not np.all(w == 1.0)  # weights from the pulses' uncertainties: they floor the scatter
        se = slope_error(x, y, w, min_variance=1.0 if weighted else 0.0)
        if math.isfinite(se) and abs(p.fit.drift - joint.slope) > sigmas * max(se, _DRIFT_ERROR_FLOOR):
            notes.append(
                f"segment drifts disagree ({p.fit.drift * 1e6:.2f} vs {joint.slope * 1e6:.2f} ppm shared): "
                "each segment keeps its own"
            )
            return
    for p, offset, resid, loo in zip(fitted, joint.offsets, joint.residuals, joint.loo, strict=True):
        f = p.fit
        loo_kept = loo[np.isfinite(loo)] if f.n_events >= 3 else np.zeros(0)
        p.fit = ClockSegmentFit(
            f.device_start_s,
            f.device_end_s,
            float(offset),
            float(joint.slope),
            f.n_events,
            tuple(float(r) for r in resid) if f.n_events >= 2 else (),
            tuple(float(r) for r in loo_kept),
            f.event_uncertainty_s,
            f.n_found,
            f.n_rejected,
        )
    notes.append(f"one drift for {len(fitted)} clock segments (one oscillator): {joint.slope * 1e6:.3f} ppm")


def _borrow_drift(
    pieces: list[_Piece], dev: np.ndarray, ref: np.ndarray, notes: list[str]
) -> list[ClockSegmentFit | None]:
    """Segment fits; a one-pulse segment's offset recomputed with the nearest fitted segment's drift."""
    fits: list[ClockSegmentFit | None] = [p.fit for p in pieces]
    if any(n.startswith("one drift for") for n in notes):
        return fits  # one-pulse segments already have the shared drift and their offset
    drifts = [f.drift if f is not None and f.n_events >= 2 else None for f in fits]
    for k, f in enumerate(fits):
        if f is None or f.n_events != 1:
            continue
        near = [drifts[j] for j in sorted(range(len(drifts)), key=lambda j: abs(j - k)) if drifts[j] is not None]
        drift = near[0] if near else 0.0
        i = int(pieces[k].inliers[0]) if pieces[k].inliers is not None else -1
        j = int(pieces[k].pairs[0, 1])
        d0, r0 = float(dev[i]), float(ref[j])
        notes.append(
            f"segment {k}: one pulse, offset only, drift " + ("shared from a neighbouring segment" if near else "0")
        )
        fits[k] = ClockSegmentFit(
            f.device_start_s,
            f.device_end_s,
            r0 - d0 - drift * d0,
            drift,
            1,
            (),
            (),
            f.event_uncertainty_s,
            f.n_found,
            f.n_rejected,
        )
    return fits


def _combined(u_dev: np.ndarray, u_ref: np.ndarray) -> np.ndarray:
    """Per pair, the two clocks' timing uncertainties combined (an unknown side counts as exact)."""
    known = np.isfinite(u_dev) | np.isfinite(u_ref)
    u = np.hypot(np.nan_to_num(u_dev), np.nan_to_num(u_ref))
    return np.where(known, u, np.nan)


def _rms(u: np.ndarray) -> float:
    u = np.asarray(u, dtype=np.float64)
    return float(np.sqrt(np.mean(u**2))) if u.size and np.all(np.isfinite(u)) else math.nan
