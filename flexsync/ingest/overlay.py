"""The overlay preview: the mocap skeleton drawn on every view, as a PNG contact sheet and a short MP4.

People judge sync with their eyes: a skeleton that lands on the body in every view, at every
moment, says more than a residual table. The contact sheet has one row per view and one column
per moment (a few spread over the recording plus every sync event, labelled with the reference
time); the clip tiles all views over a few seconds in the middle of the recording. Each view shows
the stored frame nearest the moment (chosen, never blended) with that frame's own keypoints, so the
drawing is exactly what ``keypoints_2d`` says about that image.

Rendering only (cv2 drawing, PyAV encoding; frames come from the caller); output is byte-for-byte
deterministic: fixed sizes, fixed fonts, PNG through zlib, H.264 with one thread and no
macroblock tree, the muxer in bitexact mode. Frames are read through the caller's arrays one chunk
at a time (moments are visited in time order, so each chunk is decoded at most once).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from flexsync.calibration.keypoints import to_stored_pixels
from flexsync.skeleton import BONES, JOINT_NAMES
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.timing.resample import nearest_frame

__all__ = [
    "CLIP_RATE_HZ",
    "CLIP_SECONDS",
    "Moment",
    "OverlayView",
    "StoredFrames",
    "choose_moments",
    "clip_window",
    "draw_skeleton",
    "render_clip",
    "render_contact_sheet",
    "sync_event_times",
]

# Tile widths (px, never wider than the stored frames). The sheet is shown inline in the Dagster UI (embedded
# as base64 in the event log): 192 px tiles keep a realistic-looking recording's sheet near 0.7 MB.
TILE_WIDTH = 192
CLIP_TILE_WIDTH = 320
SPREAD_MOMENTS = 4  # moments spread over the recording, besides the sync events
CLIP_SECONDS = 3.0
CLIP_RATE_HZ = 20.0
CLIP_CRF = 23
EVENT_CLUSTER_S = 0.5  # sync events of different streams closer than this are one event

_LABEL_W, _HEADER_H, _GAP = 64, 34, 2
_BACKGROUND = (24, 24, 24)
_TEXT = (235, 235, 235)
_LEFT, _RIGHT, _CENTRE = (60, 200, 255), (255, 90, 70), (255, 230, 60)  # RGB
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_SHIFT = 4  # sub-pixel drawing: coordinates in 1/16 px
_BONE_INDEX = tuple((JOINT_NAMES.index(a), JOINT_NAMES.index(b)) for a, b in BONES)


@dataclass(frozen=True)
class OverlayView:
    """One view to draw: its frames (any array sliced lazily, e.g. a zarr array), their reference times, its keypoints.

    ``keypoints`` (N, J, 2) and ``visible`` (N, J) are in stored-frame pixels, or None for a view
    without calibration (its frames are shown bare). ``max_gap_s``: a moment further than this from
    every frame shows "no frame".
    """

    name: str
    frames: Any
    t: np.ndarray
    max_gap_s: float
    keypoints: np.ndarray | None = None
    visible: np.ndarray | None = None


@dataclass(frozen=True)
class Moment:
    """A reference-clock time to show, with an optional title (``"sync 1"``)."""

    t: float
    title: str = ""


def sync_event_times(t_ref_s: Sequence[float]) -> list[float]:
    """The recording's sync events on the reference clock: every stream's mapped events, clustered, medians."""
    values = np.sort(np.asarray([t for t in t_ref_s if math.isfinite(t)], dtype=np.float64))
    if values.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(values) > EVENT_CLUSTER_S) + 1
    return [float(np.median(group)) for group in np.split(values, breaks)]


def choose_moments(
    t_start: float, t_end: float, events: Sequence[float], *, spread: int = SPREAD_MOMENTS
) -> list[Moment]:
    """``spread`` moments at the centres of equal parts of ``[t_start, t_end]`` plus the sync events, in time order."""
    moments = [Moment(t_start + (k + 0.5) * (t_end - t_start) / spread) for k in range(spread)]
    moments += [Moment(float(t), f"sync {i + 1}") for i, t in enumerate(events)]
    return sorted(moments, key=lambda m: (m.t, m.title))


def clip_window(t_start: float, t_end: float, seconds: float = CLIP_SECONDS) -> tuple[float, float]:
    """``seconds`` (or the whole span, if shorter) centred on the middle of ``[t_start, t_end]``."""
    half = 0.5 * min(seconds, t_end - t_start)
    middle = 0.5 * (t_start + t_end)
    return middle - half, middle + half


def render_contact_sheet(views: Sequence[OverlayView], moments: Sequence[Moment]) -> bytes:
    """PNG: rows = views, columns = moments, each tile the nearest stored frame with its skeleton."""
    tw, th = _tile_size(views, TILE_WIDTH)
    width = _LABEL_W + len(moments) * (tw + _GAP)
    height = _HEADER_H + len(views) * (th + _GAP)
    sheet = np.full((height, width, 3), _BACKGROUND, dtype=np.uint8)
    for c, moment in enumerate(moments):
        x = _LABEL_W + c * (tw + _GAP)
        if moment.title:
            _text(sheet, moment.title, (x + 3, 13))
        _text(sheet, f"t = {moment.t:.3f} s", (x + 3, 28))
    times = np.array([m.t for m in moments], dtype=np.float64)
    for r, view in enumerate(views):
        y = _HEADER_H + r * (th + _GAP)
        _text(sheet, view.name, (4, y + th // 2 + 4))
        reader = _FrameReader(view.frames)
        index, found = nearest_frame(view.t, times, max_distance_s=view.max_gap_s)
        for c in range(len(moments)):
            x = _LABEL_W + c * (tw + _GAP)
            sheet[y : y + th, x : x + tw] = _tile(view, reader, int(index[c]) if found[c] else None, (tw, th))
    ok, png = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise RuntimeError("cv2 could not encode the contact sheet as PNG")
    return png.tobytes()


def render_clip(views: Sequence[OverlayView], t_start: float, t_end: float, *, rate_hz: float = CLIP_RATE_HZ) -> bytes:
    """MP4 (H.264): every view tiled, at ``rate_hz`` from ``t_start`` to ``t_end`` (reference clock)."""
    tw, th = _tile_size(views, CLIP_TILE_WIDTH)
    cols = max(1, math.ceil(math.sqrt(len(views))))
    rows = max(1, math.ceil(len(views) / cols))
    width, height = _even(cols * tw), _even(rows * th)
    n = max(1, round((t_end - t_start) * rate_hz))
    times = t_start + np.arange(n) / rate_hz
    readers = [_FrameReader(view.frames) for view in views]
    picks = [nearest_frame(view.t, times, max_distance_s=view.max_gap_s) for view in views]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        container.flags |= av.container.Flags.bitexact.value  # no library version or time in the file
        stream = container.add_stream("libx264", rate=round(rate_hz))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        ctx = stream.codec_context
        ctx.thread_count = 1
        ctx.options = {
            "preset": "veryfast",
            "crf": str(CLIP_CRF),
            "bf": "0",
            "threads": "1",
            "x264-params": "mbtree=0:lookahead-threads=1:threads=1",  # reproducible bitstream
        }
        canvas = np.zeros((height, width, 3), dtype=np.uint8)
        for k in range(n):
            canvas[:] = _BACKGROUND
            for v, view in enumerate(views):
                index, found = picks[v]
                y, x = (v // cols) * th, (v % cols) * tw
                tile = _tile(view, readers[v], int(index[k]) if found[k] else None, (tw, th))
                _text(tile, view.name, (4, 13))
                _text(tile, f"t = {times[k]:.3f} s", (4, th - 6))
                canvas[y : y + th, x : x + tw] = tile
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts = k
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def draw_skeleton(image: np.ndarray, xy: np.ndarray, visible: np.ndarray) -> None:
    """Draw bones (both ends projected, at least one visible) and visible joints on ``image`` in place.

    ``xy`` (J, 2) is in ``image``'s pixels (centres at integers); NaN joints are skipped.
    """
    thickness = 2 if image.shape[1] >= 400 else 1
    fixed = np.where(np.isfinite(xy), np.round(xy * (1 << _SHIFT)), 0).astype(np.int64)
    finite = np.isfinite(xy).all(axis=1)
    for a, b in _BONE_INDEX:
        if finite[a] and finite[b] and (visible[a] or visible[b]):
            pa, pb = (int(fixed[a, 0]), int(fixed[a, 1])), (int(fixed[b, 0]), int(fixed[b, 1]))
            cv2.line(image, pa, pb, _side_colour(JOINT_NAMES[b]), thickness, cv2.LINE_AA, _SHIFT)
    for j in np.flatnonzero(visible & finite).tolist():
        centre = (int(fixed[j, 0]), int(fixed[j, 1]))
        cv2.circle(image, centre, (thickness + 1) << _SHIFT, _side_colour(JOINT_NAMES[j]), -1, cv2.LINE_AA, _SHIFT)


def _tile(view: OverlayView, reader: _FrameReader, index: int | None, size: tuple[int, int]) -> np.ndarray:
    """One view's stored frame ``index`` resized to ``size`` with its skeleton, or a "no frame" tile."""
    tw, th = size
    if index is None:
        tile = np.full((th, tw, 3), 48, dtype=np.uint8)
        _text(tile, "no frame", (tw // 2 - 30, th // 2))
        return tile
    frame = reader.frame(index)
    h, w = frame.shape[:2]
    tile = cv2.resize(frame, (tw, th), interpolation=cv2.INTER_AREA) if (w, h) != (tw, th) else frame.copy()
    if view.keypoints is not None and view.visible is not None:
        xy = to_stored_pixels(view.keypoints[index], (w, h), (tw, th))
        draw_skeleton(tile, xy, view.visible[index])
    return tile


def _tile_size(views: Sequence[OverlayView], max_width: int) -> tuple[int, int]:
    """Tile size from the first view's stored frames: at most ``max_width`` wide, same aspect, even."""
    if not views:
        return _even(max_width), _even(max_width * 9 // 16)
    _, h, w, _ = views[0].frames.shape
    tw = min(max_width, int(w))
    return _even(tw), _even(round(h * tw / w))


def _even(n: int) -> int:
    return max(2, int(n) + (int(n) % 2))


def _side_colour(joint: str) -> tuple[int, int, int]:
    return _LEFT if joint.startswith("l_") else _RIGHT if joint.startswith("r_") else _CENTRE


def _text(image: np.ndarray, text: str, origin: tuple[int, int]) -> None:
    cv2.putText(image, text, origin, _FONT, 0.4, (0, 0, 0), 3, cv2.LINE_AA)  # dark outline: readable on any frame
    cv2.putText(image, text, origin, _FONT, 0.4, _TEXT, 1, cv2.LINE_AA)


class StoredFrames:
    """A stored ``frames`` array (of a Zarr group folder) read with the loaders' chunk reader, a chunk at a time.

    Faster than zarr-python here (no asyncio round trip per read); only the chunks asked for are decoded.
    """

    def __init__(self, group: Path | str, name: str = "frames") -> None:
        self._reader = ZarrRowReader(group)
        self._name = name
        info = self._reader.info(name)
        self.shape = info.shape
        self.chunks = (info.chunk_rows, *info.shape[1:])

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, _ = rows.indices(self.shape[0])
        return self._reader.read_rows(self._name, start, stop)


class _FrameReader:
    """Frames of one view read a chunk at a time (the last chunk kept): ascending reads decode each chunk once."""

    def __init__(self, frames: Any) -> None:
        self._frames = frames
        chunks = getattr(frames, "chunks", None)
        self._rows = int(chunks[0]) if chunks else 16
        self._chunk: tuple[int, np.ndarray] | None = None

    def frame(self, index: int) -> np.ndarray:
        k = index // self._rows
        if self._chunk is None or self._chunk[0] != k:
            self._chunk = (k, np.asarray(self._frames[k * self._rows : (k + 1) * self._rows]))
        return self._chunk[1][index - k * self._rows]
