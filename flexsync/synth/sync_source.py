"""What the synthetic sync box sends, and which of its pulses each device sees.

The sync box drives one line into every device: the LED seen by the cameras, the EMG trigger
inputs, the mocap analog ``SYNC`` channel and the physio digital input. ``sync_schedule`` lays
out its pulses on the true time axis for a train source (``SynthOptions.sync_source``):

- ``pulse_train``: a pulse of ``sync_pulse_s`` every ``sync_period_s`` over the whole recording,
  at a random phase; the two pulses nearest the recording's sync events are widened to
  ``MARKER_WIDTH_FACTOR`` x ``sync_pulse_s`` (start and end markers), which settle the train's
  one-period ambiguity where a device sees them;
- ``coded_train``: pulses at random intervals, uniform in [0.6, 1.4] x ``sync_period_s``; no two
  stretches of a few intervals look alike, so any stretch identifies itself.

``device_sees`` draws, per device, which pulses reach it: each is missed with
``missing_pulse_probability``, and the device's input starts up to ``sync_late_start_s`` late and
stops up to ``sync_early_stop_s`` early. Every draw comes from the generator streams the caller
passes (``RecordingPlan.device_rng("sync", ...)``), never from the recording's own generator, so
the choice of sync source leaves the motion, the clocks and every other draw unchanged. The flash
pair (the default source) does not go through this module.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from flexsync.synth.options import SynthOptions
from flexsync.timing.pulse_train import MARKER_WIDTH_FACTOR, TRAIN_SOURCES

__all__ = ["MARKER_WIDTH_FACTOR", "TRAIN_SOURCES", "SyncSchedule", "device_sees", "sync_schedule", "sync_stream_index"]

_FIRST_PULSE_S = 0.25  # true time before which the box sends nothing
_END_MARGIN_S = 0.3  # the last pulse ends at least this long before the recording
_CODED_INTERVALS = (0.6, 1.4)  # x sync_period_s


@dataclass(frozen=True)
class SyncSchedule:
    """The train's pulses on the true axis: onsets and widths (s), and which are markers (indices)."""

    source: str
    onsets_s: np.ndarray
    widths_s: np.ndarray
    markers: tuple[int, ...] = ()

    @property
    def n(self) -> int:
        return int(self.onsets_s.size)

    def windows(self, seen: np.ndarray) -> list[tuple[float, float]]:
        """``(onset, onset + width)`` true-time windows of the pulses selected by the mask ``seen``."""
        idx = np.flatnonzero(np.asarray(seen, dtype=bool))
        return [(float(self.onsets_s[i]), float(self.onsets_s[i] + self.widths_s[i])) for i in idx]


def sync_schedule(
    options: SynthOptions, events_true_s: list[float], end_true_s: float, rng: np.random.Generator
) -> SyncSchedule:
    """The pulses a train source sends over a recording that ends at true ``end_true_s``."""
    if options.sync_source not in TRAIN_SOURCES:
        raise ValueError(f"sync_schedule: {options.sync_source!r} is not a train source ({', '.join(TRAIN_SOURCES)})")
    period, width = options.sync_period_s, options.sync_pulse_s
    marker_width = MARKER_WIDTH_FACTOR * width
    last_start = end_true_s - _END_MARGIN_S - marker_width
    if options.sync_source == "pulse_train":
        first = _FIRST_PULSE_S + float(rng.uniform(0.0, period))
        onsets = first + period * np.arange(max(0, int(np.floor((last_start - first) / period)) + 1))
    else:
        n_max = int(np.ceil((last_start - _FIRST_PULSE_S) / (_CODED_INTERVALS[0] * period))) + 2
        steps = rng.uniform(*_CODED_INTERVALS, size=n_max) * period
        onsets = _FIRST_PULSE_S + float(rng.uniform(0.0, period)) + np.concatenate([[0.0], np.cumsum(steps)])
        onsets = onsets[onsets <= last_start]
    widths = np.full(onsets.shape, width)
    markers: tuple[int, ...] = ()
    if options.sync_source == "pulse_train" and onsets.size:
        chosen = sorted({int(np.argmin(np.abs(onsets - t))) for t in events_true_s})
        widths[chosen] = marker_width
        markers = tuple(chosen)
    return SyncSchedule(options.sync_source, onsets, widths, markers)


def sync_stream_index(stream: str) -> int:
    """A stable index of a stream's own sync generator stream (its name's CRC-32): adding streams changes nothing."""
    return zlib.crc32(stream.encode("utf-8"))


def device_sees(
    schedule: SyncSchedule,
    options: SynthOptions,
    rng: np.random.Generator,
    *,
    true_start_s: float,
    true_end_s: float,
) -> np.ndarray:
    """Which pulses reach one device recording over true ``[true_start_s, true_end_s]`` (bool mask).

    Three draws, always made in this order: the missed pulses, the late start, the early stop.
    A pulse counts as seen only when it lies wholly inside the device's recording and its input span.
    """
    missed = rng.uniform(size=schedule.n) < options.missing_pulse_probability
    late = float(rng.uniform(0.0, options.sync_late_start_s)) if options.sync_late_start_s > 0 else 0.0
    early = float(rng.uniform(0.0, options.sync_early_stop_s)) if options.sync_early_stop_s > 0 else 0.0
    ends = schedule.onsets_s + schedule.widths_s
    first_input = float(schedule.onsets_s[0]) + late if schedule.n else 0.0
    last_input = float(ends[-1]) - early if schedule.n else 0.0
    inside = (schedule.onsets_s >= max(true_start_s, first_input)) & (ends <= min(true_end_s, last_input))
    return ~missed & inside
