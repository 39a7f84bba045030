"""Mocap joints seen by a calibrated camera: 2D keypoints per stored frame, what is visible, and how many land outside.

A view's keypoints are the mocap joints interpolated at each frame's reference time (pose rule:
linear, masked across gaps), projected with the camera's lens distortion at the calibrated
(source) size, then mapped to the stored frames, which may be scaled: with pixel centres at
integers, a source pixel ``u`` is stored at ``(u + 0.5) * width / source_width - 0.5`` (the same
for ``v``), which is where a centre-aligned resize (swscale, ``cv2.resize``) puts it.

A joint is *visible* in a frame when mocap measured it then, it is in front of the camera, and it
lands inside the stored image (``-0.5 <= u < width - 0.5``, same for ``v``). Keypoints are NaN
where no position exists (mocap gap), behind the camera, or past the radius where the lens model
folds back (``distortion_fold_radius``): there a far-off point could wrongly land in the image.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexsync.calibration.camera import CameraCalibration, distortion_fold_radius
from flexsync.timing.resample import interpolate_pose

__all__ = [
    "ReprojectionStats",
    "ViewKeypoints",
    "project_joints",
    "reprojection_stats",
    "to_stored_pixels",
    "view_keypoints",
]


@dataclass(frozen=True)
class ViewKeypoints:
    """One view's keypoints: ``xy`` float32 (N, J, 2) stored-frame pixels, ``visible`` and ``valid`` bool (N, J).

    ``valid`` is where mocap had the joint at the frame's time (the denominator of the stats).
    """

    view: str
    xy: np.ndarray
    visible: np.ndarray
    valid: np.ndarray


@dataclass(frozen=True)
class ReprojectionStats:
    """How the valid joints of one view landed: counts, the fraction outside the image, the outlier frames.

    ``outlier_frames`` are the stored-frame indices with at least one valid joint outside (or behind).
    """

    view: str
    n_frames: int
    n_valid: int
    n_outside: int
    outlier_frames: np.ndarray

    @property
    def fraction_outside(self) -> float:
        return self.n_outside / self.n_valid if self.n_valid else 0.0


def to_stored_pixels(pixels: np.ndarray, source_size: tuple[int, int], stored_size: tuple[int, int]) -> np.ndarray:
    """Map source-image pixels ``(..., 2)`` to a resized image's pixels (pixel centres at integers)."""
    scale = np.array(stored_size, dtype=np.float64) / np.array(source_size, dtype=np.float64)
    return (np.asarray(pixels, dtype=np.float64) + 0.5) * scale - 0.5


def project_joints(
    camera: CameraCalibration, joints: np.ndarray, valid: np.ndarray, *, stored_size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Project joints (N, J, 3) in metres; returns ``(xy float32 (N, J, 2), visible bool (N, J))`` in stored pixels.

    ``valid`` (N, J) is where the joints exist; invalid or non-finite joints give NaN.
    """
    pts = np.asarray(joints, dtype=np.float64)
    n, j, _ = pts.shape
    flat = pts.reshape(-1, 3)
    ok = np.asarray(valid, dtype=bool).reshape(-1) & np.isfinite(flat).all(axis=1)
    safe = np.where(ok[:, None], flat, 0.0)
    pixels, depth = camera.project(safe)
    cam = safe @ camera.R.T + camera.t
    with np.errstate(divide="ignore", invalid="ignore"):
        radius = np.hypot(cam[:, 0], cam[:, 1]) / depth  # undistorted, normalised: where the lens model holds
    projectable = ok & (depth > 0) & (radius < distortion_fold_radius(camera.dist))
    xy = to_stored_pixels(pixels, (camera.width, camera.height), stored_size)
    xy[~projectable] = np.nan
    width, height = stored_size
    with np.errstate(invalid="ignore"):
        inside = (xy[:, 0] >= -0.5) & (xy[:, 0] < width - 0.5) & (xy[:, 1] >= -0.5) & (xy[:, 1] < height - 0.5)
    visible = projectable & inside
    return xy.astype(np.float32).reshape(n, j, 2), visible.reshape(n, j)


def view_keypoints(
    view: str,
    camera: CameraCalibration,
    frame_t: np.ndarray,
    mocap_t: np.ndarray,
    joints: np.ndarray,
    joints_valid: np.ndarray,
    *,
    stored_size: tuple[int, int],
    max_gap_s: float,
) -> ViewKeypoints:
    """A view's keypoints at its frame times ``frame_t`` (reference clock), from mocap on the same clock."""
    pose, mask = interpolate_pose(mocap_t, joints, joints_valid, frame_t, max_gap_s=max_gap_s)
    xy, visible = project_joints(camera, pose, mask, stored_size=stored_size)
    return ViewKeypoints(view=view, xy=xy, visible=visible, valid=mask)


def reprojection_stats(keypoints: ViewKeypoints) -> ReprojectionStats:
    """Count the valid joints of a view that did not land inside its stored image."""
    outside = keypoints.valid & ~keypoints.visible
    return ReprojectionStats(
        view=keypoints.view,
        n_frames=int(keypoints.valid.shape[0]),
        n_valid=int(keypoints.valid.sum()),
        n_outside=int(outside.sum()),
        outlier_frames=np.flatnonzero(outside.any(axis=1)),
    )
