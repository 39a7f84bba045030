"""FLEX's model inputs computed from the samples store (``FlexPairDataset(mode="flex")``), without torch.

FLEX's dataset class turns the export's files into what its model takes:

- **Skeleton** float32 (3, T, 25, 1): the 21 FLEX joints mapped onto the 25 NTU RGB+D joints
  (spine base = mid-hip, spine mid = halfway from there to the chest, feet = mid heel-toe, hand
  tips and thumbs = the hand, spine shoulder = the chest), centred on the spine base and divided
  per frame by the spine-base-to-spine-mid length (+ 1e-6), computed in float32.
- **EMG** float32 (1, 2): ``[L / (L + R), R / (L + R)]`` where L and R are the maxima of |EMG| of
  the action's primary main muscle, left and right; for classes 8-13 of the mean of |EMG| of both
  main muscles (FLEX averages two columns there; the export orders the columns so its picks land
  on these muscles, docs/export-flex.md).

Invalid joint-frames are filled the export's way first
(:func:`flexsync.exports.flex.fill_invalid_joints`), so the values equal those FLEX reads from the
export up to the CSV's rounding. This is a second, separate implementation of what
:mod:`flexsync.exports.flex_reader` computes from the files; the tests compare the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flexsync.exports.flex import fill_invalid_joints
from flexsync.skeleton import JOINT_NAMES, joint_index

__all__ = ["FLEX_AVERAGED_CLASSES", "NTU_FROM_FLEX", "flex_emg_shares", "flex_skeleton"]

# NTU joint -> the FLEX joints it is the mean of (names from flexsync.skeleton), in NTU order.
NTU_FROM_FLEX: tuple[tuple[str, ...], ...] = (
    ("r_hip", "l_hip"),  # 0 spine base
    ("spine_base", "chest"),  # 1 spine mid (uses joint 0)
    ("neck",),
    ("head",),
    ("l_shoulder",),
    ("l_elbow",),
    ("l_wrist",),
    ("l_hand",),
    ("r_shoulder",),
    ("r_elbow",),
    ("r_wrist",),
    ("r_hand",),
    ("l_hip",),
    ("l_knee",),
    ("l_ankle",),
    ("l_heel", "l_toe"),  # 15 left foot
    ("r_hip",),
    ("r_knee",),
    ("r_ankle",),
    ("r_heel", "r_toe"),  # 19 right foot
    ("chest",),  # 20 spine shoulder
    ("l_hand",),  # 21 left hand tip
    ("l_hand",),  # 22 left thumb
    ("r_hand",),  # 23 right hand tip
    ("r_hand",),  # 24 right thumb
)
FLEX_AVERAGED_CLASSES = frozenset(range(8, 14))  # FLEX averages both main muscles per side for these
_EPSILON = np.float32(1e-6)


def flex_skeleton(pose: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(T, 21, 3) pose (metres, NaN where invalid) and (T, 21) mask -> FLEX's float32 (3, T, 25, 1) skeleton."""
    if tuple(pose.shape[1:]) != (len(JOINT_NAMES), 3):
        raise ValueError(f"pose must be (T, {len(JOINT_NAMES)}, 3), got {pose.shape}")
    filled, _ = fill_invalid_joints(pose, valid)
    ntu = np.empty((filled.shape[0], len(NTU_FROM_FLEX), 3), dtype=np.float64)
    for k, names in enumerate(NTU_FROM_FLEX):
        parts = [ntu[:, 0] if name == "spine_base" else filled[:, joint_index(name)] for name in names]
        ntu[:, k] = parts[0] if len(parts) == 1 else 0.5 * (parts[0] + parts[1])
    ntu32 = ntu.astype(np.float32)
    centred = ntu32 - ntu32[:, :1]
    spine = np.sqrt(np.sum(centred[:, 1] * centred[:, 1], axis=-1))
    scaled = centred / (spine[:, None, None] + _EPSILON)
    return np.ascontiguousarray(np.moveaxis(scaled, -1, 0)[..., None])


def flex_emg_shares(
    emg: np.ndarray, channel_names: Sequence[str], main_muscles: Sequence[str], class_idx: int
) -> np.ndarray:
    """(n, C) cleaned EMG of a repetition -> FLEX's float32 (1, 2) left / right activation shares.

    Raises
    ------
    ValueError
        A main-muscle channel ``<muscle>_L`` / ``_R`` is missing, or both maxima are 0.
    """
    names = list(channel_names)
    muscles = tuple(main_muscles[:2]) if int(class_idx) in FLEX_AVERAGED_CLASSES else (main_muscles[0],)
    peaks = []
    for side in ("L", "R"):
        columns = []
        for muscle in muscles:
            channel = f"{muscle}_{side}"
            if channel not in names:
                raise ValueError(f"main-muscle channel {channel!r} not among the EMG channels {names}")
            columns.append(np.abs(np.asarray(emg[:, names.index(channel)], dtype=np.float64)))
        series = columns[0] if len(columns) == 1 else (columns[0] + columns[1]) * 0.5
        peaks.append(float(series.max()) if series.size else 0.0)
    total = peaks[0] + peaks[1]
    if not total > 0:
        raise ValueError(f"EMG of {', '.join(muscles)} is all zero: FLEX's shares L / (L + R) are undefined")
    return np.array([[peaks[0] / total, peaks[1] / total]], dtype=np.float32)
