"""Frame rendering: the sync LED encodes its level linearly, views differ, output is deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from synth_poses import standing_pose

from flexsync.skeleton import joint_index
from flexsync.synth.cameras import CameraCalibration, default_rig
from flexsync.synth.render import LED_OFF_RGB, LED_ON_RGB, FrameRenderer

LED_LAB = np.array([0.9, 0.4, 1.2])
BAR_OVERHEAD = np.array([[-1.1, 0.0, 2.1], [1.1, 0.0, 2.1]])


def _rig(seed: int | None = None) -> dict[str, CameraCalibration]:
    rng = None if seed is None else np.random.default_rng(seed)
    return default_rig(width=480, height=270, phone_width=480, phone_height=270, rng=rng)


def _pixel(frame: np.ndarray, camera: CameraCalibration, point_lab: np.ndarray) -> np.ndarray:
    u, v = np.rint(camera.project(point_lab)[0][0]).astype(int)
    return frame[v, u].astype(np.float64)


@pytest.mark.parametrize("seed", [None, 4])
def test_led_brightness_is_linear_in_level_in_every_view(seed: int | None) -> None:
    levels = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    for name, camera in _rig(seed).items():
        renderer = FrameRenderer(camera, led_position_lab=LED_LAB)
        mask = renderer.led_mask()
        assert mask.sum() >= 9, name  # visible: at least a 3x3 patch of pure LED pixels
        u, v = renderer.led_centre_px
        assert 0 <= u < camera.width and 0 <= v < camera.height
        frame = np.empty((camera.height, camera.width, 3), np.uint8)
        means = []
        for level in levels:
            renderer.render(standing_pose(), BAR_OVERHEAD, led_level=level, out=frame)
            means.append(frame[mask].astype(np.float64).mean(axis=0))
        means = np.array(means)  # (levels, RGB)
        expected = LED_OFF_RGB + levels[:, None] * (LED_ON_RGB - LED_OFF_RGB)
        np.testing.assert_allclose(means, expected, atol=1.0, err_msg=name)
        grey = means.mean(axis=1)
        assert np.all(np.diff(grey) > 30), name
        assert abs(grey[2] - 0.5 * (grey[0] + grey[-1])) < 0.1 * (grey[-1] - grey[0])


def test_led_is_drawn_over_a_body_standing_in_front_of_it() -> None:
    camera = _rig()["cam1"]
    renderer = FrameRenderer(camera, led_position_lab=LED_LAB)
    # Move the subject so the chest sits on the line of sight from cam1 to the LED, 30% of the way.
    chest_target = LED_LAB + 0.3 * (camera.centre_lab - LED_LAB)
    joints = standing_pose() + (chest_target - standing_pose()[joint_index("chest")])
    frame = renderer.render(joints, BAR_OVERHEAD + joints[0] - standing_pose()[0], led_level=1.0)
    np.testing.assert_allclose(frame[renderer.led_mask()].mean(axis=0), LED_ON_RGB, atol=1.0)
    # Around the LED housing the body, not the background, is visible: the LED really was covered.
    rows, cols = np.mgrid[0 : camera.height, 0 : camera.width]
    r = np.hypot(cols - renderer.led_centre_px[0], rows - renderer.led_centre_px[1])
    ring = (r > renderer.led_radius_px + 4) & (r < renderer.led_radius_px + 7)
    changed = np.abs(frame[ring].astype(int) - renderer.background[ring].astype(int)).sum(axis=1) > 30
    assert changed.mean() > 0.9


def test_views_differ_and_show_the_body() -> None:
    rig = _rig()
    frames = {}
    for name, camera in rig.items():
        renderer = FrameRenderer(camera, led_position_lab=LED_LAB)
        frames[name] = renderer.render(standing_pose(), BAR_OVERHEAD, led_level=0.0)
        body_px = _pixel(frames[name], camera, standing_pose()[joint_index("chest")])
        bg_px = _pixel(renderer.background, camera, standing_pose()[joint_index("chest")])
        assert np.abs(body_px - bg_px).sum() > 30, name
        assert frames[name].std() > 20, name  # not a uniform image
    names = list(frames)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            diff = np.abs(frames[a].astype(np.int16) - frames[b].astype(np.int16)).mean()
            assert diff > 8, (a, b, diff)


def test_nearer_body_parts_are_brighter() -> None:
    camera = _rig()["cam1"]
    renderer = FrameRenderer(camera, led_position_lab=LED_LAB)
    chest = joint_index("chest")
    far = standing_pose()
    towards_cam1 = np.array([0.0, -0.6, 0.0])  # 0.6 m nearer the front camera
    near = far + towards_cam1
    far_px = _pixel(renderer.render(far, BAR_OVERHEAD, led_level=0.0), camera, far[chest])
    near_px = _pixel(renderer.render(near, BAR_OVERHEAD + towards_cam1, led_level=0.0), camera, near[chest])
    assert np.all(near_px > 1.15 * far_px), (near_px, far_px)


@pytest.mark.parametrize("equipment", ["barbell", "dumbbells"])
def test_equipment_is_drawn_only_when_asked(equipment: str) -> None:
    camera = _rig()["cam1"]
    points = BAR_OVERHEAD if equipment == "barbell" else np.array([[-0.3, -0.05, 0.85], [0.3, -0.05, 0.85]])
    # A pixel on the implement but off the body: the bar's middle above the head, or a dumbbell's outer plate.
    probe = np.array([0.0, 0.0, 2.1]) if equipment == "barbell" else points[1] + np.array([0.11, 0.0, 0.0])
    drawn = FrameRenderer(camera, led_position_lab=LED_LAB, equipment=equipment)
    bare = FrameRenderer(camera, led_position_lab=LED_LAB, equipment="none")
    with_kit = _pixel(drawn.render(standing_pose(arms_raised=False), points, led_level=0.0), camera, probe)
    without = _pixel(bare.render(standing_pose(arms_raised=False), points, led_level=0.0), camera, probe)
    assert np.abs(with_kit - without).sum() > 30
    np.testing.assert_array_equal(without, _pixel(bare.background, camera, probe))


def test_render_is_deterministic_and_reuses_out() -> None:
    camera = _rig(2)["cam4"]
    a = FrameRenderer(camera, led_position_lab=LED_LAB, background_seed=3)
    b = FrameRenderer(camera, led_position_lab=LED_LAB, background_seed=3)
    other = FrameRenderer(camera, led_position_lab=LED_LAB, background_seed=4)
    joints = standing_pose() + np.array([0.013, -0.021, 0.0])
    first = a.render(joints, BAR_OVERHEAD, led_level=0.37)
    out = np.zeros_like(first)
    second = b.render(joints, BAR_OVERHEAD, led_level=0.37, out=out)
    assert second is out
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(a.render(joints, BAR_OVERHEAD, led_level=0.37, out=out), first)
    assert np.abs(other.background.astype(int) - a.background.astype(int)).mean() > 1.0
    assert not a.background.flags.writeable


def test_sub_pixel_motion_moves_the_drawn_body_smoothly() -> None:
    camera = _rig()["cam1"]
    renderer = FrameRenderer(camera, led_position_lab=LED_LAB, equipment="none")
    metres_per_px = float(camera.project(np.array([0.0, 0.0, 1.0]))[1][0]) / camera.K[0, 0]
    background = renderer.background.astype(np.float64)
    columns = np.arange(camera.width)
    centroids = []
    for shift_px in np.arange(8) * 0.1:
        joints = standing_pose(arms_raised=False) + np.array([shift_px * metres_per_px, 0.0, 0.0])
        frame = renderer.render(joints, np.zeros((2, 3)), led_level=0.0).astype(np.float64)
        weight = np.abs(frame - background).sum(axis=2)
        weight[:, int(renderer.led_centre_px[0]) - 10 :] = 0.0  # the body only, not the LED
        centroids.append((weight.sum(axis=0) * columns).sum() / weight.sum())
    # Anti-aliased fixed-point drawing: the body's centroid follows 0.1 px steps, not whole-pixel jumps.
    moved = np.array(centroids) - centroids[0]
    np.testing.assert_allclose(moved, np.arange(8) * 0.1, atol=0.05)
    assert np.all((np.diff(moved) > 0.05) & (np.diff(moved) < 0.15))


def test_bad_inputs_are_rejected() -> None:
    camera = _rig()["cam2"]
    renderer = FrameRenderer(camera, led_position_lab=LED_LAB)
    with pytest.raises(ValueError, match=r"camera cam2: joints_lab must have shape \(21, 3\), got \(20, 3\)"):
        renderer.render(standing_pose()[:20], BAR_OVERHEAD, led_level=0.0)
    with pytest.raises(ValueError, match=r"camera cam2: led_level must be in \[0, 1\], got 1.5"):
        renderer.render(standing_pose(), BAR_OVERHEAD, led_level=1.5)
    with pytest.raises(ValueError, match=r"equipment_lab must have shape \(2, 3\)"):
        renderer.render(standing_pose(), BAR_OVERHEAD[:1], led_level=0.0)
    with pytest.raises(ValueError, match=r"out must be a C-contiguous uint8 array of shape \(270, 480, 3\)"):
        renderer.render(standing_pose(), BAR_OVERHEAD, led_level=0.0, out=np.zeros((270, 480, 3), np.float32))
    with pytest.raises(ValueError, match=r"the LED at .* is behind the camera"):
        FrameRenderer(camera, led_position_lab=np.array([5.0, 0.0, 1.2]))
    with pytest.raises(ValueError, match="equipment 'kettlebell' is not one of"):
        FrameRenderer(camera, led_position_lab=LED_LAB, equipment="kettlebell")


def test_missing_joints_are_skipped_not_drawn() -> None:
    camera = _rig()["cam1"]
    renderer = FrameRenderer(camera, led_position_lab=LED_LAB, equipment="none")
    joints = standing_pose(arms_raised=False)
    gone = joints.copy()
    gone[joint_index("l_knee")] = np.nan  # an occluded marker: its two bones disappear
    full = renderer.render(joints, BAR_OVERHEAD, led_level=0.0)
    partial = renderer.render(gone, BAR_OVERHEAD, led_level=0.0)
    mid_thigh = 0.5 * (joints[joint_index("l_hip")] + joints[joint_index("l_knee")])
    np.testing.assert_array_equal(_pixel(partial, camera, mid_thigh), _pixel(renderer.background, camera, mid_thigh))
    assert np.abs(_pixel(full, camera, mid_thigh) - _pixel(renderer.background, camera, mid_thigh)).sum() > 30
