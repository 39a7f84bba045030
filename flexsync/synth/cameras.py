"""Pinhole cameras of the synthetic capture rig and their ``calibration.json`` file.

The generator must know exactly where each camera looks, so that the rendered videos, the
written calibration and the ground truth agree. One frozen ``CameraCalibration`` per view holds
the OpenCV-convention intrinsics and extrinsics (``x_cam = R @ x_lab + t``, pixels
``K @ x_cam / z``) and projects lab points with plain numpy (faster than ``cv2.projectPoints``
for the few dozen points a frame needs). ``default_rig`` builds the FLEX-like rig: four fixed
cinema cameras around the subject (or more: ``cinema_cameras``) and one handheld phone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.errors import InputFileError

__all__ = [
    "BODY_CENTRE_LAB",
    "CINEMA_EXPOSURE_S",
    "EXTRA_CAMERA_STANDS",
    "PHONE_EXPOSURE_S",
    "CameraCalibration",
    "default_rig",
    "look_at",
    "read_calibration",
    "write_calibration",
]

logger = logging.getLogger(__name__)

CINEMA_EXPOSURE_S = 1.0 / 120.0  # 180-degree shutter at 60 fps
PHONE_EXPOSURE_S = 1.0 / 60.0
BODY_CENTRE_LAB = np.array([0.0, 0.0, 1.0])  # every camera aims here (metres)

# A 1.8 m subject with arms raised reaches ~2.25 m; it should fill this fraction of the image height.
_SUBJECT_EXTENT_M = 2.25
_FILL_FRACTION = 0.78
# Half-width of the scene (metres, at the subject) that must stay in view: the sync LED stand is ~0.9 m aside.
_MIN_HALF_WIDTH_M = 1.5
_ORTHONORMAL_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class CameraCalibration:
    """One camera: image size, intrinsics ``K``, extrinsics ``R``, ``t``, distortion and exposure.

    Parameters
    ----------
    name : str
        Stream name (``cam1`` .. ``cam4``, ``phone``).
    width, height : int
        Image size in pixels.
    K : ndarray, shape (3, 3)
        Intrinsic matrix ``[[fx, s, cx], [0, fy, cy], [0, 0, 1]]`` in pixels.
    R : ndarray, shape (3, 3)
        Rotation lab -> camera (proper rotation, det +1).
    t : ndarray, shape (3,)
        Translation in metres: ``x_cam = R @ x_lab + t``.
    dist : ndarray, shape (5,)
        OpenCV distortion ``(k1, k2, p1, p2, k3)``; zeros for the synthetic rig.
    exposure_s : float
        Exposure time of one frame in seconds.

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
    exposure_s: float

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
            x, y = _distort(x, y, self.dist)
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


def look_at(centre_lab: np.ndarray, target_lab: np.ndarray, *, roll_rad: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation of a camera at ``centre_lab`` aimed at ``target_lab`` (lab Z up).

    The image x axis stays horizontal (then rolled by ``roll_rad`` about the optical axis), y
    points down. Returns ``(R, t)`` with ``x_cam = R @ x_lab + t``.
    """
    centre = np.asarray(centre_lab, dtype=np.float64)
    forward = np.asarray(target_lab, dtype=np.float64) - centre
    forward /= np.linalg.norm(forward)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    norm = np.linalg.norm(right)
    if norm < 1e-9:
        raise ValueError(
            f"camera at {centre.tolist()} looks straight up or down; look_at needs a horizontal image axis"
        )
    right /= norm
    down = np.cross(forward, right)
    c, s = np.cos(roll_rad), np.sin(roll_rad)
    right, down = c * right + s * down, -s * right + c * down
    R = np.stack([right, down, forward])
    return R, -R @ centre


def default_rig(
    *,
    width: int,
    height: int,
    phone_width: int,
    phone_height: int,
    rng: np.random.Generator | None = None,
    cinema_cameras: int = 4,
    extra_rng: np.random.Generator | None = None,
) -> dict[str, CameraCalibration]:
    """The FLEX-like rig: fixed cinema cameras ``cam1`` .. ``camN`` and a handheld phone, all aimed at the body.

    ``cam1`` front (y = -3.5 m, facing the subject), ``cam2`` the subject's left side (+X),
    ``cam3`` the right side (-X), ``cam4`` a raised front-right diagonal at 45 degrees, ``phone``
    a front-left diagonal, slightly rolled as if handheld. Cameras past ``cam4`` stand on the same
    3.5 m ring at the places ``EXTRA_CAMERA_STANDS`` lists (behind-left and behind-right diagonals,
    behind, then the gaps between), each at its own height, so every one sees the subject and the
    sync LED from another side. Focal lengths make a 1.8 m subject with arms raised (~2.25 m) fill
    ~78% of the image height (less in a portrait image, which must still show +-1.5 m across so the
    sync LED stays in view). Cinema exposure 1/120 s, phone 1/60 s.

    Parameters
    ----------
    width, height : int
        Cinema image size in pixels.
    phone_width, phone_height : int
        Phone image size in pixels.
    rng : numpy.random.Generator, optional
        If given, perturbs ``cam1`` .. ``cam4`` and the phone a little (position +-5 cm, aim point
        +-3 cm, focal length +-1.5%, principal point +-0.5% of the size, roll +-1 degree, phone
        more). It is drawn from for all five even when ``cinema_cameras`` < 4, so the cameras kept
        do not depend on how many there are. ``None`` gives the nominal rig.
    cinema_cameras : int
        Number of cinema cameras, 1 .. ``4 + len(EXTRA_CAMERA_STANDS)``. Returned in the order
        ``cam1`` .. ``camN``, ``phone``.
    extra_rng : numpy.random.Generator, optional
        Perturbs the cameras past ``cam4`` the same way (in name order), so adding one never changes
        the draws of ``rng``. ``None`` leaves them nominal.
    """
    max_cameras = 4 + len(EXTRA_CAMERA_STANDS)
    if isinstance(cinema_cameras, bool) or not isinstance(cinema_cameras, int | np.integer):
        raise ValueError(f"cinema_cameras must be an integer 1..{max_cameras}, got {cinema_cameras!r}")
    if not 1 <= cinema_cameras <= max_cameras:
        raise ValueError(f"cinema_cameras must be an integer 1..{max_cameras}, got {cinema_cameras!r}")
    cinema = (width, height)
    # name: (centre, roll_deg, image size, exposure, perturbation scale)
    layout = {
        "cam1": ((0.0, -3.5, 1.2), 0.0, cinema, CINEMA_EXPOSURE_S, 1.0),
        "cam2": ((3.5, 0.0, 1.2), 0.0, cinema, CINEMA_EXPOSURE_S, 1.0),
        "cam3": ((-3.5, 0.0, 1.2), 0.0, cinema, CINEMA_EXPOSURE_S, 1.0),
        "cam4": ((-2.55, -2.55, 1.5), 0.0, cinema, CINEMA_EXPOSURE_S, 1.0),
        "phone": ((2.1, -2.3, 1.4), 3.0, (phone_width, phone_height), PHONE_EXPOSURE_S, 2.0),
    }
    standard = {name: _place(name, *spec, rng) for name, spec in layout.items()}  # always all five: same draws
    extras = {}
    for k, (azimuth_deg, height_m) in enumerate(EXTRA_CAMERA_STANDS[: max(0, cinema_cameras - 4)]):
        azimuth = np.deg2rad(azimuth_deg)
        centre = (_RING_RADIUS_M * np.cos(azimuth), _RING_RADIUS_M * np.sin(azimuth), height_m)
        name = f"cam{5 + k}"
        extras[name] = _place(name, centre, 0.0, cinema, CINEMA_EXPOSURE_S, 1.0, extra_rng)
    rig = {f"cam{i}": standard[f"cam{i}"] for i in range(1, min(cinema_cameras, 4) + 1)}
    rig.update(extras)
    rig["phone"] = standard["phone"]
    return rig


# Where cameras past cam4 stand: (azimuth in degrees from +X towards +Y, height in m) on the
# 3.5 m ring. cam1..cam4 and the phone sit at -90, 0, 180, -135 and about -48 degrees (the
# subject faces -Y), so these fill the back first, then the gaps between.
EXTRA_CAMERA_STANDS: tuple[tuple[float, float], ...] = (
    (45.0, 1.5),
    (135.0, 1.5),
    (90.0, 1.2),
    (-67.5, 1.8),
    (-112.5, 1.8),
    (-22.5, 1.2),
    (-157.5, 1.2),
    (22.5, 1.8),
    (157.5, 1.8),
    (67.5, 1.2),
    (112.5, 1.2),
    (-90.0, 2.4),
)
_RING_RADIUS_M = 3.5


def _place(
    name: str,
    centre: tuple[float, float, float],
    roll_deg: float,
    size: tuple[int, int],
    exposure_s: float,
    scale: float,
    rng: np.random.Generator | None,
) -> CameraCalibration:
    """One camera of the rig at ``centre`` aimed at the body, perturbed by ``rng`` when given."""
    w, h = size
    centre_lab = np.array(centre, dtype=np.float64)
    target_lab = BODY_CENTRE_LAB.copy()
    roll_rad = np.deg2rad(roll_deg)
    focal_gain, cx_shift, cy_shift = 1.0, 0.0, 0.0
    if rng is not None:
        centre_lab = centre_lab + rng.normal(0.0, 0.05 * scale, 3)
        target_lab = target_lab + rng.normal(0.0, 0.03 * scale, 3)
        roll_rad += np.deg2rad(rng.normal(0.0, 1.0 * scale))
        focal_gain = 1.0 + rng.normal(0.0, 0.015)
        cx_shift, cy_shift = rng.normal(0.0, 0.005, 2)
    R, t = look_at(centre_lab, target_lab, roll_rad=roll_rad)
    distance_m = float(np.linalg.norm(target_lab - centre_lab))
    # Fill the height with the subject, but keep +-_MIN_HALF_WIDTH_M in view across (portrait phones).
    f_px = focal_gain * min(
        _FILL_FRACTION * h * distance_m / _SUBJECT_EXTENT_M, 0.9 * (w / 2.0) * distance_m / _MIN_HALF_WIDTH_M
    )
    K = np.array(
        [
            [f_px, 0.0, (w - 1) / 2.0 + cx_shift * w],
            [0.0, f_px, (h - 1) / 2.0 + cy_shift * h],
            [0.0, 0.0, 1.0],
        ]
    )
    return CameraCalibration(name=name, width=w, height=h, K=K, R=R, t=t, dist=np.zeros(5), exposure_s=exposure_s)


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


def read_calibration(path: Path | str) -> dict[str, CameraCalibration]:
    """Read ``calibration.json`` into ``{name: CameraCalibration}`` in file order.

    Raises
    ------
    InputFileError
        Not JSON, no ``cameras`` object, or an invalid camera entry (the message names the camera).
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"calibration is not valid JSON: {exc}", path=path) from exc
    cameras = data.get("cameras") if isinstance(data, dict) else None
    if not isinstance(cameras, dict) or not cameras:
        raise InputFileError("calibration must hold a non-empty 'cameras' object", path=path)
    out: dict[str, CameraCalibration] = {}
    for name, entry in cameras.items():
        try:
            out[name] = CameraCalibration.from_dict(entry, name=name)
        except InputFileError as exc:
            raise InputFileError(exc.problem, path=path, stream=name) from exc
    return out


def _check_intrinsics_and_rotation(K: np.ndarray, R: np.ndarray) -> list[str]:
    problems = []
    if not (K[0, 0] > 0 and K[1, 1] > 0 and K[1, 0] == 0 and K[2, 0] == 0 and K[2, 1] == 0 and K[2, 2] == 1):
        problems.append(f"K must be [[fx, s, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0, got {K.tolist()}")
    if not np.allclose(R @ R.T, np.eye(3), atol=_ORTHONORMAL_TOL) or not np.isclose(
        np.linalg.det(R), 1.0, atol=_ORTHONORMAL_TOL
    ):
        problems.append("R must be a rotation matrix (orthonormal, det +1)")
    return problems


def _distort(x: np.ndarray, y: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OpenCV radial-tangential model on normalised image coordinates."""
    k1, k2, p1, p2, k3 = dist
    r2 = x * x + y * y
    radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
    xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
    yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
    return xd, yd
