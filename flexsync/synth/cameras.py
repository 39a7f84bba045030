"""The synthetic capture rig: where each camera stands and looks, and its ``calibration.json``.

The generator must know exactly where each camera looks, so that the rendered videos, the
written calibration and the ground truth agree. The camera model itself (``CameraCalibration``:
OpenCV-convention intrinsics, extrinsics and distortion, numpy projection) and the calibration
readers and writer live in :mod:`flexsync.calibration`; they are re-exported here under their old
names. ``default_rig`` builds the FLEX-like rig: four fixed cinema cameras around the subject (or
more: ``cinema_cameras``) and one handheld phone.
"""

from __future__ import annotations

import numpy as np

from flexsync.calibration.camera import CameraCalibration
from flexsync.calibration.formats import read_calibration_json as read_calibration
from flexsync.calibration.formats import write_calibration

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

CINEMA_EXPOSURE_S = 1.0 / 120.0  # 180-degree shutter at 60 fps
PHONE_EXPOSURE_S = 1.0 / 60.0
BODY_CENTRE_LAB = np.array([0.0, 0.0, 1.0])  # every camera aims here (metres)

# A 1.8 m subject with arms raised reaches ~2.25 m; it should fill this fraction of the image height.
_SUBJECT_EXTENT_M = 2.25
_FILL_FRACTION = 0.78
# Half-width of the scene (metres, at the subject) that must stay in view: the sync LED stand is ~0.9 m aside.
_MIN_HALF_WIDTH_M = 1.5


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
