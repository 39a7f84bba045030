"""The 21-joint FLEX body model shared by the generator, the readers and the loaders.

Coordinates are in metres in the lab frame: right-handed, Z up, the subject stands at the
origin facing -Y (towards the front camera), so +X is on the subject's left. Joint order is
fixed; exports and loaders rely on it.
"""

from __future__ import annotations

__all__ = ["BONES", "JOINT_NAMES", "N_JOINTS", "joint_index"]

JOINT_NAMES: tuple[str, ...] = (
    "head",
    "neck",
    "chest",
    "r_shoulder",
    "r_elbow",
    "r_wrist",
    "r_hand",
    "l_shoulder",
    "l_elbow",
    "l_wrist",
    "l_hand",
    "r_hip",
    "r_knee",
    "r_ankle",
    "r_heel",
    "r_toe",
    "l_hip",
    "l_knee",
    "l_ankle",
    "l_heel",
    "l_toe",
)
N_JOINTS = len(JOINT_NAMES)

# Segments drawn by the renderer and used for bone-length checks.
BONES: tuple[tuple[str, str], ...] = (
    ("head", "neck"),
    ("neck", "chest"),
    ("neck", "r_shoulder"),
    ("r_shoulder", "r_elbow"),
    ("r_elbow", "r_wrist"),
    ("r_wrist", "r_hand"),
    ("neck", "l_shoulder"),
    ("l_shoulder", "l_elbow"),
    ("l_elbow", "l_wrist"),
    ("l_wrist", "l_hand"),
    ("chest", "r_hip"),
    ("chest", "l_hip"),
    ("r_hip", "l_hip"),
    ("r_hip", "r_knee"),
    ("r_knee", "r_ankle"),
    ("r_ankle", "r_heel"),
    ("r_ankle", "r_toe"),
    ("r_heel", "r_toe"),
    ("l_hip", "l_knee"),
    ("l_knee", "l_ankle"),
    ("l_ankle", "l_heel"),
    ("l_ankle", "l_toe"),
    ("l_heel", "l_toe"),
)


def joint_index(name: str) -> int:
    """Index of a joint in JOINT_NAMES, with a helpful error for unknown names."""
    try:
        return JOINT_NAMES.index(name)
    except ValueError:
        raise KeyError(f"unknown joint {name!r}; expected one of {', '.join(JOINT_NAMES)}") from None
