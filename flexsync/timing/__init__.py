"""Timing: sync events, clock models and resampling onto a reference-clock grid.

Every stream keeps its measured device timestamps; these modules find the shared sync events
on each device (``pulses`` for analog/trigger channels, ``flash`` for video), fit a per-stream
``ClockModel`` against the reference stream (``clock_model``) and, only where a consumer needs
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
    "detect_clock_resets",
    "detect_flashes",
    "detect_pulses",
    "emg_onto_grid",
    "fit_clock_model",
    "hold_or_interpolate",
    "identity_model",
    "interpolate_pose",
    "luma_grid",
    "make_grid",
    "nearest_frame",
    "resample_polyphase",
]
