"""Clock models from motion cross-correlation, against clocks whose truth we set.

One synthetic set (``simulate_set``) is sampled by two device clocks with known offsets and
drifts: the mocap reference at 150 Hz (joint speed, with occlusion gaps) and a cinema camera at
60 fps with dropped frames and two LED flashes, whose frames the generator's renderer draws and
whose cell luma (``flexsync.timing.flash.luma_grid``) gives the motion energy. The fitted model
must map the camera's clock onto the reference within one frame (16.7 ms) over the recording.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from flexsync.fkg.catalogue import default_fkg
from flexsync.synth.c3d_writer import occlusion_mask
from flexsync.synth.cameras import default_rig
from flexsync.synth.clocks import ClockSegment, DeviceClock, camera_frame_times, exposure_overlap, regular_device_times
from flexsync.synth.dataset import plan_subjects
from flexsync.synth.motion import SetMotion, simulate_set
from flexsync.synth.recording import LED_POSITION_LAB
from flexsync.synth.render import FrameRenderer
from flexsync.timing.clock_model import ClockFitOptions, fit_clock_model
from flexsync.timing.flash import luma_grid
from flexsync.timing.motion_xcorr import (
    MotionEnergyOptions,
    MotionFitOptions,
    emg_activity,
    fit_by_motion,
    joint_speed,
    motion_agreement,
    video_motion_energy,
)

FRAME_S = 1.0 / 60.0
EXPOSURE_S = 1.0 / 60.0
REF_CLOCK = DeviceClock.simple(0.8, 3e-6)  # mocap: starts 0.8 s into true time


def _motion(action: str, seed: int, n_reps: int = 4) -> SetMotion:
    subject = plan_subjects(1, 0)[0]
    return simulate_set(default_fkg(), action, subject, n_reps=n_reps, rng=np.random.default_rng(seed))


def _mocap_speed(motion: SetMotion, clock: DeviceClock, seed: int) -> tuple[np.ndarray, np.ndarray]:
    t = regular_device_times(clock, rate_hz=150.0, true_end_s=motion.duration_s)
    valid = occlusion_mask(np.random.default_rng(seed), n_frames=t.size, n_joints=21, rate_hz=150.0)
    return joint_speed(t, motion.sample(clock.to_true(t)), valid)


def _rendered_energy(motion: SetMotion, clock: DeviceClock, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Render the set as cam1 sees it (320 x 180, LED flashing twice), return (PTS, t, energy)."""
    rng = np.random.default_rng(seed)
    pts, _ = camera_frame_times(clock, rate_hz=60.0, true_end_s=motion.duration_s - 0.05, n_drops=3, rng=rng)
    camera = default_rig(width=320, height=180, phone_width=180, phone_height=320)["cam1"]
    renderer = FrameRenderer(camera, led_position_lab=LED_POSITION_LAB)
    start = clock.to_true(pts)
    flashes = [(2.0, 2.1), (motion.duration_s - 1.2, motion.duration_s - 1.1)]
    levels = exposure_overlap(start, EXPOSURE_S, flashes)
    mid = start + 0.5 * EXPOSURE_S
    joints, equipment = motion.sample(mid), motion.sample_equipment(mid)
    frames = np.empty((pts.size, camera.height, camera.width, 3), np.uint8)
    for i in range(pts.size):
        renderer.render(joints[i], equipment[i], led_level=float(levels[i]), out=frames[i])
    grid = luma_grid(frames, 27, 48).reshape(pts.size, 27, 48)
    t, energy = video_motion_energy(grid, pts, exposure_s=EXPOSURE_S)
    return pts, t, energy


def _mapping_error_s(model, device_clock: DeviceClock, t_dev: np.ndarray) -> np.ndarray:
    truth = REF_CLOCK.to_device(device_clock.to_true(t_dev))
    return model.to_reference(t_dev) - truth


@pytest.fixture(scope="module")
def squat() -> SetMotion:
    return _motion("A01", seed=5)


@pytest.fixture(scope="module")
def reference(squat: SetMotion) -> tuple[np.ndarray, np.ndarray]:
    return _mocap_speed(squat, REF_CLOCK, seed=1)


@pytest.mark.parametrize(
    ("start_s", "drift"),
    [(2.4, -40e-6), (0.2, 25e-6)],  # camera starts 1.6 s after / 0.6 s before the mocap
)
def test_rendered_video_against_mocap_within_one_frame(
    squat: SetMotion, reference: tuple[np.ndarray, np.ndarray], start_s: float, drift: float
) -> None:
    clock = DeviceClock.simple(start_s, drift)
    pts, t, energy = _rendered_energy(squat, clock, seed=2)
    model = fit_by_motion("cam1", t, energy, *reference, reference="mocap", device_timestamps_s=pts)
    assert model.method == "motion-xcorr" and model.reference == "mocap"
    (segment,) = model.segments
    assert (segment.device_start_s, segment.device_end_s) == (pts[0], pts[-1])
    err = _mapping_error_s(model, clock, np.linspace(pts[0], pts[-1], 50))
    assert np.max(np.abs(err)) <= FRAME_S, err
    # Too short (~17 s) to resolve the drift from motion: it is 0, and noted.
    assert segment.drift == 0.0 and any("drift 0" in note for note in model.notes)
    expected_offset = float(REF_CLOCK.to_device(clock.to_true(np.float64(0.0))))
    assert segment.offset_s == pytest.approx(expected_offset, abs=FRAME_S)
    assert model.confidence > 0.25
    assert FRAME_S / 60 < segment.event_uncertainty_s < 3 * FRAME_S


def test_unrelated_motion_gives_low_confidence(squat: SetMotion, reference: tuple[np.ndarray, np.ndarray]) -> None:
    other = _motion("A13", seed=9)  # a shoulder press by the same subject, another set
    clock = DeviceClock.simple(1.0, 0.0)
    pts, t, energy = _rendered_energy(other, clock, seed=3)
    related = fit_by_motion("cam1", *_rendered_energy(squat, clock, seed=3)[1:], *reference, reference="mocap")
    unrelated = fit_by_motion("cam1", t, energy, *reference, reference="mocap", device_timestamps_s=pts)
    assert unrelated.method == "motion-xcorr"
    assert unrelated.confidence < 0.05
    assert related.confidence > 2.5 * unrelated.confidence


def test_drift_recovered_from_a_long_recording() -> None:
    """A 45 s set with a bad clock (300 ppm): four windows resolve the drift once the span allows."""
    motion = _motion("A13", seed=4, n_reps=14)
    ref_t, ref_speed = _mocap_speed(motion, REF_CLOCK, seed=6)
    clock = DeviceClock.simple(2.5, 300e-6)
    dev_t, dev_speed = _mocap_speed(motion, clock, seed=7)
    assert dev_t[-1] > 40.0
    options = MotionFitOptions(windows=4, min_drift_span_s=20.0)
    model = fit_by_motion("phone", dev_t, dev_speed, ref_t, ref_speed, reference="mocap", options=options)
    (segment,) = model.segments
    true_drift = (1 + 300e-6) / (1 + 3e-6) - 1
    # Window lags scatter by a few ms (occlusions change which joints are averaged), so over ~34 s
    # the drift is good to tens of ppm: useful for a bad clock only, hence the 120 s default span.
    assert segment.drift == pytest.approx(true_drift, abs=60e-6)
    assert segment.n_events == 4 and max(abs(r) for r in segment.residuals_s) < 6e-3
    err = _mapping_error_s(model, clock, np.linspace(dev_t[0], dev_t[-1], 50))
    assert np.max(np.abs(err)) < 3e-3
    # The default span (120 s) is not reached: drift 0, and the mapping errs by up to ~drift x half the span.
    short = fit_by_motion("phone", dev_t, dev_speed, ref_t, ref_speed, reference="mocap")
    assert short.segments[0].drift == 0.0
    assert np.max(np.abs(_mapping_error_s(short, clock, dev_t))) > 5e-3


def test_clock_reset_fitted_per_segment(squat: SetMotion, reference: tuple[np.ndarray, np.ndarray]) -> None:
    """The device counter jumps 2.5 s forward mid-recording: two segments, each within a frame."""
    first = ClockSegment(0.0, 1.5, 20e-6)
    true_at_reset = 9.0
    jumped = round(float(first.to_device(np.float64(true_at_reset))) + 2.5, 3)
    clock = DeviceClock((first, ClockSegment(jumped, true_at_reset - (1 + 20e-6) * jumped, 20e-6)))
    dev_t, dev_speed = _mocap_speed(squat, clock, seed=8)
    model = fit_by_motion("emg", dev_t, dev_speed, *reference, reference="mocap")
    assert [s.device_start_s for s in model.segments] == [0.0, pytest.approx(jumped, abs=1 / 150)]
    assert any("sample continuity across the resets" in note for note in model.notes)
    err = _mapping_error_s(model, clock, dev_t)
    assert np.max(np.abs(err)) <= FRAME_S, err
    # Searched independently, the second segment (7 s of motion) is also found.
    apart_options = MotionFitOptions(reset_continuity=False)
    apart = fit_by_motion("emg", dev_t, dev_speed, *reference, reference="mocap", options=apart_options)
    assert np.max(np.abs(_mapping_error_s(apart, clock, dev_t))) <= FRAME_S


def test_segment_without_motion_carried_over_by_continuity(
    squat: SetMotion, reference: tuple[np.ndarray, np.ndarray]
) -> None:
    """Segments searched apart; a reset 1.2 s before the end leaves a segment too short to correlate,
    so it takes the first segment's model plus sample continuity."""
    first = ClockSegment(0.0, 1.5, 0.0)
    true_at_reset = squat.duration_s - 1.2
    jumped = round(float(first.to_device(np.float64(true_at_reset))) + 3.0, 3)
    clock = DeviceClock((first, ClockSegment(jumped, true_at_reset - jumped, 0.0)))
    dev_t, dev_speed = _mocap_speed(squat, clock, seed=8)
    options = MotionFitOptions(reset_continuity=False)
    model = fit_by_motion("cam2", dev_t, dev_speed, *reference, reference="mocap", options=options)
    assert [s.n_events for s in model.segments] == [2, 0]
    assert any("continuity" in note for note in model.notes)
    err = _mapping_error_s(model, clock, dev_t)
    assert np.max(np.abs(err)) <= FRAME_S, err


def test_no_motion_gives_nominal_model() -> None:
    t = np.arange(0, 20, 0.01)
    model = fit_by_motion("cam3", t, np.ones_like(t), t, np.sin(t), reference="mocap")
    assert model.method == "nominal" and model.confidence == 0.0
    assert "no usable motion" in model.notes[0]


def test_video_motion_energy_leaves_out_the_flash_and_places_pairs_between_exposures() -> None:
    rng = np.random.default_rng(0)
    n, cells = 400, 12
    pts = np.cumsum(np.full(n, FRAME_S))
    pts[200:] += FRAME_S  # a dropped frame
    body = np.cumsum(rng.normal(0.0, 2.0, (n, cells)), axis=0) + 100.0
    grid = body.copy()
    grid[50:56, 5] += 150.0  # the LED: two flashes of 6 frames in cell 5
    grid[300:306, 5] += 150.0
    # The plain mean absolute step: no spike filter, no brightness ratio, no noise floor.
    no_spike_filter = MotionEnergyOptions(spike_frames=1, global_gain=False, floor_factor=0.0)
    t, energy = video_motion_energy(grid.reshape(n, 3, 4), pts, exposure_s=0.01, options=no_spike_filter)
    np.testing.assert_allclose(t, 0.5 * (pts[:-1] + pts[1:]) + 0.005, rtol=0, atol=1e-12)
    without_led = np.abs(np.diff(np.delete(body, 5, axis=1), axis=0)).mean(axis=1) / np.diff(pts)
    np.testing.assert_allclose(energy, without_led, rtol=1e-5)
    # Named cells are left out too; a gap (a clock reset) gives NaN, not a tiny energy.
    pts_gap = pts.copy()
    pts_gap[250:] += 3.0
    _, named = video_motion_energy(grid, pts_gap, exclude_cells=[5, 6], options=no_spike_filter)
    assert np.isnan(named[249]) and np.isfinite(np.delete(named, 249)).all()
    expected = np.abs(np.diff(np.delete(body, [5, 6], axis=1), axis=0)).mean(axis=1) / np.diff(pts_gap)
    np.testing.assert_allclose(np.delete(named, 249), np.delete(expected, 249), rtol=1e-5)


def test_joint_speed_known_velocities_and_gaps() -> None:
    t = np.arange(200) / 100.0
    v = np.array([[0.3, 0.4, 0.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]])  # 0.5, 2.0, 1.0 m/s
    joints = t[:, None, None] * v[None] + np.array([0.0, 1.0, 2.0])[None, :, None]
    valid = np.ones((200, 3), dtype=bool)
    valid[50:55, 0] = False  # 40 ms gap: bridged
    valid[100:150, 2] = False  # 0.5 s gap: joint 2 left out there
    valid[180:, :] = False  # nothing seen at the end
    t_out, speed = joint_speed(t, joints, valid)
    assert t_out is not t and np.array_equal(t_out, t)
    np.testing.assert_allclose(speed[:99], (0.5 + 2.0 + 1.0) / 3, rtol=1e-9)
    np.testing.assert_allclose(speed[101:149], (0.5 + 2.0) / 2, rtol=1e-9)
    assert np.isnan(speed[180:]).all()


def test_emg_activity_means_finite_channels() -> None:
    env = np.array([[1.0, 3.0], [np.nan, 4.0], [np.nan, np.nan]])
    t, activity = emg_activity(np.array([0.0, 0.01, 0.02]), env)
    np.testing.assert_array_equal(t, [0.0, 0.01, 0.02])
    assert activity[0] == 2.0 and activity[1] == 4.0 and math.isnan(activity[2])


def test_bad_inputs_name_the_problem() -> None:
    t = np.arange(10.0)
    with pytest.raises(ValueError, match=r"luma_grid must be \(N, GH, GW\)"):
        video_motion_energy(np.zeros((9, 3, 4)), t)
    with pytest.raises(ValueError, match="exclude_cells"):
        video_motion_energy(np.zeros((10, 3, 4)), t, exclude_cells=[12])
    with pytest.raises(ValueError, match=r"joints must be \(N, J, 3\)"):
        joint_speed(t, np.zeros((10, 21, 2)))
    with pytest.raises(ValueError, match="stream cam4: device times and signal differ"):
        fit_by_motion("cam4", t, t[:-1], t, t, reference="mocap")
    with pytest.raises(ValueError, match=r"band_hz must satisfy 0 <= low < high < grid_rate_hz / 2, got \(1.0, 60.0\)"):
        MotionFitOptions(band_hz=(1.0, 60.0))
    with pytest.raises(ValueError, match="windows must be an integer >= 1, got 0"):
        MotionFitOptions(windows=0)
    with pytest.raises(ValueError, match="max_gap_s must be > 0"):
        MotionFitOptions(max_gap_s=0.0)
    with pytest.raises(ValueError, match=r"flash_share must be in \(0, 1\]"):
        MotionEnergyOptions(flash_share=1.5)
    with pytest.raises(ValueError, match="spike_frames must be an integer >= 1"):
        MotionEnergyOptions(spike_frames=0)
    with pytest.raises(ValueError, match=r"floor_quantile must be in \[0, 1\]"):
        MotionEnergyOptions(floor_quantile=1.5)
    with pytest.raises(ValueError, match="floor_factor must be >= 0"):
        MotionEnergyOptions(floor_factor=-1.0)
    with pytest.raises(ValueError, match="floor_window_s must be >= 0"):
        MotionEnergyOptions(floor_window_s=-1.0)


@pytest.mark.parametrize("jump_s", [0.8, 2.5, 4.8])
def test_motion_agreement_tells_a_reset_from_a_pause(
    squat: SetMotion, reference: tuple[np.ndarray, np.ndarray], jump_s: float
) -> None:
    """One flash before a forward jump of the device clock, none after. Placing the second segment by
    sample continuity (a reset) or by keeping the first segment's model (a pause) differs by the jump;
    the motion after the jump agrees with the right one (here the reset), which errs by < 1 interval."""
    first = ClockSegment(0.0, 1.5, 30e-6)
    true_at_reset = 9.0
    jumped = round(float(first.to_device(np.float64(true_at_reset))) + jump_s, 3)
    clock = DeviceClock((first, ClockSegment(jumped, true_at_reset - (1 + 30e-6) * jumped, 30e-6)))
    dev_t, dev_speed = _mocap_speed(squat, clock, seed=8)
    flash_true = 3.0
    flash_dev = [float(clock.to_device(np.float64(flash_true)))]
    flash_ref = [float(REF_CLOCK.to_device(np.float64(flash_true)))]
    after = dev_t >= jumped
    scores, errors = {}, {}
    for gap in ("continuity", "pause"):
        model = fit_clock_model(
            "cam1",
            flash_dev,
            flash_ref,
            reference="mocap",
            device_timestamps_s=dev_t,
            nominal_rate_hz=150.0,
            options=ClockFitOptions(forward_gap=gap),
        )
        seg = model.segments[1]
        scores[gap] = motion_agreement(dev_t[after], dev_speed[after], *reference, seg.offset_s, drift=seg.drift)
        errors[gap] = np.abs(_mapping_error_s(model, clock, dev_t[after]))
    assert scores["continuity"] > 0.2 and scores["continuity"] > 2.0 * max(scores["pause"], 0.0), scores
    # 30 ppm left out of a one-event fit over ~15 s (0.45 ms) plus the restarted sample phase (< 1/150 s).
    assert errors["continuity"].max() < 1.0 / 150.0 + 0.5e-3
    assert errors["pause"].min() > jump_s - 0.01
    # Too little motion to judge: NaN, not a guess.
    assert math.isnan(motion_agreement(dev_t[:100], dev_speed[:100], *reference, 0.0))


# -- where the fallback's bias comes from (docs/sync-notes.md) ---------------------------------
#
# A bar's edge moving across a row of cells, drawn as the renderer draws a frame (at the middle
# of its exposure): each cell's mean luma is the share of it the bar covers, so the frame
# difference energy is exactly the edge's displacement between the two exposure middles. The
# same edge is a "joint" for the mocap. With nothing else differing, the fit must land on the
# truth: what is left is the time convention and the correlation itself.

_CELLS = 24
_REPS_S = ((0.8, 1.6, 0.7), (0.7, 1.9, 0.4), (0.9, 1.4, 0.9), (0.75, 1.7, 0.5), (0.85, 1.5, 0.6), (0.8, 1.8, 1.0))
_END_S = 2.0 + sum(map(sum, _REPS_S)) + 2.0


def _edge_position(t_true: np.ndarray, *, delay_s: float = 0.0) -> np.ndarray:
    """Edge position (cells): 6 repetitions of a fast concentric half, a slow eccentric half, a rest."""
    height = np.zeros(np.shape(t_true))
    start = 2.0 + delay_s
    for up_s, down_s, rest_s in _REPS_S:
        up = np.clip((t_true - start) / up_s, 0.0, 1.0)
        down = np.clip((t_true - start - up_s) / down_s, 0.0, 1.0)
        height += 0.5 * (np.cos(np.pi * down) - np.cos(np.pi * up))
        start += up_s + down_s + rest_s
    return 4.0 + 14.0 * height


def _edge_grid(position: np.ndarray) -> np.ndarray:
    """(N, 1, _CELLS) cell luma: 40 + 180 x the covered share of each cell."""
    cover = np.clip(position[:, None] - np.arange(_CELLS)[None, :], 0.0, 1.0)
    return (40.0 + 180.0 * cover)[:, None, :]


def _edge_video(clock: DeviceClock, rate_hz: float, exposure_s: float, jitter_s: float, seed: int) -> tuple:
    rng = np.random.default_rng(seed)
    n = int((_END_S - clock.to_true(np.float64(0.0))) * rate_hz)
    pts = np.arange(n) / rate_hz + rng.uniform(-jitter_s, jitter_s, n)
    pts = np.round(pts, 6)
    mid_true = clock.to_true(pts + 0.5 * exposure_s)
    return pts, _edge_grid(_edge_position(mid_true))


def _edge_mocap(clock: DeviceClock, delays_s: tuple[float, ...] = (0.0,)) -> tuple[np.ndarray, np.ndarray]:
    t = regular_device_times(clock, rate_hz=150.0, true_end_s=_END_S)
    true = clock.to_true(t)
    joints = np.zeros((t.size, len(delays_s), 3))
    for j, delay in enumerate(delays_s):
        joints[:, j, 0] = 0.05 * _edge_position(true, delay_s=delay)  # 5 cm per cell
    return t, joints


@pytest.mark.parametrize(
    ("rate_hz", "exposure_s", "jitter_s"),
    [(60.0, 1.0 / 120.0, 0.0), (30.0, 1.0 / 60.0, 0.004)],  # a cinema camera; a phone with jittered frames
)
def test_energy_and_joint_speed_are_stamped_at_the_same_physical_time(
    rate_hz: float, exposure_s: float, jitter_s: float
) -> None:
    """The time stamps carry no bias: energy at the middle of two exposure middles, speed at its
    sample; the fit errs by < 1 ms (1.5 ms for the phone, whose jittered frames the 5-frame running
    median treats as even). Leaving the exposure out of the stamps errs by exposure / 2."""
    clock = DeviceClock.simple(2.3, 0.0)
    pts, grid = _edge_video(clock, rate_hz, exposure_s, jitter_s, seed=3)
    ref_t, joints = _edge_mocap(REF_CLOCK)
    reference = joint_speed(ref_t, joints)
    t, energy = video_motion_energy(grid, pts, exposure_s=exposure_s)
    model = fit_by_motion("cam1", t, energy, *reference, reference="mocap", device_timestamps_s=pts)
    err = _mapping_error_s(model, clock, np.linspace(pts[0], pts[-1], 20))
    assert np.max(np.abs(err)) < (1e-3 if jitter_s == 0 else 1.5e-3), err
    t0, energy0 = video_motion_energy(grid, pts, exposure_s=0.0)
    early = fit_by_motion("cam1", t0, energy0, *reference, reference="mocap", device_timestamps_s=pts)
    err0 = _mapping_error_s(early, clock, np.linspace(pts[0], pts[-1], 20))
    assert np.mean(err0) == pytest.approx(0.5 * exposure_s, abs=1.5e-3)  # stamped early: video mapped late


@pytest.mark.parametrize("offset_s", [1.2, 1.2037, 1.2071, -0.9953])
def test_sub_sample_lag_found_without_bias(squat: SetMotion, offset_s: float) -> None:
    """The correlation carries no bias: the same motion sampled by another device (60 Hz, other
    phase) with an offset that is not a whole grid step is found to < 0.3 ms: neither the zero-phase
    band-pass nor the parabolic peak interpolation leans one way."""
    ref_t = regular_device_times(REF_CLOCK, rate_hz=150.0, true_end_s=squat.duration_s)
    reference = joint_speed(ref_t, squat.sample(REF_CLOCK.to_true(ref_t)))
    clock = DeviceClock.simple(REF_CLOCK.to_true(np.float64(0.0)) + offset_s, 3e-6)
    dev_t = regular_device_times(clock, rate_hz=60.0, true_end_s=squat.duration_s)
    dev = joint_speed(dev_t, squat.sample(clock.to_true(dev_t)))
    model = fit_by_motion("cam1", *dev, *reference, reference="mocap")
    err = _mapping_error_s(model, clock, np.linspace(dev_t[0], dev_t[-1], 20))
    assert np.max(np.abs(err)) < 0.3e-3, err


def test_a_hidden_arm_shifts_the_lag_by_its_phase() -> None:
    """The features' content carries the bias: the view shows one arm, the mocap averages two whose
    motions are 60 ms apart (a lifter's side bias). Against the seen arm the fit is within 1 ms;
    against the mean of both it lands between the arms, tens of ms off."""
    clock = DeviceClock.simple(1.7, 0.0)
    pts, grid = _edge_video(clock, 60.0, FRAME_S, 0.0, seed=4)
    t, energy = video_motion_energy(grid, pts, exposure_s=FRAME_S)
    ref_t, joints = _edge_mocap(REF_CLOCK, delays_s=(0.0, 0.06))
    probe = np.linspace(pts[0], pts[-1], 20)
    seen = fit_by_motion("cam2", t, energy, *joint_speed(ref_t, joints[:, :1]), reference="mocap")
    assert np.max(np.abs(_mapping_error_s(seen, clock, probe))) < 1e-3
    both = fit_by_motion("cam2", t, energy, *joint_speed(ref_t, joints), reference="mocap")
    err = _mapping_error_s(both, clock, probe)
    # The unseen arm moves 60 ms after the seen one: the mean speed peaks ~30 ms late, so the video is
    # mapped ~30 ms late (in the benchmark the unseen parts mostly lead, and the video is mapped early).
    assert 0.02 < np.mean(err) < 0.04, err


def test_joint_speed_sees_only_motion_across_the_view_axis() -> None:
    """A camera does not see motion along its optical axis: with ``view_axis`` that part is left out."""
    t = np.arange(100) / 100.0
    v = np.array([[0.3, 0.4, 0.0], [0.0, 0.0, 2.0]])
    joints = t[:, None, None] * v[None]
    _, along_x = joint_speed(t, joints, view_axis=(2.0, 0.0, 0.0))
    np.testing.assert_allclose(along_x, (0.4 + 2.0) / 2, rtol=1e-9)
    _, along_z = joint_speed(t, joints, view_axis=np.array([0.0, 0.0, -1.0]))
    np.testing.assert_allclose(along_z, (0.5 + 0.0) / 2, rtol=1e-9)
    _, oblique = joint_speed(t, joints, view_axis=(1.0, 1.0, 0.0))
    np.testing.assert_allclose(oblique, (math.sqrt(0.05**2 * 2) + 2.0) / 2, rtol=1e-9)
    with pytest.raises(ValueError, match="view_axis must be a finite non-zero 3-vector"):
        joint_speed(t, joints, view_axis=(0.0, 0.0, 0.0))
