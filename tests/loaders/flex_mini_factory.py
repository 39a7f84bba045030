"""A samples store of the ``flex-mini`` preset (every FLEX class), at tiny frame size, and its exports.

Generating and ingesting 60 recordings takes minutes; the FLEX tests need the preset's cohort,
labels and skeletons, not its rendered video. So this factory takes from the generator exactly what
the pipeline would carry into the samples: the preset's recordings (3 subjects x 20 actions x 1
repetition), each repetition's annotated score (the generator's own draws: ``planned_motion``) and
its skeleton (the motion sampled at 103 instants of the repetition, metres), and writes them as
samples groups per the contract (docs/store-format.md "Training products") with small smooth frames
(JPEG-friendly, different per sample and view), EMG whose channels are the action's FKG channels
(each channel its own amplitude), and a few invalid joint-frames. The sample index is computed as
the samples builder does; the splits are the real split protocols; the exports the real exporter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
from samples_factory import EMG_RATE_HZ, finish_sample_index, write_samples_group

from flexsync.exports.flex import ExportResult, export_flex_protocols
from flexsync.fkg.catalogue import default_fkg
from flexsync.fkg.scoring import fkg_score
from flexsync.skeleton import JOINT_NAMES
from flexsync.splits import PROTOCOLS, write_splits
from flexsync.storage import Store
from flexsync.synth.dataset import plan_recordings
from flexsync.synth.options import preset_options
from flexsync.synth.recording import planned_motion

T = 103
HEIGHT, WIDTH = 24, 32
VIEWS = ("cam1", "cam2", "cam4", "phone")  # cam3 is never read: not written
# What FLEX reads (View-1, View-2) on each side: cam1 + cam2, and cam4 + phone on cross_view's test side.
EXPORT_VIEWS = {protocol: ("cam1", "cam2") for protocol in PROTOCOLS} | {"cross_view": VIEWS}


@dataclass
class FlexMini:
    root: Path
    index: pl.DataFrame
    exports: dict[str, ExportResult] = field(default_factory=dict)

    @property
    def store(self) -> Store:
        return Store(self.root)


def frames(sample_number: int, view_number: int) -> np.ndarray:
    """(T, H, W, 3) uint8 smooth frames whose pattern depends on the sample, the view and the frame."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    t = np.arange(T, dtype=np.float64)[:, None, None]
    phase = 0.37 * sample_number + 1.3 * view_number
    r = 128 + 80 * np.sin(2 * np.pi * (x / WIDTH + 0.01 * t) + phase)
    g = 128 + 80 * np.cos(2 * np.pi * (y / HEIGHT + 0.013 * t) + 2 * phase)
    b = 128 + 50 * np.sin(2 * np.pi * (x + y) / (WIDTH + HEIGHT) + 0.02 * t + view_number)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)


def build_flex_mini(root: Path, *, seed: int = 0, export: bool = True) -> FlexMini:
    """Samples groups, sample index and splits of the flex-mini preset; then every protocol's export."""
    options = preset_options("flex-mini", seed=seed)
    fkg = default_fkg()
    store = Store(root)
    rng = np.random.default_rng([seed, 17])
    rows = []
    for number, plan in enumerate(plan_recordings(options)):
        motion = planned_motion(plan, fkg, options)
        action = fkg.action(plan.action_id)
        channels = list(action.emg_channels)
        sample_ids = [f"{plan.key}_R{rep.index:02d}" for rep in motion.repetitions]
        n = len(sample_ids)
        t = np.stack([np.linspace(rep.start_s, rep.end_s, T) for rep in motion.repetitions])
        pose = np.stack([motion.sample(t[r]) for r in range(n)]).astype(np.float32)
        pose_valid = np.ones((n, T, len(JOINT_NAMES)), dtype=bool)
        if number % 7 == 0:
            pose_valid[0, 30:36, JOINT_NAMES.index("l_wrist")] = False  # an occluded wrist
            pose_valid[0, :4, JOINT_NAMES.index("r_toe")] = False  # and a toe lost at the start
        pose[~pose_valid] = np.nan
        lengths = rng.integers(300, 600, size=n)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        emg = rng.normal(0.0, 30.0, size=(int(offsets[-1]), len(channels))).astype(np.float32)
        emg *= np.linspace(0.4, 2.5, len(channels), dtype=np.float32)[None, :] * (1.0 + 0.3 * (number % 3))
        emg_t = np.concatenate([t[r, 0] + np.arange(lengths[r]) / EMG_RATE_HZ for r in range(n)])
        video = {view: np.stack([frames(number + r, v + 1) for r in range(n)]) for v, view in enumerate(VIEWS)}
        write_samples_group(
            store,
            plan.key,
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
        for rep, sample_id in zip(motion.repetitions, sample_ids, strict=True):
            rows.append(
                {
                    "sample_id": sample_id,
                    "recording": plan.key,
                    "subject": plan.subject.id,
                    "skill": plan.subject.skill,
                    "action": plan.action_id,
                    "class_idx": int(plan.action_id[1:]),
                    "take": plan.take,
                    "rep_index": rep.index,
                    "expert_score": round(fkg_score(fkg, plan.action_id, rep.error_ids), 2),
                }
            )
    index = finish_sample_index(rows)
    store.write_parquet(store.training_path("sample_index.parquet"), index)
    write_splits(store, protocols=PROTOCOLS, seeds=(0,))
    mini = FlexMini(root, index)
    if export:
        results = export_flex_protocols(store, protocols=PROTOCOLS, seed=0, views=EXPORT_VIEWS)
        mini.exports = {r.protocol: r for r in results}
    return mini
