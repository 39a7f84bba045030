"""A hand-made standing pose for camera and renderer tests (no motion model needed)."""

from __future__ import annotations

import numpy as np

from flexsync.skeleton import JOINT_NAMES


def standing_pose(*, arms_raised: bool = True) -> np.ndarray:
    """A 1.8 m subject at the origin facing -Y (+X is the subject's left), (21, 3) metres."""
    pose = {
        "head": (0.0, 0.0, 1.68), "neck": (0.0, 0.0, 1.50), "chest": (0.0, 0.0, 1.25),
        "r_shoulder": (-0.19, 0.0, 1.45), "r_elbow": (-0.22, 0.0, 1.15),
        "r_wrist": (-0.23, -0.02, 0.88), "r_hand": (-0.23, -0.03, 0.80),
        "l_shoulder": (0.19, 0.0, 1.45), "l_elbow": (0.22, 0.0, 1.15),
        "l_wrist": (0.23, -0.02, 0.88), "l_hand": (0.23, -0.03, 0.80),
        "r_hip": (-0.10, 0.0, 0.95), "r_knee": (-0.11, -0.01, 0.52), "r_ankle": (-0.11, 0.0, 0.09),
        "r_heel": (-0.11, 0.05, 0.03), "r_toe": (-0.12, -0.16, 0.02),
        "l_hip": (0.10, 0.0, 0.95), "l_knee": (0.11, -0.01, 0.52), "l_ankle": (0.11, 0.0, 0.09),
        "l_heel": (0.11, 0.05, 0.03), "l_toe": (0.12, -0.16, 0.02),
    }  # fmt: skip
    if arms_raised:
        for side, x in (("r", -1.0), ("l", 1.0)):
            pose[f"{side}_elbow"] = (0.24 * x, 0.0, 1.75)
            pose[f"{side}_wrist"] = (0.27 * x, 0.0, 2.03)
            pose[f"{side}_hand"] = (0.28 * x, 0.0, 2.12)
    return np.array([pose[name] for name in JOINT_NAMES], dtype=np.float64)
