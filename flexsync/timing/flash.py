"""Sync LED flashes in video, timed to a fraction of a frame from one cheap pass over the frames.

The pipeline decodes each video once (resized RGB chunks, for storage); ``FlashFeatures`` rides
along and keeps the mean luma of a coarse grid of cells per frame (48 x 27 cells: ~5 KB a
frame as float32). ``detect_flashes`` then works on that small table alone:

1. Find the LED: the cell whose luma jumps up and, ``pulse_s`` later, down again, most sharply
   relative to the cell's own frame-to-frame variability (so cells a moving body crosses rank
   low), with a flat plateau, the same baseline before and after, and similar amplitude at
   both flashes. Neighbouring cells that flash in step are summed in.
2. Time each edge: a frame's PTS is the start of its exposure of ``exposure_s``; the LED adds
   light in proportion to the part of the exposure it is on. With ``f`` the frame's brightness
   normalised between the off level and the fully-on plateau, each frame near an edge bounds
   the edge time (a partial frame pins it: onset = p + E(1 - f), offset = p + E f; a dark or
   fully lit frame gives a one-sided bound), with a margin of 3 noise sigmas on ``f``. The
   onset interval and the (offset - pulse_s) interval are intersected; the estimate is the
   middle of what remains and ``uncertainty_s`` its half-width. When an edge falls between two
   exposures (exposure shorter than the frame interval, or a dropped frame) the interval is
   that gap, so the uncertainty is honest rather than optimistic. Actual PTS are used
   throughout, so dropped frames and variable frame rates only widen the gaps.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

__all__ = ["FlashEvents", "FlashFeatures", "detect_flashes", "luma_grid"]

logger = logging.getLogger(__name__)

# ITU-R BT.601 luma weights for R, G, B.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)
# Floor (luma levels, 0-255) added to each cell's variability so a noise-free cell cannot win on
# a division by ~0.
_SCALE_FLOOR = 0.5
# Frames on each side of a flash used for the off level.
_OFF_FRAMES = 6
# Smallest margin on a normalised brightness (quantisation, model error).
_MIN_FRACTION_MARGIN = 0.01
# Candidate cells examined in detail after the coarse ranking.
_N_CANDIDATE_CELLS = 24


def luma_grid(frames: np.ndarray, grid_rows: int, grid_cols: int) -> np.ndarray:
    """Mean luma (0-255) of each cell of a rows x cols grid, per frame: (n, rows * cols) float32.

    ``frames`` is (n, H, W, 3) RGB or (n, H, W) grey, uint8. Cells split the image as evenly as
    integer pixel bounds allow; a grid finer than the image is reduced to one pixel per cell.
    """
    arr = np.asarray(frames)
    if arr.ndim == 3:
        arr = arr[..., None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise ValueError(f"luma_grid: frames must be (n, H, W, 3) or (n, H, W), got shape {np.shape(frames)}")
    ys, xs = _cell_edges(arr.shape[1], arr.shape[2], grid_rows, grid_cols)
    # uint8 cell sums fit uint32 up to 16.8 M pixels a cell; other inputs sum as float64.
    acc = np.uint32 if arr.dtype == np.uint8 else np.float64
    sums = np.add.reduceat(arr, ys[:-1], axis=1, dtype=acc)
    sums = np.add.reduceat(sums, xs[:-1], axis=2)
    counts = np.outer(np.diff(ys), np.diff(xs)).astype(np.float64)
    luma = sums.astype(np.float64) @ _LUMA if arr.shape[-1] == 3 else sums[..., 0].astype(np.float64)
    return (luma / counts).reshape(arr.shape[0], -1).astype(np.float32)


def _cell_edges(height: int, width: int, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = min(rows, height), min(cols, width)
    ys = np.round(np.linspace(0, height, rows + 1)).astype(np.intp)
    xs = np.round(np.linspace(0, width, cols + 1)).astype(np.intp)
    return ys, xs


class FlashFeatures:
    """Accumulates per-frame cell lumas while a video is decoded once, chunk by chunk.

    >>> acc = FlashFeatures()
    >>> for chunk in chunks:            # (n, H, W, 3) uint8, any n
    ...     acc.update(chunk)
    >>> events = detect_flashes(acc, pts_s, exposure_s=1 / 120, pulse_s=0.1)
    """

    def __init__(self, *, grid_rows: int = 27, grid_cols: int = 48) -> None:
        if grid_rows < 1 or grid_cols < 1:
            raise ValueError(f"FlashFeatures: grid must be at least 1 x 1, got {grid_rows} x {grid_cols}")
        self._rows_req, self._cols_req = grid_rows, grid_cols
        self._chunks: list[np.ndarray] = []
        self.frame_shape: tuple[int, int] | None = None

    def update(self, frames_chunk: np.ndarray) -> None:
        """Add a chunk of frames (n, H, W, 3) uint8; every chunk must have the same H, W."""
        shape = tuple(np.shape(frames_chunk)[1:3])
        if self.frame_shape is None:
            self.frame_shape = (int(shape[0]), int(shape[1]))
        elif shape != self.frame_shape:
            raise ValueError(f"FlashFeatures.update: frame size changed from {self.frame_shape} to {shape}")
        if np.shape(frames_chunk)[0]:
            self._chunks.append(luma_grid(frames_chunk, self._rows_req, self._cols_req))

    @property
    def grid_shape(self) -> tuple[int, int]:
        """(rows, cols) actually used (capped at the frame size)."""
        if self.frame_shape is None:
            return (self._rows_req, self._cols_req)
        return (min(self._rows_req, self.frame_shape[0]), min(self._cols_req, self.frame_shape[1]))

    @property
    def n_frames(self) -> int:
        return int(sum(c.shape[0] for c in self._chunks))

    @property
    def features(self) -> np.ndarray:
        """(n_frames, rows * cols) float32 mean luma per cell, row-major cells."""
        if not self._chunks:
            return np.zeros((0, self.grid_shape[0] * self.grid_shape[1]), dtype=np.float32)
        if len(self._chunks) > 1:
            self._chunks = [np.concatenate(self._chunks, axis=0)]
        return self._chunks[0]

    def cell_box(self, cell: int) -> tuple[int, int, int, int]:
        """Pixel bounds (y0, y1, x0, x1) of a cell, in the frames given to ``update``."""
        if self.frame_shape is None:
            raise ValueError("FlashFeatures.cell_box: no frame seen yet")
        ys, xs = _cell_edges(*self.frame_shape, *self.grid_shape)
        r, c = divmod(cell, self.grid_shape[1])
        return int(ys[r]), int(ys[r + 1]), int(xs[c]), int(xs[c + 1])


@dataclass(frozen=True)
class FlashEvents:
    """Flashes found in one view, on the device clock (PTS seconds), in time order.

    Per event: ``onset_s`` (best estimate), ``uncertainty_s`` (half-width of the interval the
    onset lies in, noise at 3 sigma), ``offset_s`` (the LED-off edge measured on its own),
    ``frac_first``/``frac_last`` (normalised brightness of the first and last lit frames:
    1.0 means the edge fell between exposures), ``first_lit_index``/``last_lit_index``,
    ``confidence`` in [0, 1], ``which`` ("start"/"end" by order, or by position in the recording
    when only one flash was seen). ``cells`` are the grid cells summed for the LED (row-major)
    and ``score`` the LED cell's sharpness score (z units).
    """

    onset_s: np.ndarray
    uncertainty_s: np.ndarray
    offset_s: np.ndarray
    frac_first: np.ndarray
    frac_last: np.ndarray
    first_lit_index: np.ndarray
    last_lit_index: np.ndarray
    confidence: np.ndarray
    which: tuple[str, ...]
    cells: tuple[int, ...]
    grid_shape: tuple[int, int] | None
    score: float

    @property
    def n(self) -> int:
        return int(self.onset_s.shape[0])

    @property
    def cell_rc(self) -> tuple[tuple[int, int], ...]:
        """(row, col) of each cell in ``cells`` (empty if the grid shape is unknown)."""
        if self.grid_shape is None:
            return ()
        return tuple(divmod(c, self.grid_shape[1]) for c in self.cells)


def _no_flash(grid_shape: tuple[int, int] | None) -> FlashEvents:
    e = np.zeros(0)
    i = np.zeros(0, dtype=np.int64)
    return FlashEvents(e, e, e, e, e, i, i, e, (), (), grid_shape, 0.0)


@dataclass
class _Candidate:
    rise: int  # rise centre frame: the partial frame, or the last dark frame
    fall: int  # fall centre frame: the partial frame, or the last lit frame
    score: float
    amplitude: float


def detect_flashes(
    features: FlashFeatures | np.ndarray,
    timestamps_s: np.ndarray,
    *,
    exposure_s: float,
    pulse_s: float,
    max_events: int = 2,
    min_score: float = 6.0,
    grid_shape: tuple[int, int] | None = None,
    stream: str | None = None,
) -> FlashEvents:
    """Find up to ``max_events`` LED flashes and time their onsets to a fraction of a frame.

    Parameters
    ----------
    features : FlashFeatures or (N, C) array
        Per-frame cell lumas (``FlashFeatures.features``).
    timestamps_s : (N,) array
        Frame PTS in seconds (start of exposure), strictly increasing; dropped frames simply
        leave gaps.
    exposure_s : float
        Exposure time of one frame, seconds (at most about the frame interval).
    pulse_s : float
        Duration of the LED pulse, seconds.
    max_events : int
        At most this many flashes are returned (the best, in time order).
    min_score : float
        Minimum step sharpness, in units of the cell's frame-to-frame variability (6).
    grid_shape : (rows, cols), optional
        Needed with a plain array to merge neighbouring cells; taken from ``FlashFeatures``.
    stream : str, optional
        Name used in log lines and errors.

    Returns
    -------
    FlashEvents
        Possibly empty (no flash found is not an error; it is logged).
    """
    name = stream or "video"
    if isinstance(features, FlashFeatures):
        grid_shape = features.grid_shape
        x_all = features.features
    else:
        x_all = np.asarray(features)
    t = np.asarray(timestamps_s, dtype=np.float64).reshape(-1)
    if x_all.ndim != 2 or x_all.shape[0] != t.size:
        raise ValueError(
            f"stream {name}: features must be (n_frames, n_cells) with n_frames = {t.size} timestamps, "
            f"got shape {x_all.shape}"
        )
    if exposure_s <= 0 or pulse_s <= 0:
        raise ValueError(f"stream {name}: exposure_s and pulse_s must be > 0, got {exposure_s}, {pulse_s}")
    if t.size >= 2 and not np.all(np.diff(t) > 0):
        raise ValueError(f"stream {name}: frame timestamps must be strictly increasing (presentation order)")
    if t.size < 2 * _OFF_FRAMES:
        return _no_flash(grid_shape)

    x = x_all.astype(np.float32, copy=False)
    dt = float(np.median(np.diff(t)))
    scale = _variability(x, max_events)
    s = np.zeros_like(x)
    s[1:-1] = x[2:] - x[:-2]  # two-frame step: a partial frame splits an edge over two frames
    z = s / scale
    pair, fall_of = _pair_scores(z, t, pulse_s, tol_s=2.0 * dt)

    best_per_cell = pair.max(axis=0)
    order = np.argsort(-best_per_cell, kind="stable")[:_N_CANDIDATE_CELLS]
    sep_s = max(0.5, 3.0 * pulse_s)
    best_cell, best_events, best_total = -1, [], 0.0
    for cell in order.tolist():
        if best_per_cell[cell] < min_score:
            break
        events = _cell_events(x[:, cell], t, pair[:, cell], fall_of[:, cell], min_score, sep_s, max_events)
        total = sum(e.score for e in events)
        if total > best_total:
            best_cell, best_events, best_total = cell, events, total
    if best_cell < 0 or not best_events:
        logger.info("stream %s: no LED flash found (best step score %.1f)", name, float(best_per_cell.max()))
        return _no_flash(grid_shape)

    cells = _merge_neighbours(best_cell, best_events, s, pair, grid_shape, min_score)
    lum = x[:, cells].astype(np.float64).sum(axis=1)
    rows = [_time_event(lum, t, ev, exposure_s, pulse_s) for ev in sorted(best_events, key=lambda e: e.rise)]
    rows = [r for r in rows if r is not None]
    if not rows:
        return _no_flash(grid_shape)
    onset = np.array([r["onset"] for r in rows])
    if len(rows) == 2:
        which: tuple[str, ...] = ("start", "end")
    elif len(rows) == 1:
        which = ("start",) if onset[0] - t[0] < t[-1] - onset[0] else ("end",)
        logger.info("stream %s: only one LED flash found (%s, at %.4f s)", name, which[0], onset[0])
    else:
        which = tuple(f"event{i}" for i in range(len(rows)))
    logger.info("stream %s: LED in cells %s, onsets %s s", name, cells, np.round(onset, 5).tolist())
    return FlashEvents(
        onset_s=onset,
        uncertainty_s=np.array([r["uncertainty"] for r in rows]),
        offset_s=np.array([r["offset"] for r in rows]),
        frac_first=np.array([r["frac_first"] for r in rows]),
        frac_last=np.array([r["frac_last"] for r in rows]),
        first_lit_index=np.array([r["first_lit"] for r in rows], dtype=np.int64),
        last_lit_index=np.array([r["last_lit"] for r in rows], dtype=np.int64),
        confidence=np.array([r["confidence"] * min(1.0, r["score"] / (4.0 * min_score)) for r in rows]),
        which=which,
        cells=tuple(cells),
        grid_shape=grid_shape,
        score=float(best_total),
    )


def _variability(x: np.ndarray, max_events: int) -> np.ndarray:
    """Per cell: a high order statistic of |frame-to-frame change| that flashes cannot reach.

    The flashes themselves contribute at most ~4 large changes each, so the (8 * max_events + 1)-th
    largest change (or the 75th percentile, whichever is larger) measures what else happens in
    the cell: a body moving through it drives it up, a static background leaves it at noise.
    """
    d = np.abs(np.diff(x, axis=0))
    n = d.shape[0]
    k_top = max(0, n - 1 - 8 * max_events)
    k_75 = min(n - 1, int(0.75 * (n - 1)))
    part = np.partition(d, sorted({k_top, k_75}), axis=0)
    return np.maximum(part[k_top], part[k_75]) + np.float32(_SCALE_FLOOR)


def _pair_scores(z: np.ndarray, t: np.ndarray, pulse_s: float, tol_s: float) -> tuple[np.ndarray, np.ndarray]:
    """For every frame as a rise: min(rise z, best fall z about pulse_s later) and that fall's frame."""
    n = t.size
    j_lo = np.searchsorted(t, t + pulse_s - tol_s, side="left")
    j_hi = np.searchsorted(t, t + pulse_s + tol_s, side="right")
    best = np.full(z.shape, -np.inf, dtype=np.float32)
    arg = np.zeros(z.shape, dtype=np.int32)
    for m in range(int((j_hi - j_lo).max(initial=0))):
        j = j_lo + m
        ok = (j < j_hi) & (j < n - 1)
        if not ok.any():
            continue
        jj = np.where(ok, j, 0)
        cand = np.where(ok[:, None], -z[jj], -np.inf)
        better = cand > best  # strict: ties keep the earlier fall frame (the last lit one)
        best = np.where(better, cand, best)
        arg = np.where(better, jj[:, None], arg)
    pair = np.minimum(z, best)
    pair[0] = pair[-1] = -np.inf
    return pair, arg


def _levels(lum: np.ndarray, rise: int, fall: int) -> tuple[float, float, float, float]:
    """Off level before, on level (interior plateau), off level after, noise sigma."""
    pre = lum[max(0, rise - _OFF_FRAMES) : rise]
    post = lum[fall + 1 : fall + 1 + _OFF_FRAMES]
    plateau = lum[rise + 1 : fall]
    off_pre = float(np.median(pre)) if pre.size else float(np.median(post))
    off_post = float(np.median(post)) if post.size else off_pre
    on = float(np.median(plateau)) if plateau.size else float(lum[rise : fall + 1].max())
    resid = np.concatenate([pre - off_pre, plateau - on, post - off_post])
    sigma = 1.4826 * float(np.median(np.abs(resid))) if resid.size >= 3 else 0.0
    return off_pre, on, off_post, sigma


def _cell_events(
    lum: np.ndarray,
    t: np.ndarray,
    pair: np.ndarray,
    fall_of: np.ndarray,
    min_score: float,
    sep_s: float,
    max_events: int,
) -> list[_Candidate]:
    """Flash-like events of one cell, best first, scored by sharpness x shape, amplitude-consistent."""
    idx = np.flatnonzero(pair >= min_score)
    idx = idx[np.argsort(-pair[idx], kind="stable")]
    events: list[_Candidate] = []
    for i in idx.tolist():
        if len(events) >= 4 * max_events:
            break
        if any(abs(t[i] - t[e.rise]) < sep_s for e in events):
            continue
        fall = int(fall_of[i])
        off_pre, on, off_post, _ = _levels(lum.astype(np.float64), i, fall)
        amp = on - 0.5 * (off_pre + off_post)
        if amp <= 0:
            continue
        plateau = lum[i + 1 : fall]
        spread = float(plateau.max() - plateau.min()) if plateau.size else 0.0
        shape = float(np.clip(1.0 - (spread + abs(off_pre - off_post)) / amp, 0.0, 1.0))
        events.append(_Candidate(i, fall, float(pair[i]) * shape, amp))
    events = [e for e in events if e.score >= min_score]
    events.sort(key=lambda e: -e.score)
    if not events:
        return []
    # The LED gives the same step at every flash: drop events of a very different amplitude.
    ref = events[0].amplitude
    kept = [e for e in events if 0.5 <= e.amplitude / ref <= 2.0][:max_events]
    for e in kept[1:]:
        e.score *= min(e.amplitude, ref) / max(e.amplitude, ref)
    return kept


def _merge_neighbours(
    cell: int,
    events: list[_Candidate],
    s: np.ndarray,
    pair: np.ndarray,
    grid_shape: tuple[int, int] | None,
    min_score: float,
) -> list[int]:
    """The LED cell plus 8-neighbours whose luma steps up and down on the same frames."""
    if grid_shape is None:
        return [cell]
    rows, cols = grid_shape
    r0, c0 = divmod(cell, cols)
    cells = [cell]
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            r, c = r0 + dr, c0 + dc
            if (dr or dc) and 0 <= r < rows and 0 <= c < cols:
                nb = r * cols + c
                if all(
                    pair[e.rise, nb] >= min_score
                    and s[e.rise, nb] >= 0.3 * s[e.rise, cell]
                    and -s[e.fall, nb] >= 0.3 * -s[e.fall, cell]
                    for e in events
                ):
                    cells.append(nb)
    return sorted(cells)


def _interval(
    lum: np.ndarray,
    t: np.ndarray,
    frames: list[int],
    off: float,
    amp: float,
    delta: float,
    exposure_s: float,
    *,
    onset: bool,
) -> tuple[float, float, float]:
    """Interval [lo, hi] an edge lies in, from frames near it; also the brightest partial fraction."""
    lo, hi, frac = -np.inf, np.inf, np.nan
    for k in frames:
        f = (lum[k] - off) / amp
        p = t[k]
        if onset:  # lit part of the exposure is [T, p + E]: f = (p + E - T) / E
            if f + delta < 1:
                lo = max(lo, p + exposure_s * (1 - f - delta))
            if f - delta > 0:
                hi = min(hi, p + exposure_s * (1 - f + delta))
        else:  # lit part is [p, U]: f = (U - p) / E
            if f - delta > 0:
                lo = max(lo, p + exposure_s * (f - delta))
            if f + delta < 1:
                hi = min(hi, p + exposure_s * (f + delta))
        if f > delta:
            if onset and np.isnan(frac):
                frac = float(min(f, 1.0))  # first lit frame
            elif not onset:
                frac = float(min(f, 1.0))  # last lit frame
    return lo, hi, frac


def _time_event(
    lum: np.ndarray, t: np.ndarray, ev: _Candidate, exposure_s: float, pulse_s: float
) -> dict[str, float] | None:
    """Sub-frame onset of one flash (see the module docstring)."""
    n = t.size
    off_pre, on, off_post, sigma = _levels(lum, ev.rise, ev.fall)
    amp_on, amp_off = on - off_pre, on - off_post
    if amp_on <= 0 or amp_off <= 0:
        return None
    d_on = max(3.0 * sigma / amp_on, _MIN_FRACTION_MARGIN)
    d_off = max(3.0 * sigma / amp_off, _MIN_FRACTION_MARGIN)
    on_frames = [k for k in (ev.rise - 1, ev.rise, ev.rise + 1) if 0 <= k < n and k < ev.fall]
    off_frames = [k for k in (ev.fall - 1, ev.fall, ev.fall + 1) if 0 <= k < n and k > ev.rise]
    lo1, hi1, frac_first = _interval(lum, t, on_frames, off_pre, amp_on, d_on, exposure_s, onset=True)
    lo2, hi2, frac_last = _interval(lum, t, off_frames, off_post, amp_off, d_off, exposure_s, onset=False)
    first_lit = next((k for k in on_frames if (lum[k] - off_pre) / amp_on > d_on), ev.rise + 1)
    last_lit = next((k for k in reversed(off_frames) if (lum[k] - off_post) / amp_off > d_off), ev.fall)
    confidence = 1.0

    def mid_half(lo: float, hi: float) -> tuple[float, float]:
        if lo > hi:  # frames disagree beyond the noise margin: keep both ends, flag it
            lo, hi = hi, lo
        return 0.5 * (lo + hi), 0.5 * (hi - lo)

    finite1 = np.isfinite(lo1) and np.isfinite(hi1)
    finite2 = np.isfinite(lo2) and np.isfinite(hi2)
    if not (finite1 or finite2):
        return None
    if lo1 > hi1 or lo2 > hi2:
        confidence *= 0.5
    lo_c, hi_c = max(lo1, lo2 - pulse_s), min(hi1, hi2 - pulse_s)
    if finite1 and finite2 and lo_c > hi_c:
        # Onset and offset disagree (noise, or pulse_s differs from the LED's on time): weight by width.
        m1, u1 = mid_half(lo1, hi1)
        m2, u2 = mid_half(lo2 - pulse_s, hi2 - pulse_s)
        w1, w2 = 1.0 / max(u1, 1e-9) ** 2, 1.0 / max(u2, 1e-9) ** 2
        onset = (w1 * m1 + w2 * m2) / (w1 + w2)
        unc = (w1 + w2) ** -0.5 + 0.5 * abs(m1 - m2)
        confidence *= 0.5
    else:
        if not np.isfinite(lo_c) or not np.isfinite(hi_c):
            lo_c, hi_c = (lo1, hi1) if finite1 else (lo2 - pulse_s, hi2 - pulse_s)
        onset, unc = mid_half(lo_c, hi_c)
    if finite2:
        offset, _ = mid_half(lo2, hi2)
    else:
        offset = onset + pulse_s
    return {
        "onset": float(onset),
        "uncertainty": float(unc),
        "offset": float(offset),
        "frac_first": frac_first,
        "frac_last": frac_last,
        "first_lit": int(first_lit),
        "last_lit": int(last_lit),
        "confidence": confidence,
        "score": ev.score,
    }
