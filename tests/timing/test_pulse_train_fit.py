"""Pulse-train clock fits on written-down pulses: pairing without the offset, segments, outliers, drift.

Every pulse here is made from a known clock, ``t_ref = offset + (1 + drift) * t_dev`` per segment,
so the expected offsets, drifts and pairings follow from the construction.
"""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.timing.clock_model import EventTimes
from flexsync.timing.pulse_match import match_pulses, offset_votes, pair_nearest
from flexsync.timing.pulse_train import TrainFitOptions, fit_pulse_train
from flexsync.timing.robust_line import offset_step, robust_line

RATE_HZ = 60.0


def _coded(n: int, seed: int) -> np.ndarray:
    """Onsets (reference clock, s) of a coded train: intervals uniform in [0.6, 1.4] s."""
    rng = np.random.default_rng(seed)
    return 0.5 + np.concatenate([[0.0], np.cumsum(rng.uniform(0.6, 1.4, n - 1))])


def _device(ref_onsets: np.ndarray, offset: float, drift: float) -> np.ndarray:
    """The same pulses on a device clock with ``t_ref = offset + (1 + drift) * t_dev``."""
    return (ref_onsets - offset) / (1.0 + drift)


def _frames(first: float, last: float) -> np.ndarray:
    return np.arange(first, last, 1.0 / RATE_HZ)


def test_coded_train_pairs_itself_without_the_offset() -> None:
    ref = _coded(30, seed=1)
    keep = np.ones(ref.size, dtype=bool)
    keep[[3, 11, 12, 20]] = False  # the device missed four pulses
    offset, drift = 3.217, 40e-6
    dev = _device(ref[keep], offset, drift) + np.random.default_rng(2).normal(0.0, 5e-6, keep.sum())
    match = match_pulses(dev, ref, tolerance_s=0.004)
    assert match.how == "unique" and match.n == keep.sum()
    np.testing.assert_array_equal(match.pairs[:, 1], np.flatnonzero(keep))
    assert match.offset_s == pytest.approx(offset, abs=2e-3)

    fit = fit_pulse_train(
        "emg",
        EventTimes(dev, uncertainty_s=1e-5),
        EventTimes(ref, uncertainty_s=1e-5),
        reference="mocap",
        sync_source="coded_train",
    )
    seg = fit.model.segments[0]
    assert fit.model.method == "events" and seg.n_events == keep.sum() == seg.n_found
    assert seg.offset_s == pytest.approx(offset, abs=5e-6)
    assert (seg.drift - drift) * 1e6 == pytest.approx(0.0, abs=0.3)  # ppm
    assert fit.model.pulse_counts == {"found": 26, "matched": 26, "rejected": 0}
    assert fit.model.to_dict()["pulses"] == {"found": 26, "matched": 26, "rejected": 0}


def test_periodic_train_is_ambiguous_until_its_markers_settle_it() -> None:
    ref = 0.4 + np.arange(25) * 1.0
    offset = -2.35  # more than two periods: the votes cannot tell
    dev = _device(ref[2:23], offset, 0.0)
    no_prior = match_pulses(dev, ref, tolerance_s=0.004)
    assert no_prior.how == "ambiguous" and len(no_prior.rivals) >= 2

    labels_ref = ["pulse"] * ref.size
    labels_ref[5], labels_ref[20] = "start", "end"
    labels_dev = labels_ref[2:23]
    fit = fit_pulse_train(
        "physio",
        EventTimes(dev, uncertainty_s=5e-4, labels=labels_dev),
        EventTimes(ref, uncertainty_s=1e-5, labels=labels_ref),
        reference="mocap",
        sync_source="pulse_train",
    )
    assert fit.settled == ("markers",) and not fit.ambiguous
    assert fit.model.segments[0].offset_s == pytest.approx(offset, abs=1e-6)
    np.testing.assert_array_equal(fit.reference_index, np.arange(2, 23))


def test_periodic_train_without_markers_is_settled_by_motion() -> None:
    ref = 0.4 + np.arange(25) * 1.0
    offset = 1.62
    dev = _device(ref[:20], offset, 0.0)
    asked: list[list[float]] = []

    def scores(span: tuple[float, float], candidates: list[float]) -> np.ndarray:
        """Motion agreement as measured: ~0.75 at the true offset, ~0.1-0.3 a period or more away."""
        asked.append(list(candidates))
        c = np.asarray(candidates)
        return np.where(np.abs(c - offset) < 0.05, 0.75, 0.1 + 0.2 * (np.abs(c - offset) < 1.5))

    def run(motion) -> object:
        return fit_pulse_train(
            "cam1",
            EventTimes(dev, uncertainty_s=3e-4),
            EventTimes(ref, uncertainty_s=1e-5),
            reference="mocap",
            sync_source="pulse_train",
            motion_scores=motion,
        )

    fit = run(scores)
    assert fit.settled == ("motion",) and not fit.ambiguous
    assert fit.model.segments[0].offset_s == pytest.approx(offset, abs=1e-6)
    assert len(asked[0]) >= 3 and min(abs(c - offset) for c in asked[0]) < 1e-3  # the rivals, truth among them

    # Motion that does not tell the candidates apart (a margin under 0.2, or a rival it cannot score)
    # leaves the pairing ambiguous, flagged, never settled by a guess.
    def flat(span: tuple[float, float], candidates: list[float]) -> np.ndarray:
        c = np.asarray(candidates)
        return np.where(np.abs(c - offset) < 0.05, 0.75, 0.6)

    def blind(span: tuple[float, float], candidates: list[float]) -> np.ndarray:
        c = np.asarray(candidates)
        return np.where(np.abs(c - offset) < 0.05, 0.75, np.nan)

    for motion in (flat, blind):
        unsure = run(motion)
        assert unsure.settled == ("ambiguous",) and unsure.ambiguous
        assert unsure.model.confidence < fit.model.confidence


def test_every_reset_segment_is_placed_by_its_own_pulses() -> None:
    """A camera whose counter jumps 2.5 s forward at device 12 s: two segments, one drift (one oscillator)."""
    ref = _coded(28, seed=4)
    drift = -15e-6
    offsets = (0.9, 0.9 - 2.5)
    frames0, frames1 = _frames(0.0, 12.0), _frames(12.0 + 2.5, 29.0)
    true_dev = _device(ref, offsets[0], drift)
    after = true_dev > 12.0
    true_dev[after] = _device(ref[after], offsets[1], drift)
    seen = (true_dev >= 0.2) & ((true_dev < 11.9) | (true_dev > 14.6)) & (true_dev < 28.8)
    noise = np.random.default_rng(5).normal(0.0, 2e-4, seen.sum())
    fit = fit_pulse_train(
        "cam1",
        EventTimes(true_dev[seen] + noise, uncertainty_s=3e-4),
        EventTimes(ref, uncertainty_s=1e-5),
        reference="mocap",
        sync_source="coded_train",
        device_timestamps_s=np.concatenate([frames0, frames1]),
        nominal_rate_hz=RATE_HZ,
    )
    segments = fit.model.segments
    assert len(segments) == 2 and all(s.n_events >= 5 for s in segments)
    for seg, offset in zip(segments, offsets, strict=True):
        t = np.array([seg.device_start_s, seg.device_end_s])
        np.testing.assert_allclose(seg.to_reference(t), offset + (1 + drift) * t, atol=6e-4)
    assert segments[0].drift == segments[1].drift  # shared
    assert any("one drift for 2 clock segments" in n for n in fit.model.notes)
    assert fit.model.pulse_counts["matched"] == seen.sum()


def _reset_clock(rows_true: np.ndarray, reset_true: float, offsets: tuple[float, float], drift: float) -> np.ndarray:
    """Sample times of a device whose counter jumps at ``reset_true``: the first sample after it at the
    reset itself (the count restarts), then every interval on, as the generator's devices do."""
    before = rows_true[rows_true < reset_true]
    steps = np.diff(rows_true)
    after = reset_true + np.concatenate([[0.0], np.cumsum(steps[before.size : -1])])
    return np.concatenate([_device(before, offsets[0], drift), _device(after, offsets[1], drift)])


def _train_on(ref: np.ndarray, reset_true: float, offsets: tuple[float, float], drift: float, seen) -> np.ndarray:
    dev = np.where(ref < reset_true, _device(ref, offsets[0], drift), _device(ref, offsets[1], drift))
    return dev[seen]


def _fit_across_reset(
    stream: str,
    ref: np.ndarray,
    labels_ref: list[str],
    seen: np.ndarray,
    rows_true: np.ndarray,
    reset_true: float,
    offsets: tuple[float, float],
    drift: float,
    *,
    rate_hz: float,
    uncertainty_s: float = 3e-4,
    decimals: int | None = None,
):
    """The periodic train's fit on a device whose counter jumps at ``reset_true``, seeing ``seen`` pulses."""
    dev = _train_on(ref, reset_true, offsets, drift, seen)
    return fit_pulse_train(
        stream,
        EventTimes(
            dev if decimals is None else np.round(dev, decimals),
            uncertainty_s=uncertainty_s,
            labels=[x for x, k in zip(labels_ref, seen, strict=True) if k],
        ),
        EventTimes(ref, uncertainty_s=1e-5, labels=labels_ref),
        reference="mocap",
        sync_source="pulse_train",
        device_timestamps_s=_reset_clock(rows_true, reset_true, offsets, drift),
        nominal_rate_hz=rate_hz,
    )


def test_a_periodic_segment_after_a_reset_is_settled_by_sample_continuity() -> None:
    """A phone (30 fps, +-3 ms jitter) whose counter jumps 3.8 s forward; the train's markers fall
    in the first segment, the second has a single pulse: only continuity can pair it."""
    rng = np.random.default_rng(8)
    drift, reset_true = 21e-6, 22.2
    offsets = (0.9, 0.9 - 3.8)
    ref = 0.3 + np.arange(24) * 1.0
    labels_ref = ["pulse"] * 24
    labels_ref[2] = "start"
    rows_true = np.cumsum(rng.normal(1.0 / 30.0, 0.003, 24 * 30))
    seen = (ref > 0.9) & (ref < 22.9)  # the phone's sync input stops early: one pulse after the reset
    fit = _fit_across_reset("phone", ref, labels_ref, seen, rows_true, reset_true, offsets, drift, rate_hz=30.0)
    assert fit.settled == ("markers", "continuity") and not fit.ambiguous
    assert [s.n_events for s in fit.model.segments] == [int(seen.sum()) - 1, 1]
    for seg, offset in zip(fit.model.segments, offsets, strict=True):
        t = np.array([seg.device_start_s, seg.device_end_s])
        np.testing.assert_allclose(seg.to_reference(t), offset + (1 + drift) * t, atol=1e-3)


def test_continuity_settles_a_segment_from_the_one_after_it() -> None:
    """The markers fall after the reset: the first segment is settled backwards, from the second."""
    rng = np.random.default_rng(9)
    drift, reset_true = -12e-6, 9.6
    offsets = (2.1, 2.1 - 1.7)
    ref = 0.3 + np.arange(24) * 1.0
    labels_ref = ["pulse"] * 24
    labels_ref[20] = "end"
    rows_true = np.cumsum(rng.normal(1.0 / 60.0, 1e-5, 24 * 60))
    seen = ref > 1.0
    fit = _fit_across_reset("cam1", ref, labels_ref, seen, rows_true, reset_true, offsets, drift, rate_hz=60.0)
    assert fit.settled == ("continuity", "markers")
    assert any("continuity with the segment after" in n for n in fit.model.notes)
    for seg, offset in zip(fit.model.segments, offsets, strict=True):
        assert seg.offset_s == pytest.approx(offset, abs=1e-3)


def test_a_one_hertz_log_is_placed_by_continuity_only_when_one_candidate_fits() -> None:
    """A 1 Hz physio log: after a reset its first row comes up to a whole second after the last one,
    as long as the train's period. A reset 0.55 s after a row leaves one candidate in that window;
    one 0.02 s after a row leaves two (the true one and a period later): ambiguous, flagged."""
    drift = -46e-6
    offsets = (0.045, 0.045 - 3.8)
    ref = 0.3 + np.arange(24) * 1.0
    labels_ref = ["pulse"] * 24
    labels_ref[2] = "start"
    rows_true = 0.3 + np.arange(24) * 1.0 + np.random.default_rng(10).normal(0.0, 1e-3, 24)
    seen = np.ones(24, dtype=bool)
    seen[[0, 9, 17]] = False  # missed pulses
    settled = {}
    for after_row in (0.55, 0.02):
        reset_true = 11.3 + after_row
        fit = _fit_across_reset(
            "physio",
            ref,
            labels_ref,
            seen,
            rows_true,
            reset_true,
            offsets,
            drift,
            rate_hz=1.0,
            uncertainty_s=5e-4,
            decimals=3,
        )
        settled[after_row] = fit.settled
        assert fit.model.segments[0].offset_s == pytest.approx(offsets[0], abs=1e-3)
        # Settled, it is exact; left ambiguous, the guess is still one continuity allows (a period off at most).
        assert fit.model.segments[1].offset_s == pytest.approx(offsets[1], abs=1.001 if fit.ambiguous else 1e-3)
    assert settled == {0.55: ("markers", "continuity"), 0.02: ("markers", "ambiguous")}


def test_a_reset_the_timestamps_hide_is_found_as_an_offset_step() -> None:
    """EDF-like sample times (index / rate): a reset leaves a 0.3 ms phase step in the pulses only."""
    ref = _coded(30, seed=6)
    dev = _device(ref, -1.278, 66e-6)
    dev[dev > 11.0] += 3e-4
    kw = dict(reference="mocap", sync_source="coded_train", device_timestamps_s=np.arange(0.0, 40.0, 1 / 2000))
    events = (EventTimes(dev, uncertainty_s=1e-5), EventTimes(ref, uncertainty_s=1e-5))
    split = fit_pulse_train("emg", *events, options=TrainFitOptions(hidden_resets=True), **kw)
    assert len(split.model.segments) == 2
    first, second = split.model.segments
    last_before, first_after = dev[dev <= 11.0][-1], dev[dev > 11.0][0]
    assert last_before < first.device_end_s == second.device_start_s < first_after
    assert (first.offset_s - second.offset_s) * (1 + 66e-6) == pytest.approx(3e-4, abs=2e-6)
    assert split.model.pulse_counts["rejected"] == 0 and split.model.max_abs_residual_s < 2e-6

    whole = fit_pulse_train("emg", *events, options=TrainFitOptions(hidden_resets=False), **kw)
    # One line cannot hold both sides: the smaller side is rejected and the counts say so.
    assert len(whole.model.segments) == 1 and whole.model.pulse_counts["rejected"] > 0


def test_wild_detections_are_rejected_and_counted() -> None:
    ref = _coded(25, seed=7)
    dev = _device(ref, 0.75, 10e-6) + np.random.default_rng(8).normal(0.0, 1e-4, ref.size)
    dev[[6, 17]] += (0.0045, -0.006)  # a limb across the LED: two onsets milliseconds off
    fit = fit_pulse_train(
        "cam2",
        EventTimes(dev, uncertainty_s=2e-4),
        EventTimes(ref, uncertainty_s=1e-5),
        reference="mocap",
        sync_source="coded_train",
    )
    assert fit.model.pulse_counts == {"found": 25, "matched": 23, "rejected": 2}
    assert not fit.in_fit[6] and not fit.in_fit[17] and fit.reference_index[6] == 6
    assert fit.model.max_abs_residual_s < 5e-4 and fit.model.segments[0].offset_s == pytest.approx(0.75, abs=2e-4)


def test_building_blocks() -> None:
    votes = offset_votes(np.array([0.0, 1.1, 1.9]), np.array([5.0, 6.1, 6.9, 8.0]), 0.004)
    assert votes[0].votes == 3 and votes[0].offset_s == pytest.approx(5.0)
    pairs = pair_nearest(np.array([1.0, 1.001, 3.0]), np.array([1.0005, 2.0]), 0.002)
    np.testing.assert_array_equal(pairs, [[0, 0]])  # the nearer of two claims wins; 3.0 has no partner
    x = np.linspace(0.0, 20.0, 21)
    y = 0.5 + 1e-5 * x
    y[4] += 0.01
    line = robust_line(x, y, sigma_floor=1e-7)
    assert line.inliers.sum() == 20 and not line.inliers[4] and line.drift == pytest.approx(1e-5, rel=1e-6)
    step = offset_step(x, 1e-5 * x + np.where(x > 13.5, 2e-4, 0.0))  # noise-free: any step is real
    assert step is not None and step.index == 14 and step.step == pytest.approx(2e-4)
