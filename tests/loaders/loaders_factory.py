"""Factories for small stores the loader tests read: samples groups, training tables, recordings.

A plain module (not conftest) so tests and the benchmark script import it by a unique name.

The samples groups and training tables are written here, array by array, per the contract in
docs/store-format.md ("Training products"), with random content whose ground truth the tests keep:
the loaders are tested on inputs that do not depend on the samples builder
(flexsync/samples/extract.py). Every path comes from a :class:`flexsync.storage.Store`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from flexsync.skeleton import JOINT_NAMES, N_JOINTS
from flexsync.storage import Store
from flexsync.storage.zarr_io import create_array, write_array

FRAME_LENGTH = 103
EMG_CHANNELS = 16


@dataclass
class SamplesTruth:
    """What was written: per recording its arrays, and the sample table rows."""

    root: Path
    arrays: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)

    def row(self, sample_id: str) -> dict:
        return next(r for r in self.rows if r["sample_id"] == sample_id)


def write_samples_group(
    root: Path,
    key: str,
    *,
    n_reps: int,
    views: tuple[str, ...],
    height: int,
    width: int,
    rng: np.random.Generator,
    frames: np.ndarray | None = None,
    video_compressor: str | None = "zstd",
) -> dict[str, np.ndarray]:
    """One samples group per the contract, published in the store at ``root``; returns its arrays."""
    t_len = FRAME_LENGTH
    arrays: dict[str, np.ndarray] = {}
    starts = 1.0 + 3.0 * np.arange(n_reps)
    arrays["t"] = np.stack([np.linspace(s, s + 2.5, t_len) for s in starts])
    for v, view in enumerate(views):
        if frames is None:
            clip = rng.integers(0, 256, size=(n_reps, t_len, height, width, 3), dtype=np.uint8)
            clip[:, :, 0, 0, 0] = np.arange(t_len, dtype=np.uint8)  # frame number visible in pixel (0, 0)
            clip[:, :, 0, 0, 1] = np.arange(n_reps, dtype=np.uint8)[:, None]
            clip[:, :, 0, 0, 2] = v
        else:
            clip = np.stack([np.roll(frames, 7 * (r + 3 * v), axis=0)[:t_len] for r in range(n_reps)])
        arrays[f"video/{view}"] = clip
    index = np.tile(np.arange(t_len, dtype=np.int32), (n_reps, len(views), 1))
    index[:, :, -1] = -1  # last instant: nearest frame too far
    arrays["video_index"] = index
    arrays["video_valid"] = index >= 0
    pose = rng.normal(0.0, 0.5, size=(n_reps, t_len, N_JOINTS, 3)).astype(np.float32)
    pose_valid = rng.random((n_reps, t_len, N_JOINTS)) > 0.1
    pose[~pose_valid] = np.nan
    arrays["pose"], arrays["pose_valid"] = pose, pose_valid
    env = rng.random((n_reps, t_len, EMG_CHANNELS), dtype=np.float32) * 50
    env_valid = np.ones((n_reps, t_len), dtype=bool)
    env_valid[:, :3] = False
    env[~env_valid] = np.nan
    arrays["emg_envelope"], arrays["emg_envelope_valid"] = env, env_valid
    lengths = 100 + 10 * np.arange(n_reps)
    arrays["emg_offsets"] = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    arrays["emg"] = rng.normal(size=(int(lengths.sum()), EMG_CHANNELS)).astype(np.float32)
    arrays["emg_t"] = np.arange(int(lengths.sum()), dtype=np.float64) / 2000.0
    arrays["physio"] = (60 + rng.random((n_reps, t_len, 2)) * 20).astype(np.float32)
    arrays["physio_valid"] = np.ones((n_reps, t_len), dtype=bool)
    sample_ids = [f"{key}_R{r + 1:02d}" for r in range(n_reps)]
    attrs = {
        "flexsync_samples": 1,
        "recording": key,
        "frame_length": t_len,
        "views": list(views),
        "height": height,
        "width": width,
        "joint_names": list(JOINT_NAMES),
        "emg_channel_names": [f"ch{c:02d}" for c in range(EMG_CHANNELS)],
        "emg_rate_hz": 2000.0,
        "sample_ids": sample_ids,
        "status": "complete",
    }
    store = Store(root)
    with store.publish_samples(key) as unit:
        _write_arrays(unit.open_zarr(attrs), arrays, video_compressor)
    return arrays


def _write_arrays(group, arrays: dict[str, np.ndarray], video_compressor: str | None) -> None:
    for name, data in arrays.items():
        if name.startswith("video/"):
            arr = create_array(
                group,
                name,
                shape=data.shape,
                dtype="uint8",
                chunks=(1, *data.shape[1:]),
                zstd_level=1,
                compressor=video_compressor,
            )
            arr[...] = data
        else:
            write_array(group, name, data)


def build_samples_store(
    root: Path,
    *,
    recordings: tuple[tuple[str, str, int], ...] = (
        ("S01_A01_T1", "A01", 4),
        ("S02_A01_T1", "A01", 3),
        ("S01_A02_T1", "A02", 3),
        ("S02_A02_T1", "A02", 2),
    ),
    views: tuple[str, ...] = ("cam1", "cam2", "cam3"),
    height: int = 8,
    width: int = 12,
    seed: int = 5,
    frames: np.ndarray | None = None,
    video_compressor: str | None = "zstd",
) -> SamplesTruth:
    """Samples groups plus the sample index and splits training files."""
    rng = np.random.default_rng(seed)
    truth = SamplesTruth(root)
    for key, action, n_reps in recordings:
        truth.arrays[key] = write_samples_group(
            root,
            key,
            n_reps=n_reps,
            views=views,
            height=height,
            width=width,
            rng=rng,
            frames=frames,
            video_compressor=video_compressor,
        )
        for r in range(n_reps):
            truth.rows.append(
                {
                    "sample_id": f"{key}_R{r + 1:02d}",
                    "recording": key,
                    "subject": key[:3],
                    "action": action,
                    "class_idx": int(action[1:]),
                    "rep_index": r + 1,
                    "row": r,
                    "expert_score": float(np.round(rng.uniform(40, 95), 2)),
                }
            )
    table = pl.DataFrame(truth.rows).sort("recording", "rep_index")
    table = table.with_columns(
        (pl.int_range(pl.len()).over("action") + 1).cast(pl.Int32).alias("action_sample_index"),
        pl.col("expert_score").min().over("action").alias("score_min"),
        pl.col("expert_score").max().over("action").alias("score_max"),
        pl.col("class_idx").cast(pl.Int32),
    ).with_columns(
        ((pl.col("expert_score") - pl.col("score_min")) / (pl.col("score_max") - pl.col("score_min"))).alias(
            "score_norm"
        )
    )
    truth.rows = table.to_dicts()
    store = Store(root)
    store.write_parquet(store.training_path("sample_index.parquet"), table.drop("row"))
    split_rows = []
    for r in truth.rows:
        side = "test" if r["action_sample_index"] % 3 == 0 else "train"
        split_rows.append(("vanilla", 0, r["sample_id"], side, list(views)))
        side_views = ["cam3"] if r["action_sample_index"] % 2 == 0 else ["cam1", "cam2"]
        split_rows.append(("cross_view", 0, r["sample_id"], "test" if side_views == ["cam3"] else "train", side_views))
        split_rows.append(
            ("cross_subject", 0, r["sample_id"], "train" if r["subject"] == "S01" else "test", list(views))
        )
        split_rows.append(
            ("cross_subject", 1, r["sample_id"], "test" if r["subject"] == "S01" else "train", list(views))
        )
    splits = pl.DataFrame(
        split_rows,
        schema={
            "protocol": pl.String,
            "seed": pl.Int64,
            "sample_id": pl.String,
            "side": pl.String,
            "views": pl.List(pl.String),
        },
        orient="row",
    )
    store.write_parquet(store.training_path("splits.parquet"), splits)
    return truth


@dataclass
class RecordingTruth:
    key: str
    arrays: dict[str, np.ndarray]


def write_grid_recording(
    root: Path,
    key: str,
    *,
    duration_s: float = 2.0,
    grid_rate_hz: float = 30.0,
    video_rate_hz: float = 25.0,
    views: tuple[str, ...] = ("cam1", "cam2"),
    with_emg: bool = True,
    seed: int = 3,
    frames_of: Callable[[int, int], np.ndarray] | None = None,
    video_compressor: str | None = "zstd",
) -> RecordingTruth:
    """A published recording with video streams and the grid (what the window loader reads).

    ``frames_of(view_number, n_frames)`` gives each view's uint8 (n, H, W, 3) frames (default:
    random 6x10 frames); ``video_compressor`` is the frames' codec (``"h264"`` for stored video).
    """
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    t0 = 10.0
    grid_t = t0 + np.arange(round(duration_s * grid_rate_hz) + 1) / grid_rate_hz
    attrs = {
        "flexsync_layout": 1,
        "recording": key,
        "subject": key[:3],
        "action": key[4:7],
        "take": 1,
        "reference_stream": "mocap",
        "status": "complete",
        "clock_models": {},
        "provenance": {"code_version": "test", "inputs": {}, "parameters": {}},
    }
    with Store(root).publish_recording(key) as unit:
        group = unit.open_zarr(attrs)
        index = np.empty((grid_t.size, len(views)), dtype=np.int32)
        for v, view in enumerate(views):
            n_frames = int(duration_s * video_rate_hz) + 2
            frame_t = t0 - 0.01 + np.arange(n_frames) / video_rate_hz
            if frames_of is None:
                frames = rng.integers(0, 256, size=(n_frames, 6, 10, 3), dtype=np.uint8)
            else:
                frames = frames_of(v, n_frames)
            arr = create_array(
                group,
                f"streams/{view}/frames",
                shape=frames.shape,
                dtype="uint8",
                chunks=(16, *frames.shape[1:]),
                compressor=video_compressor,
            )
            arr[...] = frames
            write_array(group, f"streams/{view}/t", frame_t)
            nearest = np.abs(grid_t[:, None] - frame_t[None, :]).argmin(axis=1).astype(np.int32)
            nearest[5:8] = -1  # a gap (dropped frames) in every view
            index[:, v] = nearest
            arrays[f"frames/{view}"] = frames
        arrays["grid/t"] = grid_t
        arrays["grid/video_frame_index"] = index
        pose = rng.normal(size=(grid_t.size, N_JOINTS, 3)).astype(np.float32)
        pose_valid = rng.random((grid_t.size, N_JOINTS)) > 0.2
        pose[~pose_valid] = np.nan
        arrays["grid/pose"], arrays["grid/pose_valid"] = pose, pose_valid
        if with_emg:
            arrays["grid/emg_envelope"] = rng.random((grid_t.size, EMG_CHANNELS), dtype=np.float32)
            arrays["grid/emg_valid"] = np.arange(grid_t.size) >= 2
        arrays["grid/physio"] = (60 + rng.random((grid_t.size, 2))).astype(np.float32)
        arrays["grid/physio_valid"] = np.ones(grid_t.size, dtype=bool)
        for name, data in arrays.items():
            if name.startswith("grid/"):
                write_array(group, name, data)
        grid = group["grid"]
        grid.attrs.put({"rate_hz": grid_rate_hz, "views": list(views)})
    return RecordingTruth(key, arrays)
