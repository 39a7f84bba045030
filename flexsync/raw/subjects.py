"""The subjects table of a raw dataset (``subjects.csv``): who was recorded, and at what skill.

One row per subject with the public columns id, skill, sex, height and mass (docs/raw-format.md).
The skill levels are FLEX's three groups. A recorder writes the table, the pipeline reads it to
label samples; nothing else about a subject is part of the raw format.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from flexsync.errors import InputFileError, MissingInputError

__all__ = [
    "SKILLS",
    "SUBJECT_COLUMNS",
    "SubjectInfo",
    "read_subjects_csv",
    "write_subjects_csv",
]

logger = logging.getLogger(__name__)

SKILLS = ("expert", "amateur", "novice")
SUBJECT_COLUMNS = ("subject_id", "skill", "sex", "height_m", "mass_kg")


@dataclass(frozen=True)
class SubjectInfo:
    """The public description of a subject (one row of subjects.csv)."""

    id: str
    skill: str
    sex: str
    height_m: float
    mass_kg: float


def write_subjects_csv(path: Path | str, subjects: Sequence[SubjectInfo]) -> Path:
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
