"""The clock fit of one stream whose sync input carries a pulse train, as the recording's fit needs it.

``fit_train_stream`` hands the staged events to ``flexsync.timing.pulse_train.fit_pulse_train`` with
what only the ingest side knows: whether the file can show a clock reset (EDF/BDF, C3D and TRC
store no timestamps, so a reset leaves only a sub-sample step the fit must find itself), and, for a
periodic train, a coarse motion estimate (the stream's motion feature against the reference's
joint speed, ``fit_by_motion`` over the clock segment), computed only if neither the markers nor
sample continuity settle the period. ``pairing`` keeps what the tables and the gate need of the result.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from flexsync.ingest.clock_fit import PulsePairing
from flexsync.ingest.staging import SyncEvent
from flexsync.timing.clock_model import ClockModel, EventTimes, ForwardGap
from flexsync.timing.motion_xcorr import fit_by_motion
from flexsync.timing.pulse_train import MotionOffset, TrainFit, TrainFitOptions, fit_pulse_train

__all__ = ["HIDDEN_RESET_FORMATS", "MotionSignals", "event_times", "fit_train_stream", "pairing"]

# A motion fit settles a periodic train's rivals only with this confidence (the fallback gate's minimum).
_MIN_MOTION_CONFIDENCE = 0.25
# Formats whose sample times are index / rate: a clock reset cannot show in them.
HIDDEN_RESET_FORMATS = ("edf", "bdf", "c3d", "trc")

# () -> (device t, device motion feature, reference t, reference joint speed)
MotionSignals = Callable[[], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]


def event_times(events: Sequence[SyncEvent]) -> EventTimes:
    """Staged sync events as the timing layer takes them (times, uncertainties, labels)."""
    times = [e.t_device_s for e in events]
    return EventTimes(times, uncertainty_s=[e.uncertainty_s for e in events], labels=[e.label for e in events])


def _motion_offset(name: str, signals: MotionSignals, t_device: np.ndarray) -> MotionOffset:
    """A clock segment's coarse offset from the stream's motion fit (``fit_by_motion`` over the whole
    recording, its segments stitched by continuity: a lone segment of lead-in and a repetition or two
    can lock onto the wrong repetition, the whole recording rarely does). Fitted once, on first use;
    NaN when the fit is not a confident motion fit."""
    cache: list[ClockModel] = []

    def offset(span: tuple[float, float], prior_s: float) -> float:
        del prior_s  # the whole-recording fit searches its own +-6 s
        if not cache:
            t, x, rt, speed = signals()
            cache.append(fit_by_motion(name, t, x, rt, speed, reference="reference", device_timestamps_s=t_device))
        model = cache[0]
        if model.method != "motion-xcorr" or model.confidence < _MIN_MOTION_CONFIDENCE:
            return math.nan
        middle = np.array([0.5 * (span[0] + span[1])])
        return float(model.to_reference(middle)[0] - middle[0])

    return offset


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
    wanted = motion_signals is not None and sync_source == "pulse_train"
    motion = _motion_offset(name, motion_signals, t_device) if wanted and motion_signals else None
    return fit_pulse_train(
        name,
        event_times(events),
        event_times(reference_events),
        reference=reference,
        sync_source=sync_source,
        device_timestamps_s=t_device,
        nominal_rate_hz=nominal_rate_hz,
        motion_offset=motion,
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
