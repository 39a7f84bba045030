"""Scores follow FLEX's per-class ranges through per-skill error rates; the flex-mini preset and its CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from flexsync.cli import app
from flexsync.exports.score_ranges import flex_score_ranges
from flexsync.fkg.catalogue import default_fkg
from flexsync.fkg.scoring import fkg_score
from flexsync.synth.dataset import plan_recordings, plan_subjects
from flexsync.synth.motion import simulate_set
from flexsync.synth.options import ALL_ACTIONS, PRESETS, SynthOptions, preset_options
from flexsync.synth.recording import action_score_range, planned_motion
from flexsync.synth.scores import error_probability, errors_in_range, in_range_scores, skill_level

FKG = default_fkg()
RANGES = flex_score_ranges()


def test_skill_levels_place_the_expected_score_in_the_class_range() -> None:
    assert skill_level(0.05) == pytest.approx(1 / 12) and skill_level(0.4) == pytest.approx(2 / 3)
    assert skill_level(0.9) == 1.0 and skill_level(-0.1) == 0.0
    lo, hi = RANGES[1]  # 40.99 .. 93.79
    # expected score = 100 (1 - p) = max - level (max - min)
    for rate, level in ((0.05, 1 / 12), (0.2, 1 / 3), (0.4, 2 / 3)):
        assert 100 * (1 - error_probability(rate, (lo, hi))) == pytest.approx(hi - level * (hi - lo), abs=1e-9)
    assert error_probability(0.0, (lo, hi)) == pytest.approx(1 - hi / 100)
    assert error_probability(0.6, (lo, hi)) == pytest.approx(1 - lo / 100)


def test_the_drawn_error_set_is_kept_when_its_score_fits_else_the_nearest_one_that_fits() -> None:
    weights = tuple(e.weight for e in FKG.action("A01").errors)  # 2, 5, 6.5, 10, 6, 8, 7 of 44.5
    draws = np.array([0.5, 0.05, 0.5, 0.5, 0.5, 0.5, 0.5])
    kept = errors_in_range(weights, draws, 0.1, RANGES[1])  # error 2 drawn: 88.76, inside 40.99..93.79
    np.testing.assert_array_equal(kept, draws < 0.1)
    # no error drawn scores 100 > 93.79: add the error whose draw came closest to p (0.12 -> error 5)
    clean = np.array([0.9, 0.3, 0.8, 0.7, 0.12, 0.6, 0.95])
    mask = errors_in_range(weights, clean, 0.1, RANGES[1])
    assert np.flatnonzero(mask).tolist() == [4]
    assert round(fkg_score(FKG, "A01", ["A01_E5"]), 2) == 86.52
    # everything drawn scores 0 < 40.99: drop the errors whose draws were closest to p until it fits
    everything = np.array([0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07])
    mask = errors_in_range(weights, everything, 0.3, RANGES[1])
    score = round((1 - sum(w for w, m in zip(weights, mask, strict=True) if m) / sum(weights)) * 100, 2)
    assert RANGES[1][0] <= score <= RANGES[1][1] and mask[:3].all()  # the most certain errors stay
    with pytest.raises(ValueError, match=r"no error set of weights \[2\.0, 5\.0\] scores inside \[99\.0, 99\.5\]"):
        errors_in_range((2.0, 5.0), np.array([0.5, 0.5]), 0.1, (99.0, 99.5))


def test_every_action_has_error_sets_inside_its_flex_range() -> None:
    for action in FKG.actions:
        _, ok = in_range_scores(tuple(e.weight for e in action.errors), action_score_range(action.id))
        assert ok.sum() >= 30, action.id  # plenty of in-range scores: the distribution is not degenerate


def test_generated_scores_stay_in_every_class_range_and_follow_skill() -> None:
    subjects = plan_subjects(6, seed=2)  # novice, expert, amateur, novice, novice, expert
    by_skill: dict[str, list[float]] = {"expert": [], "amateur": [], "novice": []}
    rng = np.random.default_rng(5)
    for action_id in ALL_ACTIONS:
        lo, hi = RANGES[int(action_id[1:])]
        for subject in subjects:
            motion = simulate_set(FKG, action_id, subject, n_reps=3, rng=rng, score_range=(lo, hi))
            for rep in motion.repetitions:
                score = round(fkg_score(FKG, action_id, rep.error_ids), 2)
                assert lo <= score <= hi, (action_id, subject.skill, score)
                by_skill[subject.skill].append((score - lo) / (hi - lo) * 100)  # FLEX's label
    means = {skill: float(np.mean(labels)) for skill, labels in by_skill.items()}
    assert means["expert"] > means["amateur"] > means["novice"]
    assert means["expert"] > 70 and means["novice"] < 55
    assert min(by_skill["novice"]) < 15  # the range's bottom is reached, by novices


def test_without_a_range_the_error_rate_is_the_per_error_probability_as_before() -> None:
    subject = plan_subjects(2, seed=0)[1]
    a = simulate_set(FKG, "A05", subject, n_reps=4, rng=np.random.default_rng(3))
    b = simulate_set(FKG, "A05", subject, n_reps=4, rng=np.random.default_rng(3), score_range=None)
    assert a.repetitions == b.repetitions
    np.testing.assert_array_equal(a.joints_m, b.joints_m)


def test_flex_mini_preset_covers_every_class_with_one_subject_per_skill() -> None:
    options = preset_options("flex-mini")
    assert options.actions == ALL_ACTIONS and (options.subjects, options.repetitions, options.takes) == (3, 1, 1)
    assert (options.width, options.height, options.cinema_rate_hz, options.phone_rate_hz) == (160, 90, 30.0, 30.0)
    assert options.extra == {"preset": "flex-mini"}
    plans = plan_recordings(options)
    assert len(plans) == 60
    assert sorted({p.subject.skill for p in plans}) == ["amateur", "expert", "novice"]
    assert preset_options("flex-mini", subjects=4, width=64).subjects == 4
    assert SynthOptions(**options.to_dict()) == options
    with pytest.raises(ValueError, match="unknown synth preset 'flex-max'; presets: flex-mini"):
        preset_options("flex-max")
    with pytest.raises(ValueError, match="unknown synth option"):
        preset_options("flex-mini", colour="red")
    assert set(PRESETS) == {"flex-mini", "flex-size"}


def test_synth_preset_cli_applies_the_preset_under_explicit_options(tmp_path: Path) -> None:
    raw, truth = tmp_path / "raw", tmp_path / "truth"
    args = ["synth", "--raw", str(raw), "--truth", str(truth), "--preset", "flex-mini", "--subjects", "1"]
    args += ["--look", "flat"]  # data only: the cheap look
    result = CliRunner().invoke(app, [*args, "--actions", "A07", "--width", "64", "--height", "36"])
    assert result.exit_code == 0, result.output
    assert "wrote 1 recordings" in result.output
    options = json.loads((raw / "dataset.json").read_text())["options"]
    assert (options["subjects"], options["actions"], options["repetitions"]) == (1, ["A07"], 1)
    assert (options["width"], options["height"], options["phone_width"], options["phone_height"]) == (64, 36, 36, 64)
    assert (options["cinema_rate_hz"], options["lead_in_s"], options["extra"]) == (30.0, 1.6, {"preset": "flex-mini"})
    # the annotated scores are those planned_motion predicts, inside FLEX's class-7 range
    plan = plan_recordings(SynthOptions(**options))[0]
    motion = planned_motion(plan, FKG, SynthOptions(**options))
    annotated = json.loads((raw / "recordings" / "S01_A07_T1" / "annotations.json").read_text())["repetitions"]
    assert [r["score"] for r in annotated] == [round(fkg_score(FKG, "A07", r.error_ids), 2) for r in motion.repetitions]
    assert all(RANGES[7][0] <= r["score"] <= RANGES[7][1] for r in annotated)
    bad = CliRunner().invoke(app, ["synth", "--raw", str(tmp_path / "r2"), "--preset", "tiny"])
    assert bad.exit_code != 0 and "unknown synth preset 'tiny'" in bad.output
