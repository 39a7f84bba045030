"""A recording assembled from third-party files (real BDF and Vicon C3D) goes through the whole pipeline.

Video and physiology come from a generated recording (their sync flashes and logged inputs are
kept); the EMG is EDFbrowser's BDF and the mocap Vicon's C3D, neither of which saw a sync pulse.
The lab declares their clocks in the manifest (``clock`` option), with the reference camera
``cam1`` declared too: every clock then lands on one declared lab clock, the other views and the
physiology through their sync events against cam1 composed with cam1's declared clock.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import dagster as dg
import ezc3d
import mne
import numpy as np
import polars as pl
import pytest
import zarr

from flexsync.assets.resources import FlexsyncResource
from flexsync.config import PipelineSettings
from flexsync.errors import InputFileError, ManifestError, UnsafePathError
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.streams import ingest_stream
from flexsync.pipelines.runner import run_recording
from flexsync.readers.registry import read_file
from flexsync.skeleton import JOINT_NAMES
from flexsync.storage import Store
from flexsync.synth.truth import RecordingTruth, expected_model

KEY = "S01_A01_T1"
BDF = "edfbrowser_generator.bdf"
C3D = "vicon_markers_analogs.c3d"
# Declared clocks (t_lab = offset_s + (1 + drift_ppm * 1e-6) * t_dev).
CAM1_CLOCK = {"offset_s": 0.25, "drift_ppm": 0.0}
EMG_CLOCK = {"offset_s": -1.0}
MOCAP_CLOCK = {"offset_s": 2.0, "drift_ppm": 10.0}
EMG_CHANNELS = {"sine 2.5Hz": "biceps_L"}
# Vicon's right-arm/thorax markers (subject prefix "Daphnee:" resolved by suffix) standing in for the
# 21 FLEX joints: most 1:1, three as the mean of two markers. Anatomically arbitrary for the legs.
MARKER_SET = {
    "head": ["T1"],
    "neck": ["CLAV_SC"],
    "chest": ["STERr", "STERl"],
    "r_shoulder": ["ACRO_tip"],
    "r_elbow": ["EPICl", "EPICm"],
    "r_wrist": ["STYLr", "STYLu"],
    "r_hand": ["INDEX"],
    "l_shoulder": ["CLAVl"],
    "l_elbow": ["ARMl"],
    "l_wrist": ["WRIST"],
    "l_hand": ["LASTC"],
    "r_hip": ["ASISr"],
    "r_knee": ["PSISr"],
    "r_ankle": ["SCAP_IA"],
    "r_heel": ["SCAP_AA"],
    "r_toe": ["XIPH"],
    "l_hip": ["ASISl"],
    "l_knee": ["PSISl"],
    "l_ankle": ["T10"],
    "l_heel": ["SCAPm"],
    "l_toe": ["STER"],
}


def _assemble(synth_dataset, real_data: Path, root: Path, *, mocap_options: dict, emg_options: dict) -> Path:
    """A raw root with one recording: generated views and physio, the real BDF and C3D; returns the raw root."""
    raw, _, _ = synth_dataset
    source = raw / "recordings" / KEY
    target = root / "raw" / "recordings" / KEY
    for name in ("dataset.json", "fkg.json", "subjects.csv"):
        (root / "raw").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(raw / name, root / "raw" / name)
    for relative in ("calibration.json", "annotations.json", "physio/physio.csv", "physio/physio_events.csv"):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / relative, target / relative)
    shutil.copytree(source / "video", target / "video")
    (target / "emg").mkdir()
    (target / "mocap").mkdir()
    shutil.copyfile(real_data / BDF, target / "emg" / "generator.bdf")
    shutil.copyfile(real_data / C3D, target / "mocap" / "vicon.c3d")
    (target / "mocap" / "vicon_markers.json").write_text(json.dumps(MARKER_SET, indent=1), encoding="utf-8")

    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    streams = manifest["streams"]
    streams["cam1"]["options"]["clock"] = CAM1_CLOCK
    streams["emg"] = {
        "kind": "emg",
        "file": "emg/generator.bdf",
        "format": "bdf",
        "nominal_rate_hz": 500.0,
        "device": "EDFbrowser signal generator",
        "options": emg_options,
    }
    streams["mocap"] = {
        "kind": "mocap",
        "file": "mocap/vicon.c3d",
        "format": "c3d",
        "nominal_rate_hz": 100.0,
        "device": "Vicon Nexus",
        "options": mocap_options,
    }
    manifest["reference_stream"] = "cam1"
    manifest["files"] = {
        path.relative_to(target).as_posix(): {
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        }
        for path in sorted(target.rglob("*"))
        if path.is_file()
    }
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return root / "raw"


_DECLARED = {"clock": MOCAP_CLOCK, "sync_channel": None}


@pytest.fixture(scope="module")
def thirdparty_run(synth_dataset, real_data, tmp_path_factory):
    root = tmp_path_factory.mktemp("thirdparty")
    raw = _assemble(
        synth_dataset,
        real_data,
        root,
        mocap_options={**_DECLARED, "marker_set": "mocap/vicon_markers.json"},
        emg_options={"channels": EMG_CHANNELS, "trigger_channel": None, "clock": EMG_CLOCK},
    )
    store = root / "store"
    with dg.DagsterInstance.ephemeral() as instance:
        run = run_recording(KEY, instance, FlexsyncResource(raw_root=str(raw), store_root=str(store)))
    return raw, store, run


def test_thirdparty_recording_is_published(thirdparty_run, real_data):
    _, store, run = thirdparty_run
    assert run.success and run.failures == [], run.failures
    group = Store(store).open_recording(KEY)
    assert group.attrs["status"] == "complete" and group.attrs["reference_stream"] == "cam1"

    # EMG: the mapped channel, the BDF's rate and sample count, the values mne reads (volts -> uV).
    emg = group["streams"]["emg"]
    assert emg.attrs["channel_names"] == ["biceps_L"]
    assert emg.attrs["nominal_rate_hz"] == 500.0
    raw_uv = np.asarray(emg["raw"])
    assert raw_uv.shape == (15000, 1)
    with mne.utils.use_log_level("error"):
        bdf = mne.io.read_raw_bdf(real_data / BDF, preload=False)
        volts = bdf.get_data(picks=["sine 2.5Hz"])[0]
    np.testing.assert_allclose(raw_uv[:, 0], (volts * 1e6).astype(np.float32), rtol=0, atol=1e-3)
    assert np.ptp(raw_uv[:, 0]) > 100.0  # a real signal, not zeros
    assert not np.asarray(emg["trigger"]).any()
    t_device = np.asarray(emg["t_device"])
    np.testing.assert_array_equal(t_device, np.arange(15000) / 500.0)
    np.testing.assert_allclose(np.asarray(emg["t"]), EMG_CLOCK["offset_s"] + t_device, rtol=0, atol=1e-12)

    # Mocap: 21 joints in metres; 1:1 joints are the C3D markers / 1000, mean joints the mean.
    mocap = group["streams"]["mocap"]
    joints = np.asarray(mocap["joints"])
    assert joints.shape == (580, len(JOINT_NAMES), 3) and mocap.attrs["joint_names"] == list(JOINT_NAMES)
    c3d = read_file(real_data / C3D)
    markers = next(s for s in c3d.signals.values() if s.kind == "mocap")
    labels = [label.split(":")[-1] for label in markers.channel_names]
    for joint, chosen in MARKER_SET.items():
        expected = markers.data[:, [labels.index(m) for m in chosen], :].mean(axis=1)  # ezc3d, mm -> m
        got = joints[:, JOINT_NAMES.index(joint)]
        np.testing.assert_allclose(got, expected.astype(np.float32), rtol=0, atol=1e-6, err_msg=joint)
    points_mm = ezc3d.c3d(str(real_data / C3D))["data"]["points"]
    t1 = [label.split(":")[-1] for label in markers.channel_names].index("T1")
    seen = np.isfinite(points_mm[0, t1])
    assert seen.sum() > 500
    np.testing.assert_allclose(joints[seen, 0], (points_mm[:3, t1, seen].T / 1000.0).astype(np.float32), atol=1e-6)
    assert np.asarray(mocap["sync"]).shape == (0,)
    drift = 1.0 + MOCAP_CLOCK["drift_ppm"] * 1e-6
    np.testing.assert_allclose(
        np.asarray(mocap["t"]), MOCAP_CLOCK["offset_s"] + drift * np.arange(580) / 100.0, rtol=0, atol=1e-12
    )

    # The common grid is the overlap: the 5.8 s of mocap, declared to start 2 s into the lab clock.
    grid_t = np.asarray(group["grid"]["t"])
    assert grid_t[0] >= MOCAP_CLOCK["offset_s"] and grid_t[-1] <= MOCAP_CLOCK["offset_s"] + 5.79 * drift
    assert grid_t[-1] - grid_t[0] > 5.7


def test_declared_clocks_in_the_table_and_views_on_the_declared_reference(thirdparty_run, synth_dataset):
    _, store, _ = thirdparty_run
    table = Store(store).read_table("clock_models", keys=[KEY])
    rows = {row["stream"]: row for row in table.iter_rows(named=True)}
    assert set(rows) == {"cam1", "cam2", "cam3", "cam4", "phone", "emg", "mocap", "physio"}
    for name, clock in (("cam1", CAM1_CLOCK), ("emg", EMG_CLOCK), ("mocap", MOCAP_CLOCK)):
        row = rows[name]
        assert (row["method"], row["reference"], row["n_events"], row["confidence"]) == ("declared", "cam1", 0, 1.0)
        assert row["offset_s"] == clock["offset_s"] and row["drift_ppm"] == pytest.approx(clock.get("drift_ppm", 0.0))
        assert row["rms_residual_s"] == 0.0
    # Views and physio keep their event fits against cam1, composed with cam1's declared clock.
    _, truth_root, _ = synth_dataset
    truth = RecordingTruth.read(truth_root / KEY / "truth.json")
    for name in ("cam2", "cam3", "cam4", "phone", "physio"):
        row = rows[name]
        assert row["method"] == "events" and row["n_events"] == 2, row
        ((_, offset, drift),) = expected_model(truth, name, "cam1")
        t_dev = truth.stream(name).clock.to_device(np.asarray(truth.sync_events_true_s))
        got = row["offset_s"] + (1.0 + row["drift_ppm"] * 1e-6) * t_dev
        want = CAM1_CLOCK["offset_s"] + offset + (1.0 + drift) * t_dev
        # Measured 0.19-0.24 ms for the views, 0.68 ms for physio (1 ms log resolution).
        assert np.abs(got - want).max() < 1e-3, f"{name}: {np.abs(got - want).max() * 1e3:.3f} ms"
    events = Store(store).read_table("sync_events", keys=[KEY])
    assert events.filter(pl.col("stream").is_in(["emg", "mocap"])).height == 0
    # cam1's own events sit exactly on its declared clock (residual 0 against themselves).
    cam1_events = events.filter(pl.col("stream") == "cam1")
    assert cam1_events.height == 2
    np.testing.assert_allclose(cam1_events["t_ref_s"], CAM1_CLOCK["offset_s"] + cam1_events["t_device_s"], atol=1e-12)


def test_inline_marker_set_and_unknown_emg_label(synth_dataset, real_data, tmp_path):
    raw = _assemble(
        synth_dataset,
        real_data,
        tmp_path,
        mocap_options={**_DECLARED, "marker_set": MARKER_SET},
        emg_options={"channels": ["sine 2.5Hz", "squarewave"], "trigger_channel": None, "clock": EMG_CLOCK},
    )
    recording = RawRecording.open(raw, KEY)
    store = Store(tmp_path / "store")
    result = ingest_stream(recording, "mocap", store, PipelineSettings())
    assert result.metadata["joints"] == 21 and result.metadata["frames"] == 580
    staged = zarr.open_group(store.staged_stream_path(KEY, "mocap"), mode="r")
    chest = np.asarray(staged["joints"])[:, JOINT_NAMES.index("chest")]
    c3d = read_file(real_data / C3D)
    markers = next(s for s in c3d.signals.values() if s.kind == "mocap")
    idx = [markers.channel_names.index(f"Daphnee:{m}") for m in ("STERr", "STERl")]
    np.testing.assert_allclose(chest, markers.data[:, idx].mean(axis=1).astype(np.float32), atol=1e-6)
    with pytest.raises(InputFileError, match=r"recording S01_A01_T1.*'squarewave'.*'sine 2\.5Hz', 'white noise'"):
        ingest_stream(recording, "emg", store, PipelineSettings())


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"clock": {"offset_s": "soon"}}, r"option 'clock' must be"),
        ({"clock": {"offset_s": 0.0, "drift": 3}}, r"option 'clock' takes only"),
        ({"channels": {"sine 2.5Hz": "a", "white noise": "a"}}, r"output names repeat"),
        ({"channels": "sine 2.5Hz"}, r"option 'channels' must be a list"),
        ({"trigger_channel": 3}, r"option 'trigger_channel' must be a channel label or null"),
    ],
)
def test_bad_stream_options_are_manifest_errors(synth_dataset, real_data, tmp_path, options, pattern):
    raw = _assemble(synth_dataset, real_data, tmp_path, mocap_options=_DECLARED, emg_options=options)
    with pytest.raises(ManifestError, match=rf"stream 'emg' is malformed: .*{pattern}"):
        RawRecording.open(raw, KEY)


def test_marker_set_file_may_not_leave_the_raw_root(synth_dataset, real_data, tmp_path):
    (tmp_path / "outside.json").write_text(json.dumps(MARKER_SET), encoding="utf-8")
    escape = {**_DECLARED, "marker_set": "../../../outside.json"}
    raw = _assemble(synth_dataset, real_data, tmp_path, mocap_options=escape, emg_options={"channels": ["sine 2.5Hz"]})
    with pytest.raises(UnsafePathError, match=r"path '\.\./\.\./\.\./outside\.json' escapes the raw root"):
        RawRecording.open(raw, KEY)
