"""The clock fit of one stream whose sync input carries a pulse train, as the recording's fit needs it.

``fit_train_stream`` hands the staged events to ``flexsync.timing.pulse_train.fit_pulse_train`` with
what only the ingest side knows: whether the file can show a clock reset (EDF/BDF, C3D and TRC
store no timestamps, so a reset leaves only a sub-sample step the fit must find itself), and, for a
periodic train, the motion agreement at each candidate offset (the stream's motion feature against
the reference's joint speed over the clock segment), computed only if neither the markers nor
sample continuity settle the period. ``pairing`` keeps what the tables and the gate need of the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from flexsync.ingest.clock_fit import PulsePairing
from flexsync.ingest.staging import SyncEvent
from flexsync.timing.clock_model import EventTimes, ForwardGap
from flexsync.timing.motion_xcorr import motion_agreement
from flexsync.timing.pulse_train import MotionScores, TrainFit, TrainFitOptions, fit_pulse_train

__all__ = ["HIDDEN_RESET_FORMATS", "MotionSignals", "event_times", "fit_train_stream", "pairing"]

# Formats whose sample times are index / rate: a clock reset cannot show in them.
HIDDEN_RESET_FORMATS = ("edf", "bdf", "c3d", "trc")

# () -> (device t, device motion feature, reference t, reference joint speed)
MotionSignals = Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def event_times(events: Sequence[SyncEvent]) -> EventTimes:
    """Staged sync events as the timing layer takes them (times, uncertainties, labels)."""
    times = [e.t_device_s for e in events]
    return EventTimes(times, uncertainty_s=[e.uncertainty_s for e in events], labels=[e.label for e in events])


def _motion_scores(signals: MotionSignals) -> MotionScores:
    """Per candidate offset, the motion agreement of a clock segment with the reference
    (``motion_agreement``: the stream's motion feature sent to the reference clock by that offset,
    correlated with the reference's joint speed within +-0.1 s). The signals are computed once, on
    first use."""
    cache: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def scores(span: tuple[float, float], candidates: Sequence[float]) -> np.ndarray:
        if not cache:
            cache.append(signals())
        t, x, rt, speed = cache[0]
        inside = (t >= span[0]) & (t <= span[1])
        return np.array([motion_agreement(t[inside], x[inside], rt, speed, float(c)) for c in candidates])

    return scores


def fit_train_stream(
    name: str,
    events: Sequence[SyncEvent],
    reference_events: Sequence[SyncEvent],
    *,
    reference: str,
    sync_source: str,
    t_device: np.ndarray,
    nominal_rate_hz: float,
    file_format: str,
    motion_signals: MotionSignals | None = None,
    forward_gap: ForwardGap = "auto",
) -> TrainFit:
    """The stream's pulse-train fit against the reference's pulses (module docstring)."""
    motion = _motion_scores(motion_signals) if motion_signals is not None and sync_source == "pulse_train" else None
    return fit_pulse_train(
        name,
        event_times(events),
        event_times(reference_events),
        reference=reference,
        sync_source=sync_source,
        device_timestamps_s=t_device,
        nominal_rate_hz=nominal_rate_hz,
        motion_scores=motion,
        options=TrainFitOptions(hidden_resets=file_format.lower() in HIDDEN_RESET_FORMATS, forward_gap=forward_gap),
    )


def pairing(fit: TrainFit) -> PulsePairing:
    """What the tables and the pulse gate keep of a pulse-train fit."""
    return PulsePairing(
        reference_index=tuple(int(i) for i in fit.reference_index),
        in_fit=tuple(bool(b) for b in fit.in_fit),
        ambiguous=fit.ambiguous,
        sync_source=str(fit.model.sync_source),
    )
