"""Clock models: exact two-event fits, robust many-event fits, resets, matching, serialisation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from flexsync.timing import (
    ClockFitOptions,
    ClockModel,
    EventTimes,
    detect_clock_resets,
    fit_clock_model,
    identity_model,
)


def ref_of(t_dev: np.ndarray, offset: float, drift: float) -> np.ndarray:
    return offset + (1.0 + drift) * np.asarray(t_dev, dtype=float)


@pytest.mark.parametrize("offset", [-3.2, 0.41, 12.0])
@pytest.mark.parametrize("drift", [-5e-5, 0.0, 3.3e-5])
def test_two_events_exact(offset: float, drift: float) -> None:
    dev = np.array([0.7931, 24.3877])
    m = fit_clock_model("emg", EventTimes(dev, uncertainty_s=2e-5), ref_of(dev, offset, drift), reference="mocap")
    (seg,) = m.segments
    assert m.method == "events" and seg.n_events == 2
    assert abs(seg.drift - drift) < 1e-12
    assert abs(seg.offset_s - offset) < 1e-12
    assert m.max_abs_residual_s < 1e-12
    # Two events fit exactly, so the quality figure is the events' own timing uncertainty.
    assert m.quality_s == pytest.approx(2e-5)
    t = np.linspace(-1, 30, 7)
    np.testing.assert_allclose(m.to_reference(t), ref_of(t, offset, drift), rtol=0, atol=1e-12)


@pytest.mark.parametrize("drift", [-4e-5, 2e-5])
def test_many_noisy_events_robust(drift: float) -> None:
    rng = np.random.default_rng(5)
    offset, sigma = 1.234, 5e-5
    dev = np.sort(rng.uniform(0, 60, 25))
    ref = ref_of(dev, offset, drift) + rng.normal(0, sigma, dev.size)
    ref[7] += 0.02  # one event timed 20 ms wrong
    m = fit_clock_model("phone", dev, ref, reference="mocap")
    (seg,) = m.segments
    sd_drift = sigma / (dev.std() * math.sqrt(dev.size))
    assert abs(seg.drift - drift) < 5 * sd_drift
    assert abs(m.to_reference(np.array([30.0]))[0] - ref_of(30.0, offset, drift)) < 5 * sigma / math.sqrt(dev.size)
    assert abs(seg.residuals_s[7] - 0.02) < 5 * sigma  # the outlier keeps its residual, not spread out
    others = np.delete(np.array(seg.residuals_s), 7)
    assert np.sqrt(np.mean(others**2)) < 2 * sigma
    assert len(seg.loo_residuals_s) == dev.size
    assert m.quality_s >= 0.02  # the gate sees the bad event


def test_one_event_is_offset_only() -> None:
    m = fit_clock_model("physio", [3.5], [4.75], reference="mocap")
    assert m.method == "events+offset-only"
    assert m.segments[0].offset_s == pytest.approx(1.25) and m.segments[0].drift == 0.0
    assert m.confidence < 0.5


def test_no_events_nominal() -> None:
    m = fit_clock_model("cam2", [], [1.0, 20.0], reference="mocap")
    assert m.method == "nominal" and m.confidence == 0.0 and math.isnan(m.quality_s)
    np.testing.assert_array_equal(m.to_reference(np.array([1.0, 2.0])), [1.0, 2.0])


def test_unequal_counts_pair_under_coarse_offset() -> None:
    offset, drift = 0.83, 1.5e-5
    true_dev = np.array([0.4, 23.9])
    dev = np.array([0.4, 9.1, 23.9])  # a spurious device event in the middle
    m = fit_clock_model("cam3", dev, ref_of(true_dev, offset, drift), reference="mocap")
    assert m.dropped_device_events == (1,) and m.dropped_reference_events == ()
    assert abs(m.segments[0].drift - drift) < 1e-12
    assert any("dropped" in n for n in m.notes)


def test_missing_flash_matched_by_label() -> None:
    offset = 0.5
    ref = ref_of(np.array([0.7, 24.2]), offset, 0.0)
    m = fit_clock_model(
        "cam4", EventTimes([24.2], labels=["end"]), EventTimes(ref, labels=["start", "end"]), reference="mocap"
    )
    assert m.dropped_reference_events == (0,)
    assert m.segments[0].offset_s == pytest.approx(offset, abs=1e-12)
    # Without labels the pairing is ambiguous: smallest |offset| wins, and that is said.
    m2 = fit_clock_model("cam4", [24.2], ref, reference="mocap")
    assert m2.segments[0].offset_s == pytest.approx(offset, abs=1e-12)
    assert any("ambiguous" in n for n in m2.notes)


def test_detect_clock_resets_vs_drops() -> None:
    t = np.arange(600) / 60.0
    t = np.delete(t, [100, 101, 102, 300])  # dropped frames: not resets
    t[400:] -= 5.0  # backward jump
    t[500:] += 3.0  # 3 s forward gap (after the jump: still forward)
    assert detect_clock_resets(t, nominal_rate_hz=60.0).tolist() == [400, 500]
    assert detect_clock_resets(np.arange(100.0), nominal_rate_hz=1.0).tolist() == []  # 1 Hz: 1 s is normal


def _reset_stream() -> tuple[np.ndarray, list[tuple[float, float]]]:
    """60 fps timestamps with a backward reset at sample 900; true (offset, drift) per segment."""
    ts = np.r_[np.arange(900) / 60.0, 0.2 + np.arange(900) / 60.0]
    return ts, [(0.31, 2e-5), (15.6, 2e-5)]


def test_piecewise_fit_across_backward_reset() -> None:
    ts, truth = _reset_stream()
    dev = [1.0, 13.0, 2.0, 12.0]  # events in order of occurrence, two per segment
    seg_of = [0, 0, 1, 1]
    ref = [ref_of(d, *truth[s]) for d, s in zip(dev, seg_of, strict=True)]
    m = fit_clock_model("cam1", dev, ref, reference="mocap", device_timestamps_s=ts, nominal_rate_hz=60.0)
    assert len(m.segments) == 2 and [s.n_events for s in m.segments] == [2, 2]
    expected = np.r_[ref_of(ts[:900], *truth[0]), ref_of(ts[900:], *truth[1])]
    np.testing.assert_allclose(m.to_reference(ts), expected, rtol=0, atol=1e-10)
    assert m.segments[1].device_start_s == pytest.approx(0.2)


def test_segment_with_one_event_shares_drift() -> None:
    ts, truth = _reset_stream()
    dev, seg_of = [1.0, 13.0, 5.0], [0, 0, 1]
    ref = [ref_of(d, *truth[s]) for d, s in zip(dev, seg_of, strict=True)]
    m = fit_clock_model("cam1", dev, ref, reference="mocap", device_timestamps_s=ts, nominal_rate_hz=60.0)
    s0, s1 = m.segments
    assert s1.n_events == 1 and s1.drift == pytest.approx(s0.drift, abs=0)
    assert s1.offset_s == pytest.approx(truth[1][0], abs=1e-10)
    assert m.method == "events" and any("drift shared" in n for n in m.notes)


def test_segment_without_events_uses_continuity() -> None:
    ts = np.r_[np.arange(900) / 60.0, np.arange(900) / 60.0]  # reset to 0, recording continuous
    offset, drift = 0.31, 2e-5
    dev = [1.0, 13.0]
    m = fit_clock_model(
        "cam1", dev, ref_of(dev, offset, drift), reference="mocap", device_timestamps_s=ts, nominal_rate_hz=60.0
    )
    t_ref = m.to_reference(ts)
    # One nominal interval between the last sample before the reset and the first after it.
    assert t_ref[900] - t_ref[899] == pytest.approx(1 / 60.0, abs=1e-9)
    assert m.segments[1].n_events == 0 and m.confidence < 0.5
    assert any("continuity" in n for n in m.notes)


def test_identity_and_round_trip() -> None:
    ident = identity_model("mocap")
    assert ident.method == "identity" and ident.quality_s == 0.0 and ident.confidence == 1.0
    t = np.array([0.0, 1.5, 100.0])
    np.testing.assert_array_equal(ident.to_reference(t), t)
    ts, truth = _reset_stream()
    dev, seg_of = [1.0, 13.0, 2.0, 7.0, 12.0], [0, 0, 1, 1, 1]
    rng = np.random.default_rng(2)
    ref = [ref_of(d, *truth[s]) + rng.normal(0, 1e-4) for d, s in zip(dev, seg_of, strict=True)]
    m = fit_clock_model(
        "cam1",
        EventTimes(dev, uncertainty_s=1e-4),
        ref,
        reference="mocap",
        device_timestamps_s=ts,
        nominal_rate_hz=60.0,
    )
    for model in (ident, m):
        back = ClockModel.from_dict(json.loads(json.dumps(model.to_dict())))
        assert back == model
    with pytest.raises(ValueError, match="missing or has a malformed field"):
        ClockModel.from_dict({"stream": "x"})


def test_bad_method_rejected() -> None:
    with pytest.raises(ValueError, match="unknown method 'magic'"):
        ClockModel("x", "mocap", "magic", identity_model("x").segments, 1.0)


def test_two_events_without_uncertainty_have_unmeasured_quality() -> None:
    dev = np.array([1.0, 20.0])
    m = fit_clock_model("emg", dev, ref_of(dev, 0.2, 1e-5), reference="mocap")
    assert math.isnan(m.quality_s) and m.max_abs_residual_s == 0.0 and m.confidence == 0.5


def test_forward_gap_reset_and_explicit_event_segments() -> None:
    ts = np.r_[np.arange(600) / 60.0, 30.0 + np.arange(600) / 60.0]  # 20 s jump forward
    truth = [(0.4, 1e-5), (-19.6, 1e-5)]
    dev = [1.0, 9.0, 31.0, 39.0]
    seg_of = [0, 0, 1, 1]
    ref = [ref_of(d, *truth[s]) for d, s in zip(dev, seg_of, strict=True)]
    m = fit_clock_model("cam2", dev, ref, reference="mocap", device_timestamps_s=ts, nominal_rate_hz=60.0)
    assert [s.n_events for s in m.segments] == [2, 2]
    np.testing.assert_allclose([s.offset_s for s in m.segments], [0.4, -19.6], atol=1e-9)
    # Same answer when the caller states the segments; a wrong count is refused.
    m2 = fit_clock_model(
        "cam2", dev, ref, reference="mocap", device_timestamps_s=ts, nominal_rate_hz=60.0, device_event_segments=seg_of
    )
    assert m2.to_dict() == m.to_dict()  # field-wise: NaN uncertainties compare unequal as floats (3.13)
    with pytest.raises(ValueError, match=r"one segment in 0\.\.1 per event"):
        fit_clock_model(
            "cam2",
            dev,
            ref,
            reference="mocap",
            device_timestamps_s=ts,
            nominal_rate_hz=60.0,
            device_event_segments=[0, 1],
        )


# -- forward resets ----------------------------------------------------------------------------


def _reset_clock(jump_s: float):
    """Device clock (synth model) reset at true 6.3 s; counter jumps ahead by ``jump_s``."""
    from flexsync.synth.clocks import ClockSegment, DeviceClock

    offset, drift = 2.0, 40e-6
    first = ClockSegment(0.0, offset, drift)
    true_at_reset = 6.3
    jumped = round(float(first.to_device(np.float64(true_at_reset))) + jump_s, 3)
    return DeviceClock((first, ClockSegment(jumped, true_at_reset - (1 + drift) * jumped, drift)))


@pytest.mark.parametrize("mode", ["auto", "continuity"])
def test_forward_reset_segment_without_events_uses_sample_continuity(mode):
    """One event before a forward reset of a 100 Hz hardware clock, none after: the second segment is
    placed by sample continuity, within one interval of the truth; the pause rule is off by the whole jump."""
    from flexsync.synth.clocks import regular_device_times

    clock = _reset_clock(3.217)
    ts = regular_device_times(clock, rate_hz=100.0, true_end_s=12.0)
    assert detect_clock_resets(ts, nominal_rate_hz=100.0).size == 1
    event_true = 3.0
    model = fit_clock_model(
        "emg",
        [float(clock.to_device(np.float64(event_true)))],
        [event_true],
        reference="ref",
        device_timestamps_s=ts,
        nominal_rate_hz=100.0,
        options=ClockFitOptions(forward_gap=mode),
    )
    after = ts[ts >= clock.segments[1].device_start_s]
    error = np.abs(model.to_reference(after) - clock.to_true(after))
    assert len(model.segments) == 2 and error.max() <= 0.01 + 1e-9
    pause = fit_clock_model(
        "emg",
        [float(clock.to_device(np.float64(event_true)))],
        [event_true],
        reference="ref",
        device_timestamps_s=ts,
        nominal_rate_hz=100.0,
        options=ClockFitOptions(forward_gap="pause"),
    )
    assert np.abs(pause.to_reference(after) - clock.to_true(after)).min() > 3.0


def test_forward_gap_auto_keeps_pause_for_jittered_stream_and_rejects_unknown_mode():
    from flexsync.synth.clocks import jittered_device_times

    clock = _reset_clock(2.5)
    ts = jittered_device_times(clock, mean_rate_hz=30.0, jitter_s=0.004, true_end_s=12.0, rng=np.random.default_rng(3))
    dev = [float(clock.to_device(np.float64(3.0)))]
    model = fit_clock_model("phone", dev, [3.0], reference="ref", device_timestamps_s=ts, nominal_rate_hz=30.0)
    assert model.segments[1].offset_s == model.segments[0].offset_s
    assert any("carried over" in n for n in model.notes)
    with pytest.raises(ValueError, match="forward_gap must be 'auto', 'continuity' or 'pause', got 'guess'"):
        ClockFitOptions(forward_gap="guess")


@pytest.mark.parametrize("jump_s", [1.2, 2.9, 4.6])
def test_physio_forward_resets_detected(jump_s):
    """~1 Hz jittered physio (as the generator makes it): a jump of 1.2-5 s is a reset, though it is
    under the fixed max(1 s, 10 intervals) = 10 s rule: the jitter-based limit catches it."""
    from flexsync.synth.clocks import jittered_device_times

    clock = _reset_clock(jump_s)
    ts = jittered_device_times(clock, mean_rate_hz=1.0, jitter_s=0.05, true_end_s=40.0, rng=np.random.default_rng(5))
    first_after = int(np.searchsorted(ts, clock.segments[1].device_start_s))
    assert detect_clock_resets(ts, nominal_rate_hz=1.0).tolist() == [first_after]


def test_dropped_frames_of_60fps_video_are_not_resets():
    """Single and runs of up to 10 dropped frames at 60 fps stay drops; a 0.5 s jump is a reset."""
    t = np.arange(1200) / 60.0
    keep = np.ones(t.size, dtype=bool)
    keep[[100, 300, 301, 302]] = False
    keep[500:510] = False
    ts = t[keep]
    assert detect_clock_resets(ts, nominal_rate_hz=60.0).size == 0
    jumped = ts.copy()
    jumped[800:] += 0.5
    assert detect_clock_resets(jumped, nominal_rate_hz=60.0).tolist() == [800]


@pytest.mark.parametrize(
    ("phase", "step_intervals", "expected_ms"),
    [
        (1.0, 1.0, 0.0),  # the counter jumped, sampling went on: continuity is exact
        (0.3, 1.0, 11.667),  # sampling restarted 0.3 frame after the last one: off by 0.7 frame
        (0.3, 0.5, 3.333),  # assuming half a frame: off by 0.2 frame
        (0.9, 0.5, -6.667),  # and never by more than half a frame
    ],
)
def test_continuity_step_intervals_places_the_segment_after_a_reset(
    phase: float, step_intervals: float, expected_ms: float
) -> None:
    """A 60 fps camera whose PTS jump 2.5 s forward at a reset, its first frame after the reset
    coming ``phase`` frames after the last one before; one flash before the reset, none after."""
    rate, offset, drift = 60.0, 1.7, 12e-6
    before = np.arange(0, 600) / rate  # device seconds, segment 0
    last_true = offset + (1 + drift) * before[-1]
    first_true = last_true + phase * (1 + drift) / rate
    jumped = before[-1] + 2.5
    after = jumped + np.arange(0, 600) / rate
    offset_after = first_true - (1 + drift) * jumped
    ts = np.concatenate([before, after])
    model = fit_clock_model(
        "cam1",
        [3.0],
        [offset + (1 + drift) * 3.0],
        reference="mocap",
        device_timestamps_s=ts,
        nominal_rate_hz=rate,
        options=ClockFitOptions(continuity_step_intervals=step_intervals),
    )
    assert [s.n_events for s in model.segments] == [1, 0]
    error_ms = (model.to_reference(after) - (offset_after + (1 + drift) * after)) * 1e3
    # Drift is 0 in the one-event fit: the true 12 ppm accrues from the flash (3 s) to the reset and
    # on from the first frame after it (device time excludes the jump), 0.24 ms at most.
    drift_ms = -drift * ((before[-1] - 3.0) + (after - jumped)) * 1e3
    np.testing.assert_allclose(error_ms, expected_ms + drift_ms, atol=2e-3)
    assert np.abs(drift_ms).max() < 0.25


def test_options_and_event_times_are_validated() -> None:
    with pytest.raises(ValueError, match="reset_gap_s must be > 0, got 0"):
        ClockFitOptions(reset_gap_s=0)
    with pytest.raises(ValueError, match="match_tolerance_s must be > 0"):
        ClockFitOptions(match_tolerance_s=-1.0)
    with pytest.raises(ValueError, match="continuity_step_intervals must be finite and >= 0"):
        ClockFitOptions(continuity_step_intervals=math.inf)
    with pytest.raises(ValueError, match="uncertainty_s has 3 values for 2 events"):
        EventTimes([1.0, 2.0], uncertainty_s=[1e-4, 1e-4, 1e-4])
    with pytest.raises(ValueError, match="labels has 1 values for 2 events"):
        EventTimes([1.0, 2.0], labels=["start"])
    events = EventTimes([1.0, 2.0], uncertainty_s=1e-4, labels=("start", "end"))
    assert events.n == 2 and events.labels == ("start", "end")
    np.testing.assert_array_equal(events.uncertainty_s, [1e-4, 1e-4])
    assert np.isnan(EventTimes([1.0]).uncertainty_s).all() and EventTimes.of(events) is events


def test_match_tolerance_decides_unlabelled_pairing() -> None:
    """Unlabelled events pair under one common offset only within ``match_tolerance_s``."""
    dev, ref = [1.0, 11.0, 30.0], [1.5, 11.7]  # 0.5 s then 0.7 s apart: one offset cannot pair both at 0.1 s
    tight = fit_clock_model("cam1", dev, ref, reference="mocap", options=ClockFitOptions(match_tolerance_s=0.1))
    loose = fit_clock_model("cam1", dev, ref, reference="mocap", options=ClockFitOptions(match_tolerance_s=0.5))
    assert sum(s.n_events for s in tight.segments) == 1 and tight.method == "events+offset-only"
    assert sum(s.n_events for s in loose.segments) == 2 and loose.method == "events"
    assert loose.segments[0].drift == pytest.approx(0.02, abs=1e-12)
