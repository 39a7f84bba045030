"""Fixed-length multimodal windows over aligned recordings or samples, with masks instead of errors.

For tasks that are not pair-wise AQA (Video -> EMG, pose -> EMG, ...): every item is a window of
``n`` instants and a dict of arrays on those instants, any subset of views and streams.

- ``source="recordings"``: windows over the grid of each published recording
  (``grid/t``, ``grid/video_frame_index``, ``grid/pose``, ``grid/emg_envelope``, ``grid/physio``
  and their validity arrays). Instants are ``grid_t[0] + (start + k) / rate_hz``; each takes the
  nearest grid row (video frames are chosen, never blended). ``rate_hz`` defaults to the grid's.
- ``source="samples"``: windows of ``window_frames`` along the 103 instants of each sample of
  each published samples group.

Windows start every ``stride`` instants; unless ``drop_last``, a last window covers the tail and
is padded. Where data is missing (window past the end, a view or stream the recording lacks, a
dropped frame, an occluded joint) the values are zero and the mask is False: items never raise
for missing data. Keys: ``key``, ``window_index``, ``start``, ``t`` (float64 s, reference clock),
``t_valid``, ``video_<view>`` uint8 (n, H, W, 3) + ``video_<view>_valid``, ``pose`` float32
(n, 21, 3) m + ``pose_valid`` (n, 21), ``emg_envelope`` float32 (n, C) uV + ``emg_envelope_valid``,
``physio`` float32 (n, 2) 1/min + ``physio_valid``; samples also carry ``sample_id``.

H.264 frames are decoded by ``decoder`` ("pyav" default, "torchcodec", "auto"; identical items).
With ``device="cuda"`` the ``video_<view>`` values are uint8 torch tensors on the GPU (decoded
there by torchcodec, or by PyAV and copied); every other value, masks included, stays numpy.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.errors import InputFileError
from flexsync.loaders.flex_pair import _dataset_base
from flexsync.skeleton import N_JOINTS
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.decoder_choice import DEVICES
from flexsync.storage.store import Store

__all__ = ["SOURCES", "STREAMS", "MultimodalWindowDataset", "Window"]

logger = logging.getLogger(__name__)

SOURCES = ("recordings", "samples")
STREAMS = ("video", "pose", "emg_envelope", "physio")
_DEFAULT_EMG_CHANNELS = 16
_DEFAULT_PHYSIO_CHANNELS = 2

# Per source: the array (relative to the group) of each stream's values and validity.
_GRID_ARRAYS = {
    "pose": ("grid/pose", "grid/pose_valid"),
    "emg_envelope": ("grid/emg_envelope", "grid/emg_valid"),
    "physio": ("grid/physio", "grid/physio_valid"),
}
_SAMPLE_ARRAYS = {
    "pose": ("pose", "pose_valid"),
    "emg_envelope": ("emg_envelope", "emg_envelope_valid"),
    "physio": ("physio", "physio_valid"),
}


@dataclass(frozen=True)
class Window:
    """One window: group (recording key), sample row (samples only) and first instant."""

    key: str
    row: int
    start: int


@dataclass
class _GroupInfo:
    key: str
    base: str  # group path relative to the store root
    n_instants: int  # grid instants at rate_hz (recordings) or frame_length (samples)
    rate_hz: float
    grid_rate_hz: float
    t0_s: float
    views: list[str]
    sample_ids: list[str]


class MultimodalWindowDataset(_dataset_base()):
    """Windows of aligned multimodal data with validity masks (see the module docstring).

    Parameters
    ----------
    store_root : path or str
        The store root, a folder or an object-store URL (a :class:`flexsync.storage.Store` is built on it).
    source : {"recordings", "samples"}
    window_s, window_frames
        Window length, exactly one of them: seconds (recordings only) or instants.
    stride_s, stride_frames
        Step between window starts (at most one); default: the window length (no overlap).
    views : sequence of str, optional
        Views to return; default: every view present in the indexed groups, in the order of
        their ``views`` attributes (first group first). A view a recording lacks comes back as
        zeros with its mask False.
    streams : sequence of str
        Any of ``("video", "pose", "emg_envelope", "physio")``.
    rate_hz : float, optional
        Instants per second of recording windows; default the grid's ``rate_hz``. Must be None
        for samples (their instants are 103 per repetition, whatever its duration).
    keys : sequence of str, optional
        Recordings to use; default every complete recording (or samples group) in the store.
    drop_last : bool
        Drop the padded tail window instead of returning it.
    decoder : {"pyav", "torchcodec", "auto"}
        Decoder of H.264 frames (:mod:`flexsync.storage.decoder_choice`); the same frames either way.
    device : {"cpu", "cuda"}
        Where the video frames go: numpy arrays ("cpu") or torch tensors on the GPU ("cuda").

    Raises
    ------
    ValueError
        For inconsistent options (both or neither window length, unknown stream, source, decoder or device).
    ImportError
        If ``decoder="torchcodec"`` and torchcodec does not load (the message says why).
    InputFileError
        If a named key is not complete, or a requested view exists in no indexed group.
    """

    def __init__(
        self,
        store_root: Path | str,
        *,
        source: str = "recordings",
        window_s: float | None = None,
        window_frames: int | None = None,
        stride_s: float | None = None,
        stride_frames: int | None = None,
        views: Sequence[str] | None = None,
        streams: Sequence[str] = STREAMS,
        rate_hz: float | None = None,
        keys: Sequence[str] | None = None,
        drop_last: bool = False,
        decoder: str = "pyav",
        device: str = "cpu",
    ) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
        unknown = [s for s in streams if s not in STREAMS]
        if unknown or not streams:
            raise ValueError(f"streams must be a non-empty subset of {STREAMS}, got {tuple(streams)}")
        if (window_s is None) == (window_frames is None):
            raise ValueError("give exactly one of window_s and window_frames")
        if stride_s is not None and stride_frames is not None:
            raise ValueError("give at most one of stride_s and stride_frames")
        if source == "samples" and (window_s is not None or stride_s is not None or rate_hz is not None):
            raise ValueError(
                "samples have 103 instants per repetition whatever its duration: use window_frames and "
                "stride_frames (not window_s, stride_s or rate_hz) with source='samples'"
            )
        if rate_hz is not None and rate_hz <= 0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
        self.store = Store(store_root)  # a folder or an object-store URL (docs/object-stores.md)
        self.store_root = self.store.root
        self.source = source
        self.streams = tuple(s for s in STREAMS if s in streams)
        self.drop_last = bool(drop_last)
        self.device = device
        self._reader = ZarrRowReader(self.store.root, decoder=decoder)
        self.decoder = self._reader.decoder  # "pyav" or "torchcodec" ("auto" resolved)
        self._groups: dict[str, _GroupInfo] = {}
        for key in self._keys(keys):
            info = self._index_group(key, rate_hz, strict=keys is not None)
            if info is not None:
                self._groups[key] = info
        present = self._present_views()
        self.views = present if views is None else list(views)
        self._frame_shapes = self._find_frame_shapes() if "video" in self.streams else {}
        self._channels = {
            "emg_envelope": self._find_channels("emg_envelope", _DEFAULT_EMG_CHANNELS),
            "physio": self._find_channels("physio", _DEFAULT_PHYSIO_CHANNELS),
        }
        self.windows: list[Window] = []
        self._lengths: dict[str, int] = {}
        for info in self._groups.values():
            n, stride = self._window_steps(info, window_s, window_frames, stride_s, stride_frames)
            self._lengths[info.key] = n
            starts = _window_starts(info.n_instants, n, stride, drop_last=self.drop_last)
            rows = range(len(info.sample_ids)) if source == "samples" else range(1)
            self.windows += [Window(info.key, r, s) for r in rows for s in starts]

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        window = self.windows[index]
        info = self._groups[window.key]
        n = self._lengths[window.key]
        item: dict[str, Any] = {"key": window.key, "window_index": index, "start": window.start}
        if self.source == "samples":
            item["sample_id"] = info.sample_ids[window.row]
            rows, t, t_valid = self._sample_rows(info, window, n)
        else:
            rows, t, t_valid = self._grid_rows(info, window, n)
        item["t"], item["t_valid"] = t, t_valid
        safe_rows = np.where(t_valid, rows, 0)
        if "video" in self.streams:
            for view in self.views:
                frames, valid = self._video(info, window, view, safe_rows, t_valid)
                item[f"video_{view}"], item[f"video_{view}_valid"] = frames, valid
        for stream in ("pose", "emg_envelope", "physio"):
            if stream in self.streams:
                item[stream], item[f"{stream}_valid"] = self._signal(info, window, stream, safe_rows, t_valid)
        return item

    # ------------------------------------------------------------------ index

    def _keys(self, keys: Sequence[str] | None) -> list[str]:
        if keys is not None:
            return list(keys)
        return self.store.recordings() if self.source == "recordings" else self.store.samples_keys()

    def _group_path(self, key: str) -> Path:
        return self.store.recording_path(key) if self.source == "recordings" else self.store.samples_path(key)

    def _index_group(self, key: str, rate_hz: float | None, *, strict: bool) -> _GroupInfo | None:
        base = self.store.recording_member(key) if self.source == "recordings" else self.store.samples_member(key)
        attrs = self._reader.group_attrs(base)
        if attrs.get("status") != "complete":
            problem = f"status is {attrs.get('status')!r}, not 'complete'"
            if strict:
                raise InputFileError(problem + "; publish it or leave it out of keys", path=self._group_path(key))
            logger.warning("%s: %s; skipped", self._group_path(key), problem)
            return None
        if self.source == "samples":
            n_instants = int(attrs["frame_length"])
            return _GroupInfo(
                key,
                base,
                n_instants,
                math.nan,
                math.nan,
                math.nan,
                list(attrs.get("views", [])),
                list(attrs.get("sample_ids", [])),
            )
        grid_attrs = self._reader.group_attrs(f"{base}/grid")
        grid_t = self._reader.read_cached(f"{base}/grid/t")
        grid_rate = float(grid_attrs["rate_hz"])
        rate = grid_rate if rate_hz is None else float(rate_hz)
        span_s = float(grid_t[-1] - grid_t[0]) if grid_t.size else -1.0
        n_instants = math.floor(span_s * rate + 1e-6) + 1 if grid_t.size else 0
        t0 = float(grid_t[0]) if grid_t.size else 0.0
        return _GroupInfo(key, base, n_instants, rate, grid_rate, t0, list(grid_attrs.get("views", [])), [])

    def _window_steps(
        self,
        info: _GroupInfo,
        window_s: float | None,
        window_frames: int | None,
        stride_s: float | None,
        stride_frames: int | None,
    ) -> tuple[int, int]:
        n = int(window_frames) if window_frames is not None else round(window_s * info.rate_hz)
        if n < 1:
            raise ValueError(f"window of {window_s} s at {info.rate_hz} Hz is shorter than one instant")
        if stride_frames is not None:
            stride = int(stride_frames)
        elif stride_s is not None:
            stride = round(stride_s * info.rate_hz)
        else:
            stride = n
        if stride < 1:
            raise ValueError(f"stride must be at least one instant, got {stride_frames or stride_s}")
        return n, stride

    def _video_rel(self, info: _GroupInfo, view: str) -> str:
        if self.source == "samples":
            return f"{info.base}/video/{view}"
        return f"{info.base}/streams/{view}/frames"

    def _present_views(self) -> list[str]:
        """Every view of the indexed groups, in the order of their ``views`` attributes (first group first)."""
        present: list[str] = []
        for info in self._groups.values():
            present += [v for v in info.views if v not in present]
        return present

    def _find_frame_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for view in self.views:
            for info in self._groups.values():
                if view in info.views and self._reader.has_array(self._video_rel(info, view)):
                    row_shape = self._reader.info(self._video_rel(info, view)).row_shape
                    shapes[view] = row_shape[1:] if self.source == "samples" else row_shape
                    break
            else:
                raise InputFileError(
                    f"view {view!r} is in no indexed {self.source} group; views present: {self._present_views()}",
                    path=self.store.root,
                )
        return shapes

    def _signal_rels(self, info: _GroupInfo, stream: str) -> tuple[str, str]:
        values, valid = (_SAMPLE_ARRAYS if self.source == "samples" else _GRID_ARRAYS)[stream]
        return f"{info.base}/{values}", f"{info.base}/{valid}"

    def _find_channels(self, stream: str, default: int) -> int:
        for info in self._groups.values():
            rel = self._signal_rels(info, stream)[0]
            if self._reader.has_array(rel):
                return self._reader.info(rel).shape[-1]
        return default

    # ------------------------------------------------------------------ items

    def _grid_rows(self, info: _GroupInfo, window: Window, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest grid row of each instant and whether the instant lies on the grid."""
        grid_t = self._reader.read_cached(f"{info.base}/grid/t")
        t = info.t0_s + (window.start + np.arange(n)) / info.rate_hz
        rows = np.rint((t - info.t0_s) * info.grid_rate_hz).astype(np.int64)
        inside = (rows >= 0) & (rows < grid_t.size)
        clipped = np.clip(rows, 0, max(grid_t.size - 1, 0))
        near = np.abs(grid_t[clipped] - t) <= 0.5 / info.grid_rate_hz + 1e-9 if grid_t.size else inside
        return clipped, t, inside & near

    def _sample_rows(self, info: _GroupInfo, window: Window, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Frame positions of the window in the sample; instants past the end extrapolate t."""
        sample_t = self._reader.read_cached(f"{info.base}/t")[window.row]
        rows = window.start + np.arange(n)
        t_valid = rows < sample_t.size
        step = float(sample_t[1] - sample_t[0]) if sample_t.size > 1 else 0.0
        t = np.where(
            t_valid, sample_t[np.minimum(rows, sample_t.size - 1)], sample_t[-1] + (rows - sample_t.size + 1) * step
        )
        return np.minimum(rows, sample_t.size - 1), t, t_valid

    def _video(
        self, info: _GroupInfo, window: Window, view: str, rows: np.ndarray, t_valid: np.ndarray
    ) -> tuple[Any, np.ndarray]:
        n = rows.size
        frames = self._zero_frames(n, view)
        rel = self._video_rel(info, view)
        if view not in info.views or not self._reader.has_array(rel):
            return frames, np.zeros(n, dtype=bool)
        col = info.views.index(view)
        if self.source == "samples":
            valid = self._reader.read_cached(f"{info.base}/video_valid")[window.row, col][rows] & t_valid
            clip = self._read_frames(rel, window.row, window.row + 1)[0]
            self._put(frames, t_valid, clip, rows[t_valid])
            return frames, valid
        index = self._reader.read_cached(f"{info.base}/grid/video_frame_index")[rows, col]
        valid = t_valid & (index >= 0)
        if valid.any():
            lo, hi = int(index[valid].min()), int(index[valid].max()) + 1
            self._put(frames, valid, self._read_frames(rel, lo, hi), index[valid] - lo)
        return frames, valid

    def _zero_frames(self, n: int, view: str) -> Any:
        if self.device == "cpu":
            return np.zeros((n, *self._frame_shapes[view]), dtype=np.uint8)
        import torch

        return torch.zeros((n, *self._frame_shapes[view]), dtype=torch.uint8, device=self.device)

    def _read_frames(self, rel: str, start: int, stop: int) -> Any:
        if self.device == "cpu":
            return self._reader.read_rows(rel, start, stop)
        return self._reader.read_rows_tensor(rel, start, stop, device=self.device)

    def _put(self, frames: Any, where: np.ndarray, block: Any, picked: np.ndarray) -> None:
        """``frames[where] = block[picked]`` for numpy arrays or torch tensors on ``self.device``."""
        if self.device == "cpu":
            frames[where] = block[picked]
            return
        import torch

        at = torch.from_numpy(np.flatnonzero(where)).to(self.device)
        frames[at] = block[torch.from_numpy(np.asarray(picked, dtype=np.int64)).to(self.device)]

    def _signal(
        self, info: _GroupInfo, window: Window, stream: str, rows: np.ndarray, t_valid: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        values_rel, valid_rel = self._signal_rels(info, stream)
        n = rows.size
        tail = (N_JOINTS, 3) if stream == "pose" else (self._channels[stream],)
        mask_tail = (N_JOINTS,) if stream == "pose" else ()
        if not self._reader.has_array(values_rel):
            return np.zeros((n, *tail), dtype=np.float32), np.zeros((n, *mask_tail), dtype=bool)
        values = self._reader.read_cached(values_rel)
        valid = self._reader.read_cached(valid_rel)
        if self.source == "samples":
            values, valid = values[window.row], valid[window.row]
        picked = values[rows].astype(np.float32, copy=True)
        mask = valid[rows] & (t_valid.reshape(-1, *([1] * len(mask_tail))))
        mask &= np.isfinite(picked).all(axis=-1)
        picked[~mask] = 0
        return picked, mask


def _window_starts(n_instants: int, n: int, stride: int, *, drop_last: bool) -> list[int]:
    """First instants of the windows: whole windows every ``stride``, then a padded tail window."""
    if n_instants <= 0:
        return []
    starts = list(range(0, max(n_instants - n, -1) + 1, stride)) if n_instants >= n else []
    following = starts[-1] + stride if starts else 0
    if not drop_last and following < n_instants and (not starts or starts[-1] + n < n_instants):
        starts.append(following)
    return starts
