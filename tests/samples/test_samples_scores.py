"""Label checks on real annotations: misplaced or unknown errors and wrong expert scores are reported."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from flexsync.fkg import fkg_score
from flexsync.ingest.recording import RawRecording
from flexsync.samples import (
    annotated_error_problems,
    read_repetitions,
    read_samples,
    recompute_scores,
    sample_rows,
    score_disagreements,
    validate_sample_table,
)


def _copy_raw(sample_store, tmp_path, key):
    raw = tmp_path / "raw"
    (raw / "recordings").mkdir(parents=True)
    for name in ("fkg.json", "subjects.csv"):
        shutil.copyfile(sample_store.raw / name, raw / name)
    shutil.copytree(sample_store.raw / "recordings" / key, raw / "recordings" / key)
    return raw


def _edit_annotations(raw, key, edit):
    path = raw / "recordings" / key / "annotations.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data["repetitions"])
    path.write_text(json.dumps(data), encoding="utf-8")


def _table(sample_store, raw, key):
    recording = sample_store.store.open_recording(key)
    cam1_t = recording["streams/cam1/t"][:]
    rec = RawRecording.open(raw, key)
    reps = read_repetitions(rec, n_frames=cam1_t.size)
    return validate_sample_table(sample_rows(rec, recording, reps, cam1_t, fkg=sample_store.fkg), "samples")


def _key_with_errors(sample_store):
    samples = read_samples(sample_store.store)
    rows = samples.filter(samples["errors"].list.len() > 0)
    assert rows.height, "the generated dataset should contain repetitions with errors"
    return rows["recording"][0], int(rows["rep_index"][0])


def test_the_generated_labels_pass_both_checks(sample_store):
    samples = read_samples(sample_store.store)
    assert samples.height == 4
    assert annotated_error_problems(samples, sample_store.fkg).height == 0
    assert score_disagreements(samples, sample_store.fkg).height == 0
    checks = recompute_scores(samples, sample_store.fkg)
    assert checks["agrees"].all() and (checks["difference"].abs() <= 0.005).all()


def test_unknown_error_id_is_reported_naming_the_sample(sample_store, tmp_path):
    key, rep = _key_with_errors(sample_store)
    raw = _copy_raw(sample_store, tmp_path, key)
    action = key.split("_")[1]

    def edit(reps):
        reps[rep - 1]["errors"][0]["error"] = f"{action}_E99"

    _edit_annotations(raw, key, edit)
    table = _table(sample_store, raw, key)
    sample_id = f"{key}_R{rep:02d}"
    problems = annotated_error_problems(table, sample_store.fkg)
    assert problems["sample_id"].to_list() == [sample_id]
    assert problems["error"][0] == f"{action}_E99" and problems["expected_key_step"][0] is None
    assert f"sample {sample_id}: error '{action}_E99' is not an error type of action {action}" == problems["problem"][0]
    # the sample cannot be scored: fkg_score is null, never a made-up number
    row = table.filter(table["sample_id"] == sample_id)
    assert row["fkg_score"][0] is None and not row["score_agrees"][0]
    assert score_disagreements(table, sample_store.fkg)["sample_id"].to_list() == [sample_id]


def test_error_on_the_wrong_key_step_is_reported(sample_store, tmp_path):
    key, rep = _key_with_errors(sample_store)
    raw = _copy_raw(sample_store, tmp_path, key)
    action = sample_store.fkg.action(key.split("_")[1])
    holder = {}

    def edit(reps):
        error = reps[rep - 1]["errors"][0]
        right = action.key_step_of(error["error"]).id
        wrong = next(k.id for k in action.key_steps if k.id != right)
        error["key_step"] = wrong
        holder.update(error=error["error"], right=right, wrong=wrong)

    _edit_annotations(raw, key, edit)
    table = _table(sample_store, raw, key)
    problems = annotated_error_problems(table, sample_store.fkg)
    assert problems.height == 1
    row = problems.row(0, named=True)
    assert row["sample_id"] == f"{key}_R{rep:02d}" and row["position"] == 0
    got = (row["error"], row["key_step"], row["expected_key_step"])
    assert got == (holder["error"], holder["wrong"], holder["right"])
    assert "annotated on" in row["problem"]
    # the score only depends on which errors were seen: still in agreement
    assert table["score_agrees"].all()


def test_wrong_expert_score_is_a_disagreement_not_overwritten(sample_store, tmp_path):
    key = sample_store.keys[0]
    raw = _copy_raw(sample_store, tmp_path, key)

    def edit(reps):
        reps[1]["score"] = 12.34

    _edit_annotations(raw, key, edit)
    table = _table(sample_store, raw, key)
    sample_id = f"{key}_R02"
    stored = table.filter(table["sample_id"] == sample_id).row(0, named=True)
    true_score = fkg_score(sample_store.fkg, stored["action"], stored["errors"])
    assert stored["expert_score"] == 12.34 and stored["fkg_score"] == true_score and not stored["score_agrees"]
    bad = score_disagreements(table, sample_store.fkg)
    assert bad["sample_id"].to_list() == [sample_id]
    assert np.isclose(bad["difference"][0], 12.34 - true_score, rtol=0, atol=1e-12)
    assert f"expert score 12.34 differs from FKG score {true_score:.2f}" in bad["reason"][0]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("start_frame", -1, r"repetitions\[0\]\.start_frame = -1 is outside"),
    ("end_frame", 10**6, r"repetitions\[0\]\.end_frame = 1000000 is outside"),
    ("score", "high", r"repetitions\[0\]\.score must be float"),
])  # fmt: skip
def test_broken_annotations_name_file_repetition_and_field(sample_store, tmp_path, field, value, message):
    key = sample_store.keys[0]
    raw = _copy_raw(sample_store, tmp_path, key)
    _edit_annotations(raw, key, lambda reps: reps[0].update({field: value}))
    with pytest.raises(ValueError, match=message) as info:
        _table(sample_store, raw, key)
    assert "annotations.json" in str(info.value) and key in str(info.value)
