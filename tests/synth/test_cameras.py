"""Projection, the default rig and calibration.json round trips."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from synth_poses import standing_pose

from flexsync.errors import InputFileError
from flexsync.synth.cameras import (
    CINEMA_EXPOSURE_S,
    PHONE_EXPOSURE_S,
    CameraCalibration,
    default_rig,
    look_at,
    read_calibration,
    write_calibration,
)

LED_LAB = np.array([0.9, 0.4, 1.2])


def _rig(seed: int | None, *, phone=(480, 270)) -> dict[str, CameraCalibration]:
    rng = None if seed is None else np.random.default_rng(seed)
    return default_rig(width=480, height=270, phone_width=phone[0], phone_height=phone[1], rng=rng)


def test_hand_built_camera_projects_known_pixels() -> None:
    R, t = look_at(np.array([0.0, -4.0, 1.0]), np.array([0.0, 0.0, 1.0]))
    np.testing.assert_allclose(R, [[1, 0, 0], [0, 0, -1], [0, 1, 0]], atol=1e-15)
    np.testing.assert_allclose(t, [0.0, 1.0, 4.0], atol=1e-15)
    K = np.array([[500.0, 0.0, 320.0], [0.0, 500.0, 240.0], [0.0, 0.0, 1.0]])
    cam = CameraCalibration("cam1", 640, 480, K, R, t, np.zeros(5), CINEMA_EXPOSURE_S)
    # x_cam = (0.4, -0.5, 4): u = 320 + 500 * 0.1, v = 240 - 500 * 0.125; the subject's left is image right.
    px, depth = cam.project(np.array([[0.4, 0.0, 1.5], [0.0, 0.0, 1.0]]))
    np.testing.assert_allclose(px, [[370.0, 177.5], [320.0, 240.0]], atol=1e-12)
    np.testing.assert_allclose(depth, [4.0, 4.0], atol=1e-12)
    np.testing.assert_allclose(cam.centre_lab, [0.0, -4.0, 1.0], atol=1e-12)


@pytest.mark.parametrize("seed", [None, 0, 7])
def test_point_on_optical_axis_projects_to_principal_point(seed: int | None) -> None:
    for name, cam in _rig(seed).items():
        axis_lab = cam.R[2]  # the optical axis in lab coordinates
        px, depth = cam.project(cam.centre_lab + 2.5 * axis_lab)
        np.testing.assert_allclose(px[0], cam.K[:2, 2], atol=1e-9, err_msg=name)
        assert depth[0] == pytest.approx(2.5, abs=1e-12)


def test_distortion_matches_opencv() -> None:
    cam0 = _rig(3)["cam4"]
    cam = CameraCalibration(
        "cam4", cam0.width, cam0.height, cam0.K, cam0.R, cam0.t, np.array([-0.21, 0.05, 1e-3, -2e-3, 0.01]), 0.01
    )
    points = standing_pose(arms_raised=True)
    px, _ = cam.project(points)
    rvec, _ = cv2.Rodrigues(cam.R)
    ref, _ = cv2.projectPoints(points, rvec, cam.t, cam.K, cam.dist)
    np.testing.assert_allclose(px, ref[:, 0, :], atol=1e-6)
    assert np.abs(px - cam0.project(points)[0]).max() > 1.0  # distortion did move the points


def test_points_behind_the_camera_have_negative_depth_and_nan_pixels() -> None:
    cam = _rig(None)["cam1"]  # at y = -3.5 looking towards +Y
    px, depth = cam.project(np.array([[0.0, -5.0, 1.2], [0.0, 0.0, 1.0]]))
    assert depth[0] < 0 < depth[1]
    assert np.isnan(px[0]).all() and np.isfinite(px[1]).all()


@pytest.mark.parametrize("seed", [None, 0, 1, 2, 3])
@pytest.mark.parametrize("phone", [(480, 270), (270, 480)])
def test_standing_pose_and_led_inside_every_view(seed: int | None, phone: tuple[int, int]) -> None:
    for name, cam in _rig(seed, phone=phone).items():
        for arms_raised in (False, True):
            px, depth = cam.project(np.vstack([standing_pose(arms_raised=arms_raised), LED_LAB]))
            assert (depth > 2.0).all(), name
            assert (px >= 0).all() and (px[:, 0] <= cam.width - 1).all() and (px[:, 1] <= cam.height - 1).all(), name


def test_subject_with_arms_raised_fills_70_to_85_percent_of_height() -> None:
    for name, cam in _rig(None).items():
        px, _ = cam.project(standing_pose(arms_raised=True))
        fill = (px[:, 1].max() - px[:, 1].min()) / cam.height
        assert 0.70 <= fill <= 0.85, (name, fill)


def test_rig_layout_and_exposures() -> None:
    rig = _rig(None)
    assert list(rig) == ["cam1", "cam2", "cam3", "cam4", "phone"]
    centres = {name: cam.centre_lab for name, cam in rig.items()}
    assert centres["cam1"][1] < -3.0 and abs(centres["cam1"][0]) < 1e-12  # front: the subject faces -Y
    assert centres["cam2"][0] > 3.0 and centres["cam3"][0] < -3.0  # subject's left (+X) and right
    assert centres["cam4"][2] > centres["cam1"][2]  # raised diagonal
    for name, cam in rig.items():
        assert 1.0 <= cam.centre_lab[2] <= 1.5 + 1e-9, name
        body_px, _ = cam.project(np.array([0.0, 0.0, 1.0]))
        np.testing.assert_allclose(body_px[0], cam.K[:2, 2], atol=1e-9)  # aimed at the body centre
        assert cam.exposure_s == (PHONE_EXPOSURE_S if name == "phone" else CINEMA_EXPOSURE_S)
    assert CINEMA_EXPOSURE_S == 1 / 120 and PHONE_EXPOSURE_S == 1 / 60


def test_rig_perturbations_are_seeded_and_small() -> None:
    nominal, a, b, a_again = _rig(None), _rig(11), _rig(12), _rig(11)
    assert nominal == _rig(None)
    assert a == a_again
    for name in nominal:
        assert a[name] != b[name] and a[name] != nominal[name]
        assert np.linalg.norm(a[name].centre_lab - nominal[name].centre_lab) < 0.4
        assert abs(a[name].K[0, 0] / nominal[name].K[0, 0] - 1) < 0.08


def test_calibration_json_round_trip_is_exact(tmp_path) -> None:
    rig = _rig(5)
    path = tmp_path / "calibration.json"
    write_calibration(path, rig)
    back = read_calibration(path)
    assert list(back) == list(rig)
    for name, cam in rig.items():
        assert back[name] == cam
        for field in ("K", "R", "t", "dist"):
            assert np.array_equal(getattr(back[name], field), getattr(cam, field))
        assert back[name].to_dict() == cam.to_dict()
    on_disk = json.loads(path.read_text(encoding="utf-8"))
    assert set(on_disk) == {"cameras"}
    assert set(on_disk["cameras"]["cam1"]) == {"width", "height", "K", "R", "t", "dist", "exposure_s"}
    assert CameraCalibration.from_dict(rig["phone"].to_dict()) == rig["phone"]


def _good_entry() -> dict:
    entry = _rig(None)["cam2"].to_dict()
    del entry["name"]
    return entry


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"K": [[1.0, 0.0, 2.0], [0.0, 1.0, 2.0]]}, r"K must have shape \(3, 3\), got \(2, 3\)"),
        ({"R": [[1.0, 0.0], [0.0, 1.0]]}, r"R must have shape \(3, 3\)"),
        ({"t": [0.0, 1.0]}, r"t must have shape \(3,\), got \(2,\)"),
        ({"dist": [0.0, 0.0, 0.0, 0.0]}, r"dist must have shape \(5,\)"),
        ({"R": [[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}, "R must be a rotation matrix"),
        ({"R": [[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]}, "R must be a rotation matrix"),
        ({"K": [[-5.0, 0.0, 1.0], [0.0, 5.0, 1.0], [0.0, 0.0, 1.0]]}, "K must be"),
        ({"t": [0.0, float("nan"), 1.0]}, "t has non-finite values"),
        ({"width": 0}, "width must be a positive integer, got 0"),
        ({"height": 270.5}, "height must be a positive integer"),
        ({"exposure_s": -0.01}, "exposure_s must be a positive number"),
        ({"K": "not a matrix"}, "K is not numeric"),
    ],
)
def test_from_dict_rejects_bad_entries(change: dict, message: str) -> None:
    entry = _good_entry() | change
    with pytest.raises(InputFileError, match=f"stream cam2: invalid camera calibration: .*{message}"):
        CameraCalibration.from_dict(entry, name="cam2")


def test_from_dict_names_missing_fields() -> None:
    entry = _good_entry()
    del entry["R"], entry["exposure_s"]
    with pytest.raises(InputFileError, match=r"stream cam3: camera entry is missing field.*R, exposure_s"):
        CameraCalibration.from_dict(entry, name="cam3")
    with pytest.raises(InputFileError, match="has no 'name'"):
        CameraCalibration.from_dict(_good_entry())


def test_read_calibration_names_the_file_and_camera(tmp_path) -> None:
    path = tmp_path / "calibration.json"
    bad = _good_entry() | {"t": [1.0]}
    path.write_text(json.dumps({"cameras": {"cam1": _good_entry(), "phone": bad}}), encoding="utf-8")
    with pytest.raises(InputFileError, match=r"stream phone, file .*calibration\.json: invalid camera calibration"):
        read_calibration(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputFileError, match="calibration is not valid JSON"):
        read_calibration(path)
    path.write_text(json.dumps({"cams": {}}), encoding="utf-8")
    with pytest.raises(InputFileError, match="non-empty 'cameras' object"):
        read_calibration(path)
