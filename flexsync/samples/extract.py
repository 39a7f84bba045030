"""Cut a published recording into repetition samples: fixed-length clips per view, pose and EMG.

One sample per annotated repetition. Its span on the reference clock runs from the exposure
start of the annotated start frame to that of the end frame (annotation frames index the
annotated view's file, cam1 by default, and ``streams/<view>/t`` maps them to the reference
clock). ``frame_length`` instants spread uniformly over the span are the sample's time axis:
each view contributes the frame nearest in time to each instant (chosen, never blended), pose
is interpolated with gap masks, and the EMG envelope and physiology are interpolated; the
cleaned EMG rows inside the span are kept at their native rate.

Which streams: every view of the recording's grid (``grid`` attribute ``views``, in that order,
so ``video_index`` columns line up with the grid's and an extra camera gets clips too); for pose,
EMG and physiology the first stream of that kind in the manifest's stream order (a recording
with two EMG devices contributes the first one listed).

Speed: clip building is bound by reading and writing. Every 16-frame source chunk is decoded
once per view (the needed frames are grouped by source chunk, chunks stay cached until the last
repetition that needs them), every sample-view clip is one output chunk written once, and the
zstd encoding of a clip runs in a writer thread while the next clip is decoded.

Output (layout in docs/store-format.md, "Training products"): the recording's samples unit,
its Zarr group and its samples table partition, committed as one unit by
:meth:`flexsync.storage.Store.publish_samples`. The table is validated before anything is
written, and a failure while writing leaves the previous unit whole, so a reader never sees a
new group beside an old table.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import zarr

from flexsync import __version__
from flexsync.config import PipelineSettings
from flexsync.errors import InputFileError
from flexsync.fkg.catalogue import FitnessKnowledgeGraph, default_fkg, read_fkg
from flexsync.ingest.annotations import Repetition, annotated_view, read_repetitions
from flexsync.ingest.recording import RawRecording
from flexsync.raw.layout import FKG_FILE, SUBJECTS_FILE
from flexsync.raw.subjects import SubjectInfo, read_subjects_csv
from flexsync.samples.schemas import PHASE_STRUCT, SCORE_TOLERANCE, validate_sample_table
from flexsync.samples.scores import fkg_score_or_none
from flexsync.skeleton import JOINT_NAMES
from flexsync.storage.direct_chunks import DirectChunkWriter, direct_chunk_writer
from flexsync.storage.store import SAMPLES_TABLE, Store, UnitWriter
from flexsync.storage.zarr_io import STATUS_COMPLETE, create_array, frame_codec_of, set_attrs, write_array
from flexsync.timing.resample import hold_or_interpolate, interpolate_pose, nearest_frame

__all__ = [
    "DEFAULT_FRAME_LENGTH",
    "SAMPLES_FORMAT_VERSION",
    "Repetition",
    "SamplesResult",
    "build_recording_samples",
    "read_repetitions",
    "sample_rows",
]

logger = logging.getLogger(__name__)

SAMPLES_FORMAT_VERSION = 1
DEFAULT_FRAME_LENGTH = 103
# A chosen frame further than this many nominal frame intervals from its instant is flagged invalid.
VIDEO_MAX_GAP_FRAMES = 1.5
# Level 3 decodes as fast as level 1 on clips (~20 ms for 36 MB, bound by memory bandwidth) and
# stores them ~40% smaller; writing costs about the same.
VIDEO_ZSTD_LEVEL = 3
EMG_CHUNK_ROWS = 20000
# Physiology (about 1 Hz) is interpolated across at most this gap, as on the recording's grid.
PHYSIO_MAX_GAP_S = 5.0


@dataclass(frozen=True)
class SamplesResult:
    """What :func:`build_recording_samples` committed, with counts for asset metadata."""

    recording: str
    zarr_path: Path
    table_path: Path
    table: pl.DataFrame
    views: tuple[str, ...]
    frame_length: int
    n_samples: int
    n_source_chunks_read: int
    n_emg_rows: int
    n_invalid_video_frames: int
    n_score_disagreements: int

    @property
    def sample_ids(self) -> list[str]:
        return self.table.get_column("sample_id").to_list()


def build_recording_samples(
    raw_root: Path | str,
    store: Store,
    key: str,
    *,
    frame_length: int = DEFAULT_FRAME_LENGTH,
    fkg: FitnessKnowledgeGraph | None = None,
    settings: PipelineSettings | None = None,
    video_max_gap_frames: float = VIDEO_MAX_GAP_FRAMES,
) -> SamplesResult:
    """Publish the samples unit of one published recording: its samples Zarr group and samples table.

    Idempotent: the unit is replaced whole in one step, so a re-run gives the same bytes.

    Parameters
    ----------
    raw_root : path
        The raw root (annotations.json, fkg.json, subjects.csv, the recording's manifest).
    store : Store
        The store holding the published recording; the samples unit is written there.
    key : str
        Recording key.
    frame_length : int
        Instants per sample, T (103 as in CoRe and FLEX).
    fkg : FitnessKnowledgeGraph, optional
        Default: ``RAW_ROOT/fkg.json``, or the built-in FKG when that file is absent.
    settings : PipelineSettings, optional
        The pipeline's settings (default: the defaults); pose is valid at an instant only if the
        valid mocap samples around it are at most ``settings.pose_max_gap_s`` apart, as on the grid.
    video_max_gap_frames : float
        An instant whose nearest frame is more than this many nominal frame intervals away
        (a dropped-frame gap, or outside the view's span) gets ``video_index`` -1 and
        ``video_valid`` False; its clip frame is the nearest one anyway.

    Raises
    ------
    MissingInputError, RecordingNotReadyError
        The raw recording or its published group is missing or incomplete.
    InputFileError
        Annotations that cannot be read (naming the file, repetition and field), or a subject
        missing from subjects.csv.
    TableValidationError
        The samples table fails its schema; nothing is written then.
    """
    if frame_length < 2:
        raise ValueError(f"frame_length must be >= 2, got {frame_length}")
    pose_max_gap_s = (settings or PipelineSettings()).pose_max_gap_s
    raw = RawRecording.open(raw_root, key)
    fkg = fkg if fkg is not None else _load_fkg(Path(raw_root))
    recording = store.open_recording(key)
    view = annotated_view(raw, _stream_names(recording))
    view_t = np.asarray(recording[f"streams/{view}/t"][:], dtype=np.float64)
    reps = read_repetitions(raw, n_frames=view_t.size)
    table = sample_rows(raw, recording, reps, view_t, fkg=fkg)
    table = validate_sample_table(table, SAMPLES_TABLE)  # before anything is written

    instants = np.zeros((len(reps), frame_length), dtype=np.float64)
    for r, (t0, t1) in enumerate(table.select("t_start_s", "t_end_s").rows()):
        instants[r] = np.linspace(t0, t1, frame_length)
    with store.publish_samples(key) as unit:
        stats = _write_samples_group(
            unit,
            recording,
            instants,
            streams=_streams_in_manifest_order(raw, recording),
            sample_ids=table.get_column("sample_id").to_list(),
            pose_max_gap_s=pose_max_gap_s,
            video_max_gap_frames=video_max_gap_frames,
        )
        store.write_unit_parquet(unit, SAMPLES_TABLE, table)
    disagreements = int((~table.get_column("score_agrees")).sum())
    logger.info(
        "recording %s: %d samples x %d views x %d frames (%d source chunks read, %d invalid frames), "
        "%d EMG rows, %d score disagreements",
        key,
        len(reps),
        len(stats["views"]),
        frame_length,
        stats["chunks_read"],
        stats["invalid_frames"],
        stats["emg_rows"],
        disagreements,
    )
    return SamplesResult(
        recording=key,
        zarr_path=store.samples_path(key),
        table_path=store.table_partition(SAMPLES_TABLE, key),
        table=table,
        views=tuple(stats["views"]),
        frame_length=frame_length,
        n_samples=len(reps),
        n_source_chunks_read=stats["chunks_read"],
        n_emg_rows=stats["emg_rows"],
        n_invalid_video_frames=stats["invalid_frames"],
        n_score_disagreements=disagreements,
    )


def sample_rows(
    raw: RawRecording,
    recording: zarr.Group,
    reps: list[Repetition],
    view_t: np.ndarray,
    *,
    fkg: FitnessKnowledgeGraph,
) -> pl.DataFrame:
    """The samples table of one recording (not validated): one row per repetition.

    ``view_t`` is the annotated view's ``t`` (reference-clock exposure start of each stored frame).
    ``emg_channels`` names the channels of the recording's first EMG stream in manifest order,
    the one whose EMG the samples carry.
    """
    key = raw.key
    attrs = recording.attrs
    subject = str(attrs["subject"])
    action = str(attrs["action"])
    skill = _skill_of(Path(raw.raw_root), subject, key)
    emg_name = _first_of_kind(_streams_in_manifest_order(raw, recording), "emg")
    emg_channels = [str(c) for c in recording[f"streams/{emg_name}"].attrs.get("channel_names", [])] if emg_name else []
    rows = []
    for rep in reps:
        score = fkg_score_or_none(fkg, action, rep.errors)
        agrees = score is not None and abs(rep.score - score) <= SCORE_TOLERANCE
        rows.append(
            {
                "recording": key,
                "sample_id": f"{key}_R{rep.index:02d}",
                "subject": subject,
                "skill": skill,
                "action": action,
                "class_idx": int(action[1:]),
                "take": int(attrs["take"]),
                "rep_index": rep.index,
                "t_start_s": float(view_t[rep.start_frame]),
                "t_end_s": float(view_t[rep.end_frame]),
                "phases": [
                    {"phase": p, "key_step": k, "t_start_s": float(view_t[a]), "t_end_s": float(view_t[b])}
                    for p, k, a, b in rep.phases
                ],
                "errors": list(rep.errors),
                "error_key_steps": list(rep.error_key_steps),
                "feedback": list(rep.feedback),
                "expert_score": rep.score,
                "fkg_score": score,
                "score_agrees": agrees,
                "emg_channels": emg_channels,
            }
        )
    return pl.DataFrame(rows, schema=_ROW_SCHEMA)


_ROW_SCHEMA = {
    "recording": pl.String, "sample_id": pl.String, "subject": pl.String, "skill": pl.String, "action": pl.String,
    "class_idx": pl.Int32, "take": pl.Int32, "rep_index": pl.Int32, "t_start_s": pl.Float64, "t_end_s": pl.Float64,
    "phases": pl.List(PHASE_STRUCT), "errors": pl.List(pl.String), "error_key_steps": pl.List(pl.String),
    "feedback": pl.List(pl.String), "expert_score": pl.Float64, "fkg_score": pl.Float64, "score_agrees": pl.Boolean,
    "emg_channels": pl.List(pl.String),
}  # fmt: skip


# --- the samples group ---------------------------------------------------------------------------


def _write_samples_group(
    unit: UnitWriter,
    recording: zarr.Group,
    instants: np.ndarray,
    *,
    streams: list[tuple[str, str]],
    sample_ids: list[str],
    pose_max_gap_s: float,
    video_max_gap_frames: float,
) -> dict[str, Any]:
    """Write the samples group into ``unit``; ``streams`` is (name, kind) in manifest order."""
    n_reps, n_t = instants.shape
    flat = instants.reshape(-1)
    views = _grid_views(recording)
    emg_name = _first_of_kind(streams, "emg")
    emg_attrs = dict(recording[f"streams/{emg_name}"].attrs) if emg_name else {}
    first = recording[f"streams/{views[0]}/frames"] if views else None
    height, width = (int(first.shape[1]), int(first.shape[2])) if first is not None else (0, 0)
    group = unit.open_zarr(
        {
            "flexsync_samples": SAMPLES_FORMAT_VERSION,
            "recording": str(recording.attrs["recording"]),
            "frame_length": n_t,
            "views": views,
            "height": height,
            "width": width,
            "joint_names": list(JOINT_NAMES),
            "emg_channel_names": list(emg_attrs.get("channel_names", [])),
            "emg_rate_hz": float(emg_attrs.get("nominal_rate_hz", 0.0)),
            "sample_ids": sample_ids,
            "code_version": __version__,
            "parameters": {"pose_max_gap_s": pose_max_gap_s, "video_max_gap_frames": video_max_gap_frames},
            "status": "in progress",
        },
    )
    write_array(group, "t", instants, attrs={"units": "s", "clock": "reference"})
    video_index = np.full((n_reps, len(views), n_t), -1, dtype=np.int32)
    video_valid = np.zeros((n_reps, len(views), n_t), dtype=bool)
    chunks_read = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="samples-write") as writer:
        for v, view in enumerate(views):
            index, valid, n_read = _write_view(group, recording, view, instants, video_max_gap_frames, writer)
            _write_view_keypoints(group, recording[f"streams/{view}"], view, index)
            video_index[:, v] = np.where(valid, index, -1)
            video_valid[:, v] = valid
            chunks_read += n_read
    write_array(group, "video_index", video_index)
    write_array(group, "video_valid", video_valid)
    _write_pose(group, recording, _first_of_kind(streams, "mocap"), flat, (n_reps, n_t), pose_max_gap_s)
    emg_rows = _write_emg(group, recording, emg_name, instants)
    _write_physio(group, recording, _first_of_kind(streams, "physio"), flat, (n_reps, n_t))
    set_attrs(group, {"status": STATUS_COMPLETE})
    invalid = int((~video_valid).sum())
    return {"views": views, "chunks_read": chunks_read, "emg_rows": emg_rows, "invalid_frames": invalid}


def _write_view(
    group: zarr.Group,
    recording: zarr.Group,
    view: str,
    instants: np.ndarray,
    max_gap_frames: float,
    writer: ThreadPoolExecutor,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Choose, read and write one view's clips; return (frame index (R, T), valid (R, T), chunks read)."""
    stream = recording[f"streams/{view}"]
    frames = stream["frames"]
    ft = np.asarray(stream["t"][:], dtype=np.float64)
    n_reps, n_t = instants.shape
    index, _ = nearest_frame(ft, instants.reshape(-1), max_distance_s=np.inf)
    index = index.reshape(n_reps, n_t)
    if ft.size == 0:
        raise InputFileError(f"view {view} has no frames", recording=str(recording.attrs["recording"]), stream=view)
    valid = np.abs(ft[index] - instants) <= max_gap_frames / float(stream.attrs["nominal_rate_hz"])
    _, h, w, c = frames.shape
    out = create_array(
        group,
        f"video/{view}",
        shape=(n_reps, n_t, h, w, c),
        dtype="uint8",
        chunks=(1, n_t, h, w, c),
        **_clip_codec(frames),
        attrs={"height": h, "width": w, "source": f"streams/{view}/frames"},
        dimension_names=("sample", "time", "y", "x", "rgb"),
        write_empty_chunks=True,  # a clip is never all zeros: skip zarr's scan of every clip
    )
    chunk_len = int(frames.chunks[0])
    source_chunk = index // chunk_len
    last_use = {}
    for r in range(n_reps):
        for ch in np.unique(source_chunk[r]).tolist():
            last_use[ch] = r
    cache: dict[int, np.ndarray] = {}
    pending: Future | None = None
    direct = direct_chunk_writer(out)
    for r in range(n_reps):
        clip = np.empty((n_t, h, w, c), dtype=np.uint8)
        for ch in np.unique(source_chunk[r]).tolist():
            if ch not in cache:
                cache[ch] = frames[ch * chunk_len : (ch + 1) * chunk_len]
            rows = np.flatnonzero(source_chunk[r] == ch)
            clip[rows] = cache[ch][index[r, rows] - ch * chunk_len]
            if last_use[ch] == r:
                del cache[ch]
        # One clip is encoded and written while the next one is decoded (memory: two clips).
        if pending is not None:
            pending.result()
        pending = writer.submit(_store_row, out, direct, r, clip)
    if pending is not None:
        pending.result()
    return index, valid, len(last_use)


def _write_view_keypoints(group: zarr.Group, stream: zarr.Group, view: str, index: np.ndarray) -> None:
    """The 2D keypoints of each clip frame (``index`` (R, T): the source frames chosen), for a calibrated view."""
    if "keypoints_2d" not in stream or "keypoints_visible" not in stream:
        return  # a view without calibration has no keypoints in the recording, so none in its clips
    xy = np.asarray(stream["keypoints_2d"][:], dtype=np.float32)[index]
    visible = np.asarray(stream["keypoints_visible"][:], dtype=bool)[index]
    source = f"streams/{view}"
    write_array(group, f"keypoints_2d/{view}", xy, attrs={"units": "px", "source": f"{source}/keypoints_2d"})
    write_array(group, f"keypoints_visible/{view}", visible, attrs={"source": f"{source}/keypoints_visible"})


def _store_row(array: zarr.Array, direct: DirectChunkWriter | None, row: int, clip: np.ndarray) -> None:
    if direct is not None:
        direct.write(row, clip[None])  # one clip is one chunk: straight to its file
    else:
        array[row] = clip


def _write_pose(group, recording, name: str | None, flat, shape, max_gap_s: float) -> None:
    n_reps, n_t = shape
    if name is None:
        pose = np.full((flat.size, len(JOINT_NAMES), 3), np.nan, dtype=np.float32)
        mask = np.zeros((flat.size, len(JOINT_NAMES)), dtype=bool)
    else:
        g = recording[f"streams/{name}"]
        pose, mask = interpolate_pose(g["t"][:], g["joints"][:], g["valid"][:], flat, max_gap_s=max_gap_s)
    write_array(group, "pose", pose.reshape(n_reps, n_t, -1, 3), attrs={"units": "m"})
    write_array(group, "pose_valid", mask.reshape(n_reps, n_t, -1))


def _write_emg(group: zarr.Group, recording: zarr.Group, name: str | None, instants: np.ndarray) -> int:
    n_reps, n_t = instants.shape
    if name is None:
        n_ch = 0
        env = np.full((n_reps * n_t, 0), np.nan, dtype=np.float32)
        env_valid = np.zeros(n_reps * n_t, dtype=bool)
        pieces, times = [], []
    else:
        g = recording[f"streams/{name}"]
        n_ch = int(g["clean"].shape[1])
        rate = float(g.attrs["envelope_rate_hz"])
        env, env_mask = hold_or_interpolate(
            g["envelope_t"][:], g["envelope"][:], instants.reshape(-1), mode="linear", max_gap_s=2.5 / rate
        )
        env_valid = env_mask.all(axis=1)
        t = np.asarray(g["t"][:], dtype=np.float64)
        clean = g["clean"]
        pieces, times = [], []
        for t0, t1 in zip(instants[:, 0], instants[:, -1], strict=True):
            a, b = int(np.searchsorted(t, t0, side="left")), int(np.searchsorted(t, t1, side="right"))
            pieces.append(np.asarray(clean[a:b], dtype=np.float32))
            times.append(t[a:b])
    offsets = np.zeros(n_reps + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([p.shape[0] for p in pieces], dtype=np.int64) if pieces else 0
    emg = np.concatenate(pieces) if pieces else np.zeros((0, n_ch), dtype=np.float32)
    emg_t = np.concatenate(times) if times else np.zeros(0, dtype=np.float64)
    write_array(group, "emg_envelope", env.reshape(n_reps, n_t, n_ch), attrs={"units": "uV"})
    write_array(group, "emg_envelope_valid", env_valid.reshape(n_reps, n_t))
    rows = max(1, min(EMG_CHUNK_ROWS, emg.shape[0]))
    emg_attrs = {"units": "uV", "source": f"streams/{name}/clean"}
    write_array(group, "emg", emg, chunks=(rows, max(1, n_ch)), attrs=emg_attrs)
    write_array(group, "emg_t", emg_t, chunks=(rows,), attrs={"units": "s", "clock": "reference"})
    write_array(group, "emg_offsets", offsets)
    return int(emg.shape[0])


def _write_physio(group, recording, name: str | None, flat: np.ndarray, shape: tuple[int, int]) -> None:
    n_reps, n_t = shape
    if name is None:
        values = np.full((flat.size, 2), np.nan, dtype=np.float32)
        mask = np.zeros((flat.size, 2), dtype=bool)
    else:
        g = recording[f"streams/{name}"]
        values, mask = hold_or_interpolate(g["t"][:], g["values"][:], flat, mode="linear", max_gap_s=PHYSIO_MAX_GAP_S)
    write_array(group, "physio", values.reshape(n_reps, n_t, -1), attrs={"units": "1/min"})
    write_array(group, "physio_valid", mask.all(axis=1).reshape(n_reps, n_t))


# --- inputs --------------------------------------------------------------------------------------


def _stream_names(recording: zarr.Group) -> list[str]:
    streams = recording["streams"]
    return sorted(name for name, _ in streams.groups())


def _streams_in_manifest_order(raw: RawRecording, recording: zarr.Group) -> list[tuple[str, str]]:
    """(name, kind) of the recording's streams, in the manifest's order (streams it lacks left out)."""
    present = set(_stream_names(recording))
    ordered = [name for name in raw.manifest.streams if name in present]
    ordered += sorted(present - set(ordered))  # published but not in the manifest: after, by name
    return [(name, str(recording[f"streams/{name}"].attrs.get("kind"))) for name in ordered]


def _first_of_kind(streams: list[tuple[str, str]], kind: str) -> str | None:
    return next((name for name, k in streams if k == kind), None)


def _grid_views(recording: zarr.Group) -> list[str]:
    """The video streams of the recording's grid, in the grid's order (its ``video_frame_index`` columns)."""
    views = [str(v) for v in recording["grid"].attrs.get("views", [])]
    streams = set(_stream_names(recording))
    missing = [v for v in views if v not in streams or recording[f"streams/{v}"].attrs.get("kind") != "video"]
    if missing:
        raise InputFileError(
            f"grid views {missing} are not video streams of the recording; republish it",
            recording=str(recording.attrs["recording"]),
        )
    return views


def _load_fkg(raw_root: Path) -> FitnessKnowledgeGraph:
    path = raw_root / FKG_FILE
    if path.is_file():
        return read_fkg(path)
    logger.warning("no %s in raw root %s: using the built-in FKG", FKG_FILE, raw_root)
    return default_fkg()


def _skill_of(raw_root: Path, subject: str, key: str) -> str:
    path = raw_root / SUBJECTS_FILE
    subjects: dict[str, SubjectInfo] = {s.id: s for s in read_subjects_csv(path)}
    if subject not in subjects:
        raise InputFileError(f"subject {subject} is not listed (needed for its skill level)", path=path, recording=key)
    return subjects[subject].skill


def _clip_codec(frames: zarr.Array) -> dict[str, Any]:
    """Clips are stored like their source frames: one H.264 GOP per clip, or zstd (lossless sources)."""
    codec = frame_codec_of(frames)
    return codec if codec["compressor"] == "h264" else {"compressor": "zstd", "zstd_level": VIDEO_ZSTD_LEVEL}
