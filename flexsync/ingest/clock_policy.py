"""The clock policy: which fitted model a stream keeps, and whether its residuals pass the gate.

A stream's clock comes from one of four sources (``ClockSource``): the reference itself, a clock
the manifest declares, its sync events, or motion cross-correlation. A video with fewer than two
sync events (a missed flash) is checked against motion when the reference is mocap:

- no event: the motion model is used;
- one event: the event's offset-only model is kept when it agrees with the motion model within
  ``fallback_agreement_s`` at the event (confirmed), else the motion model is used (disagrees);
- no motion reference, or motion cross-correlation impossible: the event model stays, flagged.

The residual gate (``gate_stream``, summarised by ``residual_outcome`` into the blocking
``clock_residuals`` check) holds event models, the identity and declared clocks to their kind's
limit, motion models to the looser fallback limits (quality and confidence), and accepts a
one-event model only when motion confirmed it with enough confidence; anything else fails.

Pure decisions on fitted models: no fitting, no I/O.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

import numpy as np

from flexsync.config import PipelineSettings
from flexsync.ingest.checks import CLOCK_CHECKS, outcome
from flexsync.ingest.staging import SyncEvent
from flexsync.quality import CheckOutcome, TableMeta
from flexsync.timing.clock_model import ClockModel

__all__ = [
    "DECLARED_METHOD",
    "MOTION_METHOD",
    "ClockChoice",
    "ClockSource",
    "FallbackDecision",
    "FallbackReason",
    "StreamGate",
    "choose_clock",
    "gate_stream",
    "residual_outcome",
    "wants_motion",
]

logger = logging.getLogger(__name__)

MOTION_METHOD = "motion-xcorr"
# A clock the lab declares in the manifest (stream option "clock"): no events needed, no fit.
DECLARED_METHOD = "declared"
# Methods the gate holds to the kind's residual limit without further conditions.
_EVENT_METHODS = ("identity", "events", DECLARED_METHOD)
_ONE_EVENT_METHOD = "events+offset-only"


class ClockSource(Enum):
    """Where a stream's clock model comes from."""

    IDENTITY = "identity"  # the reference stream itself
    DECLARED = "declared"  # the manifest's ``clock`` option
    EVENTS = "events"  # fitted from sync events (possibly one, or none: "nominal")
    MOTION = "motion"  # motion cross-correlation against the reference's joint speed


class FallbackReason(Enum):
    """Why a video with fewer than two sync events ended up with the model it has."""

    NO_MOTION_REFERENCE = "no_motion_reference"  # the reference is not mocap: no joint speed
    MOTION_IMPOSSIBLE = "motion_impossible"  # too little usable motion to correlate
    NO_EVENT = "no_event"  # no event at all: motion model
    CONFIRMED_BY_MOTION = "confirmed_by_motion"  # one event, motion agrees: event model
    DISAGREES_WITH_MOTION = "disagrees_with_motion"  # one event, motion disagrees: motion model

    @property
    def uses_motion(self) -> bool:
        return self in (FallbackReason.NO_EVENT, FallbackReason.DISAGREES_WITH_MOTION)


_REASON_TEXT = {
    FallbackReason.MOTION_IMPOSSIBLE: "motion cross-correlation impossible",
    FallbackReason.NO_EVENT: "no sync event",
    FallbackReason.CONFIRMED_BY_MOTION: "one sync event, confirmed by motion",
    FallbackReason.DISAGREES_WITH_MOTION: "one sync event, disagreeing with motion",
}


@dataclass(frozen=True)
class FallbackDecision:
    """What the motion check of a video with fewer than two sync events found and decided.

    ``event_method``: the event fit's method; ``motion_*``: the motion fit's method, confidence
    and quality (s), None when no motion fit was made; ``event_minus_motion_s``: the two models'
    difference at the one event (s), None without one event and a motion model.
    """

    n_events: int
    event_method: str
    reason: FallbackReason
    reference: str
    motion_method: str | None = None
    motion_confidence: float | None = None
    motion_quality_s: float | None = None
    event_minus_motion_s: float | None = None

    @property
    def used(self) -> bool:
        """True when the stream's clock is the motion model."""
        return self.reason.uses_motion

    @property
    def method(self) -> str:
        """The method of the model the stream keeps."""
        return MOTION_METHOD if self.used else self.event_method

    @property
    def reason_text(self) -> str:
        if self.reason is FallbackReason.NO_MOTION_REFERENCE:
            return f"reference {self.reference} is not mocap (no joint speed)"
        return _REASON_TEXT[self.reason]

    def to_report(self) -> dict[str, Any]:
        """The sync report's ``fallback`` entry (and ``ClockFitResult.fallback``) for this stream."""
        out: dict[str, Any] = {"n_events": self.n_events, "event_method": self.event_method}
        if self.motion_method is not None:
            out.update(
                motion_method=self.motion_method,
                motion_confidence=self.motion_confidence,
                motion_quality_s=self.motion_quality_s,
            )
        if self.event_minus_motion_s is not None:
            out["event_minus_motion_s"] = self.event_minus_motion_s
        out.update(method=self.method, used=self.used, reason=self.reason_text)
        return out


@dataclass(frozen=True)
class ClockChoice:
    """The model a stream keeps, where it comes from, and (after a motion check) what was decided."""

    model: ClockModel
    source: ClockSource
    fallback: FallbackDecision | None = None
    warnings: tuple[str, ...] = ()


def wants_motion(kind: str, n_events: int, reference_kind: str) -> bool:
    """True when ``choose_clock`` needs a motion model: a video with fewer than two sync events, mocap reference."""
    return kind == "video" and n_events < 2 and reference_kind == "mocap"


def choose_clock(
    name: str,
    kind: str,
    events: Sequence[SyncEvent],
    event_model: ClockModel,
    motion: ClockModel | None,
    *,
    reference: str,
    reference_kind: str,
    agreement_s: float,
) -> ClockChoice:
    """The clock of a fitted (not reference, not declared) stream: its event model, or the motion model.

    ``motion`` is the motion fit against the reference, required when ``wants_motion``;
    ``agreement_s`` is how close (s) one event's model and the motion model must be at the
    event for the event to be trusted (``PipelineSettings.fallback_agreement_s``).
    """
    n = len(events)
    if kind != "video" or n >= 2:
        return ClockChoice(event_model, ClockSource.EVENTS)
    base = {"n_events": n, "event_method": event_model.method, "reference": reference}
    if reference_kind != "mocap":
        decision = FallbackDecision(reason=FallbackReason.NO_MOTION_REFERENCE, **base)
        warning = f"{name}: {n} sync event(s) and no motion fallback: {decision.reason_text}"
        return ClockChoice(event_model, ClockSource.EVENTS, decision, (warning,))
    if motion is None:
        raise ValueError(f"stream {name}: a video with {n} sync event(s) needs a motion model to decide its clock")
    base.update(motion_method=motion.method, motion_confidence=motion.confidence, motion_quality_s=motion.quality_s)
    if motion.method != MOTION_METHOD:
        decision = FallbackDecision(reason=FallbackReason.MOTION_IMPOSSIBLE, **base)
        warning = f"{name}: {n} sync event(s) and {motion.notes[-1]}"
        return ClockChoice(event_model, ClockSource.EVENTS, decision, (warning,))
    if not events:
        logger.info("stream %s: no sync event; clock from motion cross-correlation", name)
        return ClockChoice(motion, ClockSource.MOTION, FallbackDecision(reason=FallbackReason.NO_EVENT, **base))
    event = events[0]
    t_event = np.array([event.t_device_s])
    gap = float(event_model.to_reference(t_event)[0] - motion.to_reference(t_event)[0])
    if event_model.method != "nominal" and abs(gap) <= agreement_s:
        decision = FallbackDecision(reason=FallbackReason.CONFIRMED_BY_MOTION, event_minus_motion_s=gap, **base)
        note = f"offset from one {event.label} event, confirmed by motion cross-correlation ({gap * 1e3:+.1f} ms)"
        return ClockChoice(_noted(event_model, note), ClockSource.EVENTS, decision)
    decision = FallbackDecision(reason=FallbackReason.DISAGREES_WITH_MOTION, event_minus_motion_s=gap, **base)
    note = (
        f"its one {event.label} sync event and motion cross-correlation disagree by {gap * 1e3:+.1f} ms "
        f"(> {agreement_s * 1e3:.0f} ms): clock from motion"
    )
    logger.warning("stream %s: %s", name, note)
    # The note becomes a warning of the clock fit with the model's other notes.
    return ClockChoice(_noted(motion, note), ClockSource.MOTION, decision)


def _noted(model: ClockModel, note: str) -> ClockModel:
    return replace(model, notes=(*model.notes, note))


# -- the residual gate ------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamGate:
    """The residual gate's verdict on one stream: its quality against its limit (s)."""

    stream: str
    method: str
    quality_s: float
    limit_s: float
    confidence: float
    ok: bool
    reason: str  # why it fails (also filled when it passes)

    def row(self) -> tuple[str, str, float, float, float, str]:
        """The check's table row: stream, method, quality_ms, limit_ms, confidence, status."""
        status = "ok" if self.ok else "FAIL"
        return (self.stream, self.method, self.quality_s * 1e3, self.limit_s * 1e3, self.confidence, status)


def gate_stream(
    name: str,
    model: ClockModel,
    kind: str,
    source: ClockSource,
    fallback: FallbackDecision | None,
    settings: PipelineSettings,
) -> StreamGate:
    """Motion models pass under ``max_fallback_residual_s`` with confidence >= ``min_fallback_confidence``;
    every other model under its kind's limit, if its method is trusted: identity, events, declared,
    or one event that motion confirmed with enough confidence (drift assumed 0: as good as its event)."""
    quality = model.quality_s
    confidence = float(model.confidence)
    min_confidence = settings.min_fallback_confidence
    if source is ClockSource.MOTION:
        limit = settings.max_fallback_residual_s
        ok = not math.isnan(quality) and quality <= limit and model.confidence >= min_confidence
        reason = (
            f"motion fallback: quality {quality * 1e3:.3f} ms (limit {limit * 1e3:.3f} ms), "
            f"confidence {model.confidence:.3f} (min {min_confidence:.3f})"
        )
        return StreamGate(name, model.method, quality, limit, confidence, ok, reason)
    limit = settings.residual_limit_s(kind)
    confirmed = (
        model.method == _ONE_EVENT_METHOD
        and fallback is not None
        and fallback.reason is FallbackReason.CONFIRMED_BY_MOTION
        and _or_zero(fallback.motion_confidence) >= min_confidence
    )
    accepted = model.method in _EVENT_METHODS or confirmed
    ok = accepted and not math.isnan(quality) and quality <= limit
    reason = f"method {model.method}" if not accepted else f"quality {quality * 1e3:.3f} ms > {limit * 1e3:.3f} ms"
    return StreamGate(name, model.method, quality, limit, confidence, ok, reason)


def _with_file(reason: str, file: str | None) -> str:
    return reason if file is None else f"{reason}; sync events read from {file}"


def _or_zero(value: float | None) -> float:
    return 0.0 if value is None else value


def residual_outcome(
    key: str,
    gates: Sequence[StreamGate],
    sources: Mapping[str, ClockSource],
    fallback: Mapping[str, FallbackDecision],
    sync_files: Mapping[str, str] | None = None,
    eventless_reference: str | None = None,
) -> CheckOutcome:
    """The blocking ``clock_residuals`` check of a recording from its streams' gate verdicts.

    ``sync_files`` (stream -> the raw file its sync events come from) lets a failure name the file
    to look at, not only the stream; ``eventless_reference`` names the reference stream when it has
    no sync event at all (then no stream can be placed by events, and that is the cause to report).
    """
    files = sync_files or {}
    failures = [
        (g.quality_s if not math.isnan(g.quality_s) else math.inf, g.stream, _with_file(g.reason, files.get(g.stream)))
        for g in gates
        if not g.ok
    ]
    used = [name for name, source in sources.items() if source is ClockSource.MOTION]
    confirmed = [name for name, d in fallback.items() if d.reason is FallbackReason.CONFIRMED_BY_MOTION]
    via = f"; motion cross-correlation fallback (missed sync flash) for {', '.join(used)}" if used else ""
    if confirmed:
        via += f"; one-event offset confirmed by motion for {', '.join(confirmed)}"
    if failures:
        worst = max(failures)
        text = f"recording {key}: {len(failures)} stream(s) not aligned well enough; worst {worst[1]} ({worst[2]})"
        others = [f"{stream} ({reason})" for _, stream, reason in sorted(failures, reverse=True)[1:]]
        text += f"; also {', '.join(others)}" if others else ""
        if eventless_reference is not None:
            where = f" in {files[eventless_reference]}" if eventless_reference in files else ""
            text = (
                f"recording {key}: the reference stream {eventless_reference} has no sync event{where}, so no "
                f"stream could be aligned by events; {len(failures)} stream(s) failed"
            )
    else:
        text = f"recording {key}: every stream within its residual threshold"
    return outcome(
        CLOCK_CHECKS[0],
        not failures,
        text + via,
        streams=TableMeta(
            ("stream", "method", "quality_ms", "limit_ms", "confidence", "status"), tuple(g.row() for g in gates)
        ),
        motion_fallback=", ".join(used) or "none",
        fallback_reasons=TableMeta(
            ("stream", "n_events", "method", "reason"),
            tuple((n, int(d.n_events), str(d.method), str(d.reason_text)) for n, d in fallback.items()),
        ),
    )
