"""Clock models: the map from one stream's device clock to the reference clock.

``t_ref = offset_s + (1 + drift) * t_dev``, piecewise across clock resets, fitted from sync
events seen on both clocks. The fit residuals (or, when two events fit exactly, the events'
timing uncertainty and leave-one-out errors) are kept with the model so downstream checks can
gate on them; nothing here hides a bad fit.

Segments with fewer than two events: one event fits the offset and borrows the drift of the
nearest segment that has two or more (drift 0 if none); a segment with no event is carried over
from its neighbour: after a backward reset by sample continuity (the first sample after the reset
follows the last one before by one nominal interval); after a forward gap the same when the
stream has a regular sample clock (a reset: the counter jumped, sampling went on), else by keeping
the previous segment's model (a pause, the clock kept running); ``ClockFitOptions.forward_gap``
overrides. Both are flagged in ``notes``.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from flexsync.robust import robust_sigma

__all__ = [
    "ClockFitOptions",
    "ClockModel",
    "ClockSegmentFit",
    "EventTimes",
    "assign_event_segments",
    "clock_segments",
    "detect_clock_resets",
    "fill_eventless_segments",
    "fit_clock_model",
    "identity_model",
    "regular_clock",
]

logger = logging.getLogger(__name__)

METHODS = ("events", "events+offset-only", "identity", "nominal", "motion-xcorr", "declared")
# "declared": given by the lab (devices on one hardware clock), not measured; exact by declaration.
_HUBER_K = 1.345
# Quality (seconds) at which the heuristic confidence falls to one half.
_CONFIDENCE_HALF_S = 0.005

ForwardGap = Literal["auto", "continuity", "pause"]
_FORWARD_GAPS = ("auto", "continuity", "pause")


@dataclass(frozen=True)
class ClockFitOptions:
    """How ``fit_clock_model`` finds segments, pairs events and places segments without events.

    ``reset_gap_s``: forward timestamp gaps longer than this (and 10 nominal intervals) are clock
    resets (1.0 s). ``match_tolerance_s``: when the event counts differ and there are no labels,
    two events pair if they agree within this under one common offset (0.5 s).

    ``forward_gap``: how a segment without events after a forward reset gap is placed.
    "continuity": its first sample follows the previous segment's last one by one nominal interval
    (the counter jumped while sampling went on, as a reset does). "pause": the previous segment's
    model is kept (the recording paused, the clock ran on). "auto" (default): continuity when the
    stream has a regular (hardware) sample clock, i.e. the robust spread of its intervals is under
    1 % of the median interval, so a gap beyond the reset threshold cannot be dropped frames;
    pause otherwise (free-running, jittered streams).

    ``continuity_step_intervals``: nominal intervals assumed between the last sample before a reset
    and the first after, when a segment is placed by continuity (1.0: the counter jumped, sampling
    went on, exact). A device that restarts its sampling at the reset puts the first sample 0-1
    interval after the last: 0.5 halves the worst error (to half an interval), 1.0 leaves up to one.
    """

    reset_gap_s: float = 1.0
    match_tolerance_s: float = 0.5
    forward_gap: ForwardGap = "auto"
    continuity_step_intervals: float = 1.0

    def __post_init__(self) -> None:
        if not self.reset_gap_s > 0:
            raise ValueError(f"ClockFitOptions: reset_gap_s must be > 0, got {self.reset_gap_s}")
        if not self.match_tolerance_s > 0:
            raise ValueError(f"ClockFitOptions: match_tolerance_s must be > 0, got {self.match_tolerance_s}")
        if self.forward_gap not in _FORWARD_GAPS:
            raise ValueError(
                f"ClockFitOptions: forward_gap must be 'auto', 'continuity' or 'pause', got {self.forward_gap!r}"
            )
        if not (math.isfinite(self.continuity_step_intervals) and self.continuity_step_intervals >= 0):
            raise ValueError(
                f"ClockFitOptions: continuity_step_intervals must be finite and >= 0, "
                f"got {self.continuity_step_intervals}"
            )


@dataclass(frozen=True, eq=False)
class EventTimes:
    """Sync events seen on one clock, in order of occurrence (device times may go backwards at a reset).

    ``times_s``: event times (s). ``uncertainty_s``: their timing uncertainty (s, one value for all
    or one per event; None: unknown), combined into the fit's ``event_uncertainty_s``. ``labels``:
    e.g. "start"/"end"; when both clocks' events have labels and their counts differ, events pair by
    label. Stored as a float64 array, a per-event float64 array (NaN = unknown) and a tuple.
    """

    times_s: np.ndarray
    uncertainty_s: np.ndarray | float | Sequence[float] | None = None
    labels: tuple[str, ...] | Sequence[str] | None = None

    def __post_init__(self) -> None:
        times = np.asarray(self.times_s, dtype=np.float64).reshape(-1)
        n = times.size
        u = self.uncertainty_s
        if u is None:
            unc = np.full(n, np.nan)
        else:
            unc = np.broadcast_to(np.asarray(u, dtype=np.float64), (n,)) if np.ndim(u) == 0 else np.asarray(u, float)
            if unc.shape != (n,):
                raise ValueError(f"EventTimes: uncertainty_s has {unc.size} values for {n} events")
            unc = np.array(unc, dtype=np.float64)
        labels = None if self.labels is None else tuple(str(x) for x in self.labels)
        if labels is not None and len(labels) != n:
            raise ValueError(f"EventTimes: labels has {len(labels)} values for {n} events")
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "uncertainty_s", unc)
        object.__setattr__(self, "labels", labels)

    @classmethod
    def of(cls, events: EventTimes | Sequence[float] | np.ndarray) -> EventTimes:
        """``events`` itself, or bare times wrapped (uncertainty and labels unknown)."""
        return events if isinstance(events, EventTimes) else cls(events)

    @property
    def n(self) -> int:
        return int(self.times_s.size)


@dataclass(frozen=True)
class ClockSegmentFit:
    """One piece of a clock model, valid for device times in [device_start_s, device_end_s].

    ``residuals_s`` are reference-clock residuals of the events used (observed - fitted);
    ``loo_residuals_s`` the leave-one-out prediction errors (needs >= 3 events);
    ``event_uncertainty_s`` the timing uncertainty of the events that went in (NaN if unknown),
    which bounds the model's error when two events fit exactly. Fits from a pulse train
    (``flexsync.timing.pulse_train``) also count the pulses detected in the segment (``n_found``)
    and those left out of the fit (``n_rejected``: unmatched or rejected as outliers);
    ``n_events`` are the ones fitted. None for fits from the flash pair.
    """

    device_start_s: float
    device_end_s: float
    offset_s: float
    drift: float
    n_events: int
    residuals_s: tuple[float, ...]
    loo_residuals_s: tuple[float, ...] = ()
    event_uncertainty_s: float = math.nan
    n_found: int | None = None
    n_rejected: int | None = None

    def to_reference(self, t_dev: np.ndarray) -> np.ndarray:
        t = np.asarray(t_dev, dtype=np.float64)
        return self.offset_s + t + self.drift * t


@dataclass(frozen=True)
class ClockModel:
    """A stream's device clock mapped onto the reference stream's clock.

    ``method``: "events" (fitted from sync events), "events+offset-only" (one event per
    segment: drift 0 or borrowed), "identity" (the reference stream itself), "nominal" (no
    events: offset 0, drift 0, confidence 0), "motion-xcorr" (fallback, elsewhere).
    ``confidence`` is a heuristic in [0, 1]: 1 / (1 + quality_s / 5 ms), or 0.5 when the quality
    was not measured, halved for offset-only fits and carried-over segments, halved again when
    events had to be dropped or the pairing was ambiguous. Gate on ``quality_s``.
    ``sync_source``: the train a pulse-train fit used ("pulse_train", "coded_train"), else None.
    """

    stream: str
    reference: str
    method: str
    segments: tuple[ClockSegmentFit, ...]
    confidence: float
    dropped_device_events: tuple[int, ...] = ()
    dropped_reference_events: tuple[int, ...] = ()
    notes: tuple[str, ...] = field(default=())
    sync_source: str | None = None

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(
                f"clock model for stream {self.stream}: unknown method {self.method!r}; expected {METHODS}"
            )
        if not self.segments:
            raise ValueError(f"clock model for stream {self.stream}: needs at least one segment")

    # -- mapping ---------------------------------------------------------------------------
    def segment_indices(self, t_dev: np.ndarray) -> np.ndarray:
        """Segment of each device time, for a stream's timestamps given in recording order.

        Backward steps in ``t_dev`` start the next *epoch* (segments separated by a backward
        reset); within an epoch a time goes to the last segment starting at or before it.
        """
        t = np.asarray(t_dev, dtype=np.float64).reshape(-1)
        n_seg = len(self.segments)
        if n_seg == 1 or t.size == 0:
            return np.zeros(t.shape, dtype=np.intp)
        starts = np.array([s.device_start_s for s in self.segments])
        ends = np.array([s.device_end_s for s in self.segments])
        epoch_of_seg = np.concatenate([[0], np.cumsum(starts[1:] < ends[:-1])])
        run_of_sample = np.concatenate([[0], np.cumsum(np.diff(t) < 0)])
        run_of_sample = np.minimum(run_of_sample, epoch_of_seg[-1])
        out = np.zeros(t.shape, dtype=np.intp)
        for epoch in np.unique(run_of_sample):
            segs = np.flatnonzero(epoch_of_seg == epoch)
            sel = run_of_sample == epoch
            k = np.searchsorted(starts[segs], t[sel], side="right") - 1
            out[sel] = segs[np.clip(k, 0, segs.size - 1)]
        return out

    def to_reference(self, t_dev: np.ndarray, *, segment: int | np.ndarray | None = None) -> np.ndarray:
        """Reference-clock seconds for device-clock seconds (float64, same shape).

        ``segment`` forces the segment (one index, or one per sample); otherwise
        ``segment_indices`` decides, which needs times in recording order when the device
        clock was reset backwards.
        """
        t = np.asarray(t_dev, dtype=np.float64)
        seg = self.segment_indices(t).reshape(t.shape) if segment is None else np.broadcast_to(segment, t.shape)
        offset = np.array([s.offset_s for s in self.segments])[seg]
        drift = np.array([s.drift for s in self.segments])[seg]
        return offset + t + drift * t

    def to_device(self, t_ref: np.ndarray, *, segment: int = 0) -> np.ndarray:
        """Inverse of one segment's map (device seconds for reference seconds)."""
        s = self.segments[segment]
        return (np.asarray(t_ref, dtype=np.float64) - s.offset_s) / (1.0 + s.drift)

    # -- quality ---------------------------------------------------------------------------
    @property
    def rms_residual_s(self) -> float:
        """RMS of all event residuals (NaN when no event was fitted)."""
        r = np.array([x for s in self.segments for x in s.residuals_s])
        return float(np.sqrt(np.mean(r**2))) if r.size else math.nan

    @property
    def max_abs_residual_s(self) -> float:
        """Largest absolute event residual (NaN when no event was fitted)."""
        r = np.array([x for s in self.segments for x in s.residuals_s])
        return float(np.max(np.abs(r))) if r.size else math.nan

    @property
    def pulse_counts(self) -> dict[str, int] | None:
        """Pulses found, matched (fitted) and rejected over all segments; None for a fit without a train."""
        if all(s.n_found is None for s in self.segments):
            return None
        found = sum(s.n_found or 0 for s in self.segments)
        matched = sum(s.n_events for s in self.segments if s.n_found is not None)
        rejected = sum(s.n_rejected or 0 for s in self.segments)
        return {"found": found, "matched": matched, "rejected": rejected}

    @property
    def quality_s(self) -> float:
        """The figure to gate on, seconds: per segment the worst of |residual| and |leave-one-out
        error| (3+ events) and the events' timing uncertainty; with 2 events or fewer (exact
        fits, zero residuals) the timing uncertainty alone. Worst over segments.

        0 for the identity and declared models; NaN when a segment's quality was not measured (nominal model,
        or 1-2 events without a given uncertainty).
        """
        if self.method in ("identity", "declared"):
            return 0.0
        worst = 0.0
        for s in self.segments:
            values = [abs(x) for x in (*s.residuals_s, *s.loo_residuals_s)] if s.n_events >= 3 else []
            if not math.isnan(s.event_uncertainty_s):
                values.append(s.event_uncertainty_s)
            if not values:
                return math.nan
            worst = max(worst, *values)
        return float(worst)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; infinite segment bounds become None, unknown uncertainty None."""

        def num(x: float) -> float | None:
            return float(x) if math.isfinite(x) else None

        def segment(s: ClockSegmentFit) -> dict[str, Any]:
            out: dict[str, Any] = {
                "device_start_s": num(s.device_start_s),
                "device_end_s": num(s.device_end_s),
                "offset_s": float(s.offset_s),
                "drift": float(s.drift),
                "n_events": int(s.n_events),
                "residuals_s": [float(x) for x in s.residuals_s],
                "loo_residuals_s": [float(x) for x in s.loo_residuals_s],
                "event_uncertainty_s": num(s.event_uncertainty_s),
            }
            if s.n_found is not None:  # pulse-train fits only: flash-pair reports keep their keys
                out.update(n_found=int(s.n_found), n_rejected=int(s.n_rejected or 0))
            return out

        out: dict[str, Any] = {
            "stream": self.stream,
            "reference": self.reference,
            "method": self.method,
            "confidence": float(self.confidence),
            "segments": [segment(s) for s in self.segments],
            "dropped_device_events": list(self.dropped_device_events),
            "dropped_reference_events": list(self.dropped_reference_events),
            "notes": list(self.notes),
        }
        if self.sync_source is not None:
            out["sync_source"] = self.sync_source
            out["pulses"] = self.pulse_counts
            out["rms_residual_s"] = num(self.rms_residual_s)
            out["max_abs_residual_s"] = num(self.max_abs_residual_s)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClockModel:
        """Inverse of ``to_dict``."""

        def bound(x: float | None, default: float) -> float:
            return default if x is None else float(x)

        try:
            segments = tuple(
                ClockSegmentFit(
                    device_start_s=bound(s["device_start_s"], -math.inf),
                    device_end_s=bound(s["device_end_s"], math.inf),
                    offset_s=float(s["offset_s"]),
                    drift=float(s["drift"]),
                    n_events=int(s["n_events"]),
                    residuals_s=tuple(float(x) for x in s["residuals_s"]),
                    loo_residuals_s=tuple(float(x) for x in s.get("loo_residuals_s", ())),
                    event_uncertainty_s=bound(s.get("event_uncertainty_s"), math.nan),
                    n_found=None if s.get("n_found") is None else int(s["n_found"]),
                    n_rejected=None if s.get("n_found") is None else int(s.get("n_rejected") or 0),
                )
                for s in data["segments"]
            )
            return cls(
                stream=str(data["stream"]),
                reference=str(data["reference"]),
                method=str(data["method"]),
                segments=segments,
                confidence=float(data["confidence"]),
                dropped_device_events=tuple(int(i) for i in data.get("dropped_device_events", ())),
                dropped_reference_events=tuple(int(i) for i in data.get("dropped_reference_events", ())),
                notes=tuple(str(x) for x in data.get("notes", ())),
                sync_source=None if data.get("sync_source") is None else str(data["sync_source"]),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"clock model dict is missing or has a malformed field: {exc}") from exc


def clock_segments(
    device_timestamps_s: np.ndarray | None, *, nominal_rate_hz: float | None = None, reset_gap_s: float = 1.0
) -> tuple[list[tuple[float, float]], list[str]]:
    """Device extents of the clock segments between resets, and how each one began.

    Kinds: "start" (the first), "backward" (after a backward step), "gap" (after a forward gap);
    see ``detect_clock_resets``. Without timestamps: one unbounded segment. The rate defaults to
    the timestamps' median rate.
    """
    if device_timestamps_s is None:
        return [(-math.inf, math.inf)], ["start"]
    t = np.asarray(device_timestamps_s, dtype=np.float64).reshape(-1)
    if t.size == 0:
        return [(-math.inf, math.inf)], ["start"]
    rate = nominal_rate_hz if nominal_rate_hz else (1.0 / float(np.median(np.diff(t))) if t.size > 1 else 1.0)
    resets = detect_clock_resets(t, nominal_rate_hz=rate, reset_gap_s=reset_gap_s)
    edges = [0, *resets.tolist(), t.size]
    bounds = [(float(t[a]), float(t[b - 1])) for a, b in itertools.pairwise(edges)]
    kinds = ["start"] + ["backward" if t[i] < t[i - 1] else "gap" for i in resets]
    return bounds, kinds


def identity_model(stream: str) -> ClockModel:
    """The reference stream's own model: offset 0, drift 0, confidence 1."""
    seg = ClockSegmentFit(-math.inf, math.inf, 0.0, 0.0, 0, (), (), 0.0)
    return ClockModel(stream=stream, reference=stream, method="identity", segments=(seg,), confidence=1.0)


def detect_clock_resets(
    device_timestamps_s: np.ndarray,
    *,
    nominal_rate_hz: float,
    reset_gap_s: float = 1.0,
    min_reset_gap_s: float = 0.25,
    jitter_sigmas: float = 8.0,
) -> np.ndarray:
    """Indices of the first sample after each clock reset.

    A reset is a backward step, or a forward gap longer than the smaller of

    * ``max(reset_gap_s, 10 nominal intervals)`` (the fixed rule, for any stream), and
    * ``max(min_reset_gap_s, 1.5 median intervals, median + jitter_sigmas * jitter)``, with the
      jitter the robust spread (``robust_sigma``) of the intervals: a slow irregular stream (~1 Hz
      physio) cannot jump by less than 10 s unnoticed, while dropped frames of fast video
      (a few intervals, well under ``min_reset_gap_s``) are still drops, not resets.

    Returns
    -------
    (K,) int64 array, increasing, each in 1..N-1.
    """
    t = np.asarray(device_timestamps_s, dtype=np.float64).reshape(-1)
    if nominal_rate_hz <= 0:
        raise ValueError(f"detect_clock_resets: nominal_rate_hz must be > 0, got {nominal_rate_hz}")
    if t.size < 2:
        return np.zeros(0, dtype=np.int64)
    d = np.diff(t)
    limit = max(reset_gap_s, 10.0 / nominal_rate_hz)
    forward = d[d > 0]
    if forward.size >= 3:
        med = float(np.median(forward))
        jitter = robust_sigma(forward, center=med)
        limit = min(limit, max(min_reset_gap_s, 1.5 * med, med + jitter_sigmas * jitter))
    return (np.flatnonzero((d < 0) | (d > limit)) + 1).astype(np.int64)


def fit_clock_model(
    stream: str,
    device_events: EventTimes | Sequence[float] | np.ndarray,
    reference_events: EventTimes | Sequence[float] | np.ndarray,
    *,
    reference: str,
    device_timestamps_s: np.ndarray | None = None,
    nominal_rate_hz: float | None = None,
    device_event_segments: Sequence[int] | None = None,
    prior_offset_s: float | None = None,
    options: ClockFitOptions = ClockFitOptions(),
) -> ClockModel:
    """Fit ``t_ref = offset + (1 + drift) * t_dev`` per clock segment from matched sync events.

    Parameters
    ----------
    stream, reference : str
        Names used in the model and in messages.
    device_events, reference_events : EventTimes or sequence of float
        The sync events on each clock (bare times: uncertainty and labels unknown).
    device_timestamps_s : array, optional
        The stream's own timestamps; used to find clock resets and the segments' extents.
    nominal_rate_hz : float, optional
        Needed with ``device_timestamps_s`` (reset threshold, continuity across resets);
        default: the median rate of the timestamps.
    device_event_segments : sequence of int, optional
        Clock segment of each device event, when the caller knows it (e.g. from the event's
        sample index). Default: inferred from the times in order of occurrence; an event
        earlier than the previous one is taken to follow a backward reset.
    prior_offset_s : float, optional
        Expected offset, to settle ambiguous pairings; default: the pairing with the smallest
        absolute offset wins (noted).
    options : ClockFitOptions
        Reset threshold, pairing tolerance and how segments without events are placed.

    Returns
    -------
    ClockModel
        method "events", "events+offset-only", or "nominal" when no event could be used.
    """
    device_events = EventTimes.of(device_events)
    reference_events = EventTimes.of(reference_events)
    dev, u_dev = device_events.times_s, device_events.uncertainty_s
    ref, u_ref = reference_events.times_s, reference_events.uncertainty_s
    notes: list[str] = []

    bounds, kinds = clock_segments(
        device_timestamps_s, nominal_rate_hz=nominal_rate_hz, reset_gap_s=options.reset_gap_s
    )
    if len(bounds) > 1:
        starts = [round(a, 6) for a, _ in bounds[1:]]
        logger.info("stream %s: %d clock reset(s), segments starting at device times %s s", stream, len(starts), starts)
    continuity = options.forward_gap == "continuity" or (
        options.forward_gap == "auto" and device_timestamps_s is not None and _regular_clock(device_timestamps_s)
    )
    if dev.size == 0 or ref.size == 0:
        logger.warning(
            "stream %s: no sync events (device %d, reference %d); nominal clock model", stream, dev.size, ref.size
        )
        segs = tuple(ClockSegmentFit(a, b, 0.0, 0.0, 0, ()) for a, b in bounds)
        return ClockModel(stream, reference, "nominal", segs, 0.0, notes=("no sync events: offset 0, drift 0",))

    seg_of_event = _assign_events(dev, bounds, kinds, device_event_segments)
    pairs: list[tuple[int, int]] = []
    next_ref = 0
    for k in range(len(bounds)):
        d_idx = np.flatnonzero(seg_of_event == k)
        if d_idx.size == 0:
            continue
        if dev.size == ref.size and len(bounds) == 1:
            seg_pairs = list(zip(d_idx.tolist(), range(ref.size), strict=True))
        elif device_events.labels is not None and reference_events.labels is not None:
            seg_pairs = _match_by_label(d_idx, device_events.labels, reference_events.labels, next_ref)
        else:
            seg_pairs, note = _match_by_offset(dev, ref, d_idx, next_ref, options.match_tolerance_s, prior_offset_s)
            if note:
                notes.append(f"segment {k}: {note}")
        pairs += seg_pairs
        if seg_pairs:
            next_ref = max(r for _, r in seg_pairs) + 1
    used_dev = {d for d, _ in pairs}
    used_ref = {r for _, r in pairs}
    dropped_dev = tuple(i for i in range(dev.size) if i not in used_dev)
    dropped_ref = tuple(i for i in range(ref.size) if i not in used_ref)
    if dropped_dev or dropped_ref:
        notes.append(f"unmatched events dropped: device {list(dropped_dev)}, reference {list(dropped_ref)}")
        logger.warning(
            "stream %s: unmatched sync events dropped: device %s, reference %s",
            stream,
            list(dropped_dev),
            list(dropped_ref),
        )
    if not pairs:
        segs = tuple(ClockSegmentFit(a, b, 0.0, 0.0, 0, ()) for a, b in bounds)
        return ClockModel(
            stream,
            reference,
            "nominal",
            segs,
            0.0,
            dropped_dev,
            dropped_ref,
            (*notes, "no event could be matched: offset 0, drift 0"),
        )

    fits = _fit_segments(
        stream,
        dev,
        ref,
        u_dev,
        u_ref,
        pairs,
        seg_of_event,
        bounds,
        kinds,
        notes,
        device_timestamps_s,
        nominal_rate_hz,
        forward_continuity=continuity,
        continuity_step_intervals=options.continuity_step_intervals,
    )
    multi = any(s.n_events >= 2 for s in fits)
    method = "events" if multi else "events+offset-only"
    model = ClockModel(stream, reference, method, tuple(fits), 0.0, dropped_dev, dropped_ref, tuple(notes))
    q = model.quality_s
    conf = 1.0 / (1.0 + q / _CONFIDENCE_HALF_S) if math.isfinite(q) else 0.5
    if not multi or any(s.n_events == 0 for s in fits):
        conf *= 0.5
    if dropped_dev or dropped_ref or any("ambiguous" in n for n in notes):
        conf *= 0.5
    return ClockModel(stream, reference, method, tuple(fits), float(conf), dropped_dev, dropped_ref, tuple(notes))


# -- helpers ---------------------------------------------------------------------------------


def _assign_events(
    dev: np.ndarray, bounds: list[tuple[float, float]], kinds: list[str], given: Sequence[int] | None
) -> np.ndarray:
    """Segment of each device event, walking segments forward in order of occurrence.

    Segment j accepts times from its first sample (-inf for the first segment) to its last
    sample, extended up to the next segment's start across a forward gap (inf for the last).
    An event earlier than the one before it must come after a backward reset, so the walk
    jumps to the next epoch. ``given`` overrides all of this.
    """
    n = len(bounds)
    if given is not None:
        seg = np.asarray(given, dtype=np.intp).reshape(-1)
        if seg.shape != dev.shape or (seg.size and (seg.min() < 0 or seg.max() >= n)):
            raise ValueError(f"device_event_segments must give one segment in 0..{n - 1} per event, got {list(seg)}")
        return seg
    lo = [-math.inf] + [bounds[j][0] for j in range(1, n)]
    hi = [bounds[j + 1][0] if kinds[j + 1] == "gap" else bounds[j][1] for j in range(n - 1)] + [math.inf]
    seg = np.zeros(dev.size, dtype=np.intp)
    k = 0
    prev = -math.inf
    for i, t in enumerate(dev.tolist()):
        if t < prev:
            k = next((j for j in range(k + 1, n) if kinds[j] == "backward"), k)
        for j in range(k, n):
            if lo[j] <= t <= hi[j]:
                k = j
                break
        seg[i] = k
        prev = t
    return seg


def _match_by_label(
    d_idx: np.ndarray, dev_labels: Sequence[str], ref_labels: Sequence[str], first_ref: int
) -> list[tuple[int, int]]:
    pairs = []
    taken: set[int] = set()
    for d in d_idx.tolist():
        for r in range(first_ref, len(ref_labels)):
            if r not in taken and ref_labels[r] == dev_labels[d]:
                pairs.append((d, r))
                taken.add(r)
                break
    return pairs


def _match_by_offset(
    dev: np.ndarray, ref: np.ndarray, d_idx: np.ndarray, first_ref: int, tol_s: float, prior_s: float | None
) -> tuple[list[tuple[int, int]], str]:
    """Best order-preserving pairing under one coarse offset (most pairs, then smallest error)."""
    r_idx = np.arange(first_ref, ref.size)
    if r_idx.size == 0:
        return [], ""
    best: tuple[int, float, float] | None = None
    best_pairs: list[tuple[int, int]] = []
    candidates = sorted({float(ref[r] - dev[d]) for d in d_idx for r in r_idx})
    ties = 0
    for off in candidates:
        pairs, used, err = [], -1, 0.0
        for d in d_idx.tolist():
            resid = np.abs(ref[r_idx] - dev[d] - off)
            ok = np.flatnonzero((resid <= tol_s) & (r_idx > used))
            if ok.size:
                r = int(r_idx[ok[np.argmin(resid[ok])]])
                pairs.append((d, r))
                err += float(resid[r - first_ref])
                used = r
        prior_err = abs(off - prior_s) if prior_s is not None else abs(off)
        key = (-len(pairs), err, prior_err)
        if best is None or key < best:
            if best is not None and key[0] == best[0] and abs(key[1] - best[1]) < 1e-9:
                ties += 1
            best, best_pairs = key, pairs
        elif key[0] == best[0] and abs(key[1] - best[1]) < 1e-9:
            ties += 1
    note = ""
    if ties:
        how = "closest to prior_offset_s" if prior_s is not None else "smallest absolute offset"
        note = f"ambiguous event pairing ({ties + 1} equally good offsets); chose the {how}"
    return best_pairs, note


def _fit_segments(
    stream: str,
    dev: np.ndarray,
    ref: np.ndarray,
    u_dev: np.ndarray,
    u_ref: np.ndarray,
    pairs: list[tuple[int, int]],
    seg_of_event: np.ndarray,
    bounds: list[tuple[float, float]],
    kinds: list[str],
    notes: list[str],
    ts: np.ndarray | None,
    rate_hz: float | None,
    *,
    forward_continuity: bool = False,
    continuity_step_intervals: float = 1.0,
) -> list[ClockSegmentFit]:
    n_seg = len(bounds)
    raw: list[dict[str, Any] | None] = []
    for k in range(n_seg):
        sel = [(d, r) for d, r in pairs if seg_of_event[d] == k]
        if not sel:
            raw.append(None)
            continue
        d = dev[[p[0] for p in sel]]
        r = ref[[p[1] for p in sel]]
        ud, ur = u_dev[[p[0] for p in sel]], u_ref[[p[1] for p in sel]]
        known = np.isfinite(ud) | np.isfinite(ur)  # an unknown side counts as exact if the other is known
        u = np.sqrt(np.nan_to_num(ud) ** 2 + np.nan_to_num(ur) ** 2)
        unc = float(np.max(u)) if np.all(known) else math.nan
        raw.append({"d": d, "r": r, "unc": unc})

    drifts: list[float | None] = []
    for k in range(n_seg):
        item = raw[k]
        if item is None or item["d"].size < 2:
            drifts.append(None)
            continue
        off, drift, resid, loo = _fit_line(item["d"], item["r"])
        item.update(offset=off, drift=drift, resid=resid, loo=loo)
        drifts.append(drift)

    fits: list[ClockSegmentFit | None] = [None] * n_seg
    for k in range(n_seg):
        item = raw[k]
        if item is None or "offset" in item:
            continue
        drift = _nearest(drifts, k)
        if drift is None:
            drift = 0.0
            notes.append(f"segment {k}: one event, offset only, drift 0")
        else:
            notes.append(f"segment {k}: one event, offset only, drift shared from a neighbouring segment")
        d0, r0 = float(item["d"][0]), float(item["r"][0])
        # One event leaves no redundancy: no residual to report.
        item.update(offset=r0 - d0 - drift * d0, drift=drift, resid=np.zeros(0), loo=np.zeros(0))
    for k in range(n_seg):
        item = raw[k]
        if item is not None:
            fits[k] = ClockSegmentFit(
                bounds[k][0],
                bounds[k][1],
                float(item["offset"]),
                float(item["drift"]),
                int(item["d"].size),
                tuple(float(x) for x in item["resid"]),
                tuple(float(x) for x in item["loo"]),
                item["unc"],
            )
    return fill_eventless_segments(
        stream,
        fits,
        bounds,
        kinds,
        notes,
        ts,
        rate_hz,
        forward_continuity=forward_continuity,
        continuity_step_intervals=continuity_step_intervals,
    )


def fill_eventless_segments(
    stream: str,
    fits: list[ClockSegmentFit | None],
    bounds: list[tuple[float, float]],
    kinds: list[str],
    notes: list[str],
    ts: np.ndarray | None,
    rate_hz: float | None,
    *,
    forward_continuity: bool = False,
    continuity_step_intervals: float = 1.0,
) -> list[ClockSegmentFit]:
    """Place the segments that have no fit (None) from their neighbours; the module docstring says how.

    ``fits`` has one entry per segment of ``bounds``/``kinds`` (``clock_segments``); a placement's
    reason is appended to ``notes``. Returns the filled segments (a segment no neighbour reaches
    stays out).
    """
    n_seg = len(bounds)
    fits = list(fits)
    # Segments without events: carry over from the previous fitted one (or the next, backwards).
    t = None if ts is None else np.asarray(ts, dtype=np.float64).reshape(-1)
    order = list(range(n_seg)) + list(range(n_seg - 1, -1, -1))
    for k in order:
        if fits[k] is not None:
            continue
        prev = fits[k - 1] if k > 0 and fits[k - 1] is not None else None
        nxt = fits[k + 1] if k + 1 < n_seg and fits[k + 1] is not None else None
        src = prev or nxt
        if src is None:
            continue
        offset = src.offset_s
        kind = kinds[k] if prev is not None else kinds[k + 1]
        if t is not None and (kind == "backward" or (kind == "gap" and forward_continuity)):
            step = continuity_step_intervals * (1.0 / rate_hz if rate_hz else float(np.median(np.diff(t))))
            if prev is not None:  # t_ref(first of k) = t_ref(last of k-1) + one interval
                anchor = prev.offset_s + (1 + prev.drift) * bounds[k - 1][1] + step
                offset = anchor - (1 + src.drift) * bounds[k][0]
            else:
                anchor = nxt.offset_s + (1 + nxt.drift) * bounds[k + 1][0] - step
                offset = anchor - (1 + src.drift) * bounds[k][1]
            notes.append(f"segment {k}: no events; offset from sample continuity across the reset")
        else:
            notes.append(f"segment {k}: no events; model carried over from a neighbouring segment")
        fits[k] = ClockSegmentFit(
            bounds[k][0], bounds[k][1], float(offset), src.drift, 0, (), (), src.event_uncertainty_s
        )
        logger.warning("stream %s: clock segment %d has no sync event; %s", stream, k, notes[-1])
    return [f for f in fits if f is not None]


def assign_event_segments(
    dev: np.ndarray, bounds: list[tuple[float, float]], kinds: list[str], given: Sequence[int] | None = None
) -> np.ndarray:
    """Clock segment of each device event (in order of occurrence), as ``fit_clock_model`` assigns them."""
    return _assign_events(np.asarray(dev, dtype=np.float64).reshape(-1), bounds, kinds, given)


def regular_clock(ts: np.ndarray) -> bool:
    """True when a stream's sample intervals are regular (a hardware sample clock): see ``ClockFitOptions``."""
    return _regular_clock(ts)


def _regular_clock(ts: np.ndarray, *, max_relative_jitter: float = 0.01) -> bool:
    """True when the forward intervals' robust spread (``robust_sigma``) is under this share of their median."""
    d = np.diff(np.asarray(ts, dtype=np.float64).reshape(-1))
    d = d[d > 0]
    if d.size < 3:
        return False
    med = float(np.median(d))
    return robust_sigma(d, center=med) <= max_relative_jitter * med


def _nearest(values: list[float | None], k: int) -> float | None:
    for dist in range(1, len(values)):
        for j in (k - dist, k + dist):
            if 0 <= j < len(values) and values[j] is not None:
                return values[j]
    return None


def _fit_line(d: np.ndarray, r: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
    """Offset and drift of r - d = offset + drift * d: exact for 2 events, Huber IRLS for more."""
    y = r - d  # small numbers: fitting the difference keeps full precision on the drift
    if d.size == 2:
        drift = float((y[1] - y[0]) / (d[1] - d[0]))
        offset = float(y[0] - drift * d[0])
        return offset, drift, y - (offset + drift * d), np.zeros(0)
    w = np.ones_like(d)
    offset, drift = _wls(d, y, w)
    for _ in range(50):
        resid = y - (offset + drift * d)
        scale = robust_sigma(resid)
        if scale <= 0:
            scale = float(np.std(resid)) or 1e-12
        a = np.abs(resid) / (_HUBER_K * scale)
        w_new = np.where(a <= 1, 1.0, 1.0 / np.maximum(a, 1e-300))
        if np.allclose(w_new, w, rtol=0, atol=1e-9):
            break
        w = w_new
        offset, drift = _wls(d, y, w)
    resid = y - (offset + drift * d)
    loo = np.empty(d.size)
    for i in range(d.size):
        keep = np.arange(d.size) != i
        o_i, dr_i = _wls(d[keep], y[keep], w[keep])
        loo[i] = y[i] - (o_i + dr_i * d[i])
    return offset, drift, resid, loo


def _wls(d: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    dm = float(np.average(d, weights=w))
    ym = float(np.average(y, weights=w))
    dc = d - dm
    denom = float(np.sum(w * dc * dc))
    drift = float(np.sum(w * dc * (y - ym)) / denom) if denom > 0 else 0.0
    return ym - drift * dm, drift
