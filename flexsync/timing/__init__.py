"""Timing: sync events, clock models and resampling onto a reference-clock grid.

Every stream keeps its measured device timestamps; these modules find the shared sync events
on each device (``pulses`` for analog/trigger channels, ``flash`` for video), fit a per-stream
``ClockModel`` against the reference stream (``clock_model`` for the flash pair, ``pulse_train``
for a periodic or coded train: ``pulse_match`` pairs the pulses, ``robust_line`` fits them) and,
only where a consumer needs
a common grid, resample with one rule per modality (``resample``). Pure numpy/scipy: no file
I/O, no Dagster.
"""

from flexsync.timing.clock_model import (
    ClockFitOptions,
    ClockModel,
    ClockSegmentFit,
    EventTimes,
    detect_clock_resets,
    fit_clock_model,
    identity_model,
)
from flexsync.timing.flash import FlashEvents, FlashFeatures, FlashOptions, detect_flashes, luma_grid
from flexsync.timing.pulse_match import PulseMatch, match_pulses
from flexsync.timing.pulse_train import TrainFit, TrainFitOptions, fit_pulse_train
from flexsync.timing.pulses import PulseEvents, detect_pulses
from flexsync.timing.resample import (
    emg_onto_grid,
    hold_or_interpolate,
    interpolate_pose,
    make_grid,
    nearest_frame,
    resample_polyphase,
)

__all__ = [
    "ClockFitOptions",
    "ClockModel",
    "ClockSegmentFit",
    "EventTimes",
    "FlashEvents",
    "FlashFeatures",
    "FlashOptions",
    "PulseEvents",
    "PulseMatch",
    "TrainFit",
    "TrainFitOptions",
    "detect_clock_resets",
    "detect_flashes",
    "detect_pulses",
    "emg_onto_grid",
    "fit_clock_model",
    "fit_pulse_train",
    "hold_or_interpolate",
    "identity_model",
    "interpolate_pose",
    "luma_grid",
    "make_grid",
    "match_pulses",
    "nearest_frame",
    "resample_polyphase",
]
