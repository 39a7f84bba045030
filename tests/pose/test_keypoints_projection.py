"""Keypoint math on hand-built cameras: stored-pixel mapping, visibility rules, interpolation, stats."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.calibration import (
    CameraCalibration,
    distortion_fold_radius,
    project_joints,
    reprojection_stats,
    to_stored_pixels,
    view_keypoints,
)

# A camera at the lab origin looking along +Y (image x = lab X, image y = -lab Z), 200 x 100 px.
R_FORWARD_Y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
K = np.array([[100.0, 0.0, 99.5], [0.0, 100.0, 49.5], [0.0, 0.0, 1.0]])


def _camera(dist=(0.0, 0.0, 0.0, 0.0, 0.0)) -> CameraCalibration:
    return CameraCalibration("cam1", 200, 100, K, R_FORWARD_Y, np.zeros(3), np.array(dist), None)


def test_stored_pixels_keep_the_image_edges_and_centres():
    source, stored = (192, 108), (455, 256)
    edges = to_stored_pixels(np.array([[-0.5, -0.5], [191.5, 107.5]]), source, stored)
    np.testing.assert_allclose(edges, [[-0.5, -0.5], [454.5, 255.5]], atol=1e-12)
    centre = to_stored_pixels(np.array([95.5, 53.5]), source, stored)  # the source image centre
    np.testing.assert_allclose(centre, [227.0, 127.5], atol=1e-12)
    np.testing.assert_allclose(to_stored_pixels(np.array([10.0, 20.0]), source, source), [10.0, 20.0])


def test_visibility_rules_and_nan_where_not_projectable():
    joints = np.array(
        [
            [[0.0, 2.0, 0.0], [0.5, 2.0, -0.2], [5.0, 2.0, 0.0], [0.0, -2.0, 0.0], [np.nan, 2.0, 0.0], [0.1, 2.0, 0.1]],
        ]
    )  # centre, inside, outside (right), behind, missing, not valid in mocap
    valid = np.array([[True, True, True, True, True, False]])
    xy, visible = project_joints(_camera(), joints, valid, stored_size=(400, 200))  # stored at twice the size
    assert xy.dtype == np.float32 and xy.shape == (1, 6, 2) and visible.shape == (1, 6)
    np.testing.assert_allclose(xy[0, 0], [199.5, 99.5], atol=1e-5)  # source centre (99.5, 49.5) -> stored centre
    np.testing.assert_allclose(xy[0, 1], [(99.5 + 25.0 + 0.5) * 2 - 0.5, (49.5 + 10.0 + 0.5) * 2 - 0.5], atol=1e-4)
    assert visible[0].tolist() == [True, True, False, False, False, False]
    assert np.isfinite(xy[0, 2]).all() and xy[0, 2, 0] > 400  # in front but outside: kept, not visible
    assert np.isnan(xy[0, 3:]).all()  # behind the camera, missing, not measured


def test_points_past_the_distortion_fold_are_not_projected():
    barrel = (-0.3, 0.0, 0.0, 0.0, 0.0)  # r (1 - 0.3 r^2) stops growing at r = 1 / sqrt(0.9)
    assert distortion_fold_radius(np.array(barrel)) == pytest.approx(1.0 / np.sqrt(0.9), abs=2e-3)
    assert distortion_fold_radius(np.zeros(5)) == np.inf
    camera = _camera(barrel)
    far = np.array([[[2.2, 1.0, 0.0]]])  # r = 2.2: the polynomial folds it back into the image
    folded, _ = camera.project(far[0])
    assert 0 <= folded[0, 0] < camera.width  # what a plain projection would wrongly claim
    xy, visible = project_joints(camera, far, np.ones((1, 1), bool), stored_size=(200, 100))
    assert np.isnan(xy).all() and not visible.any()


def test_view_keypoints_interpolate_mocap_at_frame_times_and_count_outliers():
    mocap_t = np.arange(0.0, 1.0, 0.01)
    joints = np.zeros((mocap_t.size, 2, 3))
    joints[:, :, 1] = 2.0
    joints[:, 0, 0] = mocap_t  # joint 0 moves right at 1 m/s, joint 1 stays at the centre
    joints[:, 1, 2] = np.where(mocap_t > 0.5, -2.0, 0.0)  # ...until it drops below the image
    valid = np.ones((mocap_t.size, 2), bool)
    valid[30:50, 0] = False  # a 0.2 s gap, longer than max_gap_s
    frame_t = np.array([0.105, 0.4, 0.8])
    kp = view_keypoints("cam1", _camera(), frame_t, mocap_t, joints, valid, stored_size=(200, 100), max_gap_s=0.1)
    np.testing.assert_allclose(kp.xy[0, 0], [99.5 + 100.0 * 0.105 / 2.0, 49.5], atol=1e-4)  # interpolated
    assert np.isnan(kp.xy[1, 0]).all() and not kp.valid[1, 0]  # inside the gap
    assert kp.visible.tolist() == [[True, True], [False, True], [True, False]]
    stats = reprojection_stats(kp)
    assert (stats.n_frames, stats.n_valid, stats.n_outside) == (3, 5, 1)
    assert stats.fraction_outside == pytest.approx(0.2)
    assert stats.outlier_frames.tolist() == [2]
