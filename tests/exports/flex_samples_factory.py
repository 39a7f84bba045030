"""Build a tiny samples store by hand, following the samples contract, for the export tests.

The real builder (flexsync.samples.extract) needs generated video and the whole pipeline; the
export only needs the samples groups and the sample index with the contract's names, dtypes and
shapes, so these are written directly here (through a :class:`flexsync.storage.Store`) with known
contents:
smooth frames that differ per sample, view and frame (so a JPEG mix-up shows in the PSNR), a
pose with a few invalid joint-frames, and EMG whose channels are named like the FKG's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from samples_factory import EMG_RATE_HZ, finish_sample_index, write_samples_group

from flexsync.exports.score_ranges import flex_score_ranges
from flexsync.fkg.catalogue import default_fkg
from flexsync.storage import Store

VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")
T = 103
HEIGHT, WIDTH = 48, 64


@dataclass(frozen=True)
class RecordingSpec:
    key: str
    subject: str
    skill: str
    action: str
    n_reps: int


# One action from each FLEX EMG column group: A01 paired, A03 second, A07 single, A08 average.
DEFAULT_RECORDINGS = (
    RecordingSpec("S01_A01_T1", "S01", "expert", "A01", 2),
    RecordingSpec("S02_A01_T1", "S02", "novice", "A01", 2),
    RecordingSpec("S01_A03_T1", "S01", "expert", "A03", 2),
    RecordingSpec("S02_A07_T1", "S02", "novice", "A07", 2),
    RecordingSpec("S03_A08_T1", "S03", "amateur", "A08", 3),
)


def frame_pattern(sample_number: int, view_number: int, t_index: np.ndarray) -> np.ndarray:
    """(len(t), H, W, 3) uint8 smooth frames: gradients whose phase depends on sample, view and frame."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    t = np.asarray(t_index, dtype=np.float64)[:, None, None]
    phase = 0.7 * sample_number + 1.9 * view_number
    r = 128 + 90 * np.sin(2 * np.pi * (x / WIDTH + 0.01 * t) + phase)
    g = 128 + 90 * np.cos(2 * np.pi * (y / HEIGHT + 0.013 * t) + 2 * phase)
    b = 128 + 60 * np.sin(2 * np.pi * ((x + y) / (WIDTH + HEIGHT)) * (1 + view_number % 3) + 0.02 * t)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)


def build_samples_store(
    store_root: Path,
    recordings: tuple[RecordingSpec, ...] = DEFAULT_RECORDINGS,
    *,
    views: tuple[str, ...] = VIEWS,
    seed: int = 0,
) -> pl.DataFrame:
    """Publish a samples group per recording and write the sample index into the store; return the index.

    Tests read the Zarr groups back for ground truth.
    """
    store = Store(store_root)
    rng = np.random.default_rng(seed)
    fkg = default_fkg()
    ranges = flex_score_ranges()  # scores inside FLEX's class ranges, as the generator draws them
    rows = []
    sample_number = 0
    for spec in recordings:
        action = fkg.action(spec.action)
        channels = list(action.emg_channels)
        sample_ids = [f"{spec.key}_R{r + 1:02d}" for r in range(spec.n_reps)]
        video = {}
        for v, view in enumerate(views):
            video[view] = np.stack([frame_pattern(sample_number + r, v + 1, np.arange(T)) for r in range(spec.n_reps)])
        pose = rng.normal(0.0, 0.3, size=(spec.n_reps, 1, 21, 3)) + np.cumsum(
            rng.normal(0.0, 0.002, size=(spec.n_reps, T, 21, 3)), axis=1
        )
        pose_valid = np.ones((spec.n_reps, T, 21), dtype=bool)
        pose_valid[0, 40:45, 5] = False  # a gap in the right wrist of the first repetition
        pose = np.where(pose_valid[..., None], pose, np.nan).astype(np.float32)
        lengths = rng.integers(300, 500, size=spec.n_reps)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        emg = rng.normal(0.0, 40.0, size=(int(offsets[-1]), len(channels))).astype(np.float32)
        # give each channel its own amplitude so a column mix-up changes the FLEX picks
        emg *= np.linspace(0.5, 2.0, len(channels), dtype=np.float32)[None, :]
        t0 = 10.0 + 4.0 * np.arange(spec.n_reps)
        t = np.stack([np.linspace(a, a + 2.5, T) for a in t0])
        emg_t = np.concatenate([t0[r] + np.arange(lengths[r]) / EMG_RATE_HZ for r in range(spec.n_reps)])

        write_samples_group(
            store,
            spec.key,
            sample_ids=sample_ids,
            t=t,
            video=video,
            pose=pose,
            pose_valid=pose_valid,
            emg=emg,
            emg_offsets=offsets,
            emg_t=emg_t,
            emg_channels=channels,
            rng=rng,
        )

        for r, sid in enumerate(sample_ids):
            rows.append(
                {
                    "sample_id": sid,
                    "recording": spec.key,
                    "subject": spec.subject,
                    "skill": spec.skill,
                    "action": spec.action,
                    "class_idx": int(spec.action[1:]),
                    "take": 1,
                    "rep_index": r + 1,
                    "t_start_s": float(t[r, 0]),
                    "t_end_s": float(t[r, -1]),
                    "expert_score": float(np.round(rng.uniform(*ranges[int(spec.action[1:])]), 2)),
                }
            )
            sample_number += 1
    index = finish_sample_index(rows)
    store.write_parquet(store.training_path("sample_index.parquet"), index)
    return index
