"""A camera that missed the sync flashes is still aligned: by motion cross-correlation with the mocap.

One short recording is generated with every flash missed by every view (``missing_flash_probability=1``),
run through the whole pipeline, and each fallback clock model is compared with the generator's truth
at the true sync event times. The flash detector may still report one spurious "event" on such a view;
the fallback must then see it disagree with the motion fit and keep the motion model.
"""

from __future__ import annotations

import json
import math

import dagster as dg
import numpy as np
import polars as pl
import pytest
from pipeline_helpers import check_evaluations

from flexsync.config import PipelineSettings
from flexsync.ingest.clocks import optical_axis, read_clock_models
from flexsync.ingest.recording import RawRecording
from flexsync.pipelines.runner import run_recordings
from flexsync.storage import Store
from flexsync.synth.dataset import generate_dataset
from flexsync.synth.options import SynthOptions
from flexsync.synth.truth import RecordingTruth, expected_model

KEY = "S01_A01_T1"
VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")
TWO_FRAMES_S = 2.0 / 60.0


@pytest.fixture(scope="module")
def fallback_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("fallback")
    options = SynthOptions(
        seed=0,
        subjects=1,
        actions=("A01",),
        repetitions=3,
        width=192,
        height=108,
        phone_width=108,
        phone_height=192,
        missing_flash_probability=1.0,
    )
    keys = generate_dataset(root / "raw", root / "truth", options)
    assert keys == [KEY]
    truth = RecordingTruth.read(next((root / "truth").rglob("truth.json")))
    with dg.DagsterInstance.ephemeral() as instance:
        runs = run_recordings(root / "raw", root / "store", instance=instance)
        evaluations = {e.check_name: e for e in check_evaluations(instance, runs[0].run_id)}
    return root / "store", truth, runs, evaluations


def _missed_both(truth: RecordingTruth) -> list[str]:
    return [v for v in VIEWS if len(truth.stream(v).extra.get("missed_flashes", [])) >= 2]


def test_views_without_flashes_use_motion_and_match_truth(fallback_run):
    store, truth, _, _ = fallback_run
    missed = _missed_both(truth)
    assert missed == list(VIEWS), "the generator should have hidden every flash from every view"
    table = Store(store).read_table("clock_models", keys=[KEY])
    methods = dict(table.select("stream", "method").iter_rows())
    assert {v: methods[v] for v in missed} == dict.fromkeys(missed, "motion-xcorr")
    assert methods["mocap"] == "identity" and methods["emg"] == "events" and methods["physio"] == "events"

    true_events = np.asarray(truth.sync_events_true_s)
    for view in missed:
        rows = table.filter(pl.col("stream") == view)
        assert rows.height == 1  # no clock reset in this recording
        row = rows.row(0, named=True)
        assert 0.0 < row["confidence"] <= 1.0 and row["n_events"] >= 1
        ((_, offset, drift),) = expected_model(truth, view, "mocap")
        t_dev = truth.stream(view).clock.to_device(true_events)
        got = row["offset_s"] + (1.0 + row["drift_ppm"] * 1e-6) * t_dev
        error = np.abs(got - (offset + (1.0 + drift) * t_dev))
        # Measured 3-8 ms on this recording (seed 0); the brief's bound is two 60 fps frames.
        assert error.max() < TWO_FRAMES_S, f"{view}: motion clock off by {error.max() * 1e3:.1f} ms"


def test_sync_report_names_the_method_and_why(fallback_run):
    store, truth, _, _ = fallback_run
    report = json.loads(Store(store).report_file(KEY, "sync_report.json").read_text(encoding="utf-8"))
    table = Store(store).read_table("clock_models", keys=[KEY])
    confidence = dict(table.select("stream", "confidence").iter_rows())
    assert sorted(report["fallback"]) == sorted(_missed_both(truth))
    for view, info in report["fallback"].items():
        assert report["models"][view]["method"] == "motion-xcorr"
        assert report["methods"][view] == {"method": "motion-xcorr", "confidence": pytest.approx(confidence[view])}
        assert info["used"] is True and info["method"] == "motion-xcorr"
        assert info["motion_confidence"] == pytest.approx(confidence[view])
        if info["n_events"] == 0:
            assert info["reason"] == "no sync event"
        else:  # a spurious flash: the event-only offset must have disagreed with motion by > 50 ms
            assert info["n_events"] == 1 and info["reason"] == "one sync event, disagreeing with motion"
            assert abs(info["event_minus_motion_s"]) > 0.05
    for stream in ("emg", "physio"):
        assert report["methods"][stream]["method"] == "events" and stream not in report["fallback"]


def test_clock_residuals_check_gates_fallback_on_its_own_thresholds(fallback_run):
    store, truth, runs, evaluations = fallback_run
    settings = PipelineSettings()
    assert (settings.max_fallback_residual_s, settings.min_fallback_confidence) == (0.02, 0.25)
    check = evaluations["clock_residuals"]
    assert "motion cross-correlation fallback (missed sync flash) for cam1, cam2, cam3, cam4, phone" in (
        check.description
    )
    models = read_clock_models(Store(store), KEY)
    expected_ok = {
        view: math.isfinite(models[view].quality_s)
        and models[view].quality_s <= settings.max_fallback_residual_s
        and models[view].confidence >= settings.min_fallback_confidence
        for view in _missed_both(truth)
    }
    # The event-fitted streams are within their limits, so the check passes iff every fallback does.
    assert check.passed == all(expected_ok.values())
    assert runs[0].success == check.passed
    if not check.passed:
        worst = max((models[v].quality_s, v) for v, ok in expected_ok.items() if not ok)[1]
        assert f"worst {worst} (motion fallback: quality" in check.description


def test_motion_fit_uses_each_views_optical_axis(synth_dataset):
    """The joint speed a view is matched against leaves out motion along its optical axis (R's third row)."""
    raw, _, keys = synth_dataset
    recording = RawRecording.open(raw, keys[0])
    calibration = json.loads((raw / "recordings" / keys[0] / "calibration.json").read_text())
    for view in VIEWS:
        axis = optical_axis(recording, view)
        np.testing.assert_array_equal(axis, np.asarray(calibration["cameras"][view]["R"])[2])
        assert abs(np.linalg.norm(axis) - 1.0) < 1e-9
    assert optical_axis(recording, "emg") is None  # not a camera: no axis, the full 3D speed
