"""The three calibration formats give the same camera: same pixels to 1e-6 px, equal to cv2.projectPoints.

Every file here is hand-written by the test in the format's own text (no writer round trip), for
one camera with lens distortion, seen from 3.5 m: JSON in metres, anipose TOML in millimetres
(its default), OpenCV YAML in metres with matrices as ``!!opencv-matrix``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from flexsync.calibration import CameraCalibration, read_calibration
from flexsync.errors import InputFileError

RVEC = np.array([1.35, -0.42, 0.21])  # Rodrigues vector lab -> camera
T_M = np.array([0.12, -0.35, 3.4])
K = np.array([[512.25, 0.0, 318.5], [0.0, 509.75, 241.25], [0.0, 0.0, 1.0]])
DIST = np.array([-0.21, 0.048, 1.2e-3, -8.0e-4, 0.011])
SIZE = (640, 480)


def _rotation() -> np.ndarray:
    return cv2.Rodrigues(RVEC.reshape(3, 1))[0]


def _points() -> np.ndarray:
    """Points in front of the camera across most of its view (camera -> lab)."""
    u, v = np.meshgrid(np.linspace(-0.45, 0.45, 7), np.linspace(-0.35, 0.35, 5))
    cam = np.stack([u.ravel() * 3.0, v.ravel() * 3.0, np.full(u.size, 3.0)], axis=1)
    return (cam - T_M) @ _rotation()  # x_lab = R.T (x_cam - t)


def _floats(values: np.ndarray) -> str:
    return ", ".join(repr(float(v)) for v in np.ravel(values))


def _json(path: Path) -> Path:
    entry = {"width": SIZE[0], "height": SIZE[1], "K": K.tolist(), "R": _rotation().tolist(), "t": T_M.tolist()}
    path.write_text(json.dumps({"cameras": {"cam2": entry | {"dist": DIST.tolist(), "exposure_s": 0.01}}}))
    return path


def _toml(path: Path, *, translation_mm: np.ndarray = T_M * 1000.0, extra: str = "") -> Path:
    rows = ", ".join(f"[{_floats(row)}]" for row in K)
    path.write_text(
        "[cam_0]\n"
        'name = "cam2"\n'
        f"size = [{SIZE[0]}, {SIZE[1]}]\n"
        f"matrix = [{rows}]\n"
        f"distortions = [{_floats(DIST)}]\n"
        f"rotation = [{_floats(RVEC)}]\n"
        f"translation = [{_floats(translation_mm)}]\n"
        f"{extra}"
        "\n[metadata]\nadjusted = false\nerror = 0.31\n",
        encoding="utf-8",
    )
    return path


def _cv_matrix(name: str, values: np.ndarray, rows: int, cols: int, indent: str = "   ") -> str:
    return (
        f"{indent}{name}: !!opencv-matrix\n{indent}   rows: {rows}\n{indent}   cols: {cols}\n"
        f"{indent}   dt: d\n{indent}   data: [ {_floats(values)} ]\n"
    )


def _yaml(path: Path, *, rotation: str = "rvec", rotation_values: np.ndarray | None = None) -> Path:
    """One camera map ``cam2``; the rotation as ``rvec`` (Rodrigues, 3x1) or ``R`` (3x3)."""
    values = rotation_values if rotation_values is not None else _rotation() if rotation == "R" else RVEC
    rows, cols = (3, 3) if rotation == "R" else (3, 1)
    path.write_text(
        "%YAML:1.0\n---\ncam2:\n"
        f"   image_width: {SIZE[0]}\n   image_height: {SIZE[1]}\n"
        + _cv_matrix("camera_matrix", K, 3, 3)
        + _cv_matrix("distortion_coefficients", DIST, 1, 5)
        + _cv_matrix(rotation, values, rows, cols)
        + _cv_matrix("tvec", T_M, 3, 1),
        encoding="utf-8",
    )
    return path


def test_three_formats_project_the_same_pixels_as_opencv(tmp_path):
    reference, _ = cv2.projectPoints(_points(), RVEC, T_M, K, DIST)
    reference = reference[:, 0, :]
    assert reference.min() > 0 and reference[:, 0].max() < SIZE[0]  # the points are inside the image
    cameras = {
        "json": read_calibration(_json(tmp_path / "calibration.json")),
        "toml": read_calibration(_toml(tmp_path / "calibration.toml")),
        "yaml": read_calibration(_yaml(tmp_path / "calibration.yml")),
        "yaml-R": read_calibration(_yaml(tmp_path / "calibration_R.yaml", rotation="R")),
    }
    for fmt, found in cameras.items():
        assert list(found) == ["cam2"], fmt
        camera = found["cam2"]
        assert (camera.width, camera.height) == SIZE, fmt
        np.testing.assert_allclose(camera.t, T_M, rtol=0, atol=1e-12, err_msg=fmt)  # mm read as mm
        np.testing.assert_array_equal(camera.dist, DIST, err_msg=fmt)
        pixels, depth = camera.project(_points())
        assert (depth > 0).all()
        np.testing.assert_allclose(pixels, reference, rtol=0, atol=1e-6, err_msg=fmt)
    assert cameras["json"]["cam2"].exposure_s == 0.01 and cameras["toml"]["cam2"].exposure_s is None
    # and the distortion matters: without it the pixels move by more than a pixel
    ideal, _ = cv2.projectPoints(_points(), RVEC, T_M, K, np.zeros(5))
    assert np.abs(ideal[:, 0, :] - reference).max() > 5.0


def test_translation_units_follow_the_file(tmp_path):
    in_metres = _toml(tmp_path / "m.toml", translation_mm=T_M, extra='units = "m"\n')
    np.testing.assert_allclose(read_calibration(in_metres)["cam2"].t, T_M, atol=1e-12)
    in_cm = tmp_path / "cm.toml"
    in_cm.write_text(
        _toml(tmp_path / "x.toml", translation_mm=T_M * 100.0).read_text() + 'translation_units = "cm"\n'
    )  # [metadata] is the last table: the key lands there
    np.testing.assert_allclose(read_calibration(in_cm)["cam2"].t, T_M, atol=1e-12)
    yaml_mm = tmp_path / "cam7.yml"  # one camera at the top level: named after the file
    yaml_mm.write_text(
        "%YAML:1.0\n---\nunits: mm\n"
        f"image_width: {SIZE[0]}\nimage_height: {SIZE[1]}\n"
        + _cv_matrix("K", K, 3, 3, indent="")
        + _cv_matrix("dist", DIST[:4], 1, 4, indent="")
        + _cv_matrix("R", _rotation(), 3, 3, indent="")
        + _cv_matrix("T", T_M * 1000.0, 3, 1, indent=""),
        encoding="utf-8",
    )
    (camera,) = read_calibration(yaml_mm).values()
    assert camera.name == "cam7"
    np.testing.assert_allclose(camera.t, T_M, atol=1e-12)
    np.testing.assert_array_equal(camera.dist, [*DIST[:4], 0.0])  # 4 coefficients: k3 = 0


def _replace(path: Path, *edits: tuple[str, str]) -> Path:
    text = path.read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BAD_FILES = {
    "toml-missing-field": (
        lambda p: _replace(_toml(p / "c.toml"), ("translation = ", "offset = ")),
        r"stream cam2, file .*c\.toml: missing field 'translation'",
    ),
    "toml-matrix-shape": (
        lambda p: _replace(_toml(p / "c.toml"), ("matrix = [[", "matrix = [[1.0, 2.0, 3.0], [")),
        r"stream cam2, file .*c\.toml: field 'matrix' must be a 3x3 matrix, got shape \(4, 3\)",
    ),
    "toml-size": (
        lambda p: _replace(_toml(p / "c.toml"), ("size = [640, 480]", "size = [640]")),
        r"stream cam2, file .*c\.toml: field 'size' must hold 2 numbers",
    ),
    "toml-units": (
        lambda p: _toml(p / "c.toml", extra='units = "inch"\n'),
        r"stream cam2, file .*c\.toml: field 'units' must be one of m, cm, mm, got 'inch'",
    ),
    "toml-fisheye": (
        lambda p: _toml(p / "c.toml", extra="fisheye = true\n"),
        r"stream cam2, file .*c\.toml: field 'fisheye' is true",
    ),
    "toml-syntax": (
        lambda p: _write(p / "c.toml", "[cam_0\nname = 1\n"),
        r"file .*c\.toml: calibration is not valid TOML",
    ),
    "yaml-rational-terms": (
        lambda p: _replace(_yaml(p / "c.yml"), ("cols: 5", "cols: 8"), ("0.011 ]", "0.011, 0.0, 0.0, 0.3 ]")),
        r"stream cam2, file .*c\.yml: field 'distortion_coefficients' must hold 4 or 5 .* not supported",
    ),
    "yaml-not-a-rotation": (
        lambda p: _yaml(p / "c.yml", rotation="R", rotation_values=2.0 * _rotation()),
        r"stream cam2, file .*c\.yml: invalid camera calibration: R must be a rotation matrix",
    ),
    "yaml-missing-translation": (
        lambda p: _replace(_yaml(p / "c.yml"), ("   tvec:", "   position:")),
        r"stream cam2, file .*c\.yml: missing field 'T' or 'tvec'",
    ),
    "yaml-unreadable": (lambda p: _write(p / "c.yml", "%YAML:1.0\n---\n[1, 2\n"), r"file .*c\.yml: calibration is not"),
    "unknown-extension": (lambda p: _write(p / "c.txt", "{}"), r"unknown calibration format '\.txt'"),
    "json-not-an-object": (
        lambda p: _write(p / "c.json", "[1, 2]"),
        r"the calibration file must hold one JSON object, got a list",
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_files_name_the_file_camera_and_field(tmp_path, case):
    make, message = BAD_FILES[case]
    with pytest.raises(InputFileError, match=message):
        read_calibration(make(tmp_path))


def test_the_generator_keeps_its_names(tmp_path):
    from flexsync.synth import cameras

    assert cameras.CameraCalibration is CameraCalibration
    assert cameras.read_calibration(_json(tmp_path / "calibration.json")) == read_calibration(
        tmp_path / "calibration.json"
    )
