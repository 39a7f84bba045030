"""Synthetic subjects: FLEX's skill proportions, determinism, and their subjects.csv round trip."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.errors import InputFileError, MissingInputError
from flexsync.raw.subjects import SUBJECT_COLUMNS, read_subjects_csv, write_subjects_csv
from flexsync.synth.subjects import Subject, make_subjects, skill_counts


def test_flex_proportions_for_38():
    subjects = make_subjects(38, np.random.default_rng(0))
    assert [s.id for s in subjects] == [f"S{i:02d}" for i in range(1, 39)]
    counts = {k: sum(s.skill == k for s in subjects) for k in ("expert", "amateur", "novice")}
    assert counts == {"expert": 10, "amateur": 8, "novice": 20}


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, (0, 0, 0)),
        (1, (0, 0, 1)),
        (3, (1, 1, 1)),
        (4, (1, 1, 2)),
        (10, (3, 2, 5)),
        (19, (5, 4, 10)),
        (76, (20, 16, 40)),
    ],
)
def test_skill_counts_scale(n, expected):
    counts = skill_counts(n)
    assert (counts["expert"], counts["amateur"], counts["novice"]) == expected


def test_skill_counts_always_sum_to_n_and_cover_all_skills():
    for n in range(0, 120):
        counts = skill_counts(n)
        assert sum(counts.values()) == n
        if n >= 3:
            assert min(counts.values()) >= 1


def test_deterministic_from_the_rng():
    a = make_subjects(38, np.random.default_rng(7))
    b = make_subjects(38, np.random.default_rng(7))
    c = make_subjects(38, np.random.default_rng(8))
    assert a == b
    assert a != c


def test_traits_follow_skill():
    subjects = make_subjects(380, np.random.default_rng(1))
    rate = {k: np.mean([s.error_rate for s in subjects if s.skill == k]) for k in ("expert", "amateur", "novice")}
    assert rate["expert"] == pytest.approx(0.05, abs=0.01)
    assert rate["amateur"] == pytest.approx(0.2, abs=0.02)
    assert rate["novice"] == pytest.approx(0.4, abs=0.02)
    for s in subjects:
        assert 0.8 <= s.tempo_factor <= 1.25 and 0.85 <= s.rom_factor <= 1.05 and -1 <= s.side_bias <= 1
        assert 1.5 <= s.height_m <= 1.98 and s.height_m == round(s.height_m, 2)
        assert 18.5 * s.height_m**2 - 0.05 <= s.mass_kg <= 32 * s.height_m**2 + 0.05


def test_invalid_subject_rejected():
    with pytest.raises(ValueError, match="subject S01: skill 'pro' is not one of"):
        Subject("S01", "pro", "F", 1.7, 60.0)
    with pytest.raises(ValueError, match="number of subjects must be >= 0"):
        skill_counts(-1)


def test_csv_round_trip_public_columns_only(tmp_path):
    subjects = make_subjects(12, np.random.default_rng(3))
    path = write_subjects_csv(tmp_path / "subjects.csv", subjects)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(SUBJECT_COLUMNS) == "subject_id,skill,sex,height_m,mass_kg"
    s = subjects[0]
    assert lines[1] == f"S01,{s.skill},{s.sex},{s.height_m:.2f},{s.mass_kg:.1f}"
    assert len(lines) == 13
    infos = read_subjects_csv(path)
    assert infos == [s.info() for s in subjects]
    assert not isinstance(infos[0], Subject)  # generator-only traits never leave the generator
    assert sorted(p.name for p in tmp_path.iterdir()) == ["subjects.csv"]


def test_read_csv_errors_name_file_and_line(tmp_path):
    path = tmp_path / "subjects.csv"
    with pytest.raises(MissingInputError, match=r"subjects\.csv not found"):
        read_subjects_csv(path)
    path.write_text("id,skill\nS01,expert\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"subjects.csv: header must be subject_id,skill,sex,height_m,mass_kg"):
        read_subjects_csv(path)
    path.write_text(
        "subject_id,skill,sex,height_m,mass_kg\nS01,expert,F,1.70,60.0\nS02,pro,M,1.80,80.0\n", encoding="utf-8"
    )
    with pytest.raises(InputFileError, match=r"line 3: skill 'pro' is not one of"):
        read_subjects_csv(path)
    path.write_text("subject_id,skill,sex,height_m,mass_kg\nS01,expert,F,tall,60.0\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"line 2: height_m/mass_kg must be numbers"):
        read_subjects_csv(path)
    path.write_text(
        "subject_id,skill,sex,height_m,mass_kg\nS01,expert,F,1.7,60\nS01,novice,M,1.8,70\n", encoding="utf-8"
    )
    with pytest.raises(InputFileError, match=r"duplicate subject ids \['S01'\]"):
        read_subjects_csv(path)
