"""Materialise every asset of the generated recordings in-process and compare the store with the truth.

The store is read back with zarr-python and polars only (no flexsync readers), and every
number is compared with what the generator wrote in truth.json or with the raw files read by
independent libraries (PyAV for PTS, ezc3d for the C3D, polars for the CSV).
"""

from __future__ import annotations

import av
import dagster as dg
import ezc3d
import numpy as np
import polars as pl
import pytest
import zarr
from pipeline_helpers import check_evaluations

from flexsync.assets import RECORDING_ASSETS
from flexsync.fkg.catalogue import read_fkg
from flexsync.skeleton import JOINT_NAMES
from flexsync.storage import Store
from flexsync.synth.truth import RecordingTruth, expected_model
from flexsync.timing.clock_model import ClockModel

STREAMS = ("cam1", "cam2", "cam3", "cam4", "phone", "mocap", "emg", "physio")
VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")
KIND = {**dict.fromkeys(VIEWS, "video"), "mocap": "mocap", "emg": "emg", "physio": "physio"}
# How well each kind's sync events can be timed, so how close the fitted clock must be to the truth (s):
# video flashes to ~1/3 frame, EMG trigger and mocap analog edges sub-sample, physio logs in whole ms.
TOLERANCE_S = {"video": 2e-3, "emg": 5e-5, "mocap": 5e-5, "physio": 2e-3}
# Drift from two events spanning ~7 s: exact-edge streams pin it to a fraction of a ppm.
EXACT_DRIFT_TOLERANCE_PPM = 2.0
CINEMA_RATE_HZ = 60.0
STREAMS_PARAMS = list(STREAMS)
PTS_TICK_S = 1 / 90000
DROPPED = ("video_streams", "dropped_frames")


def _truth(materialised, key: str) -> RecordingTruth:
    return RecordingTruth.read(materialised.truth / key / "truth.json")


def _recording(materialised, key: str) -> zarr.Group:
    return zarr.open_group(Store(materialised.store).recording_path(key), mode="r")


def _table(materialised, name: str) -> pl.DataFrame:
    return pl.read_parquet(Store(materialised.store).table_glob(name))


def _expected_map(truth: RecordingTruth, stream: str, t_device: np.ndarray) -> np.ndarray:
    ((_, offset, drift),) = expected_model(truth, stream, "mocap")  # no clock resets in these recordings
    return offset + (1.0 + drift) * t_device


def test_every_run_succeeds_with_only_expected_warn_checks_failing(materialised):
    """All runs succeed; every check of every asset ran once; the only failures are warn-level
    dropped_frames check of the videos, failing exactly when the truth's drops exceed the check's 1% for
    some view (3 drops per view: over 1% only for a phone video shorter than ~300 frames), and naming
    exactly those views."""
    specs = {(spec.asset_key.to_user_string(), spec.name) for a in RECORDING_ASSETS for spec in a.check_specs}
    # per kind: timestamps_increasing and sync_events_found, plus dropped_frames, occlusion_gaps,
    # channel_quality; clock_models: three (with clock_pulse_fit); aligned_recording: three (with keypoints_in_image)
    assert len(specs) == 17
    assert [r.key for r in materialised.runs] == materialised.keys == ["S01_A01_T1", "S01_A13_T1"]
    for run in materialised.runs:
        assert run.success, run.failures
        assert run.failures == []
        evaluations = check_evaluations(materialised.instance, run.run_id)
        evaluated = [(e.asset_key.to_user_string(), e.check_name) for e in evaluations]
        assert sorted(evaluated) == sorted(specs)  # each exactly once
        failed = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed}
        assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations if not e.passed)

        truth = _truth(materialised, run.key)
        rec = _recording(materialised, run.key)
        over = []
        for view in VIEWS:
            n_dropped = len(truth.stream(view).dropped_frames)
            n_stored = rec["streams"][view]["t"].shape[0]
            if n_dropped / (n_stored + n_dropped) > 0.01:
                over.append(view)
        expected_failed = {DROPPED} if over else set()
        assert failed == expected_failed
        assert len(run.failed_checks) == len(expected_failed)
        (dropped,) = [e for e in evaluations if (e.asset_key.to_user_string(), e.check_name) == DROPPED]
        if over:
            assert dropped.metadata["failing_streams"].value == over
            for view in over:
                assert f"stream {view}" in dropped.description
        else:
            assert "failing_streams" not in dropped.metadata
    for asset in RECORDING_ASSETS:
        for key in asset.keys:
            assert materialised.instance.get_materialized_partitions(key) == set(materialised.keys)


@pytest.mark.parametrize("stream", STREAMS_PARAMS)
def test_clock_model_matches_truth(materialised, stream):
    """Fitted offset/drift against the truth composed with the reference clock (expected_model)."""
    models = _table(materialised, "clock_models")
    kind = KIND[stream]
    tolerance = TOLERANCE_S[kind]
    problems = []
    for key in materialised.keys:
        truth = _truth(materialised, key)
        rec = _recording(materialised, key)
        model = ClockModel.from_dict(rec.attrs["clock_models"][stream])
        ((_, offset, drift),) = expected_model(truth, stream, "mocap")
        row = models.filter((pl.col("recording") == key) & (pl.col("stream") == stream))
        assert row.height == 1 and row["segment"].to_list() == [0]
        assert row["offset_s"][0] == model.segments[0].offset_s
        assert row["drift_ppm"][0] == pytest.approx(model.segments[0].drift * 1e6, abs=1e-9)
        if stream == "mocap":
            assert model.method == "identity" and offset == 0.0 and drift == 0.0
        else:
            assert model.method == "events" and row["n_events"][0] == 2

        offset_error = abs(model.segments[0].offset_s - offset)
        if offset_error > tolerance:
            problems.append(f"{key}: offset off by {offset_error * 1e3:.3f} ms")
        t_device = np.asarray(rec["streams"][stream]["t_device"][:])
        worst = np.max(np.abs(model.to_reference(t_device) - _expected_map(truth, stream, t_device)))
        if worst > tolerance:
            problems.append(f"{key}: mapping off by up to {worst * 1e3:.3f} ms over the recording")
        drift_error_ppm = abs(model.segments[0].drift - drift) * 1e6
        events = truth.stream(stream).event_device_times_s
        # Two events fix the drift to within (timing error of both ends) / (time between them).
        span = events[1] - events[0]
        allowed_ppm = EXACT_DRIFT_TOLERANCE_PPM if kind in ("emg", "mocap") else 2 * tolerance / span * 1e6
        if drift_error_ppm > allowed_ppm:
            problems.append(f"{key}: drift off by {drift_error_ppm:.2f} ppm (allowed {allowed_ppm:.1f})")
    assert not problems, f"{stream} (tolerance {tolerance * 1e3} ms): " + "; ".join(problems)


def test_reference_times_are_the_model_applied_to_device_times(materialised):
    """Every ``t`` array is exactly model.to_reference(its t_device); t_device is what the raw file says."""
    pairs = {"mocap": [("t_device", "t"), ("sync_t_device", "sync_t")], "emg": [("t_device", "t")]}
    pairs["emg"].append(("envelope_t_device", "envelope_t"))
    for key in materialised.keys:
        rec = _recording(materialised, key)
        assert sorted(rec["streams"].group_keys()) == sorted(STREAMS)
        for stream in STREAMS:
            group = rec["streams"][stream]
            model = ClockModel.from_dict(rec.attrs["clock_models"][stream])
            for device_name, ref_name in pairs.get(stream, [("t_device", "t")]):
                t_device, t = group[device_name][:], group[ref_name][:]
                assert t.dtype == np.float64 and t.shape == t_device.shape
                np.testing.assert_array_equal(t, model.to_reference(t_device))
                assert np.all(np.diff(t) > 0), f"{key} {stream}/{ref_name} not strictly increasing"

        folder = materialised.raw / "recordings" / key
        for view in ("cam1", "phone"):
            with av.open(str(folder / "video" / f"{view}.mp4")) as container:
                video = container.streams.video[0]
                pts = sorted(p.pts for p in container.demux(video) if p.pts is not None)
                expected = np.array(pts, dtype=np.float64) * float(video.time_base)
            np.testing.assert_allclose(rec["streams"][view]["t_device"][:], expected, rtol=0, atol=1e-12)
        physio = pl.read_csv(folder / "physio" / "physio.csv")
        np.testing.assert_array_equal(rec["streams/physio/t_device"][:], physio["time_s"].to_numpy())
        np.testing.assert_allclose(
            rec["streams/physio/values"][:], physio.select("heart_rate_bpm", "breathing_rate_bpm").to_numpy(), rtol=1e-6
        )
        n_emg = rec["streams/emg/t_device"].shape[0]
        np.testing.assert_allclose(rec["streams/emg/t_device"][:], np.arange(n_emg) / 2000.0, rtol=0, atol=1e-12)
        n_mocap = rec["streams/mocap/t_device"].shape[0]
        np.testing.assert_allclose(rec["streams/mocap/t_device"][:], np.arange(n_mocap) / 150.0, rtol=0, atol=1e-12)


@pytest.mark.parametrize("stream", STREAMS_PARAMS)
def test_sync_events_on_reference_clock_match_truth(materialised, stream):
    """Both sync events of every stream, on its device clock and mapped to the reference clock, are
    where the truth puts them."""
    events = _table(materialised, "sync_events")
    tolerance = TOLERANCE_S[KIND[stream]]
    problems = []
    for key in materialised.keys:
        truth = _truth(materialised, key)
        on_reference = np.array(truth.stream("mocap").event_device_times_s)  # the reference clock is mocap's
        on_device = np.array(truth.stream(stream).event_device_times_s)
        rows = events.filter((pl.col("recording") == key) & (pl.col("stream") == stream)).sort("event")
        assert rows["event"].to_list() == [0, 1], (key, stream)
        model = ClockModel.from_dict(_recording(materialised, key).attrs["clock_models"][stream])
        for label, found, expected in (
            ("reference clock (detected)", rows["t_ref_s"].to_numpy(), on_reference),
            ("reference clock (true device times through the fit)", model.to_reference(on_device), on_reference),
            ("device clock", rows["t_device_s"].to_numpy(), on_device),
        ):
            error = np.abs(found - expected)
            if error.max() > tolerance:
                problems.append(f"{key} on the {label}: errors {np.round(error * 1e3, 3).tolist()} ms")
    assert not problems, f"{stream} sync events (tolerance {tolerance * 1e3} ms): " + "; ".join(problems)


def test_mocap_joints_equal_the_c3d(materialised):
    """Published joints (m) equal the C3D points (mm) read by ezc3d where valid; the gap mask is the residual < 0."""
    for key in materialised.keys:
        rec = _recording(materialised, key)
        mocap = rec["streams/mocap"]
        assert mocap.attrs["units"] == "m" and mocap.attrs["joint_names"] == list(JOINT_NAMES)
        c3d = ezc3d.c3d(str(materialised.raw / "recordings" / key / "mocap" / "mocap.c3d"))
        assert c3d["parameters"]["POINT"]["LABELS"]["value"] == list(JOINT_NAMES)
        assert c3d["parameters"]["POINT"]["UNITS"]["value"] == ["mm"]
        points_m = np.transpose(c3d["data"]["points"][:3], (2, 1, 0)) / 1000.0  # (frames, joints, xyz)
        c3d_valid = c3d["data"]["meta_points"]["residuals"][0].T >= 0
        joints, valid = mocap["joints"][:], mocap["valid"][:]
        assert joints.shape == points_m.shape == (mocap["t"].shape[0], 21, 3)
        np.testing.assert_array_equal(valid, c3d_valid)
        assert 0.9 < valid.mean() <= 1.0  # the generator occludes a few samples (or none)
        np.testing.assert_allclose(joints[valid], points_m[valid], rtol=0, atol=1e-6)  # float32 m: ~um
        assert np.isnan(joints[~valid]).all()
        assert mocap["joints"].dtype == np.float32


def test_emg_channels_follow_the_fkg(materialised):
    """16 EMG channels named after the action's FKG muscles (left/right), plus quality rows for each."""
    fkg = read_fkg(materialised.raw / "fkg.json")
    quality = _table(materialised, "channel_quality")
    for key in materialised.keys:
        rec = _recording(materialised, key)
        emg = rec["streams/emg"]
        expected = list(fkg.action(rec.attrs["action"]).emg_channels)
        assert len(expected) == 16
        assert emg.attrs["channel_names"] == expected == _truth(materialised, key).stream("emg").extra["channel_names"]
        n = emg["t"].shape[0]
        assert emg["raw"].shape == emg["clean"].shape == (n, 16)
        assert emg["trigger"].shape == (n,)
        assert emg["envelope"].shape == (emg["envelope_t"].shape[0], 16)
        assert emg.attrs["units"] == "uV" and emg.attrs["nominal_rate_hz"] == 2000.0
        rows = quality.filter(pl.col("recording") == key)
        assert rows["channel"].to_list() == expected
        assert rows["ok"].all()
        assert rec["grid/emg_envelope"].shape == (rec["grid/t"].shape[0], 16)


def test_dropped_frames_table_matches_truth(materialised):
    """One row per gap; gaps sit where the truth dropped frames (nominal index -> stored index of the frame before)."""
    table = _table(materialised, "dropped_frames")
    for key in materialised.keys:
        truth = _truth(materialised, key)
        rec = _recording(materialised, key)
        for view in VIEWS:
            dropped = sorted(truth.stream(view).dropped_frames)
            rows = table.filter((pl.col("recording") == key) & (pl.col("stream") == view)).sort("after_frame")
            assert rows["n_missing"].sum() == len(dropped) == rec["streams"][view].attrs["n_dropped"]
            gaps: list[list[int]] = []  # consecutive dropped nominal indices form one gap
            for index in dropped:
                if gaps and index == gaps[-1][-1] + 1:
                    gaps[-1].append(index)
                else:
                    gaps.append([index])
            before = 0
            expected_after = []
            for gap in gaps:
                expected_after.append(gap[0] - 1 - before)  # stored index of the last frame before the gap
                before += len(gap)
            assert rows["after_frame"].to_list() == expected_after, (key, view)
            assert rows["n_missing"].to_list() == [len(g) for g in gaps]
            if view != "phone":  # cinema PTS are k/60 s of the nominal sequence
                expected_t = np.array([(g[0] - 1) / CINEMA_RATE_HZ for g in gaps])
                np.testing.assert_allclose(rows["t_device_s"].to_numpy(), expected_t, rtol=0, atol=PTS_TICK_S)
                np.testing.assert_allclose(rows["gap_s"].to_numpy(), [(len(g) + 1) / 60 for g in gaps], atol=PTS_TICK_S)


def test_grid_arrays_are_sane(materialised):
    """The common grid lies inside every stream's span; frame indices are the nearest frame; masks mostly valid."""
    for key in materialised.keys:
        rec = _recording(materialised, key)
        grid = rec["grid"]
        t = grid["t"][:]
        n = t.shape[0]
        assert grid.attrs["rate_hz"] == 60.0 and grid.attrs["views"] == list(VIEWS)
        np.testing.assert_allclose(np.diff(t), 1 / 60, rtol=0, atol=1e-9)
        starts = [rec["streams"][s]["t"][0] for s in STREAMS]
        ends = [rec["streams"][s]["t"][-1] for s in STREAMS]
        assert max(starts) <= t[0] < max(starts) + 1 / 60 and min(ends) - 1 / 60 < t[-1] <= min(ends)
        index = grid["video_frame_index"][:]
        assert index.shape == (n, 5) and index.dtype == np.int32
        for column, view in enumerate(VIEWS):
            frames_t = rec["streams"][view]["t"][:]
            chosen = index[:, column]
            assert chosen.min() >= -1 and chosen.max() <= frames_t.shape[0] - 1
            assert (chosen >= 0).mean() >= 0.99, f"{key} {view}: grid points without a frame"
            right = np.clip(np.searchsorted(frames_t, t), 1, frames_t.shape[0] - 1)
            nearest = np.where(np.abs(frames_t[right - 1] - t) <= np.abs(frames_t[right] - t), right - 1, right)
            valid = chosen >= 0
            np.testing.assert_array_equal(chosen[valid], nearest[valid])
            assert rec["streams"][view]["frames"].shape[0] == frames_t.shape[0]
        assert grid["pose"].shape == (n, 21, 3) and grid["pose_valid"].shape == (n, 21)
        pose_valid = grid["pose_valid"][:]
        assert pose_valid.mean() >= 0.95
        assert np.isfinite(grid["pose"][:][pose_valid]).all()
        assert grid["emg_valid"][:].all() and grid["physio_valid"][:].all()
        assert grid["physio"].shape == (n, 2)


def test_tables_describe_the_published_recordings(materialised):
    """recordings/streams rows agree with the manifest and with the array lengths in the Zarr."""
    recordings = _table(materialised, "recordings").sort("recording")
    assert recordings["recording"].to_list() == materialised.keys
    assert recordings["n_streams"].to_list() == [8, 8]
    assert recordings["n_repetitions"].to_list() == [2, 2]
    streams = _table(materialised, "streams")
    for key in materialised.keys:
        rec = _recording(materialised, key)
        manifest = (materialised.raw / "recordings" / key / "manifest.json").read_text(encoding="utf-8")
        rows = streams.filter(pl.col("recording") == key)
        assert sorted(rows["stream"].to_list()) == sorted(STREAMS)
        for row in rows.iter_rows(named=True):
            assert row["sha256"] in manifest
            assert row["n_samples"] == rec["streams"][row["stream"]]["t"].shape[0]
        assert rec.attrs["status"] == "complete" and rec.attrs["reference_stream"] == "mocap"
        assert set(rec.attrs["provenance"]["inputs"].values()) == set(rows["sha256"].to_list())
