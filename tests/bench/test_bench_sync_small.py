"""The sync benchmark's evaluation on hand-made clock models: errors, drift errors, summaries, JSON.

No recordings are generated here (that is ``flexsync bench sync``): the models and truths are
written down, so every expected number follows from ``t_ref = offset + (1 + drift) * t_dev``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flexsync.bench.sync import StreamErrors, SyncBenchmark, evaluate_model, summarise
from flexsync.timing.clock_model import ClockModel, ClockSegmentFit


def _model(segments: list[tuple[float, float, float, float, int]], method: str = "events") -> ClockModel:
    fits = tuple(ClockSegmentFit(a, b, off, drift, n, ()) for a, b, off, drift, n in segments)
    return ClockModel("cam1", "mocap", method, fits, 0.9)


def test_errors_and_drift_error_of_one_segment() -> None:
    model = _model([(0.0, 30.0, 1.0005, 12e-6, 2)])
    truth = [(0.0, 1.0, 10e-6)]
    t = np.array([0.0, 10.0, 30.0])
    errors, drift = evaluate_model(model, truth, t)
    # 0.5 ms offset error plus 2 ppm x t.
    np.testing.assert_allclose(errors, 0.5e-3 + 2e-6 * t, rtol=0, atol=1e-12)
    np.testing.assert_allclose(drift, [2.0], rtol=0, atol=1e-9)


def test_segments_matched_to_the_truth_segment_they_cover() -> None:
    # A reset at device 12 s: the truth's second segment; the model got it 3 ms wrong and fitted
    # its drift from one event only (no drift error reported for it).
    model = _model([(0.0, 10.0, 2.0, 5e-6, 2), (12.0, 25.0, -1.003, 5e-6, 1)])
    truth = [(0.0, 2.0, 5e-6), (12.0, -1.0, 5e-6)]
    errors, drift = evaluate_model(model, truth, [1.0, 9.0, 13.0, 20.0])
    np.testing.assert_allclose(errors, [0.0, 0.0, -3e-3, -3e-3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(drift, [0.0], rtol=0, atol=1e-9)


def test_summary_percentiles_targets_and_failures() -> None:
    rows = [
        StreamErrors("R1", "cam1", "cinema", "events", (1e-3, -3e-3), (1.0,), 0.9),
        StreamErrors("R2", "cam2", "cinema", "events", (0.0, 2e-3), (-4.0,), 0.8),
        StreamErrors("R1", "emg", "emg", "events", (1e-4, -1e-4), (0.5, -1.5), 1.0),
        StreamErrors("R2", "cam3", "cinema", "nominal", (), (), 0.0, "no sync events"),
    ]
    emg, cinema = summarise(rows)  # in the benchmark's row order
    assert cinema.group == "cinema" and cinema.n_streams == 2 and cinema.n_events == 4
    assert cinema.methods == {"events": 2}
    assert cinema.median_ms == pytest.approx(1.5)
    assert cinema.p95_ms == pytest.approx(float(np.percentile([0.0, 1.0, 2.0, 3.0], 95)))
    assert cinema.max_ms == pytest.approx(3.0)
    assert cinema.drift_max_ppm == pytest.approx(4.0) and cinema.n_drift == 2
    assert cinema.target_p95_ms == pytest.approx(2.0) and cinema.target_drift_ppm is None
    assert cinema.ok is False  # p95 2.85 ms > 2 ms
    assert emg.ok is True and emg.p95_ms == pytest.approx(0.1) and emg.drift_p95_ppm == pytest.approx(1.45)
    assert cinema.min_confidence == pytest.approx(0.8)

    bench = SyncBenchmark(2, 0, [cinema, emg], rows, {"events": 3, "nominal": 1}, ["R2/cam3: no sync events"])
    data = json.loads(json.dumps(bench.to_dict(), allow_nan=False))
    assert data["groups"][0]["ok"] is False and data["groups"][1]["ok"] is True
    assert data["streams"][3]["failure"] == "no sync events" and data["elapsed_s"] is None
    text = bench.format()
    assert "cinema" in text and "NO" in text and "R2/cam3: no sync events" in text


def test_empty_truth_is_refused() -> None:
    with pytest.raises(ValueError, match="stream cam1 has no truth segments"):
        evaluate_model(_model([(0.0, 1.0, 0.0, 0.0, 2)]), [], [0.5])
    assert math.isnan(summarise([StreamErrors("R", "s", "x", "events", (), (), 1.0)])[0].p95_ms)


def test_streams_aligned_by_motion_get_their_own_row_and_the_fallback_target() -> None:
    """A camera the pipeline aligned by motion (no flash) is judged against one frame, not 2 ms."""
    rows = [
        StreamErrors("R1", "cam1", "cinema", "events", (0.1e-3, -0.2e-3), (3.0,), 0.9),
        StreamErrors("R1", "cam2", "cinema (motion fallback)", "motion-xcorr", (-12e-3, -12.5e-3), (), 0.6),
        StreamErrors("R1", "phone", "phone (motion fallback)", "motion-xcorr", (-20e-3, -21e-3), (), 0.5),
    ]
    cinema, cinema_motion, phone_motion = summarise(rows)
    assert (cinema.group, cinema.p95_ms, cinema.ok) == ("cinema", pytest.approx(0.195), True)
    assert cinema_motion.group == "cinema (motion fallback)" and cinema_motion.n_streams == 1
    assert cinema_motion.target_p95_ms == pytest.approx(1e3 / 60) and cinema_motion.max_ms == pytest.approx(12.5)
    assert cinema_motion.ok is True  # 12.5 ms: within one frame, though not within the flash target
    assert phone_motion.target_p95_ms == pytest.approx(1e3 / 60) and phone_motion.ok is False  # 21 ms > 16.7 ms
