"""Camera calibration: the pinhole + lens-distortion model, its file formats, and 2D keypoints of mocap joints.

Domain code (no Dagster): the generator writes calibrations with it, the pipeline reads them and
projects the mocap skeleton into every calibrated view.
"""

from flexsync.calibration.camera import CameraCalibration, distort, distortion_fold_radius
from flexsync.calibration.formats import (
    CALIBRATION_READERS,
    TRANSLATION_UNITS,
    read_anipose_toml,
    read_calibration,
    read_calibration_json,
    read_opencv_yaml,
    write_calibration,
)
from flexsync.calibration.keypoints import (
    ReprojectionStats,
    ViewKeypoints,
    project_joints,
    reprojection_stats,
    to_stored_pixels,
    view_keypoints,
)

__all__ = [
    "CALIBRATION_READERS",
    "TRANSLATION_UNITS",
    "CameraCalibration",
    "ReprojectionStats",
    "ViewKeypoints",
    "distort",
    "distortion_fold_radius",
    "project_joints",
    "read_anipose_toml",
    "read_calibration",
    "read_calibration_json",
    "read_opencv_yaml",
    "reprojection_stats",
    "to_stored_pixels",
    "view_keypoints",
    "write_calibration",
]
