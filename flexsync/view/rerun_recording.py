"""One published recording as a Rerun recording: every stream on the reference clock and on its own clock.

What a person checks by eye after a sync: do the views, the skeleton and the signals move
together? Every sample is logged at its reference-clock time (timeline ``reference``, the store's
``t``) and at its device time (timeline ``t_device_<stream>``, the store's ``t_device``), so the
viewer can switch between the aligned recording and what each device recorded. Entity paths
and timeline names are in :mod:`flexsync.view.entities`.

Video is the stored H.264, remuxed into one MP4 per view (:mod:`flexsync.view.mp4`) and shown
frame by frame through frame references; ``video="jpeg"`` logs decoded frames as JPEG images
instead (bigger and slower, but needs no H.264 decoder in the viewer). Long signals go through
Rerun's columnar ``send_columns``, one store chunk at a time.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np
import polars as pl
import rerun as rr
import zarr

from flexsync.skeleton import BONES, JOINT_NAMES, joint_index
from flexsync.storage import Store
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.view import entities as ent
from flexsync.view.blueprint import default_blueprint
from flexsync.view.mp4 import frames_mp4

__all__ = ["APPLICATION_ID", "VideoMode", "ViewOptions", "ViewSummary", "write_rerun_recording"]

APPLICATION_ID = "flexsync"
VideoMode = Literal["h264", "jpeg", "none"]
_SIGNAL_BLOCK_ROWS = 20_000  # rows per columnar send: the store's EMG chunk (10 s at 2 kHz)
_BODY_CLASS = 0


@dataclass(frozen=True)
class ViewOptions:
    """What to log: which views, which reference-clock window, how to carry frames, raw EMG or not."""

    views: tuple[str, ...] | None = None  # None: every video stream of the recording
    start_s: float | None = None  # reference clock; None: from the first sample
    end_s: float | None = None  # reference clock; None: to the last sample
    video: VideoMode = "h264"
    jpeg_quality: int = 85
    emg_raw: bool = True


@dataclass
class ViewSummary:
    """What was logged: entity paths, frames per view, EMG rows per stream, wall time and file size."""

    key: str
    entities: list[str] = field(default_factory=list)
    frames: dict[str, int] = field(default_factory=dict)
    emg_samples: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    path: Path | None = None
    bytes: int | None = None


def write_rerun_recording(
    store_root: Path | str, key: str, *, save: Path | str | None = None, options: ViewOptions | None = None
) -> ViewSummary:
    """Log recording ``key`` of the store to ``save`` (an .rrd file) or, without it, to a spawned viewer.

    Raises
    ------
    MissingInputError
        If the store has no published recording ``key``.
    ValueError
        If ``options`` names a view the recording lacks or an empty time window.
    """
    started = time.perf_counter()
    options = options or ViewOptions()
    store = Store(store_root)
    group = store.open_recording(key)
    kinds = {name: str(node.attrs.get("kind")) for name, node in group["streams"].groups()}
    all_views = [str(v) for v in group["grid"].attrs.get("views", [])] or sorted(
        n for n, k in kinds.items() if k == "video"
    )
    views = list(options.views) if options.views is not None else all_views
    unknown = [v for v in views if v not in all_views]
    if unknown:
        raise ValueError(f"recording {key} has no view {', '.join(unknown)}; its views: {', '.join(all_views)}")
    if options.video == "none":
        views = []
    window = _Window(options.start_s, options.end_s)
    by_kind = {kind: sorted(n for n, k in kinds.items() if k == kind) for kind in ("mocap", "emg", "physio")}
    repetitions = _repetitions(store, key)
    blueprint = default_blueprint(
        views=views,
        mocap=by_kind["mocap"],
        emg=by_kind["emg"],
        physio=by_kind["physio"],
        emg_raw=options.emg_raw,
        repetitions=repetitions is not None,
    )
    summary = ViewSummary(key=key, path=None if save is None else Path(save))
    # Written beside the target and renamed at the end: a failed write leaves no half .rrd behind.
    partial = None if summary.path is None else summary.path.with_name(f".{summary.path.name}.partial")
    strict = rr.strict_mode()
    rr.set_strict_mode(True)  # a rejected log call raises instead of warning and logging nothing
    rec = rr.RecordingStream(APPLICATION_ID, recording_id=key)
    done = False
    try:
        if partial is not None:
            rec.save(partial, default_blueprint=blueprint)
        else:
            rr.spawn(recording=rec, default_blueprint=blueprint, executable_path=_viewer_executable())
        rec.send_recording_name(key)
        writer = _Writer(rec, window, summary)
        writer.static(group, store, key)
        reader = ZarrRowReader(store.recording_path(key))
        for view in views:
            writer.video(group[f"streams/{view}"], view, reader, options)
        for stream in by_kind["mocap"]:
            writer.mocap(group[f"streams/{stream}"], stream)
        for stream in by_kind["emg"]:
            writer.emg(group[f"streams/{stream}"], stream, raw=options.emg_raw)
        for stream in by_kind["physio"]:
            writer.physio(group[f"streams/{stream}"], stream)
        writer.sync_events(pl.read_parquet(store.table_partition("sync_events", key)))
        if repetitions is not None:
            writer.repetitions(repetitions)
        rec.flush()
        done = True
    finally:
        rec.disconnect()
        rr.set_strict_mode(strict)
        if partial is not None and summary.path is not None:
            if done:
                os.replace(partial, summary.path)
            else:
                partial.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - started
    if summary.path is not None:
        summary.bytes = summary.path.stat().st_size
    return summary


def _viewer_executable() -> str | None:
    """The ``rerun`` viewer: on PATH, else beside this Python (a virtualenv that is not activated)."""
    if shutil.which("rerun"):
        return None
    beside = Path(sys.executable).with_name("rerun")
    return str(beside) if beside.is_file() else None


def _repetitions(store: Store, key: str) -> pl.DataFrame | None:
    """The recording's annotated repetitions (its samples table), or None when its samples are not built."""
    path = store.table_partition("samples", key)
    if not path.is_file():
        return None
    return pl.read_parquet(path, columns=["rep_index", "t_start_s", "t_end_s", "phases", "expert_score"])


class _Window:
    """The rows of a reference-clock time array inside ``[start_s, end_s]``."""

    def __init__(self, start_s: float | None, end_s: float | None) -> None:
        if start_s is not None and end_s is not None and end_s <= start_s:
            raise ValueError(f"empty time window: end {end_s} s is not after start {start_s} s")
        self.start_s, self.end_s = start_s, end_s

    def rows(self, t: np.ndarray) -> slice:
        lo = 0 if self.start_s is None else int(np.searchsorted(t, self.start_s, side="left"))
        hi = t.size if self.end_s is None else int(np.searchsorted(t, self.end_s, side="right"))
        return slice(lo, max(lo, hi))

    def mask(self, t: np.ndarray) -> np.ndarray:
        keep = np.ones(t.shape, dtype=bool)
        if self.start_s is not None:
            keep &= t >= self.start_s
        if self.end_s is not None:
            keep &= t <= self.end_s
        return keep


def _ns(seconds: np.ndarray) -> np.ndarray:
    """Seconds as nanosecond durations, rounded (Rerun's duration timelines count integer nanoseconds)."""
    return np.round(np.asarray(seconds, dtype=np.float64) * 1e9).astype(np.int64).astype("timedelta64[ns]")


def _blocks(rows: slice, size: int) -> Iterator[tuple[int, int]]:
    for lo in range(rows.start, rows.stop, size):
        yield lo, min(rows.stop, lo + size)


class _Writer:
    """Logs the parts of one recording to one recording stream."""

    def __init__(self, rec: rr.RecordingStream, window: _Window, summary: ViewSummary) -> None:
        self.rec, self.window, self.summary = rec, window, summary

    def _indexes(self, stream: str, t: np.ndarray, t_device: np.ndarray) -> list[rr.TimeColumn]:
        return [
            rr.TimeColumn(ent.REFERENCE_TIMELINE, duration=_ns(t)),
            rr.TimeColumn(ent.device_timeline(stream), duration=_ns(t_device)),
        ]

    def _send(self, entity: str, indexes: list[rr.TimeColumn], columns: Any) -> None:
        self.rec.send_columns(entity, indexes=indexes, columns=columns)
        if entity not in self.summary.entities:
            self.summary.entities.append(entity)

    def static(self, group: zarr.Group, store: Store, key: str) -> None:
        """The body model (keypoint names and bones, for 2D and 3D), Z-up lab axes and a text summary."""
        body = rr.ClassDescription(
            info=rr.AnnotationInfo(id=_BODY_CLASS, label="body"),
            keypoint_annotations=[rr.AnnotationInfo(id=i, label=name) for i, name in enumerate(JOINT_NAMES)],
            keypoint_connections=[(joint_index(a), joint_index(b)) for a, b in BONES],
        )
        self.rec.log("/", rr.AnnotationContext([body]), static=True)
        self.rec.log(
            ent.RECORDING_INFO,
            rr.TextDocument(_info_markdown(group, store, key), media_type="text/markdown"),
            static=True,
        )
        self.summary.entities.append(ent.RECORDING_INFO)

    def video(self, group: zarr.Group, view: str, reader: ZarrRowReader, options: ViewOptions) -> None:
        """The view's frames in the window, and its 2D keypoints when the store has them."""
        t, t_device = group["t"][:], group["t_device"][:]
        rows = self.window.rows(t)
        entity = ent.video_entity(view)
        self.summary.frames[view] = rows.stop - rows.start
        if rows.stop == rows.start:
            return
        rel = f"streams/{view}/frames"
        if options.video == "h264":
            mp4 = frames_mp4(reader, rel, rows.start, rows.stop, rate_hz=float(group.attrs["nominal_rate_hz"]))
            asset = rr.AssetVideo(contents=mp4.data, media_type="video/mp4")
            self.rec.log(entity, asset, static=True)
            stamps = np.sort(asset.read_frame_timestamps_nanos())
            if stamps.size != mp4.n_frames:
                raise ValueError(f"{view}: the MP4 of {mp4.n_frames} frames reads back as {stamps.size} frames")
            shown = stamps[rows.start - mp4.first_row : rows.stop - mp4.first_row]
            self._send(
                entity, self._indexes(view, t[rows], t_device[rows]), rr.VideoFrameReference.columns_nanos(shown)
            )
        else:
            self.rec.log(entity, rr.EncodedImage.from_fields(media_type="image/jpeg"), static=True)
            for lo, hi in _blocks(rows, reader.info(rel).chunk_rows):
                frames = reader.read_rows(rel, lo, hi)
                blobs = [_jpeg(frame, options.jpeg_quality) for frame in frames]
                self._send(entity, self._indexes(view, t[lo:hi], t_device[lo:hi]), rr.EncodedImage.columns(blob=blobs))
        if "keypoints_2d" in group and "keypoints_visible" in group:
            points = group["keypoints_2d"][rows]
            shown = group["keypoints_visible"][rows] & np.isfinite(points).all(axis=-1)
            frame, joint = np.nonzero(shown)
            # Keypoints put pixel centres at integers; Rerun puts the top-left pixel's centre at (0.5, 0.5).
            columns = rr.Points2D.columns(
                positions=points[frame, joint].astype(np.float32) + 0.5,
                keypoint_ids=joint.astype(np.uint16),
                class_ids=np.full(joint.size, _BODY_CLASS, dtype=np.uint16),
            ).partition(shown.sum(axis=1))
            self._send(ent.keypoints_entity(view), self._indexes(view, t[rows], t_device[rows]), columns)

    def mocap(self, group: zarr.Group, stream: str) -> None:
        """Measured joints per mocap frame (occluded joints left out); bones come from the annotation context."""
        t, t_device = group["t"][:], group["t_device"][:]
        rows = self.window.rows(t)
        joints = group["joints"][rows]
        valid = group["valid"][rows] & np.isfinite(joints).all(axis=-1)
        frame, joint = np.nonzero(valid)
        columns = rr.Points3D.columns(
            positions=joints[frame, joint].astype(np.float32),
            keypoint_ids=joint.astype(np.uint16),
            class_ids=np.full(joint.size, _BODY_CLASS, dtype=np.uint16),
        ).partition(valid.sum(axis=1))
        entity = ent.joints_entity(stream)
        self.rec.log(f"mocap/{stream}", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)  # lab frame: Z up
        self.rec.log(entity, rr.Points3D.from_fields(radii=[0.02]), static=True)
        self._send(entity, self._indexes(stream, t[rows], t_device[rows]), columns)

    def emg(self, group: zarr.Group, stream: str, *, raw: bool) -> None:
        """The envelope and (unless ``raw`` is False) the raw channels, one series per channel."""
        names = [str(c) for c in group.attrs["channel_names"]]
        signals = [("envelope", "envelope_t", "envelope_t_device")] + ([("raw", "t", "t_device")] if raw else [])
        for signal, t_name, device_name in signals:
            t, t_device = group[t_name][:], group[device_name][:]
            rows = self.window.rows(t)
            entity = ent.emg_entity(stream, signal)
            self.rec.log(entity, rr.SeriesLines(names=names), static=True)
            for lo, hi in _blocks(rows, _SIGNAL_BLOCK_ROWS):
                values = np.asarray(group[signal][lo:hi], dtype=np.float64)
                self._send(entity, self._indexes(stream, t[lo:hi], t_device[lo:hi]), rr.Scalars.columns(scalars=values))
            if signal == "raw":
                self.summary.emg_samples[stream] = rows.stop - rows.start

    def physio(self, group: zarr.Group, stream: str) -> None:
        """Each rate (heart, breathing) as its own series."""
        t, t_device, values = group["t"][:], group["t_device"][:], group["values"][:]
        rows = self.window.rows(t)
        for column, channel in enumerate(str(c) for c in group.attrs["channel_names"]):
            entity = ent.physio_entity(stream, channel)
            self.rec.log(entity, rr.SeriesLines(names=[channel]), static=True)
            scalars = np.asarray(values[rows, column], dtype=np.float64)
            self._send(entity, self._indexes(stream, t[rows], t_device[rows]), rr.Scalars.columns(scalars=scalars))

    def sync_events(self, events: pl.DataFrame) -> None:
        """One text line per sync event, at its reference time and at its time on the stream's clock."""
        events = events.filter(pl.Series(self.window.mask(events["t_ref_s"].to_numpy()))).sort("t_ref_s")
        for (stream,), rows in events.group_by("stream", maintain_order=True):
            text = [
                f"{stream} event {r['event']} ({r['source']}): t_device {r['t_device_s']:.6f} s, "
                + ("no reference event" if r["residual_s"] is None else f"residual {r['residual_s'] * 1e3:+.3f} ms")
                for r in rows.iter_rows(named=True)
            ]
            self._send(
                ent.sync_events_entity(str(stream)),
                self._indexes(str(stream), rows["t_ref_s"].to_numpy(), rows["t_device_s"].to_numpy()),
                rr.TextLog.columns(text=text, level=["INFO"] * len(text)),
            )

    def repetitions(self, reps: pl.DataFrame) -> None:
        """Repetition and phase spans as state lanes: a state at each start, a reset at each end."""
        spans: list[tuple[float, str]] = []
        phases: list[tuple[float, str]] = []
        for rep in reps.sort("rep_index").iter_rows(named=True):
            label = f"R{rep['rep_index']:02d} (score {rep['expert_score']:g})"
            spans += [(rep["t_start_s"], label), (rep["t_end_s"], "")]
            for phase in rep["phases"] or []:
                phases += [(phase["t_start_s"], f"{phase['phase']}: {phase['key_step']}"), (phase["t_end_s"], "")]
        for entity, changes in ((ent.REPETITIONS, spans), (ent.REPETITION_PHASES, phases)):
            changes = sorted((c for c in changes if self.window.mask(np.array([c[0]]))[0]), key=lambda c: c[0])
            if not changes:
                continue
            times = np.array([c[0] for c in changes])
            self._send(
                entity,
                [rr.TimeColumn(ent.REFERENCE_TIMELINE, duration=_ns(times))],
                rr.StateChange.columns(state=[c[1] for c in changes]),
            )


def _jpeg(frame: np.ndarray, quality: int) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding of a frame failed")
    return data.tobytes()


def _info_markdown(group: zarr.Group, store: Store, key: str) -> str:
    """Subject, action, take, reference stream and one line per clock-model segment."""
    attrs = group.attrs
    lines = [
        f"# {key}",
        "",
        f"subject {attrs['subject']}, action {attrs['action']}, take {attrs['take']}; "
        f"reference clock: {attrs['reference_stream']}",
        "",
        "| stream | segment | method | offset (s) | drift (ppm) | events | max residual (ms) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    path = store.table_partition("clock_models", key)
    if path.is_file():
        for m in pl.read_parquet(path).sort("stream", "segment").iter_rows(named=True):
            lines.append(
                f"| {m['stream']} | {m['segment']} | {m['method']} | {m['offset_s']:.6f} | {m['drift_ppm']:.2f} "
                f"| {m['n_events']} | {m['max_abs_residual_s'] * 1e3:.3f} |"
            )
    return "\n".join(lines)
