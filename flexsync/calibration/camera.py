"""The pinhole camera model with OpenCV lens distortion, shared by the generator and the pipeline.

One frozen ``CameraCalibration`` per view holds the OpenCV-convention intrinsics and extrinsics
(``x_cam = R @ x_lab + t``, pixels ``K @ distort(x_cam / z)``) and projects lab points with plain
numpy (faster than ``cv2.projectPoints`` for the few dozen points a frame needs, and equal to it
to 1e-6 px). Readers of calibration files live in :mod:`flexsync.calibration.formats`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from flexsync.errors import InputFileError

__all__ = ["CameraCalibration", "distort", "distortion_fold_radius"]

_ORTHONORMAL_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class CameraCalibration:
    """One camera: image size, intrinsics ``K``, extrinsics ``R``, ``t``, distortion and exposure.

    Parameters
    ----------
    name : str
        Stream name (``cam1`` .. ``cam4``, ``phone``).
    width, height : int
        Image size in pixels the intrinsics were calibrated at (the source video's size).
    K : ndarray, shape (3, 3)
        Intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
    R : ndarray, shape (3, 3)
        Rotation lab -> camera (proper rotation, det +1).
    t : ndarray, shape (3,)
        Translation in metres: ``x_cam = R @ x_lab + t``.
    dist : ndarray, shape (5,)
        OpenCV distortion ``(k1, k2, p1, p2, k3)``; zeros for the synthetic rig.
    exposure_s : float or None
        Exposure time of one frame in seconds; None when the calibration file does not say.

    Arrays are copied to read-only float64 on construction; bad shapes or values raise
    ``InputFileError`` (a ``ValueError``) naming the camera and the field.
    """

    name: str
    width: int
    height: int
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    dist: np.ndarray
    exposure_s: float | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        for field_name, shape in (("K", (3, 3)), ("R", (3, 3)), ("t", (3,)), ("dist", (5,))):
            try:
                array = np.array(getattr(self, field_name), dtype=np.float64)
            except (TypeError, ValueError) as exc:
                problems.append(f"{field_name} is not numeric ({exc})")
                continue
            if array.shape != shape:
                problems.append(f"{field_name} must have shape {shape}, got {array.shape}")
                continue
            if not np.all(np.isfinite(array)):
                problems.append(f"{field_name} has non-finite values")
                continue
            array.flags.writeable = False
            object.__setattr__(self, field_name, array)
        for field_name in ("width", "height"):
            value = getattr(self, field_name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
                problems.append(f"{field_name} must be a positive integer, got {value!r}")
            else:
                object.__setattr__(self, field_name, int(value))
        if self.exposure_s is not None:
            try:
                exposure = float(self.exposure_s)
            except (TypeError, ValueError):
                exposure = float("nan")
            if not (np.isfinite(exposure) and exposure > 0):
                problems.append(f"exposure_s must be a positive number of seconds, got {self.exposure_s!r}")
            else:
                object.__setattr__(self, "exposure_s", exposure)
        if not problems:
            problems.extend(_check_intrinsics_and_rotation(self.K, self.R))
        if problems:
            raise InputFileError("invalid camera calibration: " + "; ".join(problems), stream=str(self.name))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraCalibration):
            return NotImplemented
        return (
            self.name == other.name
            and self.width == other.width
            and self.height == other.height
            and self.exposure_s == other.exposure_s
            and all(np.array_equal(getattr(self, f), getattr(other, f)) for f in ("K", "R", "t", "dist"))
        )

    __hash__ = None  # type: ignore[assignment]  # arrays inside: compare, never hash

    @property
    def centre_lab(self) -> np.ndarray:
        """Optical centre of the camera in lab coordinates (metres), ``-R.T @ t``."""
        return -self.R.T @ self.t

    def project(self, points_lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project lab points to pixels.

        Parameters
        ----------
        points_lab : ndarray, shape (N, 3) or (3,)
            Points in metres in the lab frame.

        Returns
        -------
        pixels : ndarray, shape (N, 2)
            ``(u, v)`` in pixels (u to the right, v down, pixel centres at integers). NaN for
            points at or behind the optical centre (``depth <= 0``).
        depth : ndarray, shape (N,)
            Distance along the optical axis in metres, > 0 in front of the camera.
        """
        pts = np.asarray(points_lab, dtype=np.float64)
        if pts.ndim == 1:
            pts = pts[None, :]
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"camera {self.name}: points_lab must have shape (N, 3), got {np.shape(points_lab)}")
        cam = pts @ self.R.T + self.t
        depth = cam[:, 2].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            x = cam[:, 0] / depth
            y = cam[:, 1] / depth
        if np.any(self.dist):
            x, y = distort(x, y, self.dist)
        K = self.K
        pixels = np.empty((pts.shape[0], 2), dtype=np.float64)
        pixels[:, 0] = K[0, 0] * x + K[0, 1] * y + K[0, 2]
        pixels[:, 1] = K[1, 1] * y + K[1, 2]
        pixels[depth <= 0] = np.nan
        return pixels, depth

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``name`` plus the ``calibration.json`` fields (lists of floats)."""
        return {
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "K": self.K.tolist(),
            "R": self.R.tolist(),
            "t": self.t.tolist(),
            "dist": self.dist.tolist(),
            "exposure_s": self.exposure_s,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, name: str | None = None) -> CameraCalibration:
        """Build a camera from ``to_dict`` output or a ``calibration.json`` entry.

        ``name`` is used when ``d`` has no ``name`` field (calibration.json keys cameras by name).

        Raises
        ------
        InputFileError
            Missing fields, wrong shapes, non-finite values, a non-rotation ``R``.
        """
        label = str(d.get("name", name) if isinstance(d, dict) else name)
        if not isinstance(d, dict):
            raise InputFileError(f"camera entry must be a JSON object, got {type(d).__name__}", stream=label)
        required = ("width", "height", "K", "R", "t", "exposure_s")
        missing = [key for key in required if key not in d]
        if missing:
            raise InputFileError(f"camera entry is missing field(s) {', '.join(missing)}", stream=label)
        if "name" not in d and name is None:
            raise InputFileError("camera entry has no 'name' and none was given")
        return cls(
            name=label,
            width=d["width"],
            height=d["height"],
            K=d["K"],
            R=d["R"],
            t=d["t"],
            dist=d.get("dist", [0.0] * 5),
            exposure_s=d["exposure_s"],
        )


def _check_intrinsics_and_rotation(K: np.ndarray, R: np.ndarray) -> list[str]:
    problems = []
    if not (K[0, 0] > 0 and K[1, 1] > 0 and K[1, 0] == 0 and K[2, 0] == 0 and K[2, 1] == 0 and K[2, 2] == 1):
        problems.append(f"K must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0, got {K.tolist()}")
    if not np.allclose(R @ R.T, np.eye(3), atol=_ORTHONORMAL_TOL) or not np.isclose(
        np.linalg.det(R), 1.0, atol=_ORTHONORMAL_TOL
    ):
        problems.append("R must be a rotation matrix (orthonormal, det +1)")
    return problems


def distort(x: np.ndarray, y: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV radial-tangential model ``(k1, k2, p1, p2, k3)`` on normalised image coordinates."""
    k1, k2, p1, p2, k3 = dist
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xd, yd


def distortion_fold_radius(dist: np.ndarray, *, r_max: float = 4.0, steps: int = 4000) -> float:
    """Normalised radius where the radial distortion stops growing with the radius (inf if it never does).

    Past it ``r * (1 + k1 r^2 + k2 r^4 + k3 r^6)`` folds back, so a point far outside the field of
    view can land inside the image: such projections are meaningless and must not count as seen.
    Sampled on ``[0, r_max]`` (r = 4 is 76 degrees off axis); tangential terms are ignored (small).
    """
    k1, k2, _, _, k3 = (float(v) for v in dist)
    r = np.linspace(0.0, r_max, steps + 1)
    r2 = r * r
    slope = 1.0 + r2 * (3.0 * k1 + r2 * (5.0 * k2 + r2 * 7.0 * k3))
    bad = np.flatnonzero(slope <= 0.0)
    return float(r[bad[0]]) if bad.size else float("inf")
