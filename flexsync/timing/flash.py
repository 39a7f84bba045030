"""Sync LED flashes in video, timed to a fraction of a frame from one cheap pass over the frames.

The pipeline decodes each video once (resized RGB chunks, for storage); ``FlashFeatures`` rides
along and keeps the mean luma of a coarse grid of cells per frame (48 x 27 cells: ~5 KB a
frame as float32). ``detect_flashes`` then works on that small table alone:

1. Find the LED: for every cell and frame, a step up followed ``pulse_s`` later by a step down
   is scored by its amplitude over the *local* noise: the frame-to-frame roughness of the off
   frames before, the plateau and the off frames after, plus the before/after baseline
   mismatch (plus a small share of the cell's whole-recording variability, so cells a moving
   body keeps crossing rank lower). A body that passes through the LED cell at other times
   therefore does not hide the flash; a body moving in the cell *during* the flash lowers
   its score, as it should. The cell whose best events (similar amplitude, flat plateau,
   same baseline) score highest in total wins; neighbouring cells that flash in step are
   summed in.
2. Time each edge: a frame's PTS is the start of its exposure of ``exposure_s``; the LED adds
   light in proportion to the part of the exposure it is on. With ``f`` the frame's brightness
   normalised between the off and on levels measured next to that edge (medians of the
   nearest frames on each side, so slow drift of the background cancels), a partial frame
   pins the edge (onset = p + E(1 - f), offset = p + E f) and a dark or fully lit frame
   gives a one-sided bound. ``f`` carries a standard error from the measured noise of the
   cell's off/on frames and from lossy coding (H.264 quantises a small frame-to-frame change
   towards the previous frame: measured on rendered, encoded, decoded and resized video at
   ~1-4 % of the step, ``codec_sigma_fraction`` = 3.5 %; a frame bit-identical to its
   predecessor was probably skipped and may hide up to ~12 %, so its margin is widened to 5
   codec sigmas). Across an edge the lit fraction is monotonic, so a frame contradicting a
   darker neighbour is dropped as noise. Bounds use a 3-sigma margin; the onset interval and
   the (offset - pulse_s) interval are intersected. This is solved twice: with the
   frame noise alone, whose middle is the point estimate (partial frames pin it tightly), and
   with the coding error too, which gives the honest interval (the estimate is kept inside it)
   and the uncertainty. ``uncertainty_s`` is a standard (1-sigma) uncertainty: the noise term
   propagated to time, combined with the width left by an edge that fell between two
   exposures (a uniform interval of half-width h counts h / sqrt(3)). Actual PTS are used
   throughout, so dropped frames and variable frame rates only widen the gaps.
3. Rolling shutter (``readout_s`` > 0, e.g. a phone): row ``y`` of an image of ``H`` rows is
   exposed from ``PTS + y / H * readout_s``, so a flash that starts mid-frame lights only the rows
   read out after it. The cells of the luma grid are bands of rows: a cell in grid row ``r`` (of
   ``R``) was exposed from ``PTS + (r + 0.5) / R * readout_s``. The LED's cells are timed on that
   shifted axis (the cells summed weighted by their step), which keeps the onset sub-frame and on
   the PTS clock (the PTS is the first row's exposure start). ``readout_s`` = 0 is a global shutter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from flexsync.robust import robust_sigma

__all__ = ["FlashEvents", "FlashFeatures", "FlashOptions", "detect_flashes", "luma_grid"]

logger = logging.getLogger(__name__)

# ITU-R BT.601 luma weights for R, G, B.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float64)
# Floor (luma levels, 0-255) added to a cell's noise so a noise-free cell cannot win on a division by ~0.
_SCALE_FLOOR = 0.5
# Share of a cell's whole-recording variability added to its local noise when scoring a pulse.
_GLOBAL_WEIGHT = 0.25
# Frames on each side of a flash used for the off levels and the local noise.
_OFF_FRAMES = 6
# Frames nearest an edge whose median gives the level on each side of that edge.
_EDGE_FRAMES = 3
# Noise margin (sigmas) on a normalised brightness when it bounds an edge.
_MARGIN_SIGMAS = 3.0
# Brightness error floor (fraction of the step) of the point estimate's solve (quantisation of an 8-bit level).
_TIGHT_FRACTION_SIGMA = 1.0 / 300.0
# A frame identical to its predecessor may hide a change of this many codec sigmas (skipped by
# the encoder; measured up to 0.12 of the step on the generator's H.264).
_SKIP_SIGMAS = 5.0
# Candidate cells examined in detail after the coarse ranking.
_N_CANDIDATE_CELLS = 24
# Cells whose frame-to-frame changes are ranked together (bounds that step's memory on long videos).
_CELL_BLOCK = 128


@dataclass(frozen=True)
class FlashOptions:
    """How ``detect_flashes`` picks and times LED flashes.

    ``max_events``: at most this many flashes are returned, the best, in time order (2: start and
    end). ``min_score_sigmas``: minimum pulse amplitude in units of the cell's local noise (6).
    ``codec_sigma_fraction``: standard error of a frame's normalised LED brightness from lossy
    coding, as a fraction of the on-off step (0.035, measured on H.264 at the generator's rate; 0
    for lossless frames); it sets the floor of ``uncertainty_s``: ``codec_sigma_fraction * exposure_s``.
    """

    max_events: int = 2
    min_score_sigmas: float = 6.0
    codec_sigma_fraction: float = 0.035

    def __post_init__(self) -> None:
        if int(self.max_events) != self.max_events or self.max_events < 1:
            raise ValueError(f"FlashOptions: max_events must be an integer >= 1, got {self.max_events}")
        if not self.min_score_sigmas > 0:
            raise ValueError(f"FlashOptions: min_score_sigmas must be > 0, got {self.min_score_sigmas}")
        if not 0 <= self.codec_sigma_fraction < 0.5:
            raise ValueError(f"FlashOptions: codec_sigma_fraction must be in [0, 0.5), got {self.codec_sigma_fraction}")


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

    Per event: ``onset_s`` (best estimate), ``uncertainty_s`` (standard, 1-sigma uncertainty of
    the onset: frame noise and coding error propagated to time, plus any gap between exposures
    the edge may lie in, counted as a uniform interval), ``offset_s`` (the LED-off edge measured on its own),
    ``frac_first``/``frac_last`` (normalised brightness of the first and last lit frames:
    1.0 means the edge fell between exposures), ``first_lit_index``/``last_lit_index``,
    ``confidence`` in [0, 1], ``which`` ("start"/"end" by order, or by position in the recording
    when only one flash was seen). ``cells`` are the grid cells summed for the LED (row-major)
    and ``score`` the summed pulse scores of the LED cell's events (local-noise units).
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
    options: FlashOptions = FlashOptions(),
    grid_shape: tuple[int, int] | None = None,
    stream: str | None = None,
    readout_s: float = 0.0,
) -> FlashEvents:
    """Find up to ``options.max_events`` LED flashes and time their onsets to a fraction of a frame.

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
    options : FlashOptions
        How many flashes, the minimum pulse score and the coding error.
    grid_shape : (rows, cols), optional
        Needed with a plain array to merge neighbouring cells; taken from ``FlashFeatures``.
    stream : str, optional
        Name used in log lines and errors.
    readout_s : float
        Rolling-shutter readout time (s) from the first to the last image row (0: global shutter).
        Needs the grid shape (a ``FlashFeatures`` or ``grid_shape``): cell rows are image row bands.

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
    if not (np.isfinite(readout_s) and readout_s >= 0):
        raise ValueError(f"stream {name}: readout_s must be >= 0 s, got {readout_s}")
    if readout_s > 0 and grid_shape is None:
        raise ValueError(f"stream {name}: readout_s > 0 needs grid_shape (which image rows each cell covers)")
    if t.size >= 2 and not np.all(np.diff(t) > 0):
        raise ValueError(f"stream {name}: frame timestamps must be strictly increasing (presentation order)")
    if t.size < 2 * _OFF_FRAMES:
        return _no_flash(grid_shape)

    max_events, min_score, codec_sigma = options.max_events, options.min_score_sigmas, options.codec_sigma_fraction
    x = x_all.astype(np.float32, copy=False)
    dt = float(np.median(np.diff(t)))
    scores, s = _pulse_scores(x, t, pulse_s, tol_s=2.0 * dt, max_events=max_events, min_score=min_score)

    best_per_cell = scores.best_per_cell()
    order = np.argsort(-best_per_cell, kind="stable")[:_N_CANDIDATE_CELLS]
    sep_s = max(0.5, 3.0 * pulse_s)
    best_cell, best_events, best_total = -1, [], 0.0
    for cell in order.tolist():
        if best_per_cell[cell] < min_score:
            break
        events = _cell_events(x[:, cell], t, *scores.column(cell), min_score, sep_s, max_events)
        total = sum(e.score for e in events)
        if total > best_total:
            best_cell, best_events, best_total = cell, events, total
    if best_cell < 0 or not best_events:
        logger.info("stream %s: no LED flash found (no pulse scored %.1f or more)", name, min_score)
        return _no_flash(grid_shape)

    cells = _merge_neighbours(best_cell, best_events, s, scores, grid_shape, min_score)
    lum = x[:, cells].astype(np.float64).sum(axis=1)
    t_led = t + _readout_delay_s(cells, best_events, s, grid_shape, readout_s) if readout_s > 0 else t
    rows = [
        _time_event(lum, t_led, ev, exposure_s, pulse_s, codec_sigma)
        for ev in sorted(best_events, key=lambda e: e.rise)
    ]
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


def _readout_delay_s(
    cells: list[int], events: list[_Candidate], s: np.ndarray, grid_shape: tuple[int, int] | None, readout_s: float
) -> float:
    """Exposure delay (s) of the LED cells after the first row: their row bands' centres, weighted by step."""
    assert grid_shape is not None
    rows = grid_shape[0]
    centre = np.array([(divmod(c, grid_shape[1])[0] + 0.5) / rows for c in cells])
    step = np.array([max(0.0, float(np.mean([s[e.rise, c] - s[e.fall, c] for e in events]))) for c in cells])
    weight = step if step.sum() > 0 else np.ones(len(cells))
    return float(readout_s * np.dot(weight, centre) / weight.sum())


def _variability(x: np.ndarray, max_events: int) -> np.ndarray:
    """Per cell: a high order statistic of |frame-to-frame change| that flashes cannot reach.

    The flashes themselves contribute at most ~4 large changes each, so the (8 * max_events + 1)-th
    largest change (or the 75th percentile, whichever is larger) measures what else happens in
    the cell over the whole recording: a body moving through it drives it up.
    """
    n = x.shape[0] - 1
    k_top = max(0, n - 1 - 8 * max_events)
    k_75 = min(n - 1, int(0.75 * (n - 1)))
    out = np.empty(x.shape[1], dtype=x.dtype)
    for start in range(0, x.shape[1], _CELL_BLOCK):  # a block of cells at a time: memory stays small
        d = np.abs(np.diff(x[:, start : start + _CELL_BLOCK], axis=0))
        d.partition(sorted({k_top, k_75}), axis=0)
        out[start : start + _CELL_BLOCK] = np.maximum(d[k_top], d[k_75])
    return out


@dataclass(frozen=True)
class _PulseScores:
    """Pulse scores of the (rise frame, cell) pairs that were scored; every other pair scores -inf.

    Kept sparse (a few percent of the pairs) so that memory grows with the number of candidate
    pulses, not with frames x cells. ``flat`` = rise * n_cells + cell, ascending.
    """

    n_frames: int
    n_cells: int
    flat: np.ndarray
    score: np.ndarray  # float32
    fall: np.ndarray  # int32: the paired fall frame

    def best_per_cell(self) -> np.ndarray:
        best = np.full(self.n_cells, -np.inf, dtype=np.float32)
        np.maximum.at(best, self.flat % self.n_cells, self.score)
        return best

    def column(self, cell: int) -> tuple[np.ndarray, np.ndarray]:
        """One cell's score and fall frame for every frame (-inf and 0 where not scored)."""
        mask = self.flat % self.n_cells == cell
        rise = self.flat[mask] // self.n_cells
        score = np.full(self.n_frames, -np.inf, dtype=np.float32)
        fall = np.zeros(self.n_frames, dtype=np.int32)
        score[rise] = self.score[mask]
        fall[rise] = self.fall[mask]
        return score, fall

    def at(self, rise: int, cell: int) -> float:
        key = rise * self.n_cells + cell
        i = int(np.searchsorted(self.flat, key))
        return float(self.score[i]) if i < self.flat.size and self.flat[i] == key else -np.inf


def _pulse_scores(
    x: np.ndarray, t: np.ndarray, pulse_s: float, *, tol_s: float, max_events: int, min_score: float
) -> tuple[_PulseScores, np.ndarray]:
    """Per frame (as a rise) and cell: pulse amplitude / local noise and the paired fall frame; the 2-frame step.

    Regions, for rise frame i and fall frame j: off before = up to ``_OFF_FRAMES`` frames before i,
    plateau = frames i+1 .. j-1, off after = up to ``_OFF_FRAMES`` frames after j. The amplitude is the
    smallest of the two 2-frame steps and the plateau's rise over each baseline (so a slow ramp or a
    baseline that does not come back scores low); the noise is the RMS frame-to-frame change inside
    the regions over sqrt(2), plus half the baseline mismatch, a small share of the whole-recording
    variability and a floor.

    Only (frame, cell) pairs whose 2-frame step could reach ``min_score`` are scored: the amplitude
    is at most the step and the noise term is at least the floor plus the variability share, so any
    other pair scores below ``min_score`` and is left at -inf (a few percent of the pairs remain,
    which makes this cheap next to decoding). Scores of the pairs kept are exact.
    """
    s = np.zeros_like(x)
    s[1:-1] = x[2:] - x[:-2]  # two-frame step: a partial frame splits an edge over two frames
    global_scale = _variability(x, max_events)
    reachable = min_score * (_SCALE_FLOOR + _GLOBAL_WEIGHT * global_scale.astype(np.float64)) * (1.0 - 1e-6)
    rise, cell = np.nonzero(s[1:-1] >= reachable[None, :])  # row-major: flat keys come out ascending
    rise += 1
    n_frames, n_cells = x.shape
    if rise.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return _PulseScores(n_frames, n_cells, empty, empty.astype(np.float32), empty.astype(np.int32)), s
    step, j = _pair_steps(s, t, rise, cell, pulse_s, tol_s)
    used, column = np.unique(cell, return_inverse=True)  # cumulative sums of the cells in play only
    xd = x[:, used].astype(np.float64)
    cx = np.concatenate([np.zeros((1, used.size)), np.cumsum(xd, axis=0)])
    cd = np.concatenate([np.zeros((1, used.size)), np.cumsum(np.diff(xd, axis=0) ** 2, axis=0)])
    cd = np.concatenate([cd, cd[-1:]])  # (n + 1) rows, like cx
    pre, r_pre = _region_stats(cx, cd, column, rise - _OFF_FRAMES, rise)
    plat, r_plat = _region_stats(cx, cd, column, rise + 1, np.maximum(j, rise + 2))
    post, r_post = _region_stats(cx, cd, column, j + 1, j + 1 + _OFF_FRAMES)
    amp = np.minimum(step, np.minimum(plat - pre, plat - post))
    noise = np.sqrt(0.5 * np.maximum(np.maximum(r_pre, r_plat), r_post))
    denom = _SCALE_FLOOR + noise + 0.5 * np.abs(pre - post) + _GLOBAL_WEIGHT * global_scale[cell]
    with np.errstate(invalid="ignore"):
        sc = amp / denom
    score = np.where(np.isfinite(sc) & (j > rise), sc, -np.inf).astype(np.float32)
    flat = rise.astype(np.int64) * n_cells + cell
    return _PulseScores(n_frames, n_cells, flat, score, j.astype(np.int32)), s


def _pair_steps(
    s: np.ndarray, t: np.ndarray, rise: np.ndarray, cell: np.ndarray, pulse_s: float, tol_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each (rise frame, cell): min(rise step, largest fall step about pulse_s later) and that fall's frame."""
    n = t.size
    j_lo = np.searchsorted(t, t[rise] + pulse_s - tol_s, side="left")
    j_hi = np.searchsorted(t, t[rise] + pulse_s + tol_s, side="right")
    best = np.full(rise.shape, -np.inf, dtype=s.dtype)
    arg = np.zeros(rise.shape, dtype=np.intp)
    for m in range(int((j_hi - j_lo).max(initial=0))):
        j = j_lo + m
        ok = (j < j_hi) & (j < n - 1)
        if not ok.any():
            continue
        jj = np.where(ok, j, 0)
        cand = np.where(ok, -s[jj, cell], -np.inf)
        better = cand > best  # strict: ties keep the earlier fall frame (the last lit one)
        best = np.where(better, cand, best)
        arg = np.where(better, jj, arg)
    return np.minimum(s[rise, cell], best), arg


def _region_stats(
    cx: np.ndarray, cd: np.ndarray, cell: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of frames [a, b) of ``cell`` and mean squared frame-to-frame change inside them, per pair.

    ``cx`` and ``cd`` are (n + 1, columns) cumulative sums of the lumas and of the squared changes,
    ``cell`` the column of each pair; an empty region gives a NaN mean, one frame a zero change.
    """
    n = cx.shape[0] - 1
    a = np.clip(a, 0, n)
    b = np.clip(b, 0, n)
    cnt = b - a
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (cx[b, cell] - cx[a, cell]) / cnt
    bd = np.maximum(b - 1, a)
    rough = (cd[bd, cell] - cd[a, cell]) / np.maximum(bd - a, 1)
    return np.where(cnt > 0, mean, np.nan), rough


def _cell_events(
    lum: np.ndarray,
    t: np.ndarray,
    score: np.ndarray,
    fall_of: np.ndarray,
    min_score: float,
    sep_s: float,
    max_events: int,
) -> list[_Candidate]:
    """Flash-like events of one cell, best first, scored by pulse score x shape, amplitude-consistent."""
    idx = np.flatnonzero(score >= min_score)
    idx = idx[np.argsort(-score[idx], kind="stable")]
    events: list[_Candidate] = []
    lum64 = lum.astype(np.float64)
    for i in idx.tolist():
        if len(events) >= 4 * max_events:
            break
        if any(abs(t[i] - t[e.rise]) < sep_s for e in events):
            continue
        fall = int(fall_of[i])
        lv = _edge_levels(lum64, i, fall)
        amp = 0.5 * (lv.amp_on + lv.amp_off)
        if amp <= 0:
            continue
        plateau = lum64[i + 1 : fall]
        spread = float(plateau.max() - plateau.min()) if plateau.size else 0.0
        shape = float(np.clip(1.0 - (spread + abs(lv.off_pre - lv.off_post)) / amp, 0.0, 1.0))
        events.append(_Candidate(i, fall, float(score[i]) * shape, amp))
    events = [e for e in events if e.score >= min_score]
    events.sort(key=lambda e: -e.score)
    if not events:
        return []
    # The LED flashes at most max_events times: a cell with more pulses as good (a limb that keeps
    # crossing it for about pulse_s) is not the LED. Its events count only by how much they beat
    # the best one beyond max_events.
    runner_up = events[max_events].score if len(events) > max_events else 0.0
    # The LED gives the same step at every flash: drop events of a very different amplitude.
    ref = events[0].amplitude
    kept = [e for e in events if 0.5 <= e.amplitude / ref <= 2.0][:max_events]
    for e in kept:
        e.score = (e.score - runner_up) * min(e.amplitude, ref) / max(e.amplitude, ref)
    return [e for e in kept if e.score >= min_score]


def _merge_neighbours(
    cell: int,
    events: list[_Candidate],
    s: np.ndarray,
    scores: _PulseScores,
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
                    scores.at(e.rise, nb) >= min_score
                    and s[e.rise, nb] >= 0.3 * s[e.rise, cell]
                    and -s[e.fall, nb] >= 0.3 * -s[e.fall, cell]
                    for e in events
                ):
                    cells.append(nb)
    return sorted(cells)


@dataclass(frozen=True)
class _Levels:
    off_pre: float  # off level next to the rise (median of the nearest dark frames before it)
    on_rise: float  # on level next to the rise (first plateau frames)
    on_fall: float  # on level next to the fall (last plateau frames)
    off_post: float  # off level next to the fall
    sigma: float  # frame noise (luma), robust, from frame-to-frame changes inside the regions
    n_level: int  # frames behind each level (fewest of the four)
    mismatch: float = 0.0  # half the larger off-off or on-on level difference across the flash (luma)

    @property
    def amp_on(self) -> float:
        return self.on_rise - self.off_pre

    @property
    def amp_off(self) -> float:
        return self.on_fall - self.off_post


def _robust_noise(diffs: np.ndarray) -> float:
    """Frame noise (luma) from frame-to-frame changes: MAD / sqrt(2); differences cancel slow drift."""
    if diffs.size < 3:
        return 0.0
    return robust_sigma(diffs) / np.sqrt(2.0)


def _edge_levels(lum: np.ndarray, rise: int, fall: int) -> _Levels:
    """Off and on levels on each side of both edges, and the frame noise around the flash.

    The noise is the larger of the local estimate (a dozen frames: noisy itself) and the one from
    the whole recording (robust to a body crossing the cell now and then).
    """
    pre = lum[max(0, rise - _OFF_FRAMES) : rise]
    post = lum[fall + 1 : fall + 1 + _OFF_FRAMES]
    plateau = lum[rise + 1 : fall]
    if not plateau.size:
        plateau = np.array([lum[rise : fall + 1].max()])
    if not pre.size:
        pre = post if post.size else np.array([lum[rise]])
    if not post.size:
        post = pre
    m = _EDGE_FRAMES
    local = _robust_noise(np.concatenate([np.diff(pre), np.diff(plateau), np.diff(post)]))
    sigma = max(local, _robust_noise(np.diff(lum)))
    off_pre, on_rise = float(np.median(pre[-m:])), float(np.median(plateau[:m]))
    on_fall, off_post = float(np.median(plateau[-m:])), float(np.median(post[:m]))
    return _Levels(
        off_pre=off_pre,
        on_rise=on_rise,
        on_fall=on_fall,
        off_post=off_post,
        sigma=sigma,
        n_level=int(min(m, pre.size, post.size, plateau.size)),
        mismatch=0.5 * max(abs(off_pre - off_post), abs(on_rise - on_fall)),
    )


def _interval(
    lum: np.ndarray,
    t: np.ndarray,
    frames: list[int],
    off: float,
    amp: float,
    delta: float,
    skip_delta: float,
    exposure_s: float,
    *,
    onset: bool,
) -> tuple[float, float, float]:
    """Interval [lo, hi] an edge lies in, from frames near it; also the brightest partial fraction.

    Across a rise the lit fraction can only grow, across a fall only shrink: a frame that looks
    lit before a dark-looking one (rise) or after it (fall) is noise and is not used.
    """
    lo, hi, frac = -np.inf, np.inf, np.nan
    dark = [i for i, k in enumerate(frames) if (lum[k] - off) / amp - delta <= 0]
    if dark:
        frames = frames[dark[-1] :] if onset else frames[: dark[0] + 1]
    for k in frames:
        f = (lum[k] - off) / amp
        p = t[k]
        # A frame bit-identical to the one before was probably skipped by the encoder: it may hide
        # a change of up to ``skip_delta`` of the step (an edge just inside its exposure).
        delta_k = max(delta, skip_delta) if k > 0 and lum[k] == lum[k - 1] else delta
        if onset:  # lit part of the exposure is [T, p + E]: f = (p + E - T) / E
            if f + delta_k < 1:
                lo = max(lo, p + exposure_s * (1 - f - delta_k))
            if f - delta_k > 0:
                hi = min(hi, p + exposure_s * (1 - f + delta_k))
        else:  # lit part is [p, U]: f = (U - p) / E
            if f - delta_k > 0:
                lo = max(lo, p + exposure_s * (f - delta_k))
            if f + delta_k < 1:
                hi = min(hi, p + exposure_s * (f + delta_k))
        if f > delta:
            if onset and np.isnan(frac):
                frac = float(min(f, 1.0))  # first lit frame
            elif not onset:
                frac = float(min(f, 1.0))  # last lit frame
    return lo, hi, frac


def _standard(lo: float, hi: float, sigma_s: float) -> tuple[float, float]:
    """Middle of [lo, hi] (3-sigma noise margins included) and its standard uncertainty.

    What is left of the half-width after the 3-sigma margin is an interval the edge is equally
    likely anywhere in (an edge between exposures): it counts half-width / sqrt(3); the noise
    counts sigma_s.
    """
    if lo > hi:  # frames disagree beyond the noise margin: keep both ends
        lo, hi = hi, lo
    half = 0.5 * (hi - lo)
    gap = max(0.0, half - _MARGIN_SIGMAS * sigma_s)
    return 0.5 * (lo + hi), float(np.hypot(gap / np.sqrt(3.0), max(sigma_s, half / _MARGIN_SIGMAS if not gap else 0.0)))


def _time_event(
    lum: np.ndarray, t: np.ndarray, ev: _Candidate, exposure_s: float, pulse_s: float, codec_sigma: float
) -> dict[str, float] | None:
    """Sub-frame onset of one flash (see the module docstring).

    Solved twice: with the frame noise alone (plus a 1/3 % floor), whose middle is the best point
    estimate (partial frames pin the edges tightly), and with the coding error too, whose
    interval and standard uncertainty are honest; the estimate is kept inside the honest interval.
    """
    lv = _edge_levels(lum, ev.rise, ev.fall)
    if lv.amp_on <= 0 or lv.amp_off <= 0:
        return None
    honest = _solve_edges(lum, t, ev, lv, exposure_s, pulse_s, codec_sigma, skip=_SKIP_SIGMAS * codec_sigma)
    if honest is None:
        return None
    tight = _solve_edges(lum, t, ev, lv, exposure_s, pulse_s, _TIGHT_FRACTION_SIGMA, skip=0.0)
    if tight is not None and codec_sigma > _TIGHT_FRACTION_SIGMA:
        lo, hi = honest["lo"], honest["hi"]
        honest["onset"] = float(np.clip(tight["onset"], lo, hi))
        honest["offset"] = tight["offset"]
    honest["score"] = ev.score
    return honest


def _solve_edges(
    lum: np.ndarray,
    t: np.ndarray,
    ev: _Candidate,
    lv: _Levels,
    exposure_s: float,
    pulse_s: float,
    codec_sigma: float,
    *,
    skip: float,
) -> dict[str, float] | None:
    """Onset interval from both edges with brightness errors of frame noise and ``codec_sigma`` (step fraction)."""
    n = t.size
    amp_on, amp_off = lv.amp_on, lv.amp_off
    # Standard error of a normalised brightness: frame noise (the frame and the level it is
    # compared with) and lossy coding.
    level_factor = np.sqrt(1.0 + 1.0 / max(lv.n_level, 1))
    # The levels themselves are uncertain by how much they change across the flash (background
    # drift, coding); on a static scene that H.264 skips the frame noise alone is ~0 and would
    # let a dark frame a few levels off the far baseline pass for a lit one.
    sf_on = float(np.linalg.norm([lv.sigma * level_factor / amp_on, lv.mismatch / amp_on, codec_sigma]))
    sf_off = float(np.linalg.norm([lv.sigma * level_factor / amp_off, lv.mismatch / amp_off, codec_sigma]))
    d_on, d_off = _MARGIN_SIGMAS * sf_on, _MARGIN_SIGMAS * sf_off
    on_frames = [k for k in (ev.rise - 1, ev.rise, ev.rise + 1) if 0 <= k < n and k < ev.fall]
    off_frames = [k for k in (ev.fall - 1, ev.fall, ev.fall + 1) if 0 <= k < n and k > ev.rise]
    lo1, hi1, frac_first = _interval(lum, t, on_frames, lv.off_pre, amp_on, d_on, skip, exposure_s, onset=True)
    lo2, hi2, frac_last = _interval(lum, t, off_frames, lv.off_post, amp_off, d_off, skip, exposure_s, onset=False)
    first_lit = next((k for k in on_frames if (lum[k] - lv.off_pre) / amp_on > d_on), ev.rise + 1)
    last_lit = next((k for k in reversed(off_frames) if (lum[k] - lv.off_post) / amp_off > d_off), ev.fall)
    s1, s2 = exposure_s * sf_on, exposure_s * sf_off
    confidence = 1.0

    finite1 = np.isfinite(lo1) and np.isfinite(hi1)
    finite2 = np.isfinite(lo2) and np.isfinite(hi2)
    if not (finite1 or finite2):
        return None
    if lo1 > hi1 or lo2 > hi2:
        confidence *= 0.5
    lo_c, hi_c = max(lo1, lo2 - pulse_s), min(hi1, hi2 - pulse_s)
    if finite1 and finite2 and lo_c > hi_c:
        # Onset and offset disagree (noise, or pulse_s differs from the LED's on time): weight by uncertainty.
        m1, u1 = _standard(lo1, hi1, s1)
        m2, u2 = _standard(lo2 - pulse_s, hi2 - pulse_s, s2)
        w1, w2 = 1.0 / max(u1, 1e-9) ** 2, 1.0 / max(u2, 1e-9) ** 2
        onset = (w1 * m1 + w2 * m2) / (w1 + w2)
        unc = float(np.hypot((w1 + w2) ** -0.5, 0.5 * (m1 - m2)))
        lo_c, hi_c = min(m1, m2) - unc, max(m1, m2) + unc
        confidence *= 0.5
    else:
        if not np.isfinite(lo_c) or not np.isfinite(hi_c):
            lo_c, hi_c = (lo1, hi1) if finite1 else (lo2 - pulse_s, hi2 - pulse_s)
        # Coding errors at the two edges lean the same way (towards the previous frame), so the
        # noise term is not reduced by having both edges: the smaller of the two counts.
        onset, unc = _standard(lo_c, hi_c, min(s1 if finite1 else np.inf, s2 if finite2 else np.inf))
    offset = _standard(lo2, hi2, s2)[0] if finite2 else onset + pulse_s
    return {
        "onset": float(onset),
        "uncertainty": float(unc),
        "lo": float(min(lo_c, hi_c)),
        "hi": float(max(lo_c, hi_c)),
        "offset": float(offset),
        "frac_first": frac_first,
        "frac_last": frac_last,
        "first_lit": int(first_lit),
        "last_lit": int(last_lit),
        "confidence": confidence,
    }
