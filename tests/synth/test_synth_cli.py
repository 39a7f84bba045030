"""``flexsync synth`` from the command line, and the FLEX-size plan it would generate.

The command is run in-process through typer's CliRunner at a tiny size; the FLEX-size layout
(38 subjects x 20 actions) is only planned, never generated. Bad options fail with a short
message on stderr, or the exception itself with ``--debug``.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flexsync.cli import app
from flexsync.raw import list_complete_recordings, read_manifest
from flexsync.raw.layout import check_recording_key
from flexsync.synth.dataset import plan_recordings
from flexsync.synth.options import SynthOptions
from flexsync.synth.subjects import read_subjects_csv
from flexsync.synth.truth import RecordingTruth

# The flat look: these tests need data, not realistic frames (tests/synth/test_look.py tests those).
FLAT = ["--look", "flat"]
TINY = ["--subjects", "1", "--actions", "A13", "--repetitions", "1", "--width", "96", "--height", "64", *FLAT]


def test_synth_command_writes_the_tree_and_reports_the_count(tmp_path: Path) -> None:
    raw, truth = tmp_path / "raw", tmp_path / "truth"
    result = CliRunner().invoke(app, ["synth", "--raw", str(raw), "--truth", str(truth), "--seed", "3", *TINY])
    assert result.exit_code == 0, result.output
    assert f"wrote 1 recordings to {raw}" in result.output
    assert f"ground truth in {truth}" in result.output
    assert list_complete_recordings(raw) == ["S01_A13_T1"]
    manifest = read_manifest(raw / "recordings" / "S01_A13_T1")
    assert manifest.streams["emg"].file == "emg/emg.bdf"
    size_mb = sum(p.stat().st_size for p in raw.rglob("*") if p.is_file()) / 1e6
    assert f"({size_mb:.1f} MB)" in result.output
    options = json.loads((raw / "dataset.json").read_text())["options"]
    assert (options["seed"], options["subjects"], options["actions"], options["repetitions"]) == (3, 1, ["A13"], 1)
    assert (options["width"], options["height"], options["phone_width"], options["phone_height"]) == (96, 64, 64, 96)
    assert [s.id for s in read_subjects_csv(raw / "subjects.csv")] == ["S01"]
    recorded = RecordingTruth.read(truth / "S01_A13_T1" / "truth.json")
    assert recorded.seed == 3 and len(recorded.repetitions) == 1
    assert not (raw / "truth").exists()


def test_synth_command_with_edf_and_two_takes(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    truth = str(tmp_path / "truth")
    args = ["synth", "--raw", str(raw), "--truth", truth, *TINY, "--takes", "2", "--emg-format", "edf"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote 2 recordings" in result.output
    assert list_complete_recordings(raw) == ["S01_A13_T1", "S01_A13_T2"]
    assert (raw / "recordings" / "S01_A13_T2" / "emg" / "emg.edf").is_file()


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--actions", "A21"], "action 'A21' is not one of A01..A20"),
        (["--width", "95"], "width must be an even number >= 32"),
        (["--emg-format", "wav"], "emg_format must be 'bdf' or 'edf'"),
    ],
)
def test_synth_command_rejects_bad_options_before_writing(tmp_path: Path, args: list[str], match: str) -> None:
    raw = tmp_path / "raw"
    result = CliRunner().invoke(app, ["synth", "--raw", str(raw), "--truth", str(tmp_path / "truth"), *args])
    assert result.exit_code == 1
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith("flexsync synth: error: invalid synth options: ") and match in first
    assert "flexsync synth --help" in hint and "--debug" in hint
    assert not raw.exists()


def test_synth_command_with_debug_raises_the_error_itself(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    result = CliRunner().invoke(
        app, ["--debug", "synth", "--raw", str(raw), "--truth", str(tmp_path / "t"), "--width", "95"]
    )
    assert isinstance(result.exception, ValueError)
    with pytest.raises(ValueError, match="width must be an even number >= 32"):
        raise result.exception


def test_synth_command_refuses_truth_inside_raw(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    result = CliRunner().invoke(app, ["synth", "--raw", str(raw), "--truth", str(raw / "truth"), *TINY])
    assert result.exit_code == 1
    assert "lies inside raw root" in result.stderr.splitlines()[0]


def test_synth_command_takes_its_roots_from_the_environment(tmp_path: Path) -> None:
    raw, truth = tmp_path / "env_raw", tmp_path / "env_truth"
    env = {"FLEXSYNC_RAW_ROOT": str(raw), "FLEXSYNC_TRUTH_ROOT": str(truth)}
    result = CliRunner().invoke(app, ["synth", *TINY], env=env)
    assert result.exit_code == 0, result.output
    assert f"wrote 1 recordings to {raw}" in result.stdout and f"ground truth in {truth}" in result.stdout
    assert list_complete_recordings(raw) == ["S01_A13_T1"]
    assert (truth / "S01_A13_T1" / "truth.json").is_file()


def test_flex_size_plan_has_760_recordings_and_flex_skill_split() -> None:
    all_actions = tuple(f"A{i:02d}" for i in range(1, 21))
    plans = plan_recordings(SynthOptions(subjects=38, actions=all_actions))
    keys = [p.key for p in plans]
    assert len(plans) == 760 and len(set(keys)) == 760
    assert keys == sorted(keys) and all(check_recording_key(k) == k for k in keys)
    subjects = {p.subject.id: p.subject for p in plans}
    assert sorted(subjects) == [f"S{i:02d}" for i in range(1, 39)]
    assert Counter(s.skill for s in subjects.values()) == {"expert": 10, "amateur": 8, "novice": 20}
    assert Counter(p.action_id for p in plans) == dict.fromkeys(all_actions, 38)
    # Identity seeding: the same recording is planned identically inside a smaller dataset.
    small = {p.key: p for p in plan_recordings(SynthOptions(subjects=5, actions=("A07",)))}
    assert all(small[p.key] == p for p in plans if p.key in small) and len(small) == 5
    assert len({p.rng().integers(1 << 62) for p in plans}) == 760  # every recording has its own stream
