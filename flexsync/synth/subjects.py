"""Synthetic subjects: who performs the sets, with the traits that shape their motion.

FLEX has 38 subjects: 10 experts, 8 amateurs and 20 novices. Public columns (written to
``subjects.csv``) are id, skill, sex, height and mass; the other traits (tempo, range of
motion, error rate, side bias) only drive the generator and never leave it.
"""

from __future__ import annotations

import csv
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flexsync.errors import InputFileError, MissingInputError

__all__ = [
    "SKILLS",
    "SUBJECT_COLUMNS",
    "Subject",
    "SubjectInfo",
    "make_subjects",
    "read_subjects_csv",
    "skill_counts",
    "write_subjects_csv",
]

logger = logging.getLogger(__name__)

SKILLS = ("expert", "amateur", "novice")
SUBJECT_COLUMNS = ("subject_id", "skill", "sex", "height_m", "mass_kg")
_FLEX_COUNTS = {"expert": 10, "amateur": 8, "novice": 20}  # of 38

# Per skill: (tempo range, range-of-motion range, error rate mean, error rate sd, side bias sd)
_TRAITS: dict[str, tuple[tuple[float, float], tuple[float, float], float, float, float]] = {
    "expert": ((0.95, 1.15), (0.97, 1.05), 0.05, 0.015, 0.15),
    "amateur": ((0.85, 1.2), (0.92, 1.03), 0.2, 0.04, 0.3),
    "novice": ((0.8, 1.25), (0.85, 1.0), 0.4, 0.06, 0.45),
}


@dataclass(frozen=True)
class SubjectInfo:
    """The public description of a subject (one row of subjects.csv)."""

    id: str
    skill: str
    sex: str
    height_m: float
    mass_kg: float


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


def write_subjects_csv(path: Path | str, subjects: list[Subject] | list[SubjectInfo]) -> Path:
    """Write the public columns of ``subjects`` to a CSV file, atomically."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(SUBJECT_COLUMNS)
            for s in subjects:
                writer.writerow([s.id, s.skill, s.sex, f"{s.height_m:.2f}", f"{s.mass_kg:.1f}"])
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def read_subjects_csv(path: Path | str) -> list[SubjectInfo]:
    """Read subjects.csv; errors name the file, the line and the column."""
    source = Path(path)
    if not source.is_file():
        raise MissingInputError("subjects.csv not found", path=source)
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or tuple(rows[0]) != SUBJECT_COLUMNS:
        got = ",".join(rows[0]) if rows else "(empty file)"
        raise InputFileError(f"header must be {','.join(SUBJECT_COLUMNS)}, got {got}", path=source)
    out: list[SubjectInfo] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(SUBJECT_COLUMNS):
            raise InputFileError(f"line {line}: expected {len(SUBJECT_COLUMNS)} columns, got {len(row)}", path=source)
        sid, skill, sex, height, mass = row
        if skill not in SKILLS:
            raise InputFileError(f"line {line}: skill {skill!r} is not one of {SKILLS}", path=source)
        if sex not in ("F", "M"):
            raise InputFileError(f"line {line}: sex {sex!r} must be 'F' or 'M'", path=source)
        try:
            out.append(SubjectInfo(sid, skill, sex, float(height), float(mass)))
        except ValueError as exc:
            raise InputFileError(f"line {line}: height_m/mass_kg must be numbers: {exc}", path=source) from None
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        raise InputFileError(f"duplicate subject ids {sorted({i for i in ids if ids.count(i) > 1})}", path=source)
    logger.debug("read %d subjects from %s", len(out), source)
    return out
