"""Generate a whole raw dataset: the FKG, the subjects table and every recording.

Recordings are independent (each seeded by its identity), so they can be generated in any
order or in parallel and the result is the same, byte for byte. Subjects are drawn in cohorts of
38 with FLEX's skill split, in a fixed skill interleaving, so asking for more subjects appends
new ones and never changes those already generated (nor their recordings).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from flexsync import __version__
from flexsync.fkg.catalogue import default_fkg, write_fkg
from flexsync.raw.layout import DATASET_FILE, FKG_FILE, RECORDINGS_DIR, SUBJECTS_FILE
from flexsync.raw.subjects import SKILLS, write_subjects_csv
from flexsync.synth.options import SynthOptions
from flexsync.synth.recording import RecordingPlan, generate_recording
from flexsync.synth.subjects import Subject, make_subjects, skill_counts

__all__ = ["COHORT_SIZE", "generate_dataset", "plan_recordings", "plan_subjects"]

logger = logging.getLogger(__name__)


COHORT_SIZE = 38  # FLEX: 10 expert, 8 amateur, 20 novice


def _skill_order(n: int) -> list[str]:
    """Skills of a cohort's members in order: always the skill furthest behind its FLEX share.

    Every prefix is as close to 10:8:20 as whole subjects allow (2 subjects: a novice and an
    expert; 3: one of each) and the full cohort has exactly ``skill_counts(n)``.
    """
    target = skill_counts(n)
    taken = dict.fromkeys(SKILLS, 0)
    order = []
    for i in range(1, n + 1):
        skill = max(SKILLS, key=lambda s: (i * target[s] / n - taken[s], -SKILLS.index(s)))
        taken[skill] += 1
        order.append(skill)
    return order


def plan_subjects(count: int, seed: int) -> list[Subject]:
    """Subjects ``S01``.. of a dataset: a prefix of an endless, seeded sequence of cohorts.

    Each cohort of ``COHORT_SIZE`` comes from ``make_subjects`` with its own seed
    ``[seed, 0, cohort]`` and is re-ordered by ``_skill_order``; ids are renumbered in that
    order. Because the sequence never depends on ``count``, adding subjects keeps every
    existing subject (and so every existing recording) unchanged.
    """
    subjects: list[Subject] = []
    cohort = 0
    while len(subjects) < count:
        pool = make_subjects(COHORT_SIZE, np.random.default_rng([seed, 0, cohort]))
        by_skill = {skill: [s for s in pool if s.skill == skill] for skill in SKILLS}
        for skill in _skill_order(COHORT_SIZE):
            if len(subjects) == count:
                break
            subjects.append(replace(by_skill[skill].pop(0), id=f"S{len(subjects) + 1:02d}"))
        cohort += 1
    return subjects


def plan_recordings(options: SynthOptions) -> list[RecordingPlan]:
    """Every recording the options ask for, in key order (nothing is generated)."""
    subjects = plan_subjects(options.subjects, options.seed)
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
