"""The result types of a recording's clock fit: per stream its clock and the policy's verdicts.

A leaf of the clock fit: ``clocks`` builds these, ``clock_tables`` and ``sync_report`` read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flexsync.ingest.clock_policy import ClockSource, FallbackDecision, StreamGate
from flexsync.ingest.staging import SyncEvent
from flexsync.quality import CheckOutcome
from flexsync.timing.clock_model import ClockModel

__all__ = ["ClockFit", "PulsePairing", "StreamClock"]


@dataclass(frozen=True)
class PulsePairing:
    """How a pulse-train fit used a stream's sync events: per event, the reference event it was paired
    with (-1: none) and whether the fit used it; ``ambiguous``: a segment's one-period ambiguity stayed
    unsettled; ``sync_source``: the train."""

    reference_index: tuple[int, ...]
    in_fit: tuple[bool, ...]
    ambiguous: bool
    sync_source: str


@dataclass(frozen=True)
class StreamClock:
    """One stream's fitted clock: the final model (latency and declared clocks applied), where it came
    from, the motion check's decision (videos with fewer than two events), the residual gate's verdict,
    and what the tables need: its sync events, the latency that puts them on the model's event
    timeline (s, added to their stamps), its device time span (s) and, for a pulse-train fit, how
    each event was paired (``pulses``)."""

    stream: str
    kind: str
    model: ClockModel
    source: ClockSource
    fallback: FallbackDecision | None
    gate: StreamGate
    events: tuple[SyncEvent, ...]
    event_latency_s: float
    device_first_s: float
    device_last_s: float
    pulses: PulsePairing | None = None


@dataclass(frozen=True)
class ClockFit:
    """A recording's clock fit: every stream's clock, in manifest order, and what was concluded.

    ``reference_times``: the reference's sync events by label, on the reference clock (its device
    clock, or the lab clock when the manifest declares it). ``residual_check``: the blocking
    ``clock_residuals`` check; ``pulse_check``: the blocking ``clock_pulse_fit`` check (streams
    placed by a pulse train). ``warnings``: the models' notes and the policy's warnings.
    ``reference_events``: every sync event of the reference, in order, on the reference clock (what
    a pulse-train pairing's reference indices point at).
    """

    recording: str
    reference: str
    streams: Mapping[str, StreamClock]
    reference_times: Mapping[str, float]
    residual_check: CheckOutcome
    warnings: tuple[str, ...]
    pulse_check: CheckOutcome | None = None
    reference_events: tuple[float, ...] = ()

    @property
    def models(self) -> dict[str, ClockModel]:
        return {name: s.model for name, s in self.streams.items()}

    @property
    def fallback(self) -> dict[str, FallbackDecision]:
        """The motion-check decisions, for the streams that had one."""
        return {name: s.fallback for name, s in self.streams.items() if s.fallback is not None}
