"""Clock models from motion, for streams whose sync events are missing (a missed flash, an unplugged trigger).

Every stream sees the same body move: the cameras as frame-to-frame luma change, the mocap as
joint speed, the EMG as muscle activity. When a stream has no usable sync event, its clock can
still be recovered by cross-correlating one of these motion signals with the reference stream's:

1. Features, each on its own device clock: ``video_motion_energy`` (mean absolute frame
   difference of the staged cell luma, per second, placed between the two exposures' middles,
   LED cells left out; the frame pair's common brightness ratio and its noise floor taken out,
   so a real camera's noise and exposure drift do not drown the motion), ``joint_speed`` (mean
   3D joint speed, short occlusion gaps bridged) and ``emg_activity`` (mean envelope).
2. ``fit_by_motion`` puts both signals on one uniform grid (``MotionFitOptions.grid_rate_hz``),
   band-passes them (zero phase, so no delay) and z-scores them, so neither slow trends nor
   units matter, then finds the lag that maximises the normalised cross-correlation within
   ``+-max_offset_s`` (sub-sample by a parabola through the peak). The lag is the offset of
   ``t_ref = offset + (1 + drift) * t_dev``.
3. The device signal is cut into ``windows`` windows, each correlated again near the global lag;
   the spread of their lags is the fit's residual, and when the windows' centres lie far enough
   apart (``min_drift_span_s``) their slope is the drift, otherwise drift is 0: window lags
   scatter by a few ms, so a 20-40 s recording pins the drift to ~100 ppm at best, worse than
   assuming none for every clock but a bad one.
4. Clock resets (forward gaps in the device timestamps) split the model into segments. By
   default the samples are taken to run on across a reset (the counter jumped), so the jumps
   are taken out and the recording is correlated whole; ``reset_continuity=False`` fits each
   segment on its own instead.

Confidence is the peak height times how clearly it beats the best competing lag (a set of
similar repetitions gives competing peaks one repetition apart), damped by the windows'
disagreement. A motion lag carries the feature's own timing bias (EMG activity precedes
movement by its electromechanical delay, image motion weights joints by their size on screen),
so this is a fallback: the model says so (method "motion-xcorr", notes) and its
``event_uncertainty_s`` is never below half a grid sample.

Two biases of the fit itself are removed: band-pass edge transients (``_common_span_lag``
filters both signals anew over the stretch they share) and the lean towards overlapping rest
(the peak is placed on the correlation over the overlap, ``_overlap_correlation``). What remains
is what the two features see; a calibrated view's optical axis (``joint_speed(..., view_axis=)``)
removes the depth motion the camera cannot see. Measurements behind these choices:
docs/sync-notes.md. Pure numpy/scipy, no I/O.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage, signal

from flexsync.timing.clock_model import ClockModel, ClockSegmentFit, clock_segments

__all__ = [
    "MotionEnergyOptions",
    "MotionFitOptions",
    "emg_activity",
    "fit_by_motion",
    "joint_speed",
    "motion_agreement",
    "video_motion_energy",
]

logger = logging.getLogger(__name__)

# Steps of one cell a flash makes at most: on and off edges of two flashes, each over up to two frames.
_FLASH_STEPS = 8
# Gap (in median frame intervals) above which a frame difference says nothing about motion.
_MAX_FRAME_GAP_INTERVALS = 4.0
# Shortest stretch of signal (s) worth correlating: about one repetition.
_MIN_SPAN_S = 3.0
# Time scale (s) at which the window disagreement halves the confidence: one 60 fps frame.
_CONFIDENCE_FRAME_S = 1.0 / 60.0


@dataclass(frozen=True)
class MotionEnergyOptions:
    """How ``video_motion_energy`` keeps blinking cells and key-frame spikes out of the motion energy.

    ``flash_share``: cells whose ``_FLASH_STEPS`` (8) largest steps carry more than this share of
    all their change are left out: a sync LED (or anything that blinks a few times) rather than a
    moving body, which spreads its change over many frames (0.5)... ``flash_min_step_luma``: ...if
    their largest step reaches this many luma levels (10): a static cell's coding noise is
    concentrated in a few frames too, but small, and is kept. ``spike_frames``: length of a running
    median over frame pairs (5; 1 = none); it removes one-frame spikes that are not motion (an
    H.264 key frame nudges every cell at once, about once a second).

    Against a real camera's sensor and coding noise and its brightness changes (``look.py``):
    ``global_gain`` (True): each frame pair's common brightness ratio (the median over the kept
    cells of ``step / luma``: auto-exposure, lighting drift) is taken out of every cell's step
    first. The noise floor, subtracted from every step (negative parts dropped, so only clear
    motion is summed): ``floor_factor`` x the ``floor_quantile`` of each pair's absolute steps
    over the kept cells (2.5 x the 0.75 quantile; factor 0 = none), running-median over
    ``floor_window_s`` (1.0 s; 0 = per pair). Most cells are still, so the quantile measures the
    noise, whose level wanders with the codec and the brightness; the running median keeps a
    frame where the body covers many cells from raising its own floor (on noise-free frames the
    quantile is 0 and the energy is the plain mean step).
    """

    flash_share: float = 0.5
    flash_min_step_luma: float = 10.0
    spike_frames: int = 5
    global_gain: bool = True
    floor_quantile: float = 0.75
    floor_factor: float = 2.5
    floor_window_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.floor_window_s >= 0:
            raise ValueError(f"MotionEnergyOptions: floor_window_s must be >= 0, got {self.floor_window_s}")
        if not 0 <= self.floor_quantile <= 1:
            raise ValueError(f"MotionEnergyOptions: floor_quantile must be in [0, 1], got {self.floor_quantile}")
        if not self.floor_factor >= 0:
            raise ValueError(f"MotionEnergyOptions: floor_factor must be >= 0, got {self.floor_factor}")
        if not 0 < self.flash_share <= 1:
            raise ValueError(f"MotionEnergyOptions: flash_share must be in (0, 1], got {self.flash_share}")
        if not self.flash_min_step_luma >= 0:
            raise ValueError(f"MotionEnergyOptions: flash_min_step_luma must be >= 0, got {self.flash_min_step_luma}")
        if int(self.spike_frames) != self.spike_frames or self.spike_frames < 1:
            raise ValueError(f"MotionEnergyOptions: spike_frames must be an integer >= 1, got {self.spike_frames}")


@dataclass(frozen=True)
class MotionFitOptions:
    """How ``fit_by_motion`` (and ``motion_agreement``) grid, filter and search two motion signals.

    ``max_offset_s``: offsets searched, ``prior_offset_s +- max_offset_s`` (6.0 s).
    ``grid_rate_hz``: rate of the common grid (100 Hz); the lag is refined below one grid step.
    ``windows``: windows the device signal is cut into for the residuals and the drift (2).
    ``band_hz``: zero-phase Butterworth band-pass applied to both signals ((0.05, 1.0) Hz; low 0:
    low-pass only): slow trends out, and everything faster than the repetitions' own rhythm, where
    the features disagree most (image motion weights the moving parts by their size on screen,
    quantises slow motion and aliases with the cell grid).
    ``min_drift_span_s``: the drift is fitted only when the first and last window centres are at
    least this far apart (120 s); otherwise it is 0 and noted.
    ``window_search_s``: each window's lag is searched within this of the whole-segment lag (0.25 s).
    ``reset_gap_s``: forward timestamp gaps longer than this (and 10 intervals) are clock resets (1.0 s).
    ``reset_continuity``: True (default): a reset jumps the counter while the samples go on (one
    sample interval between the last sample before and the first after), so the jumps are taken
    out and the whole recording is correlated at once; the segments share one lag and drift.
    False: every segment is searched on its own within ``prior_offset_s +- max_offset_s`` (a
    recording paused at the reset); a segment with too little motion then follows its neighbour
    by continuity.
    ``max_gap_s``: signal gaps longer than this (0.5 s) are not interpolated over: they count as no data.
    ``systematic_s``: standard uncertainty of what the two features see differently (joints moving
    out of phase, a hidden arm, motion along the optical axis; docs/sync-notes.md), added in
    quadrature to the windows' scatter in ``event_uncertainty_s`` and the confidence (8 ms: the RMS
    error of every video's motion fit on the sync benchmark, flat look). The windows agree with each
    other far better than the fit agrees with the truth, so their scatter alone overstated the fit.
    """

    max_offset_s: float = 6.0
    grid_rate_hz: float = 100.0
    windows: int = 2
    band_hz: tuple[float, float] = (0.05, 1.0)
    min_drift_span_s: float = 120.0
    window_search_s: float = 0.25
    reset_gap_s: float = 1.0
    reset_continuity: bool = True
    max_gap_s: float = 0.5
    systematic_s: float = 0.008

    def __post_init__(self) -> None:
        positive = ("max_offset_s", "grid_rate_hz", "window_search_s", "reset_gap_s", "max_gap_s")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"MotionFitOptions: {name} must be > 0, got {getattr(self, name)}")
        if int(self.windows) != self.windows or self.windows < 1:
            raise ValueError(f"MotionFitOptions: windows must be an integer >= 1, got {self.windows}")
        if not self.min_drift_span_s >= 0:
            raise ValueError(f"MotionFitOptions: min_drift_span_s must be >= 0, got {self.min_drift_span_s}")
        if not self.systematic_s >= 0:
            raise ValueError(f"MotionFitOptions: systematic_s must be >= 0, got {self.systematic_s}")
        low, high = self.band_hz
        if not 0 <= low < high < self.grid_rate_hz / 2:
            raise ValueError(
                f"MotionFitOptions: band_hz must satisfy 0 <= low < high < grid_rate_hz / 2, got {self.band_hz}"
            )


@dataclass(frozen=True)
class _Lag:
    """The best lag between two motion signals on a common grid.

    ``lag_s``: add it to a device time to get the reference time (the clock offset);
    ``peak``: normalised correlation at the lag (in [-1, 1]); ``second_peak``: the best value
    outside the main lobe within the search range (0 if none); ``at_edge``: the peak sits on
    the search range's boundary (the true lag may lie outside it).
    """

    lag_s: float
    peak: float
    second_peak: float
    at_edge: bool

    @property
    def clarity(self) -> float:
        """1 - second_peak / peak, in [0, 1]: 0 when a competing lag is as good."""
        if self.peak <= 0:
            return 0.0
        return float(np.clip(1.0 - max(self.second_peak, 0.0) / self.peak, 0.0, 1.0))


# -- features -------------------------------------------------------------------------------


def video_motion_energy(
    luma_grid: np.ndarray,
    t_device: np.ndarray,
    *,
    exposure_s: float = 0.0,
    exclude_cells: Sequence[int] = (),
    options: MotionEnergyOptions = MotionEnergyOptions(),
) -> tuple[np.ndarray, np.ndarray]:
    """Frame-difference motion energy of a video from its per-frame cell luma, robust to camera noise.

    Parameters
    ----------
    luma_grid : (N, GH, GW) or (N, C) float array
        Mean luma (0-255) of each grid cell per frame (the staged ``luma_grid``).
    t_device : (N,) float array
        Frame PTS (s, start of exposure), strictly increasing; dropped frames leave gaps.
    exposure_s : float
        Exposure per frame (s); the energy of frames k, k+1 is placed at the middle of their
        exposure middles, ``(t_k + t_k+1) / 2 + exposure_s / 2`` (0: at the PTS midpoint).
    exclude_cells : sequence of int
        Flat (row-major) cell indices to leave out, e.g. the LED cells the flash detector found.
    options : MotionEnergyOptions
        Which blinking cells are left out too, and the spike filter.

    Returns
    -------
    t : (N-1,) float64
        Device time of each frame pair (s).
    energy : (N-1,) float64
        Mean absolute luma change over the kept cells above the noise floor, per second (luma
        levels / s; ``MotionEnergyOptions``); NaN across
        gaps longer than 4 median intervals (a clock reset or a stall, not a dropped frame).
    """
    x = np.asarray(luma_grid, dtype=np.float32)
    t = np.asarray(t_device, dtype=np.float64).reshape(-1)
    if x.ndim == 3:
        x = x.reshape(x.shape[0], -1)
    if x.ndim != 2 or x.shape[0] != t.size:
        raise ValueError(
            f"video_motion_energy: luma_grid must be (N, GH, GW) or (N, C) with N = {t.size} timestamps, "
            f"got shape {np.shape(luma_grid)}"
        )
    if t.size < 2:
        return np.zeros(0), np.zeros(0)
    dt = np.diff(t)
    if not np.all(dt > 0):
        raise ValueError("video_motion_energy: t_device must be strictly increasing (presentation order)")
    steps = np.abs(np.diff(x, axis=0)).astype(np.float64)
    keep = np.ones(x.shape[1], dtype=bool)
    bad = [c for c in exclude_cells if not 0 <= int(c) < x.shape[1]]
    if bad:
        raise ValueError(f"video_motion_energy: exclude_cells {bad} are outside 0..{x.shape[1] - 1}")
    keep[np.asarray(exclude_cells, dtype=np.intp)] = False
    total = steps.sum(axis=0)
    k = min(_FLASH_STEPS, steps.shape[0])
    top = np.partition(steps, steps.shape[0] - k, axis=0)[steps.shape[0] - k :].sum(axis=0)
    blinking = (
        (top > options.flash_share * total)
        & (steps.max(axis=0) >= options.flash_min_step_luma)
        & (steps.shape[0] > 4 * k)
    )
    keep &= ~blinking
    if not keep.any():
        raise ValueError("video_motion_energy: every cell was excluded (nothing left to measure motion on)")
    window = max(1, round(options.floor_window_s / float(np.median(dt)))) | 1
    energy = _robust_steps(x[:, keep], options, window).mean(axis=1) / dt
    if options.spike_frames > 1:
        energy = ndimage.median_filter(energy, size=int(options.spike_frames), mode="nearest")
    energy[dt > _MAX_FRAME_GAP_INTERVALS * float(np.median(dt))] = np.nan
    return 0.5 * (t[:-1] + t[1:]) + 0.5 * float(exposure_s), energy


def _robust_steps(x: np.ndarray, options: MotionEnergyOptions, window: int) -> np.ndarray:
    """(N-1, C) absolute cell steps of the (N, C) luma ``x``, the common brightness ratio and the
    noise floor (running median over ``window`` pairs) taken out (``MotionEnergyOptions``): sensor
    noise and AE drift summed over hundreds of still cells would otherwise drown the few moving ones."""
    d = np.diff(x, axis=0)
    if options.global_gain and x.shape[1] > 1:
        base = np.maximum(x[:-1], 1.0)
        d -= np.median(d / base, axis=1, keepdims=True) * base
    a = np.abs(d)
    if options.floor_factor > 0 and x.shape[1] > 1:
        floor = np.quantile(a, options.floor_quantile, axis=1)
        if window > 1:
            floor = ndimage.median_filter(floor, size=window, mode="nearest")
        a = np.maximum(a - np.float32(options.floor_factor) * floor[:, None], 0.0)
    return a


def joint_speed(
    t: np.ndarray,
    joints: np.ndarray,
    valid: np.ndarray | None = None,
    *,
    max_gap_s: float = 0.1,
    view_axis: Sequence[float] | np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean 3D speed of the joints (m/s) at each sample, over the joints seen there.

    Occlusion gaps up to ``max_gap_s`` (s) are bridged by linear interpolation before
    differentiating; longer gaps leave that joint out. Velocity is the central difference on
    the actual timestamps (one-sided at the ends), so the speed is stamped at the sample itself,
    as the frame-pair energy is stamped at the middle of its two exposures.

    ``view_axis``: a camera's optical axis in the joints' frame (any length). A camera does not
    see motion along its optical axis, so when the axis is known (a calibrated view) only the
    velocity perpendicular to it is counted (a distant-camera approximation: perspective scaling
    by depth is left out). It matters most for a frontal view, where much of the arms' path runs
    towards the camera; occlusion (a side view's far arm) it cannot model (docs/sync-notes.md).

    Parameters
    ----------
    t : (N,) float array
        Sample times (s), strictly increasing.
    joints : (N, J, 3) float array
        Positions (m); non-finite values count as occluded.
    valid : (N, J) bool array, optional
        False where a joint is occluded (default: where it is finite).

    Returns
    -------
    t : (N,) float64 and speed : (N,) float64, NaN where no joint is seen.
    """
    tt = np.asarray(t, dtype=np.float64).reshape(-1)
    p = np.asarray(joints, dtype=np.float64)
    if p.ndim != 3 or p.shape[0] != tt.size or p.shape[2] != 3:
        raise ValueError(f"joint_speed: joints must be (N, J, 3) with N = {tt.size} samples, got shape {p.shape}")
    unseen = None
    if view_axis is not None:
        unseen = np.asarray(view_axis, dtype=np.float64).reshape(-1)
        norm = float(np.linalg.norm(unseen)) if unseen.size == 3 else 0.0
        if not (math.isfinite(norm) and norm > 0):
            raise ValueError(f"joint_speed: view_axis must be a finite non-zero 3-vector, got {view_axis!r}")
        unseen = unseen / norm
    seen = np.all(np.isfinite(p), axis=2)
    if valid is not None:
        v = np.asarray(valid, dtype=bool)
        if v.shape != seen.shape:
            raise ValueError(f"joint_speed: valid must have shape {seen.shape}, got {v.shape}")
        seen &= v
    if tt.size < 2:
        return tt, np.full(tt.size, np.nan)
    if not np.all(np.diff(tt) > 0):
        raise ValueError("joint_speed: t must be strictly increasing")
    filled = np.full_like(p, np.nan)
    for j in range(p.shape[1]):
        ok = seen[:, j]
        if ok.sum() < 2:
            continue
        bridged = _bridgeable(tt, ok, max_gap_s)
        for axis in range(3):
            filled[bridged, j, axis] = np.interp(tt[bridged], tt[ok], p[ok, j, axis])
    velocity = np.gradient(filled, tt, axis=0)
    if unseen is not None:
        velocity = velocity - (velocity @ unseen)[..., None] * unseen
    speed = np.linalg.norm(velocity, axis=2)
    return tt, _nanmean_rows(speed)


def emg_activity(envelope_t: np.ndarray, envelope: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean EMG envelope over channels (the envelope's unit, e.g. uV), NaN where no channel is finite.

    Parameters
    ----------
    envelope_t : (M,) float array
        Envelope sample times (s, device clock).
    envelope : (M, C) or (M,) float array
        Rectified, smoothed EMG per channel (the staged ``envelope``).
    """
    tt = np.asarray(envelope_t, dtype=np.float64).reshape(-1)
    e = np.asarray(envelope, dtype=np.float64)
    if e.ndim == 1:
        e = e[:, None]
    if e.ndim != 2 or e.shape[0] != tt.size:
        raise ValueError(f"emg_activity: envelope must be (M, C) with M = {tt.size} samples, got shape {e.shape}")
    return tt, _nanmean_rows(e)


# -- fitting --------------------------------------------------------------------------------


def fit_by_motion(
    stream: str,
    device_t: np.ndarray,
    device_signal: np.ndarray,
    reference_t: np.ndarray,
    reference_signal: np.ndarray,
    *,
    reference: str,
    prior_offset_s: float | None = None,
    device_timestamps_s: np.ndarray | None = None,
    options: MotionFitOptions = MotionFitOptions(),
) -> ClockModel:
    """Fit ``t_ref = offset + (1 + drift) * t_dev`` by cross-correlating two motion signals.

    Parameters
    ----------
    stream, reference : str
        Names used in the model, notes and log lines.
    device_t, device_signal : (N,) float arrays
        A motion feature of the stream on its device clock (``video_motion_energy``,
        ``joint_speed``, ``emg_activity``); NaN marks unusable samples.
    reference_t, reference_signal : (M,) float arrays
        A motion feature of the reference stream on the reference clock.
    prior_offset_s : float, optional
        Expected offset (s), e.g. from container start times; default 0.
    device_timestamps_s : array, optional
        The stream's own timestamps (e.g. frame PTS): they set the segments' bounds and reveal
        clock resets (default: ``device_t``); each clock segment gets its own offset (and drift).
    options : MotionFitOptions
        Search range, grid, band, windows, drift span and how clock resets are bridged.

    Returns
    -------
    ClockModel
        Method "motion-xcorr"; per segment ``n_events`` = windows used, ``residuals_s`` = each
        window's lag minus the model at its centre, ``event_uncertainty_s`` = the largest of
        those and half a grid step, combined with ``options.systematic_s``. Method "nominal"
        (offset 0, confidence 0) when a signal
        has no usable motion (too short, flat).
    """
    dev_t, dev_x = _series(device_t, device_signal, "device", stream)
    ref_t, ref_x = _series(reference_t, reference_signal, "reference", stream)
    ts = dev_t if device_timestamps_s is None else np.asarray(device_timestamps_s, dtype=np.float64).reshape(-1)
    # A single timestamp says nothing about segments: one unbounded segment, as with none.
    bounds, _ = clock_segments(ts if ts.size >= 2 else None, reset_gap_s=options.reset_gap_s)
    ref_grid = _Grid.of(ref_t, ref_x, options)
    if ref_grid is None:
        return _nominal(stream, reference, bounds, "reference signal has no usable motion")

    step = float(np.median(np.diff(ts))) if ts.size > 1 else 0.0
    prior = 0.0 if prior_offset_s is None else float(prior_offset_s)
    notes: list[str] = []
    if len(bounds) > 1 and options.reset_continuity:
        stitched = _fit_stitched(stream, dev_t, dev_x, ref_grid, bounds, step, prior, options, notes)
        if stitched is not None:
            fits_c, conf_c = stitched
            notes.insert(0, "clock from motion cross-correlation (no usable sync events)")
            return ClockModel(stream, reference, "motion-xcorr", fits_c, conf_c, notes=tuple(notes))
    fits: list[ClockSegmentFit | None] = []
    confidences: list[float] = []
    for k, (start, end) in enumerate(bounds):
        sel = (dev_t >= start) & (dev_t <= end)
        grid = _Grid.of(dev_t[sel], dev_x[sel], options)
        if grid is None:
            fits.append(None)
            continue
        fit, conf = _fit_segment(stream, k, grid, ref_grid, (start, end), prior, options, notes)
        fits.append(fit)
        confidences.append(conf)
    if not confidences:
        return _nominal(stream, reference, bounds, "device signal has no usable motion")
    filled = _carry_over(stream, fits, bounds, step, notes)
    if len(confidences) < len(bounds):
        confidences.append(0.5 * min(confidences))
    notes.insert(0, "clock from motion cross-correlation (no usable sync events)")
    return ClockModel(stream, reference, "motion-xcorr", filled, float(min(confidences)), notes=tuple(notes))


def motion_agreement(
    device_t: np.ndarray,
    device_signal: np.ndarray,
    reference_t: np.ndarray,
    reference_signal: np.ndarray,
    offset_s: float,
    *,
    drift: float = 0.0,
    search_s: float = 0.1,
    options: MotionFitOptions = MotionFitOptions(),
) -> float:
    """How well a candidate clock map lines up two motion signals: the normalised correlation peak.

    The device signal is sent to the reference clock by ``t_ref = offset_s + (1 + drift) * t``
    and correlated with the reference signal over lags within ``+-search_s`` (s; 0.1), so two
    hypotheses seconds apart (a clock reset vs a pause, say) can be told apart even when a free
    search over +-6 s would lock onto the wrong repetition. The grid, band and gap rule are
    ``options``' (its search settings are not used). Returns the peak in [-1, 1], or NaN when
    either signal has too little usable motion (under ~3 s).
    """
    dev_t, dev_x = _series(device_t, device_signal, "device", "motion_agreement")
    ref_t, ref_x = _series(reference_t, reference_signal, "reference", "motion_agreement")
    if dev_t.size == 0:
        return math.nan
    dev = _Grid.of(offset_s + (1.0 + drift) * dev_t, dev_x, options)
    ref = _Grid.of(ref_t, ref_x, options)
    if dev is None or ref is None:
        return math.nan
    return _lag(dev, ref, centre_s=0.0, search_s=search_s).peak


def _fit_segment(
    stream: str,
    k: int,
    grid: _Grid,
    ref_grid: _Grid,
    bounds: tuple[float, float],
    centre_s: float,
    options: MotionFitOptions,
    notes: list[str],
) -> tuple[ClockSegmentFit, float]:
    """One clock segment: the whole-segment lag, window lags, drift if the span allows; and its confidence."""
    max_offset_s, windows, window_search_s = options.max_offset_s, options.windows, options.window_search_s
    min_drift_span_s = options.min_drift_span_s
    whole = _lag(grid, ref_grid, centre_s=centre_s, search_s=max_offset_s)
    if whole.at_edge:
        notes.append(f"segment {k}: correlation peak at the edge of the search range (+-{max_offset_s} s)")
    else:
        whole = replace(whole, lag_s=_common_span_lag(grid, ref_grid, whole.lag_s, window_search_s))
    lags, centres = _window_lags(grid, ref_grid, whole.lag_s, windows, window_search_s)
    offset, drift = whole.lag_s, 0.0
    span = float(centres[-1] - centres[0]) if centres.size >= 2 else 0.0
    if centres.size >= 2 and span >= min_drift_span_s:
        drift, offset = (float(v) for v in np.polyfit(centres, lags, 1))
    elif windows >= 2:
        notes.append(
            f"segment {k}: drift 0 (window centres {span:.1f} s apart, < min_drift_span_s {min_drift_span_s} s)"
        )
    residuals = lags - (offset + drift * centres)
    spread = float(np.max(np.abs(residuals))) if residuals.size else 0.0
    uncertainty = float(np.hypot(max(spread, 0.5 / grid.rate_hz), options.systematic_s))
    fit = ClockSegmentFit(
        bounds[0],
        bounds[1],
        float(offset),
        float(drift),
        int(lags.size),
        tuple(float(r) for r in residuals),
        (),
        float(uncertainty),
    )
    conf = max(whole.peak, 0.0) * min(1.0, 2.0 * whole.clarity) / (1.0 + uncertainty / _CONFIDENCE_FRAME_S)
    logger.info(
        "stream %s segment %d: motion lag %.4f s (peak %.2f, next %.2f), window spread %.1f ms",
        stream,
        k,
        whole.lag_s,
        whole.peak,
        whole.second_peak,
        spread * 1e3,
    )
    return fit, 0.5 * conf if whole.at_edge else conf


def _fit_stitched(
    stream: str,
    dev_t: np.ndarray,
    dev_x: np.ndarray,
    ref_grid: _Grid,
    bounds: list[tuple[float, float]],
    step_s: float,
    prior_s: float,
    options: MotionFitOptions,
    notes: list[str],
) -> tuple[tuple[ClockSegmentFit, ...], float] | None:
    """All segments at once, assuming sample continuity across the resets (the counter jumped, the
    samples went on): the jumps are taken out, the whole recording is correlated, and each segment's
    offset follows from its accumulated jump. None if the stitched signal has no usable motion."""
    shifts = _continuity_shifts(bounds, step_s)
    starts = np.array([a for a, _ in bounds])
    seg = np.clip(np.searchsorted(starts, dev_t, side="right") - 1, 0, len(bounds) - 1)
    grid = _Grid.of(dev_t - shifts[seg], dev_x, options)
    if grid is None:
        return None
    span = (bounds[0][0], bounds[-1][1] - float(shifts[-1]))
    whole, conf = _fit_segment(stream, 0, grid, ref_grid, span, prior_s, options, notes)
    # t_ref = offset + (1 + drift) * (t_dev - shift_k) on segment k.
    fits = tuple(
        replace(whole, device_start_s=a, device_end_s=b, offset_s=whole.offset_s - (1.0 + whole.drift) * float(shift))
        for (a, b), shift in zip(bounds, shifts, strict=True)
    )
    notes.append(f"{len(bounds)} clock segments fitted together, by sample continuity across the resets")
    return fits, conf


def _continuity_shifts(bounds: list[tuple[float, float]], step_s: float) -> np.ndarray:
    """Per segment, the device-time jump (s) accumulated by the resets before it (0 for the first)."""
    jumps = [0.0] + [bounds[k][0] - bounds[k - 1][1] - step_s for k in range(1, len(bounds))]
    return np.cumsum(jumps)


def _carry_over(
    stream: str,
    fits: list[ClockSegmentFit | None],
    bounds: list[tuple[float, float]],
    step_s: float,
    notes: list[str],
) -> tuple[ClockSegmentFit, ...]:
    """Fill segments without usable motion from a fitted neighbour, by sample continuity across the reset."""
    out = list(fits)
    order = list(range(len(out))) + list(range(len(out) - 1, -1, -1))
    for k in order:
        if out[k] is not None:
            continue
        prev = out[k - 1] if k > 0 else None
        nxt = out[k + 1] if k + 1 < len(out) else None
        if prev is not None:  # t_ref(first of k) = t_ref(last of k-1) + one interval
            anchor = prev.offset_s + (1.0 + prev.drift) * bounds[k - 1][1] + step_s
            offset, src = anchor - (1.0 + prev.drift) * bounds[k][0], prev
        elif nxt is not None:
            anchor = nxt.offset_s + (1.0 + nxt.drift) * bounds[k + 1][0] - step_s
            offset, src = anchor - (1.0 + nxt.drift) * bounds[k][1], nxt
        else:
            continue
        out[k] = ClockSegmentFit(
            bounds[k][0], bounds[k][1], float(offset), src.drift, 0, (), (), src.event_uncertainty_s
        )
        notes.append(f"segment {k}: too little motion; offset from sample continuity with its neighbour")
        logger.warning("stream %s: %s", stream, notes[-1])
    return tuple(f for f in out if f is not None)


def _common_span_lag(device: _Grid, reference: _Grid, lag_s: float, search_s: float, *, rounds: int = 2) -> float:
    """The lag (s) again, with both signals cut to the stretch of motion they share at ``lag_s`` and
    filtered anew.

    A zero-phase filter is still a long one (the 0.05 Hz high-pass rings for tens of seconds), and
    at a signal's ends it sees only one side: two recordings that start or stop at different
    moments of the motion carry different edge transients, which lean the correlation peak by
    several ms even for identical motion.
    Cut to the same stretch, both signals get the same transients. ``rounds`` repeats the cut at
    the improved lag; the lag is kept when the shared stretch is shorter than ``_MIN_SPAN_S``.
    """
    for _ in range(rounds):
        start = max(device.t0, reference.t0 - lag_s)
        end = min(device.t_end, reference.t_end - lag_s)
        dev = device.span(start, end)
        ref = reference.span(start + lag_s, end + lag_s)
        if dev is None or ref is None:
            return lag_s
        found = _lag(dev, ref, centre_s=lag_s, search_s=search_s)
        if found.at_edge:
            return lag_s
        lag_s = found.lag_s
    return lag_s


def _lag(device: _Grid, reference: _Grid, *, centre_s: float, search_s: float) -> _Lag:
    """The offset (s) in ``centre_s +- search_s`` maximising the normalised cross-correlation.

    The lobe (and the peak height and its competitors) come from the correlation normalised by
    the whole signals, which prefers the lag that overlaps them most: that keeps a set of alike
    repetitions from being matched one repetition off on a short overlap. Within that lobe the
    peak is placed on the correlation over the overlap only (``_overlap_correlation``), which
    carries no such lean.
    """
    step = 1.0 / device.rate_hz
    corr = signal.correlate(reference.x, device.x, mode="full", method="fft")
    lags = signal.correlation_lags(reference.x.size, device.x.size, mode="full")
    norm = math.sqrt(float(np.dot(device.x, device.x)) * float(np.dot(reference.x, reference.x)))
    corr = corr / norm if norm > 0 else np.zeros_like(corr)
    # offset of lag m: reference sample (i + m) and device sample i coincide.
    base = reference.t0 - device.t0
    offsets = base + lags * step
    inside = np.flatnonzero(np.abs(offsets - centre_s) <= search_s + 1e-9)
    if inside.size == 0:
        return _Lag(centre_s, 0.0, 0.0, True)
    c = corr[inside]
    i = int(np.argmax(c))
    peak = float(c[i])
    at_edge = i == 0 or i == c.size - 1
    if not at_edge:
        a, b, d = float(c[i - 1]), peak, float(c[i + 1])
        denom = a - 2.0 * b + d
        if denom < 0:
            peak = b - 0.25 * (a - d) * float(np.clip(0.5 * (a - d) / denom, -0.5, 0.5))
    lo, hi = i, i
    while lo > 0 and c[lo - 1] <= c[lo]:
        lo -= 1
    while hi < c.size - 1 and c[hi + 1] <= c[hi]:
        hi += 1
    outside = np.concatenate([c[:lo], c[hi + 1 :]])
    second = float(outside.max()) if outside.size else 0.0
    lag = float(offsets[inside[i]])
    if not at_edge:
        lag = _refine_on_overlap(reference, device, inside[lo : hi + 1], offsets, step, lag)
    return _Lag(lag, peak, max(second, 0.0), at_edge)


def _refine_on_overlap(
    reference: _Grid, device: _Grid, lobe: np.ndarray, offsets: np.ndarray, step: float, fallback_s: float
) -> float:
    """The lag (s) of the overlap correlation's maximum within ``lobe`` (indices into the full lags),
    sub-sample by a parabola; ``fallback_s`` if that maximum sits on the lobe's edge."""
    c = _overlap_correlation(reference, device)[lobe]
    k = int(np.argmax(c))
    if k == 0 or k == c.size - 1:
        return fallback_s
    a, b, d = float(c[k - 1]), float(c[k]), float(c[k + 1])
    denom = a - 2.0 * b + d
    frac = float(np.clip(0.5 * (a - d) / denom, -0.5, 0.5)) if denom < 0 else 0.0
    return float(offsets[lobe[k]] + frac * step)


def _overlap_correlation(reference: _Grid, device: _Grid) -> np.ndarray:
    """Pearson correlation of the two signals over the samples both know, for every lag ("full" order).

    Normalising by the whole signals' norms instead would reward overlap: the z-scored rest at a
    recording's ends is below its mean, so every extra rest sample that two signals share adds to
    the sum, and a device covering a different span than the reference is pulled towards the lag
    that overlaps them most. Lags sharing less
    than ``_MIN_SPAN_S`` of known signal get 0.
    """
    r, d, kr, kd = reference.x, device.x, reference.known, device.known

    def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return signal.correlate(a, b, mode="full", method="fft")

    n = np.rint(corr(kr, kd))
    s_r, s_d = corr(r, kd), corr(kr, d)
    s_rr, s_dd, s_rd = corr(r * r, kd), corr(kr, d * d), corr(r, d)
    out = np.zeros(n.shape)
    ok = n >= max(8.0, _MIN_SPAN_S * device.rate_hz)
    m = np.where(ok, n, 1.0)
    var_r = s_rr - s_r * s_r / m
    var_d = s_dd - s_d * s_d / m
    ok &= (var_r > 1e-9 * m) & (var_d > 1e-9 * m)
    cov = s_rd - s_r * s_d / m
    np.divide(cov, np.sqrt(np.where(ok, var_r * var_d, 1.0)), out=out, where=ok)
    return np.clip(out, -1.0, 1.0)


# -- helpers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A signal on a uniform grid ``t0 + i / rate_hz``: band-passed, z-scored, 0 where unknown.

    ``known`` is 1.0 where the signal is known, 0.0 elsewhere; ``raw`` is the signal before
    filtering (unknown samples at the known mean) and ``band_hz`` the band, so a stretch of it can
    be filtered again on its own (``span``).
    """

    t0: float
    rate_hz: float
    x: np.ndarray
    known: np.ndarray
    raw: np.ndarray
    band_hz: tuple[float, float]

    @classmethod
    def of(cls, t: np.ndarray, x: np.ndarray, options: MotionFitOptions) -> _Grid | None:
        """``build`` with the options' grid rate, band and gap rule."""
        return cls.build(t, x, options.grid_rate_hz, options.band_hz, options.max_gap_s)

    @classmethod
    def build(
        cls, t: np.ndarray, x: np.ndarray, rate_hz: float, band_hz: tuple[float, float], max_gap_s: float
    ) -> _Grid | None:
        ok = np.isfinite(x)
        if ok.sum() < 4:
            return None
        t, x = t[ok], x[ok]
        n = math.floor((t[-1] - t[0]) * rate_hz) + 1
        if n < max(8.0, _MIN_SPAN_S * rate_hz):
            return None
        g = t[0] + np.arange(n) / rate_hz
        y = np.interp(g, t, x)
        j = np.clip(np.searchsorted(t, g), 1, t.size - 1)
        known = (t[j] - t[j - 1]) <= max_gap_s
        y[~known] = np.mean(y[known]) if known.any() else 0.0
        return cls._filtered(float(t[0]), float(rate_hz), y, known, band_hz)

    @classmethod
    def _filtered(
        cls, t0: float, rate_hz: float, y: np.ndarray, known: np.ndarray, band_hz: tuple[float, float]
    ) -> _Grid | None:
        if not known.any():
            return None
        low, high = band_hz
        if low > 0:
            sos = signal.butter(2, [low, high], btype="bandpass", fs=rate_hz, output="sos")
        else:
            sos = signal.butter(2, high, btype="lowpass", fs=rate_hz, output="sos")
        f = signal.sosfiltfilt(sos, y - y[known].mean())
        sd = float(np.std(f[known]))
        if not sd > 0:
            return None
        z = (f - f[known].mean()) / sd
        z[~known] = 0.0
        return cls(t0, rate_hz, z, known.astype(np.float64), y, band_hz)

    @property
    def t_end(self) -> float:
        return self.t0 + (self.x.size - 1) / self.rate_hz

    def window(self, start: int, stop: int) -> _Grid:
        """Samples ``start:stop`` as filtered over the whole signal."""
        return replace(
            self,
            t0=self.t0 + start / self.rate_hz,
            x=self.x[start:stop],
            known=self.known[start:stop],
            raw=self.raw[start:stop],
        )

    def span(self, start_s: float, end_s: float) -> _Grid | None:
        """The samples within ``[start_s, end_s]``, filtered again on their own (None if too few)."""
        a = max(0, math.ceil((start_s - self.t0) * self.rate_hz - 1e-9))
        b = min(self.x.size, math.floor((end_s - self.t0) * self.rate_hz + 1e-9) + 1)
        if b - a < max(8.0, _MIN_SPAN_S * self.rate_hz):
            return None
        known = self.known[a:b] > 0
        return self._filtered(self.t0 + a / self.rate_hz, self.rate_hz, self.raw[a:b], known, self.band_hz)


def _window_lags(grid: _Grid, ref: _Grid, lag_s: float, windows: int, search_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Per window of the device grid: its lag near ``lag_s`` and its centre (device s)."""
    edges = np.linspace(0, grid.x.size, windows + 1).astype(int)
    lags, centres = [], []
    for a, b in itertools.pairwise(edges):
        part = grid.window(int(a), int(b))
        if part.x.size < 8 or not np.any(part.x):
            continue
        found = _lag(part, ref, centre_s=lag_s, search_s=search_s)
        if found.at_edge:
            continue
        lags.append(found.lag_s)
        centres.append(part.t0 + 0.5 * (part.x.size - 1) / part.rate_hz)
    return np.asarray(lags, dtype=np.float64), np.asarray(centres, dtype=np.float64)


def _series(t: np.ndarray, x: np.ndarray, which: str, stream: str) -> tuple[np.ndarray, np.ndarray]:
    tt = np.asarray(t, dtype=np.float64).reshape(-1)
    xx = np.asarray(x, dtype=np.float64).reshape(-1)
    if tt.shape != xx.shape:
        raise ValueError(f"stream {stream}: {which} times and signal differ in length ({tt.size} vs {xx.size})")
    if tt.size >= 2 and not np.all(np.diff(tt) > 0):
        raise ValueError(f"stream {stream}: {which} times must be strictly increasing")
    return tt, xx


def _nominal(stream: str, reference: str, bounds: list[tuple[float, float]], why: str) -> ClockModel:
    logger.warning("stream %s: motion cross-correlation impossible (%s); nominal clock model", stream, why)
    segs = tuple(ClockSegmentFit(a, b, 0.0, 0.0, 0, ()) for a, b in bounds)
    return ClockModel(stream, reference, "nominal", segs, 0.0, notes=(f"motion cross-correlation impossible: {why}",))


def _bridgeable(t: np.ndarray, ok: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Samples that are seen, or inside a gap no longer than ``max_gap_s`` between two seen ones."""
    idx = np.flatnonzero(ok)
    out = ok.copy()
    gaps = np.flatnonzero(np.diff(idx) > 1)
    for g in gaps:
        a, b = idx[g], idx[g + 1]
        if t[b] - t[a] <= max_gap_s:
            out[a:b] = True
    return out


def _nanmean_rows(values: np.ndarray) -> np.ndarray:
    """Row means over finite entries (NaN for a row with none), without numpy's empty-slice warning."""
    finite = np.isfinite(values)
    count = finite.sum(axis=1)
    total = np.where(finite, values, 0.0).sum(axis=1)
    out = np.full(values.shape[0], np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out
