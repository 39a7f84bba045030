"""Device clocks of the synthetic capture: how each device's timestamps relate to true time.

The generator simulates on its own "true" time axis (seconds from 0). Every device counts time on
its own clock, and the pipeline only ever sees device times. A clock is a list of linear segments,

    t_true = offset_s + (1 + drift) * t_dev      for device_start_s <= t_dev < next device_start_s,

which is the model the pipeline has to recover (docs/raw-format.md, "Clocks"). A device starts
recording at device time 0, so the first segment's ``offset_s`` is its true start time.

Clock resets are modelled as a forward jump of the device counter: at a reset the device time
jumps ahead by a random amount while true time runs on, and the new segment starts at the jumped
device time with its own offset (same oscillator, so the same drift). Device timestamps therefore
stay strictly increasing but contain one large gap per reset (a backward restart near 0 would make
device times ambiguous without a segment index, which a single timestamp column cannot carry).
Device times inside a jump belong to no sample; ``to_true`` maps them with the earlier segment.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CLOCK_KINDS",
    "ClockSegment",
    "DeviceClock",
    "camera_frame_times",
    "exposure_overlap",
    "file_time_clock",
    "jittered_device_times",
    "random_clock",
    "regular_device_times",
    "vfr_frame_times",
]

logger = logging.getLogger(__name__)

# Realistic drift ranges (|drift| in ppm) per device kind: (low, high).
CLOCK_KINDS: dict[str, tuple[float, float]] = {
    "cinema": (0.0, 20.0),  # genlock-free cinema cameras, crystal oscillators
    "phone": (0.0, 50.0),
    "emg": (20.0, 80.0),  # wireless sEMG base stations drift tens of ppm
    "mocap": (0.0, 5.0),  # hardware-clocked reference system
    "physio": (0.0, 100.0),  # consumer chest strap
}
_EDGE_FRAMES = 10  # frames never dropped at either end of a video


@dataclass(frozen=True)
class ClockSegment:
    """One linear piece of a device clock, valid for device times >= ``device_start_s``.

    ``t_true = offset_s + (1 + drift) * t_dev`` (seconds); ``drift`` is dimensionless (1e-6 = 1 ppm).
    """

    device_start_s: float
    offset_s: float
    drift: float

    def to_true(self, t_dev: np.ndarray) -> np.ndarray:
        return self.offset_s + (1.0 + self.drift) * t_dev

    def to_device(self, t_true: np.ndarray) -> np.ndarray:
        return (t_true - self.offset_s) / (1.0 + self.drift)

    @property
    def true_start_s(self) -> float:
        """True time at which this segment begins."""
        return float(self.to_true(np.float64(self.device_start_s)))


@dataclass(frozen=True)
class DeviceClock:
    """A device clock: one segment, or several after clock resets (device time jumps forward)."""

    segments: tuple[ClockSegment, ...]

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError("a DeviceClock needs at least one ClockSegment")
        object.__setattr__(self, "segments", tuple(self.segments))
        problems = []
        for i, seg in enumerate(self.segments):
            if not (math.isfinite(seg.offset_s) and math.isfinite(seg.drift) and math.isfinite(seg.device_start_s)):
                problems.append(f"segment {i} has a non-finite value: {seg}")
            elif not -0.01 < seg.drift < 0.01:
                problems.append(f"segment {i} drift {seg.drift} is not a clock drift (|drift| must be < 1%)")
        for i in range(1, len(self.segments)):
            prev, seg = self.segments[i - 1], self.segments[i]
            if seg.device_start_s <= prev.device_start_s:
                problems.append(
                    f"segment {i} starts at device time {seg.device_start_s} s, not after segment {i - 1} "
                    f"({prev.device_start_s} s): device time must jump forward at a reset"
                )
            if seg.true_start_s <= prev.true_start_s:
                problems.append(f"segment {i} starts at true time {seg.true_start_s} s, not after segment {i - 1}")
        if problems:
            raise ValueError("invalid DeviceClock: " + "; ".join(problems))

    @classmethod
    def simple(cls, offset_s: float, drift: float) -> DeviceClock:
        """A clock without resets: device time 0 is true time ``offset_s``."""
        return cls((ClockSegment(0.0, float(offset_s), float(drift)),))

    @property
    def device_starts_s(self) -> np.ndarray:
        return np.array([s.device_start_s for s in self.segments])

    @property
    def true_starts_s(self) -> np.ndarray:
        return np.array([s.true_start_s for s in self.segments])

    def segment_index_device(self, t_dev: np.ndarray) -> np.ndarray:
        """Index of the segment each device time falls in (times before the first use segment 0)."""
        idx = np.searchsorted(self.device_starts_s, np.asarray(t_dev, dtype=np.float64), side="right") - 1
        return np.clip(idx, 0, len(self.segments) - 1)

    def segment_index_true(self, t_true: np.ndarray) -> np.ndarray:
        """Index of the segment whose true span contains each true time."""
        idx = np.searchsorted(self.true_starts_s, np.asarray(t_true, dtype=np.float64), side="right") - 1
        return np.clip(idx, 0, len(self.segments) - 1)

    def _coefficients(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        offsets = np.array([s.offset_s for s in self.segments])
        scales = np.array([1.0 + s.drift for s in self.segments])
        return offsets[idx], scales[idx]

    def rate_scale(self, t_dev: np.ndarray) -> np.ndarray:
        """``1 + drift`` of the segment each device time falls in (true seconds per device second)."""
        return self._coefficients(self.segment_index_device(t_dev))[1]

    def to_true(self, t_dev: np.ndarray) -> np.ndarray:
        """Map device times (s) to true times (s); same shape as the input, float64."""
        t = np.asarray(t_dev, dtype=np.float64)
        if len(self.segments) == 1:
            return self.segments[0].to_true(t)
        offset, scale = self._coefficients(self.segment_index_device(t))
        return offset + scale * t

    def to_device(self, t_true: np.ndarray) -> np.ndarray:
        """Map true times (s) to device times (s), choosing the segment whose true span contains t."""
        t = np.asarray(t_true, dtype=np.float64)
        if len(self.segments) == 1:
            return self.segments[0].to_device(t)
        offset, scale = self._coefficients(self.segment_index_true(t))
        return (t - offset) / scale

    def device_spans(self, true_end_s: float) -> list[tuple[float, float]]:
        """Per segment, the device-time span [start, end) it covers up to true time ``true_end_s``."""
        spans = []
        for i, seg in enumerate(self.segments):
            true_stop = self.segments[i + 1].true_start_s if i + 1 < len(self.segments) else true_end_s
            spans.append((seg.device_start_s, float(seg.to_device(np.float64(min(true_stop, true_end_s))))))
        return spans


def file_time_clock(clock: DeviceClock, device_times_s: np.ndarray, *, rate_hz: float) -> DeviceClock:
    """The clock as seen through a file that stores no timestamps (EDF/BDF, C3D: t_file = index / rate_hz).

    Such a file cannot show a device-time jump: after a reset its samples simply continue. For each
    segment that holds samples, the returned segment starts at its first sample's index / rate_hz,
    with the offset that maps those file times to the same true times. ``device_times_s`` must be
    regular at ``rate_hz`` within each segment (as ``regular_device_times`` makes them).
    """
    times = np.asarray(device_times_s, dtype=np.float64)
    idx = clock.segment_index_device(times)
    segments = []
    for i, seg in enumerate(clock.segments):
        members = np.flatnonzero(idx == i)
        if len(members) == 0:
            continue
        first = int(members[0])
        file_start = first / rate_hz
        offset = seg.offset_s + (1.0 + seg.drift) * (float(times[first]) - file_start)
        segments.append(ClockSegment(file_start, offset, seg.drift))
    if not segments:
        raise ValueError("file_time_clock: no device times given")
    return DeviceClock(tuple(segments))


def random_clock(
    kind: str,
    rng: np.random.Generator,
    *,
    max_offset_s: float = 1.0,
    max_drift_ppm: float | None = None,
    n_resets: int = 0,
    duration_s: float = 30.0,
    reset_jump_s: tuple[float, float] = (0.5, 5.0),
) -> DeviceClock:
    """Draw a plausible clock for a device of ``kind`` (one of ``CLOCK_KINDS``).

    Parameters
    ----------
    max_offset_s : the device starts recording at a true time uniform in [0, max_offset_s].
    max_drift_ppm : upper bound of |drift| in ppm; default per kind (cinema 20, phone 50, emg 20-80,
        mocap 5, physio 100). The sign is random.
    n_resets : clock resets, placed at device times spread over the middle of ``duration_s``
        (the expected recording length, s); at each, device time jumps forward by a uniform
        amount in ``reset_jump_s`` (s), landing on a whole millisecond.
    """
    if kind not in CLOCK_KINDS:
        raise ValueError(f"unknown clock kind {kind!r}; expected one of {', '.join(CLOCK_KINDS)}")
    if max_offset_s < 0 or n_resets < 0 or duration_s <= 0:
        raise ValueError(
            f"random_clock({kind!r}): need max_offset_s >= 0, n_resets >= 0, duration_s > 0; "
            f"got {max_offset_s}, {n_resets}, {duration_s}"
        )
    low_ppm, high_ppm = CLOCK_KINDS[kind]
    if max_drift_ppm is not None:
        high_ppm = float(max_drift_ppm)
        low_ppm = min(low_ppm, high_ppm)
    offset = float(rng.uniform(0.0, max_offset_s))
    drift = float(rng.choice([-1.0, 1.0]) * rng.uniform(low_ppm, high_ppm) * 1e-6)
    segments = [ClockSegment(0.0, offset, drift)]
    if n_resets:
        # One reset per equal slice of the middle 60% of the recording (true time), so they never collide.
        edges = offset + np.linspace(0.2, 0.8, n_resets + 1) * duration_s
        for k in range(n_resets):
            prev = segments[-1]
            true_at_reset = float(rng.uniform(edges[k], edges[k + 1]))
            jumped = float(prev.to_device(np.float64(true_at_reset))) + float(rng.uniform(*reset_jump_s))
            jumped = round(jumped, 3)  # device counters tick in whole milliseconds at least
            # Same oscillator after the reset (same drift); the offset keeps true time continuous.
            segments.append(ClockSegment(jumped, true_at_reset - (1.0 + drift) * jumped, drift))
    return DeviceClock(tuple(segments))


def regular_device_times(
    clock: DeviceClock,
    *,
    rate_hz: float,
    true_end_s: float,
    true_start_s: float | None = None,
) -> np.ndarray:
    """Sample times (device s) of a hardware-clocked device: ``k / rate_hz`` from each segment's start.

    The device starts at device time 0 (true time ``clock.to_true(0)``). Returns every sample with
    ``true_start_s <= to_true(t) <= true_end_s`` (``true_start_s`` defaults to the device start).
    After a reset the count restarts on the new segment's device start.
    """
    if rate_hz <= 0:
        raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
    if true_start_s is None:
        true_start_s = float(clock.to_true(np.float64(0.0)))
    pieces = []
    for start, stop in clock.device_spans(true_end_s):
        n = max(0, math.floor((stop - start) * rate_hz + 1e-9) + 1)
        pieces.append(start + np.arange(n) / rate_hz)
    times = _segment_filter(clock, pieces)
    true = clock.to_true(times)
    return times[(true >= true_start_s - 1e-12) & (true <= true_end_s + 1e-12)]


def _segment_filter(clock: DeviceClock, pieces: list[np.ndarray]) -> np.ndarray:
    """Concatenate per-segment device times, keeping each piece strictly inside its segment's span."""
    if len(pieces) == 1:
        return pieces[0]
    kept = []
    for i, times in enumerate(pieces):
        if i + 1 < len(clock.segments):
            times = times[clock.to_true(times) < clock.segments[i + 1].true_start_s]
        kept.append(times)
    return np.concatenate(kept)


def _choose_drops(n_frames: int, n_drops: int, rng: np.random.Generator, *, what: str) -> np.ndarray:
    """Sorted frame indices to drop: never in the first/last 10 frames, never two adjacent."""
    if n_drops < 0:
        raise ValueError(f"{what}: n_drops must be >= 0, got {n_drops}")
    if n_drops == 0:
        return np.zeros(0, dtype=np.int64)
    slots = n_frames - 2 * _EDGE_FRAMES - (n_drops - 1)
    if slots < n_drops:
        raise ValueError(
            f"{what}: cannot drop {n_drops} non-adjacent frames from {n_frames} frames "
            f"(the first and last {_EDGE_FRAMES} are never dropped); record longer or drop fewer"
        )
    # Choosing n from a range shrunk by n-1 and spreading by 0..n-1 gives uniform non-adjacent sets.
    picks = np.sort(rng.choice(slots, size=n_drops, replace=False))
    return (picks + np.arange(n_drops) + _EDGE_FRAMES).astype(np.int64)


def camera_frame_times(
    clock: DeviceClock,
    *,
    rate_hz: float,
    true_end_s: float,
    n_drops: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame start times (device s) of a fixed-rate camera with ``n_drops`` dropped frames.

    Returns (kept device times, dropped nominal indices). The nominal sequence is
    ``regular_device_times``; dropped frames are never in the first or last 10 and never adjacent.
    """
    nominal = regular_device_times(clock, rate_hz=rate_hz, true_end_s=true_end_s)
    dropped = _choose_drops(len(nominal), n_drops, rng, what="camera_frame_times")
    return np.delete(nominal, dropped), dropped


def jittered_device_times(
    clock: DeviceClock,
    *,
    mean_rate_hz: float,
    jitter_s: float,
    true_end_s: float,
    rng: np.random.Generator,
    true_start_s: float | None = None,
) -> np.ndarray:
    """Sample times (device s) of a free-running device with jittered intervals.

    Intervals are ``1/mean_rate_hz + N(0, jitter_s)`` clipped to [0.5, 1.5] / mean_rate_hz (a
    symmetric clip, so the mean rate is kept), accumulated from each segment's device start (the
    first from ``clock.to_device(true_start_s)``, default device time 0). Keeps true times up to
    ``true_end_s``.
    """
    if mean_rate_hz <= 0 or jitter_s < 0:
        raise ValueError(f"need mean_rate_hz > 0 and jitter_s >= 0, got {mean_rate_hz}, {jitter_s}")
    period = 1.0 / mean_rate_hz
    pieces = []
    for i, (start, stop) in enumerate(clock.device_spans(true_end_s)):
        if i == 0 and true_start_s is not None:
            start = max(start, float(clock.to_device(np.float64(true_start_s))))
        n_guess = math.ceil(max(stop - start, 0.0) / (0.5 * period)) + 2
        intervals = np.clip(period + rng.normal(0.0, jitter_s, size=n_guess), 0.5 * period, 1.5 * period)
        times = start + np.concatenate(([0.0], np.cumsum(intervals)))
        pieces.append(times[times <= stop + 1e-12])
    times = _segment_filter(clock, pieces)
    return times[clock.to_true(times) <= true_end_s + 1e-12]


def vfr_frame_times(
    clock: DeviceClock,
    *,
    mean_rate_hz: float,
    jitter_s: float,
    true_end_s: float,
    n_drops: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Frame start times (device s) of a variable-frame-rate phone camera.

    The undropped sequence is ``jittered_device_times`` from device time 0; ``n_drops`` frames are
    then dropped as in ``camera_frame_times``. Returns (kept device times, dropped indices into the
    undropped sequence).
    """
    nominal = jittered_device_times(clock, mean_rate_hz=mean_rate_hz, jitter_s=jitter_s, true_end_s=true_end_s, rng=rng)
    dropped = _choose_drops(len(nominal), n_drops, rng, what="vfr_frame_times")
    return np.delete(nominal, dropped), dropped


def _merge_windows(windows_true_s: Sequence[tuple[float, float]]) -> np.ndarray:
    """Union of [start, end) windows as a sorted (W, 2) array of disjoint intervals."""
    spans = sorted((float(a), float(b)) for a, b in windows_true_s)
    merged: list[list[float]] = []
    for a, b in spans:
        if b < a:
            raise ValueError(f"window ({a}, {b}) ends before it starts")
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.array(merged, dtype=np.float64).reshape(-1, 2)


def exposure_overlap(
    frame_true_start_s: np.ndarray,
    exposure_true_s: float | np.ndarray,
    windows_true_s: Sequence[tuple[float, float]],
) -> np.ndarray:
    """Fraction in [0, 1] of each exposure ``[start, start + exposure]`` covered by any window.

    Exact (interval arithmetic, overlapping windows merged first) and vectorised over frames.
    ``exposure_true_s`` (s, > 0) is one value or one per frame.
    """
    start = np.asarray(frame_true_start_s, dtype=np.float64)
    exposure = np.broadcast_to(np.asarray(exposure_true_s, dtype=np.float64), start.shape)
    if np.any(exposure <= 0):
        raise ValueError("exposure_overlap: every exposure must be > 0 s")
    windows = _merge_windows(windows_true_s)
    if len(windows) == 0:
        return np.zeros(start.shape)
    end = start + exposure
    lo = np.maximum(start[..., None], windows[:, 0])
    hi = np.minimum(end[..., None], windows[:, 1])
    covered = np.clip(hi - lo, 0.0, None).sum(axis=-1)
    return np.clip(covered / exposure, 0.0, 1.0)
