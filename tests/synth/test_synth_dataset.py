"""The whole synthetic dataset, checked through independent readers against the generator's truth.

Every file is opened with a well-known third-party library (PyAV, mne, ezc3d, the csv module)
rather than flexsync's own readers, and its content is compared with ``truth.json``: frame
timestamps and dropped frames, the LED flash brightness frame by frame, the sub-sample edges of
the EMG trigger and mocap SYNC pulses, the physiology sync rows, annotation frames and FKG scores.
Determinism (byte-identical files, identity seeding) and the safety rules of the raw format
(truth outside the raw root, manifest last, unsafe manifest paths) are checked too.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import ezc3d
import mne
import numpy as np
import pytest
from av.video.frame import PictureType

from flexsync.errors import UnsafePathError
from flexsync.fkg.catalogue import read_fkg
from flexsync.fkg.scoring import fkg_score
from flexsync.raw import list_complete_recordings, read_manifest
from flexsync.skeleton import JOINT_NAMES
from flexsync.synth.dataset import generate_dataset, plan_recordings, plan_subjects
from flexsync.synth.options import SynthOptions
from flexsync.synth.recording import LED_POSITION_LAB
from flexsync.synth.truth import TRUTH_FORMAT_VERSION, RecordingTruth

CINEMA = ("cam1", "cam2", "cam3", "cam4")
VIEWS = (*CINEMA, "phone")
TICKS_PER_S = 90000
CINEMA_TICKS = 1500  # 1/60 s at 90 kHz
STREAMS = {*VIEWS, "mocap", "emg", "physio"}


# -- helpers ------------------------------------------------------------------------------------


def _tree_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _truth(truth_root: Path, key: str) -> RecordingTruth:
    return RecordingTruth.read(truth_root / key / "truth.json")


def _dev_to_true(truth: RecordingTruth, stream: str, t_dev: np.ndarray | float) -> np.ndarray:
    """Device time -> true time with the truth's single clock segment (no resets in these options)."""
    (seg,) = truth.stream(stream).segments
    return seg.offset_s + (1.0 + seg.drift) * np.asarray(t_dev, dtype=np.float64)


def _pulse_dev_s(truth: RecordingTruth, stream: str) -> float:
    """Length of the sync pulse on the stream's device clock (s)."""
    (seg,) = truth.stream(stream).segments
    return truth.sync_pulse_s / (1.0 + seg.drift)


def _window_overlap(start: np.ndarray, length_s: float, windows: list[tuple[float, float]]) -> np.ndarray:
    """Fraction of each [start, start + length] covered by the (disjoint) windows."""
    covered = np.zeros(start.shape)
    for a, b in windows:
        covered += np.clip(np.minimum(start + length_s, b) - np.maximum(start, a), 0.0, None)
    return covered / length_s


@dataclass(frozen=True)
class Video:
    codec: str
    pix_fmt: str
    time_base: Fraction
    size: tuple[int, int]
    picture_types: frozenset[str]
    pts: np.ndarray  # int ticks of 1/90000 s, decode order
    led_luma: np.ndarray  # mean luma of the LED disc's central pixels, per frame


def _decode(path: Path, camera: dict) -> Video:
    K, R, t = (np.asarray(camera[k], dtype=np.float64) for k in ("K", "R", "t"))
    x = R @ LED_POSITION_LAB + t
    u, v = (K @ (x / x[2]))[:2]
    rows, cols = np.mgrid[0 : camera["height"], 0 : camera["width"]]
    mask = (cols - u) ** 2 + (rows - v) ** 2 <= 1.0  # the pixels within 1 px of the LED centre
    assert 2 <= mask.sum() <= 5, f"{path.name}: LED projects to {(u, v)}, mask has {mask.sum()} px"
    pts, luma, kinds = [], [], set()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        ctx = stream.codec_context
        for frame in container.decode(stream):
            pts.append(frame.pts)
            kinds.add(PictureType(frame.pict_type).name)
            luma.append(frame.to_ndarray(format="gray")[mask].mean())
        return Video(
            ctx.name, ctx.format.name, stream.time_base, (ctx.width, ctx.height), frozenset(kinds),
            np.array(pts, dtype=np.int64), np.array(luma),
        )  # fmt: skip


@pytest.fixture(scope="module")
def videos(synth_dataset) -> dict[tuple[str, str], Video]:
    raw, _, keys = synth_dataset
    out = {}
    for key in keys:
        rec = raw / "recordings" / key
        cameras = json.loads((rec / "calibration.json").read_text())["cameras"]
        for view in VIEWS:
            out[key, view] = _decode(rec / "video" / f"{view}.mp4", cameras[view])
    return out


def _edges(signal: np.ndarray, rate_hz: float, high: float, start_s: float) -> tuple[int, float, int, float]:
    """First rising and then falling 50% crossing after ``start_s``: (first index >= 50%, crossing time s,
    first index < 50% after it, crossing time s), crossings by linear interpolation between samples."""
    half = 0.5 * high
    i0 = int(start_s * rate_hz)
    rise = i0 + int(np.flatnonzero(signal[i0:] >= half)[0])
    fall = rise + int(np.flatnonzero(signal[rise:] < half)[0])

    def crossing(i: int) -> float:
        a, b = float(signal[i - 1]), float(signal[i])
        return (i - 1 + (half - a) / (b - a)) / rate_hz

    return rise, crossing(rise), fall, crossing(fall)


# -- 1. determinism -------------------------------------------------------------------------------

_GENERATE = """
import json, sys
from dataclasses import replace
from pathlib import Path
from flexsync.fkg.catalogue import default_fkg
from flexsync.synth.dataset import generate_dataset, plan_recordings
from flexsync.synth.options import SynthOptions
from flexsync.synth.recording import generate_recording

out, options = Path(sys.argv[1]), SynthOptions(**json.loads(sys.argv[2]))
if sys.argv[3] == "same":
    generate_dataset(out / "raw", out / "truth", options, workers=2)
else:  # another seed, and an existing subject's recording planned inside a bigger dataset
    generate_dataset(out / "seed" / "raw", out / "seed" / "truth", replace(options, seed=12, actions=("A01",)))
    bigger = replace(options, subjects=3, actions=("A13", "A05"))
    plan = {p.key: p for p in plan_recordings(bigger)}["S01_A13_T1"]
    generate_recording(plan, default_fkg(), bigger, raw_root=out / "big" / "raw", truth_root=out / "big" / "truth")
"""


@pytest.fixture(scope="module")
def fresh_runs(small_options, tmp_path_factory) -> dict[str, Path]:
    """Regenerate in two fresh interpreters at once (as `flexsync synth` runs): ``same`` is the
    small dataset again with 2 worker processes; ``other`` holds ``seed/`` and ``big/``."""
    base = tmp_path_factory.mktemp("fresh")
    options = json.dumps(small_options.to_dict())
    procs = {
        what: subprocess.Popen(
            [sys.executable, "-c", _GENERATE, str(base / what), options, what], stderr=subprocess.PIPE
        )
        for what in ("same", "other")
    }
    for what, proc in procs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"generation {what!r} failed:\n{err.decode()}"
    return {what: base / what for what in procs}


def _frames(path: Path) -> tuple[list[int], np.ndarray]:
    with av.open(str(path)) as container:
        frames = [(f.pts, f.to_ndarray(format="gray")) for f in container.decode(video=0)]
    return [p for p, _ in frames], np.stack([f for _, f in frames]).astype(np.int16)


def _assert_same_recording_tree(first: Path, second: Path) -> None:
    """Every file byte-identical, except that H.264 streams are compared decoded (same PTS,
    pictures within a small tolerance; equal mp4 bytes are ``test_video_bytes_are_identical``'s
    check) and the manifest is compared without the mp4 sizes and checksums."""
    one, two = _tree_hashes(first), _tree_hashes(second)
    assert sorted(one) == sorted(two)
    for name in one:
        if name.endswith(".mp4") and one[name] != two[name]:
            pts_one, pictures_one = _frames(first / name)
            pts_two, pictures_two = _frames(second / name)
            assert pts_one == pts_two, name
            diff = np.abs(pictures_one - pictures_two)
            assert diff.max() <= 40 and diff.mean() < 0.2, f"{name}: decoded pictures differ ({diff.max()})"
        elif name.endswith("manifest.json") and one[name] != two[name]:
            manifests = [json.loads((root / name).read_text()) for root in (first, second)]
            for manifest in manifests:
                for entry in [v for k, v in manifest["files"].items() if k.endswith(".mp4")]:
                    entry.pop("sha256"), entry.pop("bytes")
            assert manifests[0] == manifests[1], name
        elif not name.endswith((".mp4", "manifest.json")):
            assert one[name] == two[name], name


def test_same_options_give_the_same_dataset_in_another_process(synth_dataset, fresh_runs) -> None:
    raw, truth, _ = synth_dataset  # generated in this process, one worker
    hashes = _tree_hashes(raw)
    assert len(hashes) == 3 + 2 * 12  # dataset.json, fkg.json, subjects.csv + 12 files per recording
    assert sum(name.endswith(".mp4") for name in hashes) == 10
    _assert_same_recording_tree(raw, fresh_runs["same"] / "raw")
    assert _tree_hashes(fresh_runs["same"] / "truth") == _tree_hashes(truth)


def test_video_bytes_are_identical(synth_dataset, fresh_runs) -> None:
    one, two = _tree_hashes(synth_dataset[0]), _tree_hashes(fresh_runs["same"] / "raw")
    assert {k: v for k, v in one.items() if k.endswith(".mp4")} == {k: v for k, v in two.items() if k.endswith(".mp4")}


def test_other_seed_changes_every_recording_file(synth_dataset, fresh_runs) -> None:
    raw, key = synth_dataset[0], "S01_A01_T1"
    before = _tree_hashes(raw / "recordings" / key)
    after = _tree_hashes(fresh_runs["other"] / "seed" / "raw" / "recordings" / key)
    assert sorted(after) == sorted(before)
    assert [name for name in before if before[name] == after[name]] == []
    seeded_fkg = fresh_runs["other"] / "seed" / "raw" / "fkg.json"
    assert seeded_fkg.read_bytes() == (raw / "fkg.json").read_bytes()  # the FKG does not depend on the seed


def test_adding_a_subject_keeps_existing_recordings(synth_dataset, fresh_runs, small_options) -> None:
    bigger = replace(small_options, subjects=3, actions=("A13", "A05"))
    plans = {plan.key: plan for plan in plan_recordings(bigger)}
    assert sorted(plans) == [f"S0{s}_A{a}_T1" for s in (1, 2, 3) for a in ("05", "13")]
    skills = [plans[f"S0{s}_A13_T1"].subject.skill for s in (1, 2, 3)]
    assert skills == ["novice", "expert", "amateur"]  # FLEX's three groups, biggest first
    assert plan_subjects(1, small_options.seed) == plan_subjects(38, small_options.seed)[:1]
    # generate_dataset writes each plan on its own: the existing subject's plan inside the bigger
    # dataset must give the same recording as in the small one.
    raw, truth, _ = synth_dataset
    big = fresh_runs["other"] / "big"
    _assert_same_recording_tree(raw / "recordings" / "S01_A13_T1", big / "raw" / "recordings" / "S01_A13_T1")
    assert _tree_hashes(big / "truth" / "S01_A13_T1") == _tree_hashes(truth / "S01_A13_T1")


# -- 2 + 3. files readable by third-party tools, content equal to the truth -------------------------


def test_cinema_videos_have_exact_pts_with_gaps_at_dropped_frames(synth_dataset, videos) -> None:
    _, truth_root, keys = synth_dataset
    for key in keys:
        truth = _truth(truth_root, key)
        for view in CINEMA:
            video, st = videos[key, view], truth.stream(view)
            assert (video.codec, video.pix_fmt, video.time_base) == ("h264", "yuv420p", Fraction(1, 90000))
            assert video.size == (192, 108)
            assert "B" not in video.picture_types
            nominal = st.extra["nominal_frames"]
            kept = [k for k in range(nominal) if k not in set(st.dropped_frames)]
            assert len(video.pts) == nominal - len(st.dropped_frames) == len(kept)
            assert video.pts.tolist() == [k * CINEMA_TICKS for k in kept]  # device time k/60 s, exactly
            gaps = np.flatnonzero(np.diff(video.pts) != CINEMA_TICKS)
            assert gaps.tolist() == [d - j - 1 for j, d in enumerate(sorted(st.dropped_frames))]
            assert set(np.diff(video.pts)[gaps].tolist()) <= {2 * CINEMA_TICKS}


def test_phone_video_is_variable_rate_around_30_fps(synth_dataset, videos) -> None:
    _, truth_root, keys = synth_dataset
    for key in keys:
        video, st = videos[key, "phone"], _truth(truth_root, key).stream("phone")
        assert (video.codec, video.pix_fmt, video.size) == ("h264", "yuv420p", (108, 192))
        assert "B" not in video.picture_types
        assert len(video.pts) == st.extra["nominal_frames"] - len(st.dropped_frames)
        intervals = np.diff(video.pts) / TICKS_PER_S
        assert intervals.min() > 0.5 / 30
        drops = np.flatnonzero(intervals > 1.5 / 30)  # the clip keeps regular intervals within 1.5 periods
        assert drops.tolist() == [d - j - 1 for j, d in enumerate(sorted(st.dropped_frames))]
        regular = np.delete(intervals, drops)
        assert 1 / regular.mean() == pytest.approx(30.0, rel=0.015)
        assert 0.0015 < regular.std() < 0.0025  # phone_jitter_s = 2 ms


def test_led_brightness_follows_the_flash_overlap_in_every_view(synth_dataset, videos) -> None:
    _, truth_root, keys = synth_dataset
    for key in keys:
        truth = _truth(truth_root, key)
        for view in VIEWS:
            video, st = videos[key, view], truth.stream(view)
            starts = video.pts / TICKS_PER_S
            events = st.event_device_times_s
            windows = [(e, e + _pulse_dev_s(truth, view)) for e in events]
            expected = _window_overlap(starts, st.exposure_s, windows)
            expected[expected > 1 - 1e-9] = 1.0
            dark = video.led_luma[expected == 0.0]
            bright = video.led_luma[expected == 1.0]
            assert len(bright) >= 2 * 2 and len(dark) > 100
            assert np.median(bright) - np.median(dark) > 150, f"{key} {view}: LED barely changes"
            level = (video.led_luma - np.median(dark)) / (np.median(bright) - np.median(dark))
            worst = int(np.argmax(np.abs(level - expected)))
            assert abs(level[worst] - expected[worst]) <= 0.15, f"{key} {view} frame {worst}"
            partial = (expected > 0) & (expected < 1)
            assert partial.sum() >= 2  # a flash edge falls inside an exposure: sub-frame timing is visible
            interval = 1 / 60 if view in CINEMA else float(np.max(np.diff(starts)))
            for e in events:
                first_bright = starts[np.flatnonzero((level >= 0.5) & (starts > e - 0.5))[0]]
                assert abs(first_bright - e) <= interval, f"{key} {view}: flash at {first_bright}, truth {e}"


def test_emg_bdf_reads_with_mne_and_trigger_edges_match_truth(synth_dataset) -> None:
    raw_root, truth_root, keys = synth_dataset
    fkg = read_fkg(raw_root / "fkg.json")
    for key in keys:
        truth = _truth(truth_root, key)
        raw = mne.io.read_raw_bdf(raw_root / "recordings" / key / "emg" / "emg.bdf", preload=True, verbose="error")
        assert raw.info["sfreq"] == 2000.0
        action = fkg.action(key.split("_")[1])
        assert raw.ch_names == [*action.emg_channels, "TRIG"]
        assert all(len(name) <= 16 for name in raw.ch_names)
        data = raw.get_data()
        trig = data[16]
        assert trig.max() == pytest.approx(5.0, abs=1e-3) and trig.min() == pytest.approx(0.0, abs=1e-3)
        st = truth.stream("emg")
        for e in st.event_device_times_s:
            rise, rise_s, fall, fall_s = _edges(trig, 2000.0, 5.0, e - 0.05)
            end = e + _pulse_dev_s(truth, "emg")
            assert rise == int(np.ceil(e * 2000.0))  # first sample whose time is inside the pulse
            assert fall == int(np.ceil(end * 2000.0))
            assert abs(rise_s - e) < 0.05e-3 and abs(fall_s - end) < 0.05e-3
        # Muscles fire during the repetitions: band-power well above the quiet lead-in.
        t_true = _dev_to_true(truth, "emg", np.arange(raw.n_times) / 2000.0)
        in_rep = np.zeros(raw.n_times, dtype=bool)
        for rep in truth.repetitions:
            in_rep |= (t_true >= rep["start_true_s"]) & (t_true < rep["end_true_s"])
        quiet = t_true < truth.repetitions[0]["start_true_s"] - 0.3
        ratio = np.sqrt((data[:16, in_rep] ** 2).mean(1) / (data[:16, quiet] ** 2).mean(1))
        assert ratio.min() > 2.0 and ratio[:4].min() > 4.0, ratio  # main muscles come first
        assert np.sqrt((data[:16, quiet] ** 2).mean(1)).min() > 3e-6  # noise + hum, in volts after mne's scaling


def test_mocap_c3d_reads_with_ezc3d_and_sync_edges_match_truth(synth_dataset) -> None:
    raw_root, truth_root, keys = synth_dataset
    heights = {
        row["subject_id"]: float(row["height_m"])
        for row in csv.DictReader((raw_root / "subjects.csv").read_text().splitlines())
    }
    for key in keys:
        truth = _truth(truth_root, key)
        c3d = ezc3d.c3d(str(raw_root / "recordings" / key / "mocap" / "mocap.c3d"))
        params = c3d["parameters"]
        assert params["POINT"]["LABELS"]["value"] == list(JOINT_NAMES)
        assert params["POINT"]["RATE"]["value"][0] == 150.0
        assert params["POINT"]["UNITS"]["value"] == ["mm"]
        assert params["ANALOG"]["LABELS"]["value"] == ["SYNC"]
        assert params["ANALOG"]["RATE"]["value"][0] == 1500.0
        points = c3d["data"]["points"][:3]
        residuals = c3d["data"]["meta_points"]["residuals"][0]
        sync = c3d["data"]["analogs"][0, 0]
        assert points.shape == (3, 21, points.shape[2]) and sync.shape == (10 * points.shape[2],)
        occluded = residuals < 0
        assert occluded.sum() == truth.stream("mocap").extra["occluded_samples"]
        assert np.isnan(points[:, occluded]).all() and np.isfinite(points[:, ~occluded]).all()
        head, hip, ankle = (points[2, JOINT_NAMES.index(j), 0] for j in ("head", "r_hip", "r_ankle"))
        assert 0 < ankle < hip < head
        assert 0.85 < head / (1000 * heights[key[:3]]) < 1.0  # standing in the lead-in, mm vs m
        for e in truth.stream("mocap").event_device_times_s:
            rise, rise_s, fall, fall_s = _edges(sync, 1500.0, 5.0, e - 0.05)
            end = e + _pulse_dev_s(truth, "mocap")
            assert (rise, fall) == (int(np.ceil(e * 1500.0)), int(np.ceil(end * 1500.0)))
            assert abs(rise_s - e) < 0.05e-3 and abs(fall_s - end) < 0.05e-3


def test_every_stream_stops_at_the_same_true_time(synth_dataset, videos) -> None:
    raw_root, truth_root, keys = synth_dataset
    for key in keys:
        truth = _truth(truth_root, key)
        rec = raw_root / "recordings" / key
        last = {view: (videos[key, view].pts[-1] / TICKS_PER_S, 1 / 60) for view in CINEMA}
        n_points = ezc3d.c3d(str(rec / "mocap" / "mocap.c3d"))["data"]["points"].shape[2]
        last["mocap"] = ((n_points - 1) / 150.0, 1 / 150)
        ends = {name: float(_dev_to_true(truth, name, t)) for name, (t, _) in last.items()}
        stop = max(ends.values())
        for name, (_, period) in last.items():
            assert stop - period < ends[name] <= stop, f"{key} {name} ends at {ends[name]}, others at {stop}"
        # EDF/BDF hold whole 0.1 s data records: the last one is completed by repeating the last sample.
        emg = mne.io.read_raw_bdf(rec / "emg" / "emg.bdf", preload=True, verbose="error").get_data()
        assert emg.shape[1] % 200 == 0
        last_real = int(np.flatnonzero(np.any(emg != emg[:, -1:], axis=0))[-1]) + 1  # the rest repeat it
        assert emg.shape[1] - 200 <= last_real < emg.shape[1]
        emg_end = float(_dev_to_true(truth, "emg", last_real / 2000.0))
        assert -1 / 2000 < emg_end - stop < 1 / 150, f"{key} emg ends at {emg_end}, others at {stop}"


def test_physio_files_hold_sync_rows_at_truth_times(synth_dataset) -> None:
    raw_root, truth_root, keys = synth_dataset
    for key in keys:
        truth = _truth(truth_root, key)
        rec = raw_root / "recordings" / key
        events = list(csv.DictReader((rec / "physio" / "physio_events.csv").read_text().splitlines()))
        assert [row["label"] for row in events] == ["sync", "sync"]
        expected = np.round(truth.stream("physio").event_device_times_s, 3)
        assert np.array([float(row["time_s"]) for row in events]) == pytest.approx(expected, abs=1e-9)
        rows = list(csv.DictReader((rec / "physio" / "physio.csv").read_text().splitlines()))
        assert list(rows[0]) == ["time_s", "heart_rate_bpm", "breathing_rate_bpm"]
        t = np.array([float(r["time_s"]) for r in rows])
        assert t[0] == 0.0 and 0.8 < np.median(np.diff(t)) < 1.2
        assert all(40 < float(r["heart_rate_bpm"]) < 200 and 5 < float(r["breathing_rate_bpm"]) < 40 for r in rows)


def test_annotations_match_truth_frames_and_fkg_scores(synth_dataset, videos) -> None:
    raw_root, truth_root, keys = synth_dataset
    fkg = read_fkg(raw_root / "fkg.json")
    for key in keys:
        truth = _truth(truth_root, key)
        action = fkg.action(key.split("_")[1])
        annotations = json.loads((raw_root / "recordings" / key / "annotations.json").read_text())
        assert (annotations["recording"], annotations["view"]) == (key, "cam1")
        reps = annotations["repetitions"]
        assert len(reps) == len(truth.repetitions) == 2
        stored_true = _dev_to_true(truth, "cam1", videos[key, "cam1"].pts / TICKS_PER_S)

        def nearest_stored_frame(t_true: float, stored_true: np.ndarray = stored_true) -> int:
            return int(np.argmin(np.abs(stored_true - t_true)))

        previous_end = -1
        for rep, rep_truth in zip(reps, truth.repetitions, strict=True):
            assert rep["index"] == rep_truth["index"]
            bounds = [rep["start_frame"], *(p["end_frame"] for p in rep["phases"])]
            assert [p["start_frame"] for p in rep["phases"]] == bounds[:-1]  # phases tile the repetition
            assert bounds == sorted(set(bounds)) and bounds[-1] == rep["end_frame"]
            assert previous_end <= rep["start_frame"] and rep["end_frame"] < len(stored_true)
            previous_end = rep["end_frame"]
            # Frames count stored frames (dropped ones do not exist) and sit nearest the true times.
            assert rep["start_frame"] == nearest_stored_frame(rep_truth["start_true_s"])
            assert rep["end_frame"] == nearest_stored_frame(rep_truth["end_true_s"])
            for phase, phase_truth in zip(rep["phases"], rep_truth["phases"], strict=True):
                assert phase["phase"] == phase_truth["phase"] and phase["key_step"] == phase_truth["key_step"]
                assert phase["start_frame"] == nearest_stored_frame(phase_truth["start_true_s"])
            errors = [e["error"] for e in rep["errors"]]
            assert rep["errors"] == rep_truth["errors"]
            assert all(action.key_step_of(e["error"]).id == e["key_step"] for e in rep["errors"])
            assert rep["feedback"] == [fkg.error(action.id, e).feedback for e in errors]
            weights = {e.id: e.weight for e in action.errors}
            by_formula = (1 - sum(weights[e] for e in set(errors)) / sum(weights.values())) * 100
            assert rep["score"] == pytest.approx(by_formula, abs=0.01)
            assert rep["score"] == pytest.approx(fkg_score(fkg, action.id, errors), abs=0.01)


def test_clock_resets_appear_in_the_files_as_the_truth_says(tmp_path: Path) -> None:
    options = SynthOptions(
        seed=5, subjects=1, actions=("A01",), repetitions=2, width=96, height=64, phone_width=64, phone_height=96,
        clock_resets=1, emg_format="edf",
    )  # fmt: skip
    (key,) = generate_dataset(tmp_path / "raw", tmp_path / "truth", options)
    rec = tmp_path / "raw" / "recordings" / key
    truth = _truth(tmp_path / "truth", key)
    assert len(truth.stream("mocap").segments) == 1  # the reference never resets
    for view in VIEWS:  # video PTS jump forward at the reset; true time runs on
        first, second = truth.stream(view).segments
        with av.open(str(rec / "video" / f"{view}.mp4")) as container:
            t_dev = np.array([frame.pts for frame in container.demux(video=0) if frame.pts is not None]) / TICKS_PER_S
        jump = int(np.argmax(np.diff(t_dev)))
        assert t_dev[jump] < second.device_start_s <= t_dev[jump + 1] < second.device_start_s + 0.1
        assert np.diff(t_dev)[jump] > 0.5  # the jump, not a dropped frame
        before = first.offset_s + (1 + first.drift) * t_dev[jump]
        after = second.offset_s + (1 + second.drift) * t_dev[jump + 1]
        assert 0 < after - before < 0.1
    # EDF stores no timestamps: the file just continues, and the truth describes the file's clock.
    emg = mne.io.read_raw_edf(rec / "emg" / "emg.edf", preload=True, verbose="error")
    first, second = truth.stream("emg").segments
    assert second.device_start_s * 2000 == pytest.approx(round(second.device_start_s * 2000), abs=1e-6)
    boundary_true = first.offset_s + (1 + first.drift) * second.device_start_s
    assert abs(second.offset_s + (1 + second.drift) * second.device_start_s - boundary_true) < 1 / 2000
    trig = emg.get_data(picks=["TRIG"])[0]
    for e in truth.stream("emg").event_device_times_s:
        rise, rise_s, _, _ = _edges(trig, 2000.0, 5.0, e - 0.05)
        assert rise == int(np.ceil(e * 2000.0)) and abs(rise_s - e) < 0.05e-3
    physio_t = np.array([float(row.split(",")[0]) for row in (rec / "physio" / "physio.csv").read_text().split()[1:]])
    (gap,) = np.flatnonzero(np.diff(physio_t) > 1.4)
    assert physio_t[gap] < truth.stream("physio").segments[1].device_start_s <= physio_t[gap + 1]


def test_truth_json_has_format_version_and_every_stream(synth_dataset) -> None:
    _, truth_root, keys = synth_dataset
    for key in keys:
        data = json.loads((truth_root / key / "truth.json").read_text())
        assert data["format_version"] == TRUTH_FORMAT_VERSION == 1
        assert data["recording"] == key and data["seed"] == 11
        assert set(data["streams"]) == STREAMS
        assert data["streams"]["cam1"]["exposure_s"] == pytest.approx(1 / 60, abs=1e-15)  # 360-degree shutter
        assert data["streams"]["phone"]["exposure_s"] == pytest.approx(1 / 30, abs=1e-15)


# -- 4. safety and structure ---------------------------------------------------------------------------


@pytest.mark.parametrize("truth_inside", ["raw/truth", "raw", "raw/recordings/x/.."])
def test_truth_root_inside_raw_root_is_refused(tmp_path: Path, small_options, truth_inside: str) -> None:
    with pytest.raises(ValueError, match="lies inside raw root"):
        generate_dataset(tmp_path / "raw", tmp_path / truth_inside, small_options)
    assert not (tmp_path / "raw").exists()  # refused before writing anything


def test_manifest_is_written_last_lists_every_file_and_validates(synth_dataset) -> None:
    raw_root, _, keys = synth_dataset
    assert list_complete_recordings(raw_root) == keys
    assert sorted(p.name for p in (raw_root / "recordings").iterdir()) == keys  # no temp folders left
    assert not [p for p in raw_root.rglob("*") if p.name.endswith((".tmp", ".partial"))]
    for key in keys:
        rec = raw_root / "recordings" / key
        manifest_mtime = (rec / "manifest.json").stat().st_mtime_ns
        others = [p for p in rec.rglob("*") if p.is_file() and p.name != "manifest.json"]
        assert len(others) == 11
        assert all(p.stat().st_mtime_ns <= manifest_mtime for p in others)
        manifest = read_manifest(rec)
        assert (manifest.recording, manifest.subject, manifest.action, manifest.take) == (key, "S01", key[4:7], 1)
        assert set(manifest.streams) == STREAMS and manifest.reference_stream == "mocap"
        assert sorted(manifest.files) == sorted(p.relative_to(rec).as_posix() for p in others)
        for relative, info in manifest.files.items():
            data = (rec / relative).read_bytes()
            assert info == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        cameras = json.loads((rec / "calibration.json").read_text())["cameras"]
        for view in VIEWS:
            assert manifest.streams[view].options["exposure_s"] == cameras[view]["exposure_s"]
            assert manifest.streams[view].options["variable_frame_rate"] is (view == "phone")


@pytest.mark.parametrize(
    ("bad_file", "match"),
    [("../../../etc/passwd", "escapes the raw root"), ("/etc/passwd", "absolute path"), ("link.bdf", "escapes")],
)
def test_read_manifest_rejects_paths_leaving_the_raw_root(
    synth_dataset, tmp_path: Path, bad_file: str, match: str
) -> None:
    raw_root, _, keys = synth_dataset
    rec = tmp_path / "raw" / "recordings" / keys[0]
    shutil.copytree(raw_root / "recordings" / keys[0], rec)
    (tmp_path / "outside.bdf").write_bytes(b"not inside the raw root")
    os.symlink(tmp_path / "outside.bdf", rec / "link.bdf")
    read_manifest(rec)  # the copy itself is fine
    data = json.loads((rec / "manifest.json").read_text())
    data["streams"]["emg"]["file"] = bad_file
    (rec / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(UnsafePathError, match=match):
        read_manifest(rec)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"width": 191}, "width must be an even number >= 32"),
        ({"phone_height": 30}, "phone_height must be an even number >= 32"),
        ({"actions": ("A21",)}, "action 'A21' is not one of A01..A20"),
        ({"actions": ("Axx",)}, "action 'Axx' is not one of A01..A20"),
        ({"actions": ("A01", "A01")}, "actions are listed twice: A01"),
        ({"actions": ()}, "actions must name at least one action"),
        ({"subjects": 100}, r"subjects must be an integer 1\.\.99, got 100"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"emg_format": "wav"}, "emg_format must be 'bdf' or 'edf'"),
        ({"emg_rate_hz": 800.0}, "emg_rate_hz must exceed 900 Hz"),
        ({"cinema_exposure_s": 0.02}, r"cinema_exposure_s must be in \(0, 1/cinema_rate_hz\]"),
        ({"phone_rate_hz": 0.0}, "phone_rate_hz must be > 0 Hz"),
        ({"lead_in_s": 1.5}, r"lead_in_s \(1.5\) must exceed max_start_spread_s"),
        ({"lead_out_s": 1.0}, r"lead_out_s \(1.0\) must be >= 1.2 s \+ sync_pulse_s"),
        ({"sync_pulse_s": 0.0}, r"sync_pulse_s must be in \(0, 1\] s"),
        ({"missing_flash_probability": 1.5}, r"missing_flash_probability must be in \[0, 1\]"),
        ({"dropped_frames_per_camera": -1}, "dropped_frames_per_camera must be an integer >= 0"),
    ],
)
def test_options_reject_bad_values_with_clear_messages(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SynthOptions(**changes)


def test_options_report_every_problem_at_once() -> None:
    with pytest.raises(ValueError, match=r"invalid synth options: width .*; height .*; emg_format"):
        SynthOptions(width=33, height=31, emg_format="csv")
    assert SynthOptions(actions=["A05"]).actions == ("A05",)  # a list is accepted, stored as a tuple
