"""More devices than the FLEX rig: SynthOptions.cinema_cameras and emg_devices.

Extra cameras (cam5..) and EMG devices (emg2..) draw from their own random streams, so adding or
removing them leaves every other file of the recording byte for byte as it was; each new device
has its own clock, its own truth, and sees the same sync events (the LED, the trigger pulse).
Files are read with third-party libraries (PyAV, mne), as in test_synth_dataset.py.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, replace
from pathlib import Path

import av
import mne
import numpy as np
import pytest
from synth_poses import standing_pose

from flexsync.fkg.catalogue import default_fkg
from flexsync.raw import read_manifest
from flexsync.synth.cameras import EXTRA_CAMERA_STANDS, default_rig
from flexsync.synth.dataset import generate_dataset, plan_recordings
from flexsync.synth.options import MAX_CINEMA_CAMERAS, MAX_EMG_DEVICES, SynthOptions
from flexsync.synth.recording import EXTRA_EMG_MUSCLES, LED_POSITION_LAB, generate_recording
from flexsync.synth.truth import RecordingTruth

SMALL = SynthOptions(
    seed=4, subjects=1, actions=("A13",), repetitions=2, width=160, height=90, phone_width=90, phone_height=160
)  # fmt: skip
KEY = "S01_A13_T1"


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _frames(path: Path) -> tuple[list[int], np.ndarray]:
    with av.open(str(path)) as container:
        frames = [(f.pts, f.to_ndarray(format="gray")) for f in container.decode(video=0)]
    return [p for p, _ in frames], np.stack([f for _, f in frames]).astype(np.int16)


def _assert_same_file(first: Path, second: Path) -> None:
    """Byte-identical; an mp4 may instead decode to the same PTS and nearly the same pictures
    (x264's known process-state gap, docs/raw-format.md "The generator")."""
    if first.read_bytes() == second.read_bytes():
        return
    assert first.suffix == ".mp4", f"{first.name} differs"
    (pts_one, one), (pts_two, two) = _frames(first), _frames(second)
    assert pts_one == pts_two, first.name
    diff = np.abs(one - two)
    assert diff.max() <= 40 and diff.mean() < 0.2, f"{first.name}: decoded pictures differ"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """The same recording with the FLEX rig, with 5 cameras + 2 EMG devices, and with 2 cameras."""
    base = tmp_path_factory.mktemp("devices")
    variants = {
        "default": SMALL,
        "more": replace(SMALL, cinema_cameras=5, emg_devices=2),
        "fewer": replace(SMALL, cinema_cameras=2),
    }
    out = {}
    for name, options in variants.items():
        (key,) = generate_dataset(base / name / "raw", base / name / "truth", options)
        assert key == KEY
        out[name] = (base / name / "raw" / "recordings" / key, base / name / "truth" / key / "truth.json")
    return out


# -- options --------------------------------------------------------------------------------------


def test_defaults_are_the_flex_rig_and_are_left_out_of_dataset_json() -> None:
    options = SynthOptions()
    assert (options.cinema_cameras, options.emg_devices) == (4, 1)
    recorded = options.to_dict()
    assert "cinema_cameras" not in recorded and "emg_devices" not in recorded
    # look (flat by default) and the sync-train options are later options too: left out at their defaults
    later = {"cinema_cameras", "emg_devices", "look", "sync_source", "sync_period_s", "missing_pulse_probability"}
    later |= {"sync_late_start_s", "sync_early_stop_s"}
    assert set(recorded) == {f.name for f in fields(SynthOptions)} - later
    assert SynthOptions(**recorded) == options
    more = replace(options, cinema_cameras=6, emg_devices=3)
    assert (more.to_dict()["cinema_cameras"], more.to_dict()["emg_devices"]) == (6, 3)
    assert SynthOptions(**more.to_dict()) == more
    only_emg = replace(options, emg_devices=2).to_dict()
    assert "cinema_cameras" not in only_emg and only_emg["emg_devices"] == 2


def test_dataset_json_records_extra_devices(generated) -> None:
    for name, expected in (("default", {}), ("more", {"cinema_cameras": 5, "emg_devices": 2})):
        raw_root = generated[name][0].parent.parent
        recorded = json.loads((raw_root / "dataset.json").read_text())["options"]
        assert {k: recorded[k] for k in ("cinema_cameras", "emg_devices") if k in recorded} == expected


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"cinema_cameras": 0}, rf"cinema_cameras must be an integer 1\.\.{MAX_CINEMA_CAMERAS}, got 0"),
        ({"cinema_cameras": MAX_CINEMA_CAMERAS + 1}, rf"cinema_cameras must be an integer 1\.\.{MAX_CINEMA_CAMERAS}"),
        ({"cinema_cameras": 4.0}, r"cinema_cameras must be an integer .*, got 4\.0"),
        ({"emg_devices": 0}, rf"emg_devices must be an integer 1\.\.{MAX_EMG_DEVICES}, got 0"),
        ({"emg_devices": True}, r"emg_devices must be an integer .*, got True"),
    ],
)
def test_device_counts_are_validated(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SynthOptions(**changes)


def test_the_rig_has_a_stand_for_every_allowed_camera() -> None:
    assert len(EXTRA_CAMERA_STANDS) + 4 == MAX_CINEMA_CAMERAS
    with pytest.raises(ValueError, match=rf"cinema_cameras must be an integer 1\.\.{MAX_CINEMA_CAMERAS}, got 17"):
        default_rig(width=160, height=90, phone_width=90, phone_height=160, cinema_cameras=17)


# -- the rig --------------------------------------------------------------------------------------


def _rig(n: int, seed: int | None) -> dict:
    rng = None if seed is None else np.random.default_rng(seed)
    extra = None if seed is None else np.random.default_rng([seed, 99])
    size = {"width": 480, "height": 270, "phone_width": 270, "phone_height": 480}
    return default_rig(**size, rng=rng, cinema_cameras=n, extra_rng=extra)


@pytest.mark.parametrize("seed", [None, 0, 3])
def test_every_camera_of_a_full_rig_sees_the_subject_and_the_led(seed: int | None) -> None:
    rig = _rig(MAX_CINEMA_CAMERAS, seed)
    assert list(rig) == [*(f"cam{i}" for i in range(1, MAX_CINEMA_CAMERAS + 1)), "phone"]
    points = np.vstack([standing_pose(arms_raised=True), LED_POSITION_LAB])
    for name, cam in rig.items():
        px, depth = cam.project(points)
        assert (depth > 2.0).all(), name
        assert (px >= 0).all() and (px[:, 0] <= cam.width - 1).all() and (px[:, 1] <= cam.height - 1).all(), name
        if name != "phone":
            fill = (px[:21, 1].max() - px[:21, 1].min()) / cam.height
            assert 0.65 <= fill <= 0.85, (name, fill)
    centres = np.array([cam.centre_lab for cam in rig.values()])
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1) + 10 * np.eye(len(centres))
    assert gaps.min() > 1.0  # no two cameras share a stand


def test_extra_cameras_stand_where_listed_and_never_move_the_others() -> None:
    nominal = _rig(5, None)
    azimuth, height = np.deg2rad(EXTRA_CAMERA_STANDS[0][0]), EXTRA_CAMERA_STANDS[0][1]
    np.testing.assert_allclose(nominal["cam5"].centre_lab, [3.5 * np.cos(azimuth), 3.5 * np.sin(azimuth), height])
    four, two, many = _rig(4, 7), _rig(2, 7), _rig(MAX_CINEMA_CAMERAS, 7)
    assert list(two) == ["cam1", "cam2", "phone"]
    for name, cam in four.items():
        assert many[name] == cam
        if name in two:
            assert two[name] == cam
    assert _rig(5, 7)["cam5"] == many["cam5"]  # extra cameras draw in name order from their own stream
    assert many["cam5"] != _rig(5, None)["cam5"]  # and are perturbed like the others


# -- generated recordings ---------------------------------------------------------------------------


def test_extra_devices_leave_every_other_file_unchanged(generated) -> None:
    base_rec, base_truth = generated["default"]
    more_rec, more_truth = generated["more"]
    base, more = _hashes(base_rec), _hashes(more_rec)
    assert sorted(set(more) - set(base)) == ["emg/emg2.bdf", "video/cam5.mp4"]
    assert set(base) <= set(more)
    for name in base:
        if name not in ("manifest.json", "calibration.json"):
            _assert_same_file(base_rec / name, more_rec / name)
    cameras = [json.loads((rec / "calibration.json").read_text())["cameras"] for rec in (base_rec, more_rec)]
    assert list(cameras[1]) == ["cam1", "cam2", "cam3", "cam4", "cam5", "phone"]
    assert {k: v for k, v in cameras[1].items() if k != "cam5"} == cameras[0]
    manifests = [read_manifest(rec) for rec in (base_rec, more_rec)]
    assert sorted(manifests[1].streams) == sorted([*manifests[0].streams, "cam5", "emg2"])
    for name, entry in manifests[0].streams.items():
        assert manifests[1].streams[name] == entry
    truths = [RecordingTruth.read(path) for path in (base_truth, more_truth)]
    assert truths[1].sync_events_true_s == truths[0].sync_events_true_s
    assert truths[1].repetitions == truths[0].repetitions
    for name, stream in truths[0].streams.items():
        assert truths[1].streams[name] == stream, name


def test_fewer_cameras_drop_their_files_only(generated) -> None:
    base_rec, base_truth = generated["default"]
    fewer_rec, fewer_truth = generated["fewer"]
    base, fewer = _hashes(base_rec), _hashes(fewer_rec)
    assert sorted(set(base) - set(fewer)) == ["video/cam3.mp4", "video/cam4.mp4"]
    assert set(fewer) <= set(base)
    for name in fewer:
        if name not in ("manifest.json", "calibration.json"):
            _assert_same_file(base_rec / name, fewer_rec / name)
    assert sorted(read_manifest(fewer_rec).streams) == ["cam1", "cam2", "emg", "mocap", "phone", "physio"]
    base_truth_streams = RecordingTruth.read(base_truth).streams
    for name, stream in RecordingTruth.read(fewer_truth).streams.items():
        assert base_truth_streams[name] == stream


def test_extra_devices_have_their_own_clocks_and_truth(generated) -> None:
    rec, truth_path = generated["more"]
    truth = RecordingTruth.read(truth_path)
    manifest = read_manifest(rec)
    assert sorted(truth.streams) == sorted(manifest.streams)
    for name in ("cam5", "emg2"):
        stream = truth.stream(name)
        (segment,) = stream.segments
        others = [truth.stream(n).segments[0] for n in truth.streams if n != name]
        assert all(abs(segment.offset_s - o.offset_s) > 1e-6 for o in others), name  # its own draw
        assert 0.0 <= segment.offset_s <= SMALL.max_start_spread_s
        expected = stream.clock.to_device(np.asarray(truth.sync_events_true_s))
        np.testing.assert_allclose(stream.event_device_times_s, expected, rtol=0, atol=1e-12)
    assert abs(truth.stream("emg2").segments[0].drift) <= 80e-6
    assert abs(truth.stream("cam5").segments[0].drift) <= 20e-6
    cam5 = truth.stream("cam5")
    assert len(cam5.dropped_frames) == SMALL.dropped_frames_per_camera
    assert cam5.exposure_s == pytest.approx(SMALL.cinema_exposure_s)
    entry = manifest.streams["cam5"]
    assert (entry.kind, entry.file, entry.nominal_rate_hz, entry.device) == (
        "video", "video/cam5.mp4", 60.0, "cinema camera 5",
    )  # fmt: skip


def test_second_emg_device_reads_with_mne_and_its_trigger_matches_truth(generated) -> None:
    rec, truth_path = generated["more"]
    truth = RecordingTruth.read(truth_path)
    action = default_fkg().action("A13")
    first = [f"{m}_{side}" for m in action.emg_muscles for side in ("L", "R")]
    expected_names = first[: 2 * EXTRA_EMG_MUSCLES]
    assert truth.stream("emg2").extra["channel_names"] == expected_names
    entry = read_manifest(rec).streams["emg2"]
    assert entry.options == {"trigger_channel": "TRIG", "n_channels": 2 * EXTRA_EMG_MUSCLES}
    raw = mne.io.read_raw_bdf(rec / "emg" / "emg2.bdf", preload=True, verbose="error")
    assert raw.ch_names == [*expected_names, "TRIG"] and raw.info["sfreq"] == 2000.0
    trig = raw.get_data(picks=["TRIG"])[0]
    (segment,) = truth.stream("emg2").segments
    for onset in truth.stream("emg2").event_device_times_s:
        i0 = int((onset - 0.05) * 2000)
        rise = i0 + int(np.flatnonzero(trig[i0:] >= 2.5)[0])
        crossing = (rise - 1 + (2.5 - trig[rise - 1]) / (trig[rise] - trig[rise - 1])) / 2000.0
        assert rise == int(np.ceil(onset * 2000.0)) and abs(crossing - onset) < 0.05e-3
    # Same muscles as the first device, its own noise: correlated envelopes, different samples.
    other = mne.io.read_raw_bdf(rec / "emg" / "emg.bdf", preload=True, verbose="error")
    t_true = segment.offset_s + (1 + segment.drift) * np.arange(raw.n_times) / 2000.0
    (first_segment,) = truth.stream("emg").segments
    index = np.round((t_true - first_segment.offset_s) / (1 + first_segment.drift) * 2000.0).astype(int)
    keep = (index >= 0) & (index < other.n_times)
    kernel = np.ones(400) / 400
    for channel in (0, 1):
        mine = raw.get_data(picks=[channel])[0][keep]
        theirs = other.get_data(picks=[channel])[0][index[keep]]
        a, b = np.convolve(mine**2, kernel, "same"), np.convolve(theirs**2, kernel, "same")
        assert np.corrcoef(a, b)[0, 1] > 0.8
        assert abs(np.corrcoef(mine, theirs)[0, 1]) < 0.2  # its own noise, not a copy


def test_extra_camera_sees_the_flash_at_its_own_clock_times(generated) -> None:
    rec, truth_path = generated["more"]
    truth = RecordingTruth.read(truth_path)
    camera = json.loads((rec / "calibration.json").read_text())["cameras"]["cam5"]
    K, R, t = (np.asarray(camera[k], dtype=np.float64) for k in ("K", "R", "t"))
    x = R @ LED_POSITION_LAB + t
    u, v = (K @ (x / x[2]))[:2]
    pts, pictures = _frames(rec / "video" / "cam5.mp4")
    luma = pictures[:, round(v), round(u)].astype(np.float64)
    starts = np.asarray(pts) / 90000.0
    stream = truth.stream("cam5")
    pulse = truth.sync_pulse_s / (1 + stream.segments[0].drift)
    inside = np.zeros(starts.shape, dtype=bool)
    near = np.zeros(starts.shape, dtype=bool)
    for onset in stream.event_device_times_s:
        inside |= (starts >= onset) & (starts + stream.exposure_s <= onset + pulse)
        near |= (starts > onset - 0.1) & (starts < onset + pulse + 0.1)
    assert inside.sum() >= 2 * 3
    assert np.median(luma[inside]) - np.median(luma[~near]) > 100


def test_an_extra_device_recording_is_planned_like_any_other(tmp_path: Path) -> None:
    """generate_recording on its own (as the sync bench calls it) writes the extra devices too."""
    options = replace(SMALL, width=64, height=48, phone_width=48, phone_height=64, cinema_cameras=1, emg_devices=3)
    (plan,) = plan_recordings(options)
    (tmp_path / "raw" / "recordings").mkdir(parents=True)
    folder = generate_recording(plan, default_fkg(), options, raw_root=tmp_path / "raw", truth_root=tmp_path / "truth")
    manifest = read_manifest(folder)
    assert sorted(manifest.streams) == ["cam1", "emg", "emg2", "emg3", "mocap", "phone", "physio"]
    assert [manifest.streams[n].file for n in ("emg", "emg2", "emg3")] == [
        "emg/emg.bdf",
        "emg/emg2.bdf",
        "emg/emg3.bdf",
    ]
    truth = RecordingTruth.read(tmp_path / "truth" / plan.key / "truth.json")
    offsets = {truth.stream(n).segments[0].offset_s for n in ("emg", "emg2", "emg3")}
    assert len(offsets) == 3
