"""The ``clock_pulse_fit`` gate: streams placed by a sync pulse train are held to their residuals.

With tens of pulses per stream the residuals of the fit measure it (two flashes fit exactly and
say nothing). A stream whose clock came from a pulse-train fit passes when

- the RMS of its fitted pulses' residuals is under ``max_pulse_rms_s`` for its kind,
- at least ``min_pulse_match_fraction`` of the pulses it detected were matched and fitted,
- every clock segment was placed by pulses of its own (none carried over from a neighbour; one
  pulse places a segment whose drift is shared with the others), and
- no segment's one-period ambiguity (a periodic train without markers or motion) was left open.

The events' own timing uncertainty is shown beside the residuals and kept out of them. Streams
without a train (flash pair, motion, declared clocks, the reference) are not judged here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from flexsync.config import PipelineSettings
from flexsync.ingest.checks import CLOCK_CHECKS, outcome
from flexsync.ingest.clock_fit import StreamClock
from flexsync.quality import CheckOutcome, TableMeta

__all__ = ["PULSE_CHECK", "PulseVerdict", "pulse_outcome", "pulse_verdict"]

PULSE_CHECK = next(c for c in CLOCK_CHECKS if c.name == "clock_pulse_fit")


@dataclass(frozen=True)
class PulseVerdict:
    """One train-placed stream: its pulse counts, residual RMS and max, event uncertainty (s), the verdict."""

    stream: str
    found: int
    matched: int
    rejected: int
    rms_s: float
    max_abs_s: float
    uncertainty_s: float
    rms_limit_s: float
    ok: bool
    reasons: tuple[str, ...]

    def row(self) -> tuple[object, ...]:
        return (
            self.stream,
            self.found,
            self.matched,
            self.rejected,
            self.rms_s * 1e3,
            self.max_abs_s * 1e3,
            self.uncertainty_s * 1e3,
            self.rms_limit_s * 1e3,
            "ok" if self.ok else "FAIL: " + "; ".join(self.reasons),
        )


def pulse_verdict(stream: StreamClock, settings: PipelineSettings) -> PulseVerdict | None:
    """The gate's verdict on one stream, or None when no pulse train placed it."""
    if stream.pulses is None or stream.model.sync_source is None:
        return None
    model = stream.model
    counts = model.pulse_counts or {"found": 0, "matched": 0, "rejected": 0}
    limit = settings.pulse_rms_limit_s(stream.kind)
    rms, worst = model.rms_residual_s, model.max_abs_residual_s
    unc = [s.event_uncertainty_s for s in model.segments if s.n_events and math.isfinite(s.event_uncertainty_s)]
    reasons = []
    if model.method not in ("events", "events+offset-only"):
        reasons.append(f"method {model.method}")
    if not (math.isfinite(rms) and rms <= limit):
        reasons.append(f"residual RMS {rms * 1e3:.3f} ms > {limit * 1e3:.3f} ms")
    share = counts["matched"] / counts["found"] if counts["found"] else 0.0
    if share < settings.min_pulse_match_fraction:
        floor = settings.min_pulse_match_fraction
        reasons.append(f"{counts['matched']} of {counts['found']} pulses matched ({share:.0%} < {floor:.0%})")
    thin = [k for k, s in enumerate(model.segments) if s.n_events < 1]
    if thin:
        reasons.append(f"segment(s) {thin} not placed by a pulse of their own")
    if stream.pulses.ambiguous:
        reasons.append("one-period ambiguity of the train left unsettled")
    return PulseVerdict(
        stream.stream,
        counts["found"],
        counts["matched"],
        counts["rejected"],
        float(rms),
        float(worst),
        float(np.sqrt(np.mean(np.square(unc)))) if unc else math.nan,
        limit,
        not reasons,
        tuple(reasons),
    )


def pulse_outcome(key: str, streams: Mapping[str, StreamClock], settings: PipelineSettings) -> CheckOutcome:
    """The blocking ``clock_pulse_fit`` check of a recording (passes, saying so, when no train is wired)."""
    verdicts = [v for s in streams.values() if (v := pulse_verdict(s, settings)) is not None]
    failed = [v for v in verdicts if not v.ok]
    if not verdicts:
        text = f"recording {key}: no stream placed by a sync pulse train"
    elif failed:
        text = f"recording {key}: {len(failed)} stream(s) fail the pulse fit: " + "; ".join(
            f"{v.stream} ({'; '.join(v.reasons)})" for v in failed
        )
    else:
        text = f"recording {key}: {len(verdicts)} stream(s) placed by the pulse train, every fit within its limits"
    return outcome(
        PULSE_CHECK,
        not failed,
        text,
        streams=TableMeta(
            (
                "stream",
                "found",
                "matched",
                "rejected",
                "rms_ms",
                "max_abs_ms",
                "event_uncertainty_ms",
                "rms_limit_ms",
                "status",
            ),
            tuple(v.row() for v in verdicts),
        ),
    )
