"""Readers (and the one writer) of camera calibration files: every format gives ``{name: CameraCalibration}``.

Three formats, chosen by the file's extension (``read_calibration``):

- ``.json``: the generator's ``calibration.json`` (``{"cameras": {name: {width, height, K, R, t,
  dist, exposure_s}}}``, translation in metres; docs/raw-format.md);
- ``.toml``: anipose's ``calibration.toml`` (``[cam_0] name, size = [w, h], matrix, distortions,
  rotation`` (a Rodrigues vector), ``translation``), read with the standard library's ``tomllib``;
- ``.yml``, ``.yaml``, ``.xml``: OpenCV FileStorage (``camera_matrix`` or ``K``,
  ``distortion_coefficients`` or ``dist``, ``R`` (matrix or Rodrigues vector) or ``rvec``, ``T`` or
  ``tvec``, ``image_width``, ``image_height``), read with ``cv2.FileStorage``; one map per camera
  keyed by its stream name, or the fields at the top level for one camera named after the file.

Translations become metres: anipose files hold millimetres unless they say otherwise, OpenCV files
metres unless they say otherwise; ``units`` or ``translation_units`` (``m``, ``cm``, ``mm``) in a
camera, in anipose's ``[metadata]`` or at the top level of the file overrides that default.
Problems raise ``InputFileError`` naming the file, the camera and the field.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.calibration.camera import CameraCalibration
from flexsync.errors import InputFileError

__all__ = [
    "CALIBRATION_READERS",
    "TRANSLATION_UNITS",
    "read_anipose_toml",
    "read_calibration",
    "read_calibration_json",
    "read_opencv_yaml",
    "write_calibration",
]

logger = logging.getLogger(__name__)

TRANSLATION_UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
_UNIT_KEYS = ("translation_units", "units")


def read_calibration(path: Path | str) -> dict[str, CameraCalibration]:
    """Read any supported calibration file (format by extension) into ``{name: CameraCalibration}``, file order."""
    path = Path(path)
    reader = CALIBRATION_READERS.get(path.suffix.lower())
    if reader is None:
        raise InputFileError(
            f"unknown calibration format {path.suffix or '(no extension)'!r}; "
            f"expected one of {', '.join(sorted(CALIBRATION_READERS))}",
            path=path,
        )
    return reader(path)


# -- calibration.json -----------------------------------------------------------------------------


def write_calibration(path: Path | str, cameras: dict[str, CameraCalibration]) -> None:
    """Write ``calibration.json`` (see docs/raw-format.md): ``{"cameras": {name: entry}}``.

    Floats are written with ``repr`` precision, so ``read_calibration`` gives back the exact arrays.
    """
    out: dict[str, Any] = {"cameras": {}}
    for name in cameras:
        camera = cameras[name]
        if camera.name != name:
            raise ValueError(f"{path}: camera stored under key {name!r} is named {camera.name!r}")
        entry = camera.to_dict()
        del entry["name"]
        out["cameras"][name] = entry
    Path(path).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    logger.debug("wrote %d cameras to %s", len(cameras), path)


def read_calibration_json(path: Path | str) -> dict[str, CameraCalibration]:
    """Read ``calibration.json`` into ``{name: CameraCalibration}`` in file order.

    Raises
    ------
    InputFileError
        Not JSON, not one object, no ``cameras`` object, or an invalid camera entry (the message
        names the camera and the field).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"calibration is not valid JSON: {exc}", path=path) from exc
    if not isinstance(data, dict):
        raise InputFileError(f"the calibration file must hold one JSON object, got a {type(data).__name__}", path=path)
    cameras = data.get("cameras")
    if not isinstance(cameras, dict) or not cameras:
        raise InputFileError("calibration must hold a non-empty 'cameras' object", path=path)
    out: dict[str, CameraCalibration] = {}
    for name, entry in cameras.items():
        try:
            out[name] = CameraCalibration.from_dict(entry, name=name)
        except InputFileError as exc:
            raise InputFileError(exc.problem, path=path, stream=name) from exc
    return out


# -- anipose TOML ---------------------------------------------------------------------------------


def read_anipose_toml(path: Path | str) -> dict[str, CameraCalibration]:
    """Read an anipose ``calibration.toml``: every table with a ``matrix`` is a camera, named by its ``name``."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputFileError(f"calibration is not valid TOML: {exc}", path=path) from exc
    metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    file_units = _units_of(data, path, None) or _units_of(metadata, path, None) or "mm"
    tables = {key: value for key, value in data.items() if isinstance(value, dict) and "matrix" in value}
    if not tables:
        raise InputFileError("calibration has no camera table (a [cam_N] table with a 'matrix')", path=path)
    out: dict[str, CameraCalibration] = {}
    for table, entry in tables.items():
        name = entry.get("name", table)
        if not isinstance(name, str) or not name:
            raise InputFileError(f"[{table}] field 'name' must be a non-empty string, got {name!r}", path=path)
        if name in out:
            raise InputFileError(f"two camera tables are named {name!r}", path=path, stream=name)
        if entry.get("fisheye"):
            raise InputFileError("field 'fisheye' is true: fisheye lenses are not supported", path=path, stream=name)
        fields = _Fields(path, name, entry.get)
        size = fields.vector("size", 2)
        out[name] = _camera(
            path,
            name,
            size=size,
            K=fields.matrix("matrix"),
            dist=fields.distortion("distortions"),
            rotation=_rotation(fields, "rotation"),
            translation=fields.vector("translation", 3),
            scale=TRANSLATION_UNITS[_units_of(entry, path, name) or file_units],
            exposure_s=entry.get("exposure_s"),
        )
    return out


# -- OpenCV FileStorage ---------------------------------------------------------------------------

_CV_FIELDS = {
    "K": ("camera_matrix", "K"),
    "dist": ("distortion_coefficients", "dist"),
    "R": ("R", "rvec"),
    "t": ("T", "tvec"),
}


def read_opencv_yaml(path: Path | str) -> dict[str, CameraCalibration]:
    """Read an OpenCV FileStorage file (YAML or XML) with ``cv2.FileStorage``: one map per camera, or one camera."""
    import cv2  # only this reader needs OpenCV

    path = Path(path)
    if not path.is_file():
        raise InputFileError("calibration file not found", path=path)
    try:
        storage = cv2.FileStorage(str(path), cv2.FILE_STORAGE_READ)
    except (cv2.error, SystemError) as exc:  # a parse error surfaces as either, depending on the OpenCV build
        reason = getattr(exc, "err", None) or getattr(exc.__cause__, "err", None) or type(exc).__name__
        raise InputFileError(f"calibration is not a readable OpenCV FileStorage file: {reason}", path=path) from None
    try:
        if not storage.isOpened():
            raise InputFileError("calibration is not a readable OpenCV FileStorage file", path=path)
        root = storage.root()
        file_units = _cv_units(root, path, None) or "m"
        if _cv_has_camera(root):
            name_node = root.getNode("name")
            name = name_node.string() if name_node.isString() and name_node.string() else path.stem
            nodes = {name: root}
        else:
            names = root.keys()  # a FileNode is not iterable
            nodes = {key: root.getNode(key) for key in names if root.getNode(key).isMap()}
            nodes = {key: node for key, node in nodes.items() if _cv_has_camera(node)}
        if not nodes:
            raise InputFileError(
                "calibration has no camera (a map with 'camera_matrix' or 'K') at the top level or per camera",
                path=path,
            )
        return {name: _cv_camera(path, name, node, file_units) for name, node in nodes.items()}
    finally:
        storage.release()


def _cv_has_camera(node: Any) -> bool:
    return node.isMap() and any(not node.getNode(key).empty() for key in _CV_FIELDS["K"])


def _cv_camera(path: Path, name: str, node: Any, file_units: str) -> CameraCalibration:
    def get(key: str) -> Any:
        return _cv_value(node.getNode(key))

    fields = _Fields(path, name, get)
    K_key, R_key, t_key = (fields.first(*_CV_FIELDS[f]) for f in ("K", "R", "t"))
    dist_key = fields.first(*_CV_FIELDS["dist"], required=False)  # none: an ideal lens
    size = np.array([fields.scalar("image_width"), fields.scalar("image_height")])
    exposure = node.getNode("exposure_s")
    return _camera(
        path,
        name,
        size=size,
        K=fields.matrix(K_key),
        dist=fields.distortion(dist_key) if dist_key else np.zeros(5),
        rotation=_rotation(fields, R_key),
        translation=fields.vector(t_key, 3),
        scale=TRANSLATION_UNITS[_cv_units(node, path, name) or file_units],
        exposure_s=None if exposure.empty() else exposure.real(),
    )


def _cv_value(node: Any) -> Any:
    """A FileStorage node as plain Python: a matrix or sequence as a float array, a number, a string; None if absent."""
    if node.empty() or node.isNone():
        return None
    if node.isString():
        return node.string()
    if node.isInt() or node.isReal():
        return node.real()
    if node.isSeq():
        return [_cv_value(node.at(i)) for i in range(node.size())]
    matrix = node.mat()
    return None if matrix is None else np.asarray(matrix, dtype=np.float64)


def _cv_units(node: Any, path: Path, camera: str | None) -> str | None:
    values = {key: _cv_value(node.getNode(key)) for key in _UNIT_KEYS}
    return _units_of({k: v for k, v in values.items() if v is not None}, path, camera)


# -- shared ---------------------------------------------------------------------------------------


class _Fields:
    """Typed access to one camera's fields; every problem names the file, the camera and the field."""

    def __init__(self, path: Path, camera: str, get: Callable[[str], Any]) -> None:
        self.path, self.camera, self._get = path, camera, get

    def fail(self, field: str, problem: str) -> InputFileError:
        return InputFileError(f"field {field!r} {problem}", path=self.path, stream=self.camera)

    def first(self, *fields: str, required: bool = True) -> str | None:
        """The first of ``fields`` the camera has; None, or an error when ``required``, if it has none."""
        for field in fields:
            if self._get(field) is not None:
                return field
        if not required:
            return None
        raise InputFileError(
            f"missing field {' or '.join(repr(f) for f in fields)}", path=self.path, stream=self.camera
        )

    def array(self, field: str) -> np.ndarray:
        value = self._get(field)
        if value is None:
            raise InputFileError(f"missing field {field!r}", path=self.path, stream=self.camera)
        try:
            array = np.array(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise self.fail(field, f"is not numeric: {value!r}") from None
        if not np.all(np.isfinite(array)):
            raise self.fail(field, "has non-finite values")
        return array

    def scalar(self, field: str) -> float:
        array = self.array(field)
        if array.size != 1:
            raise self.fail(field, f"must be one number, got shape {array.shape}")
        return float(array.reshape(-1)[0])

    def vector(self, field: str, n: int) -> np.ndarray:
        array = self.array(field)
        if array.size != n or max(array.shape, default=0) != n:
            raise self.fail(field, f"must hold {n} numbers, got shape {array.shape}")
        return array.reshape(n)

    def matrix(self, field: str) -> np.ndarray:
        array = self.array(field)
        if array.shape != (3, 3):
            raise self.fail(field, f"must be a 3x3 matrix, got shape {array.shape}")
        return array

    def distortion(self, field: str) -> np.ndarray:
        """OpenCV coefficients ``(k1, k2, p1, p2[, k3[, k4, k5, k6, ...]])`` as the five this model has."""
        values = self.array(field).reshape(-1)
        if values.size == 4:
            return np.append(values, 0.0)
        if values.size == 5:
            return values
        if values.size in (8, 12, 14) and not np.any(values[5:]):
            return values[:5]
        raise self.fail(
            field,
            f"must hold 4 or 5 coefficients (k1, k2, p1, p2[, k3]), got {values.size}"
            + (" with non-zero rational or thin-prism terms, which are not supported" if values.size > 5 else ""),
        )


def _rotation(fields: _Fields, field: str) -> np.ndarray:
    """A rotation given as a 3x3 matrix or as a Rodrigues vector (axis * angle, radians)."""
    import cv2

    array = fields.array(field)
    if array.shape == (3, 3):
        return array
    if array.size == 3:
        matrix, _ = cv2.Rodrigues(array.reshape(3, 1))
        return np.asarray(matrix, dtype=np.float64)
    raise fields.fail(field, f"must be a 3x3 rotation matrix or a Rodrigues vector of 3, got shape {array.shape}")


def _units_of(mapping: dict[str, Any], path: Path, camera: str | None) -> str | None:
    for key in _UNIT_KEYS:
        if key in mapping:
            value = mapping[key]
            if value not in TRANSLATION_UNITS:
                raise InputFileError(
                    f"field {key!r} must be one of {', '.join(TRANSLATION_UNITS)}, got {value!r}",
                    path=path,
                    stream=camera,
                )
            return str(value)
    return None


def _camera(
    path: Path,
    name: str,
    *,
    size: np.ndarray,
    K: np.ndarray,
    dist: np.ndarray,
    rotation: np.ndarray,
    translation: np.ndarray,
    scale: float,
    exposure_s: Any,
) -> CameraCalibration:
    width, height = (float(v) for v in size)
    if not (width.is_integer() and height.is_integer()):
        raise InputFileError(f"image size must be whole pixels, got {width} x {height}", path=path, stream=name)
    try:
        return CameraCalibration(
            name=name,
            width=int(width),
            height=int(height),
            K=K,
            R=rotation,
            t=translation * scale,
            dist=dist,
            exposure_s=exposure_s,
        )
    except InputFileError as exc:
        raise InputFileError(exc.problem, path=path, stream=name) from exc


CALIBRATION_READERS: dict[str, Callable[[Path], dict[str, CameraCalibration]]] = {
    ".json": read_calibration_json,
    ".toml": read_anipose_toml,
    ".yml": read_opencv_yaml,
    ".yaml": read_opencv_yaml,
    ".xml": read_opencv_yaml,
}
