"""Synthetic subjects: who performs the sets, with the traits that shape their motion.

FLEX has 38 subjects: 10 experts, 8 amateurs and 20 novices. The public columns are those of
``subjects.csv`` (``flexsync.raw.subjects``: id, skill, sex, height and mass); the other traits
(tempo, range of motion, error rate, side bias) only drive the generator and never leave it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from flexsync.raw.subjects import SKILLS, SubjectInfo, read_subjects_csv

# read_subjects_csv is re-exported for tests/synth/test_synth_cli.py, which imports it from here.
__all__ = ["Subject", "make_subjects", "read_subjects_csv", "skill_counts"]

_FLEX_COUNTS = {"expert": 10, "amateur": 8, "novice": 20}  # of 38

# Per skill: (tempo range, range-of-motion range, error rate mean, error rate sd, side bias sd)
_TRAITS: dict[str, tuple[tuple[float, float], tuple[float, float], float, float, float]] = {
    "expert": ((0.95, 1.15), (0.97, 1.05), 0.05, 0.015, 0.15),
    "amateur": ((0.85, 1.2), (0.92, 1.03), 0.2, 0.04, 0.3),
    "novice": ((0.8, 1.25), (0.85, 1.0), 0.4, 0.06, 0.45),
}


@dataclass(frozen=True)
class Subject(SubjectInfo):
    """A subject with the generator-only traits.

    tempo_factor multiplies phase durations (>1 is slower); rom_factor is the fraction of the
    full range of motion reached by a clean repetition; error_rate is the probability of each
    error type per repetition; side_bias in [-1, 1] says which side is weaker (<0 right, >0 left).
    """

    tempo_factor: float = 1.0
    rom_factor: float = 1.0
    error_rate: float = 0.2
    side_bias: float = 0.0

    def __post_init__(self) -> None:
        if self.skill not in SKILLS:
            raise ValueError(f"subject {self.id}: skill {self.skill!r} is not one of {SKILLS}")
        if self.sex not in ("F", "M"):
            raise ValueError(f"subject {self.id}: sex must be 'F' or 'M', got {self.sex!r}")
        if not 1.2 <= self.height_m <= 2.3:
            raise ValueError(f"subject {self.id}: height_m {self.height_m} outside [1.2, 2.3]")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"subject {self.id}: error_rate {self.error_rate} outside [0, 1]")

    def info(self) -> SubjectInfo:
        return SubjectInfo(self.id, self.skill, self.sex, self.height_m, self.mass_kg)


def skill_counts(n: int) -> dict[str, int]:
    """FLEX's skill proportions (10:8:20) scaled to ``n`` subjects (largest remainder).

    With n >= 3 every skill gets at least one subject.
    """
    if n < 0:
        raise ValueError(f"number of subjects must be >= 0, got {n}")
    total = sum(_FLEX_COUNTS.values())
    exact = {s: n * c / total for s, c in _FLEX_COUNTS.items()}
    counts = {s: math.floor(v) for s, v in exact.items()}
    by_remainder = sorted(SKILLS, key=lambda s: (-(exact[s] - counts[s]), SKILLS.index(s)))
    for s in by_remainder[: n - sum(counts.values())]:
        counts[s] += 1
    if n >= 3:
        for s in SKILLS:
            if counts[s] == 0:
                donor = max(SKILLS, key=lambda d: (counts[d], -SKILLS.index(d)))
                counts[donor] -= 1
                counts[s] += 1
    return counts


def make_subjects(n: int, rng: np.random.Generator) -> list[Subject]:
    """``n`` subjects ``S01``.. with FLEX's skill proportions, in an rng-shuffled skill order."""
    counts = skill_counts(n)
    skills = [s for s in SKILLS for _ in range(counts[s])]
    order = rng.permutation(len(skills))
    subjects = []
    for i, k in enumerate(order, start=1):
        skill = skills[int(k)]
        tempo, rom, rate_mean, rate_sd, bias_sd = _TRAITS[skill]
        sex = "F" if rng.random() < 0.5 else "M"
        mean_h, sd_h = (1.64, 0.06) if sex == "F" else (1.77, 0.07)
        height = round(float(np.clip(rng.normal(mean_h, sd_h), 1.50, 1.98)), 2)
        bmi = float(np.clip(rng.normal(23.5, 2.5), 18.5, 32.0))
        subjects.append(
            Subject(
                id=f"S{i:02d}",
                skill=skill,
                sex=sex,
                height_m=height,
                mass_kg=round(bmi * height * height, 1),
                tempo_factor=float(rng.uniform(*tempo)),
                rom_factor=float(rng.uniform(*rom)),
                error_rate=float(np.clip(rng.normal(rate_mean, rate_sd), 0.01, 0.8)),
                side_bias=float(np.clip(rng.normal(0.0, bias_sd), -1.0, 1.0)),
            )
        )
    return subjects
