"""Generate a whole raw dataset: the FKG, the subjects table and every recording.

Recordings are independent (each seeded by its identity), so they can be generated in any
order or in parallel and the result is the same, byte for byte.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from flexsync import __version__
from flexsync.fkg.catalogue import default_fkg, write_fkg
from flexsync.raw.layout import DATASET_FILE, FKG_FILE, RECORDINGS_DIR, SUBJECTS_FILE
from flexsync.synth.options import SynthOptions
from flexsync.synth.recording import RecordingPlan, generate_recording
from flexsync.synth.subjects import make_subjects, write_subjects_csv

__all__ = ["generate_dataset", "plan_recordings"]

logger = logging.getLogger(__name__)


def plan_recordings(options: SynthOptions) -> list[RecordingPlan]:
    """Every recording the options ask for, in key order."""
    subjects = make_subjects(options.subjects, np.random.default_rng([options.seed, 0]))
    plans = [
        RecordingPlan(subject=subject, action_id=action, take=take, seed=options.seed)
        for subject in subjects
        for action in options.actions
        for take in range(1, options.takes + 1)
    ]
    return sorted(plans, key=lambda p: p.key)


def _generate_one(args: tuple[RecordingPlan, SynthOptions, Path, Path]) -> str:
    plan, options, raw_root, truth_root = args
    generate_recording(plan, default_fkg(), options, raw_root=raw_root, truth_root=truth_root)
    return plan.key


def generate_dataset(
    raw_root: Path | str,
    truth_root: Path | str,
    options: SynthOptions,
    *,
    workers: int = 1,
    progress: Callable[[Iterable[str], int], Iterable[str]] | None = None,
) -> list[str]:
    """Write the dataset root files, then every recording; return the recording keys.

    ``truth_root`` must not lie inside ``raw_root``: the pipeline must never see the truth.
    """
    raw = Path(raw_root)
    truth = Path(truth_root)
    if truth.resolve().is_relative_to(raw.resolve()):
        raise ValueError(f"truth root {truth} lies inside raw root {raw}: put it beside it (e.g. data/truth)")
    (raw / RECORDINGS_DIR).mkdir(parents=True, exist_ok=True)
    truth.mkdir(parents=True, exist_ok=True)
    fkg = default_fkg()
    write_fkg(raw / FKG_FILE, fkg)
    plans = plan_recordings(options)
    write_subjects_csv(raw / SUBJECTS_FILE, sorted({p.subject for p in plans}, key=lambda s: s.id))
    info = {"generator": "flexsync synth", "version": __version__, "options": options.to_dict()}
    (raw / DATASET_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n", encoding="utf-8")

    jobs = [(plan, options, raw, truth) for plan in plans]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = pool.map(_generate_one, jobs)
            keys = list(progress(done, len(jobs)) if progress else done)
    else:
        done = (_generate_one(job) for job in jobs)
        keys = list(progress(done, len(jobs)) if progress else done)
    logger.info("generated %d recordings under %s", len(keys), raw)
    return keys
