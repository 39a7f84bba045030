"""The publish step's 2D keypoints: per calibrated view, compute them, check where they land, describe them.

Every video view with a calibration entry gets ``keypoints_2d`` and ``keypoints_visible`` (the
mocap joints at each frame's reference time, projected into the stored frames; the math is in
:mod:`flexsync.calibration.keypoints`). A view without a calibration entry, or a recording without
mocap, gets none, with a warning. The ``keypoints_in_image`` check (warn) fails a view where more
than ``MAX_OUTSIDE_FRACTION`` of the valid joints land outside the image: a gross miscalibration,
a calibration of another lab frame, or a badly wrong clock.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flexsync.calibration.camera import CameraCalibration
from flexsync.calibration.keypoints import ReprojectionStats, ViewKeypoints, reprojection_stats, view_keypoints
from flexsync.ingest.checks import KEYPOINTS_IN_IMAGE, outcome
from flexsync.ingest.staging import StagedStream
from flexsync.quality import CheckOutcome, TableMeta

__all__ = ["MAX_OUTSIDE_FRACTION", "RecordingKeypoints", "keypoints_check", "recording_keypoints"]

logger = logging.getLogger(__name__)

MAX_OUTSIDE_FRACTION = 0.20
_MAX_LISTED_FRAMES = 20  # outlier frames named per view in the check's metadata


@dataclass
class RecordingKeypoints:
    """Keypoints and reprojection stats of every calibrated view, and why the others have none."""

    views: dict[str, ViewKeypoints] = field(default_factory=dict)
    stats: dict[str, ReprojectionStats] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def metadata(self) -> TableMeta:
        """Per view: frames, valid joint samples, the fraction outside the image, frames with a joint outside."""
        return TableMeta(
            ("view", "frames", "valid_joints", "outside_fraction", "outlier_frames"),
            tuple(
                (s.view, s.n_frames, s.n_valid, round(s.fraction_outside, 6), int(s.outlier_frames.size))
                for s in self.stats.values()
            ),
        )


def recording_keypoints(
    key: str,
    staged: Mapping[str, StagedStream],
    times: Mapping[str, Mapping[str, np.ndarray]],
    calibration: Mapping[str, CameraCalibration] | None,
    *,
    mocap: str | None,
    max_gap_s: float,
) -> RecordingKeypoints:
    """Keypoints of every video view of ``staged`` that has a camera in ``calibration``, from stream ``mocap``.

    ``times[name]["t"]`` are each stream's reference-clock times (the frames' and the mocap's).
    """
    result = RecordingKeypoints()
    views = [name for name, s in staged.items() if s.summary.kind == "video"]
    if mocap is None:
        if views:
            result.warnings.append(f"recording {key}: no mocap stream, so no view gets 2D keypoints")
        return result
    cameras = calibration or {}
    joints = valid = None
    for view in views:
        camera = cameras.get(view)
        if camera is None:
            result.warnings.append(f"recording {key}: view {view} has no calibration entry, so it gets no 2D keypoints")
            continue
        if joints is None:
            joints, valid = staged[mocap].array("joints"), staged[mocap].array("valid")
        attrs = staged[view].attrs
        keypoints = view_keypoints(
            view,
            camera,
            times[view]["t"],
            times[mocap]["t"],
            joints,
            valid,
            stored_size=(int(attrs["width"]), int(attrs["height"])),
            max_gap_s=max_gap_s,
        )
        result.views[view] = keypoints
        result.stats[view] = reprojection_stats(keypoints)
    for warning in result.warnings:
        logger.warning("%s", warning)
    return result


def keypoints_check(key: str, keypoints: RecordingKeypoints) -> CheckOutcome:
    """``keypoints_in_image``: per calibrated view, the fraction of valid mocap joints outside its stored image."""
    stats = list(keypoints.stats.values())
    failing = [s.view for s in stats if s.fraction_outside > MAX_OUTSIDE_FRACTION]
    if stats:
        parts = ", ".join(f"{s.view} {s.fraction_outside:.2%}" for s in stats)
        text = f"valid mocap joints outside the image: {parts} (limit {MAX_OUTSIDE_FRACTION:.0%} per view)"
    else:
        text = "no calibrated view with mocap: nothing to check"
    if failing:
        text += f"; failing views: {', '.join(failing)}"
    if keypoints.warnings:
        text += "; " + "; ".join(w.removeprefix(f"recording {key}: ") for w in keypoints.warnings)
    metadata: dict[str, Any] = {
        "outside_fraction": {s.view: round(s.fraction_outside, 6) for s in stats},
        "outlier_frames": {s.view: s.outlier_frames[:_MAX_LISTED_FRAMES].tolist() for s in stats},
        "n_outlier_frames": {s.view: int(s.outlier_frames.size) for s in stats},
    }
    if failing:
        metadata["failing_views"] = failing
    return outcome(KEYPOINTS_IN_IMAGE, not failing, f"recording {key}: {text}", **metadata)
