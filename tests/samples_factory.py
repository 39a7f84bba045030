"""Samples groups and sample-index columns written by hand, per the samples contract, for test factories.

The real builder (flexsync.samples.extract) needs generated video and the whole pipeline; the export
and loader tests need only the samples groups (docs/store-format.md "Training products") and the
sample index, with known contents. Their factories choose the contents; this module writes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from flexsync.skeleton import JOINT_NAMES
from flexsync.storage import Store
from flexsync.storage.zarr_io import write_array

EMG_RATE_HZ = 2000.0


def write_samples_group(
    store: Store,
    key: str,
    *,
    sample_ids: Sequence[str],
    t: np.ndarray,
    video: Mapping[str, np.ndarray],
    pose: np.ndarray,
    pose_valid: np.ndarray,
    emg: np.ndarray,
    emg_offsets: np.ndarray,
    emg_t: np.ndarray,
    emg_channels: Sequence[str],
    rng: np.random.Generator,
) -> None:
    """Publish ``samples/<key>``: (R, V, T, H, W, 3) clips per view, pose, cleaned EMG, envelope and physio."""
    views = list(video)
    n, frame_length = t.shape
    height, width = next(iter(video.values())).shape[2:4]
    attrs = {
        "flexsync_samples": 1,
        "recording": key,
        "frame_length": frame_length,
        "views": views,
        "height": height,
        "width": width,
        "joint_names": list(JOINT_NAMES),
        "emg_channel_names": list(emg_channels),
        "emg_rate_hz": EMG_RATE_HZ,
        "sample_ids": list(sample_ids),
        "status": "complete",
    }
    with store.publish_samples(key) as unit:
        group = unit.open_zarr(attrs)
        write_array(group, "t", t)
        for view, clip in video.items():
            write_array(group, f"video/{view}", clip, chunks=(1, frame_length, height, width, 3), zstd_level=1)
        write_array(group, "video_index", np.tile(np.arange(frame_length, dtype=np.int32), (n, len(views), 1)))
        write_array(group, "video_valid", np.ones((n, len(views), frame_length), dtype=bool))
        write_array(group, "pose", pose)
        write_array(group, "pose_valid", pose_valid)
        write_array(group, "emg_envelope", np.abs(rng.normal(size=(n, frame_length, 16))).astype(np.float32))
        write_array(group, "emg_envelope_valid", np.ones((n, frame_length), dtype=bool))
        write_array(group, "emg", emg)
        write_array(group, "emg_offsets", emg_offsets)
        write_array(group, "emg_t", emg_t)
        write_array(group, "physio", np.full((n, frame_length, 2), 70.0, dtype=np.float32))
        write_array(group, "physio_valid", np.ones((n, frame_length), dtype=bool))


def finish_sample_index(rows: list[dict]) -> pl.DataFrame:
    """The sample index of ``rows`` with FLEX's per-action numbering and the per-action normalised score."""
    index = pl.DataFrame(rows).with_columns(pl.col("class_idx", "take", "rep_index").cast(pl.Int32))
    return (
        index.sort("recording", "rep_index")
        .with_columns(
            pl.int_range(1, pl.len() + 1).over("action").cast(pl.Int32).alias("action_sample_index"),
            pl.col("expert_score").min().over("action").alias("score_min"),
            pl.col("expert_score").max().over("action").alias("score_max"),
        )
        .with_columns(
            pl.when(pl.col("score_max") > pl.col("score_min"))
            .then((pl.col("expert_score") - pl.col("score_min")) / (pl.col("score_max") - pl.col("score_min")))
            .otherwise(0.5)
            .alias("score_norm")
        )
    )
