"""The corpus builders do what the cases say, and the judge counts what the benchmark reports.

A case is only as good as its damage: a "flat channel" must leave one channel constant and every
other sample untouched, a clone must keep every manifest hash valid, and so on. The judge
(``evaluate_case``) is checked on hand-made runs: what makes an answer clear, what counts as lost.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from flexsync.bench.faults import (
    CORPUS,
    GOOD_KEY,
    SOURCE_KEY,
    BatchRun,
    Target,
    case_by_name,
    clone_recording,
    evaluate_case,
    make_batch_root,
)
from flexsync.bench.faults.binary_edits import bdf_to_edf, edf_layout
from flexsync.ingest.recording import RawRecording, verify_input
from flexsync.pipelines.runner import RecordingRun
from flexsync.raw.layout import RECORDINGS_DIR, list_complete_recordings
from flexsync.readers.registry import read_file

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def damaged(fault_base, tmp_path):
    """Apply a case to a fresh clone; return (target, the sound source folder)."""

    def apply(name: str) -> Target:
        case = case_by_name(name)
        raw = make_batch_root(fault_base.raw, tmp_path / name / "raw", [case])
        target = Target(raw_root=raw, key=case.key, outside=tmp_path / name / "outside")
        target.outside.mkdir(parents=True)
        case.damage(target)
        return target

    return apply


def _signal(path, fmt, name=None):
    contents = read_file(path, format=fmt, options={"marker_set": "identity"} if fmt == "c3d" else {})
    return contents.signals[name] if name else next(iter(contents.signals.values()))


def test_a_clone_is_a_complete_recording_of_its_own_key_with_valid_hashes(fault_base, tmp_path):
    raw = make_batch_root(fault_base.raw, tmp_path / "raw", [])
    folder = clone_recording(fault_base.raw / RECORDINGS_DIR / SOURCE_KEY, raw, "F-clone")
    assert list_complete_recordings(raw) == ["F-clone", GOOD_KEY]
    recording = RawRecording.open(raw, "F-clone")
    assert recording.manifest.recording == "F-clone"
    files = recording.manifest.files
    assert len(files) == len([p for p in folder.rglob("*") if p.is_file()]) - 1  # every file but the manifest
    for relative, expected in files.items():
        assert verify_input(recording, relative) == (expected["sha256"], expected["bytes"])


def test_a_flat_channel_is_constant_and_nothing_else_changes(damaged, fault_base):
    target = damaged("emg_flat_channel")
    before = _signal(fault_base.raw / RECORDINGS_DIR / SOURCE_KEY / "emg/emg.bdf", "bdf")
    after = _signal(target.path("emg/emg.bdf"), "bdf")
    assert after.channel_names == before.channel_names and after.data.shape == before.data.shape
    assert np.ptp(after.data[:, 0]) == 0 and np.ptp(before.data[:, 0]) > 50  # microvolts
    np.testing.assert_array_equal(after.data[:, 1:], before.data[:, 1:])
    manifest = target.manifest()["files"]["emg/emg.bdf"]
    assert manifest["sha256"] == hashlib.sha256(target.read("emg/emg.bdf")).hexdigest()  # the recorder's hash


def test_a_trigger_without_pulses_is_zero_volts_all_along(damaged, fault_base):
    target = damaged("emg_trigger_without_pulses")
    before = _signal(fault_base.raw / RECORDINGS_DIR / SOURCE_KEY / "emg/emg.bdf", "bdf")
    after = _signal(target.path("emg/emg.bdf"), "bdf")
    assert before.channel("TRIG").max() > 4.0
    np.testing.assert_allclose(after.channel("TRIG"), 0.0, atol=1e-3)
    trig = after.channel_names.index("TRIG")
    keep = [i for i in range(len(after.channel_names)) if i != trig]
    np.testing.assert_array_equal(after.data[:, keep], before.data[:, keep])


def test_an_edf_made_from_the_bdf_holds_the_same_signals_at_16_bits(fault_base, tmp_path):
    bdf = fault_base.raw / RECORDINGS_DIR / SOURCE_KEY / "emg/emg.bdf"
    edf = tmp_path / "emg.edf"
    edf.write_bytes(bdf_to_edf(bdf.read_bytes()))
    source, converted = _signal(bdf, "bdf"), _signal(edf, "edf")
    assert converted.channel_names == source.channel_names and converted.data.shape == source.data.shape
    layout = edf_layout(bdf.read_bytes())
    assert edf_layout(edf.read_bytes()).n_records == layout.n_records and edf.read_bytes()[:1] == b"0"
    # one 16-bit step of each channel's physical range
    header = bdf.read_bytes()
    ns = layout.n_signals
    low = np.array([float(header[256 + 104 * ns + 8 * i : 256 + 104 * ns + 8 * i + 8]) for i in range(ns)])
    high = np.array([float(header[256 + 112 * ns + 8 * i : 256 + 112 * ns + 8 * i + 8]) for i in range(ns)])
    assert np.all(np.abs(converted.data - source.data) <= (high - low) / 65535 * 0.51 + 1e-9)


def test_an_edf_header_claiming_99999999_records_keeps_the_file_as_it_was(damaged):
    target = damaged("edf_huge_record_count")
    data = target.read("emg/emg.edf")
    assert data[236:244] == b"99999999" and edf_layout(data).n_records == 99_999_999
    stream = target.manifest()["streams"]["emg"]
    assert (stream["file"], stream["format"]) == ("emg/emg.edf", "edf")
    assert not target.path("emg/emg.bdf").exists() and "emg/emg.bdf" not in target.manifest()["files"]


def test_all_occluded_mocap_is_invalid_everywhere_with_the_sync_channel_intact(damaged, fault_base):
    target = damaged("c3d_all_occluded")
    source = fault_base.raw / RECORDINGS_DIR / SOURCE_KEY / "mocap/mocap.c3d"
    joints = _signal(target.path("mocap/mocap.c3d"), "c3d", "mocap")
    assert joints.valid is not None and not joints.valid.any() and np.isnan(joints.data).all()
    np.testing.assert_array_equal(
        _signal(target.path("mocap/mocap.c3d"), "c3d", "mocap_analog").data, _signal(source, "c3d", "mocap_analog").data
    )


def test_mocap_without_sync_pulses_has_a_flat_sync_channel_and_the_same_markers(damaged, fault_base):
    target = damaged("c3d_sync_without_pulses")
    source = fault_base.raw / RECORDINGS_DIR / SOURCE_KEY / "mocap/mocap.c3d"
    assert _signal(source, "c3d", "mocap_analog").channel("SYNC").max() > 4.0
    assert np.all(_signal(target.path("mocap/mocap.c3d"), "c3d", "mocap_analog").channel("SYNC") == 0.0)
    np.testing.assert_array_equal(
        _signal(target.path("mocap/mocap.c3d"), "c3d", "mocap").data, _signal(source, "c3d", "mocap").data
    )


def test_a_duplicated_stream_key_is_valid_json_whose_last_entry_wins(damaged):
    target = damaged("manifest_duplicate_stream_key")
    text = target.path("manifest.json").read_text(encoding="utf-8")
    pairs = json.loads(text, object_pairs_hook=lambda items: items)
    streams = dict(pairs)["streams"]
    assert [name for name, _ in streams].count("cam1") == 2
    assert json.loads(text)["streams"]["cam1"]["file"] == "video/cam2.mp4"


def _batch(key: str, run: RecordingRun | None) -> BatchRun:
    return BatchRun(runs={key: run} if run else {}, run_warnings={key: []}, warnings=[], seconds=0.0)


def test_the_judge_wants_the_recording_the_file_and_the_problem_named(tmp_path):
    case = case_by_name("bdf_cut_in_half")
    good = f"recording_streams: InputFileError: recording {case.key}, stream emg, file /r/{case.key}/emg/emg.bdf: "
    good += "truncated: the header declares more data records (79, 7.9 s) than the file holds"
    unnamed = "recording_streams: OSError: truncated: the header declares more data records"
    clear = evaluate_case(case, _batch(case.key, RecordingRun(case.key, False, "r1", [good])), tmp_path, {})
    vague = evaluate_case(case, _batch(case.key, RecordingRun(case.key, False, "r2", [unnamed])), tmp_path, {})
    passed = evaluate_case(case, _batch(case.key, RecordingRun(case.key, True, "r3")), tmp_path, {})
    assert clear.clear and clear.answer_problems == []
    assert vague.answer_problems == [
        f"the failure does not name both the recording {case.key} and the file emg/emg.bdf"
    ]
    assert passed.answer_problems == ["the run succeeded on damaged input"]
    # nothing was published in this empty store: each answer counts as a loss
    assert all(result.lost for result in (clear, vague, passed))
    assert clear.kept_problems[0] == "nothing was published before the damage (the case cannot test it)"


def test_docs_list_every_case_with_its_status():
    text = (REPO_ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    section = text.split("### Cases", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip().strip("`"): line for line in section.splitlines() if line.startswith("| `")}
    assert sorted(rows) == sorted(case.name for case in CORPUS)
    for case in CORPUS:
        status = rows[case.name].rstrip(" |").rsplit("|", 1)[-1]
        assert ("xfail" in status) == bool(case.pending or case.loses), (case.name, status)
