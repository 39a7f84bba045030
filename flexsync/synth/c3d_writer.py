"""Write the synthetic motion capture as a C3D file, the format every mocap vendor exports.

Joint positions go in as points labelled with the FLEX joint names, in millimetres; occluded samples
are flagged the C3D way (residual -1, coordinates 0), and the sync pulse goes in as an analog
channel in volts at an integer multiple of the point rate. The writer is ezc3d; the file holds
no dates, so the same inputs give the same bytes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import ezc3d
import numpy as np

from flexsync.skeleton import JOINT_NAMES
from flexsync.synth.clocks import DeviceClock
from flexsync.synth.emg_synth import trigger_signal

__all__ = ["EXTREMITY_JOINTS", "VALID_RESIDUAL_MM", "occlusion_mask", "sync_analog", "write_c3d"]

logger = logging.getLogger(__name__)

# Markers that disappear most (hidden by the bar, the body or the floor): 3x the gap rate.
EXTREMITY_JOINTS = ("r_wrist", "r_hand", "l_wrist", "l_hand", "r_heel", "r_toe", "l_heel", "l_toe")
_EXTREMITY_WEIGHT = 3.0
VALID_RESIDUAL_MM = 1.0  # residual stored for measured points (C3D: >= 0 valid, -1 invalid)


def occlusion_mask(
    rng: np.random.Generator,
    *,
    n_frames: int,
    n_joints: int,
    rate_hz: float,
    gaps_per_minute: float = 6.0,
    gap_s: tuple[float, float] = (0.05, 0.5),
    labels: Sequence[str] = JOINT_NAMES,
) -> np.ndarray:
    """Validity mask (n_frames, n_joints) bool, False inside occlusion gaps.

    ``gaps_per_minute`` is the expected number of gaps over the whole skeleton; each joint gets a
    Poisson share, 3x more for the extremities (``EXTREMITY_JOINTS``, matched by ``labels``).
    Gap lengths are uniform in ``gap_s`` (s), at least one frame.
    """
    if n_frames < 1 or n_joints < 1 or rate_hz <= 0 or gaps_per_minute < 0 or not 0 < gap_s[0] <= gap_s[1]:
        raise ValueError(
            f"occlusion_mask: need n_frames, n_joints >= 1, rate_hz > 0, gaps_per_minute >= 0 and "
            f"0 < gap_s[0] <= gap_s[1]; got {n_frames}, {n_joints}, {rate_hz}, {gaps_per_minute}, {gap_s}"
        )
    names = list(labels)[:n_joints] + [""] * max(0, n_joints - len(labels))
    weights = np.array([_EXTREMITY_WEIGHT if name in EXTREMITY_JOINTS else 1.0 for name in names])
    expected = gaps_per_minute * (n_frames / rate_hz / 60.0) * weights / weights.sum()
    valid = np.ones((n_frames, n_joints), dtype=bool)
    for j in range(n_joints):
        for _ in range(int(rng.poisson(expected[j]))):
            length = max(1, round(float(rng.uniform(*gap_s)) * rate_hz))
            start = int(rng.integers(0, max(1, n_frames - length + 1)))
            valid[start : start + length, j] = False
    return valid


def sync_analog(
    device_times_s: np.ndarray,
    clock: DeviceClock,
    windows_true_s: Sequence[tuple[float, float]],
    *,
    rate_hz: float,
    high_v: float = 5.0,
) -> np.ndarray:
    """The mocap ``SYNC`` analog channel (volts): the same integrating-ADC model as the EMG trigger."""
    return trigger_signal(device_times_s, clock, windows_true_s, rate_hz=rate_hz, high_v=high_v)


def write_c3d(
    path: Path | str,
    *,
    points_m: np.ndarray,
    valid: np.ndarray,
    labels: Sequence[str],
    point_rate_hz: float,
    analog: np.ndarray,
    analog_labels: Sequence[str],
    analog_rate_hz: float,
) -> None:
    """Write points (N, J, 3) metres and analog channels (M, A) volts to a C3D file.

    Points are stored in millimetres (POINT:UNITS "mm", float storage); where ``valid`` (N, J) is
    False the point is written with residual -1 and coordinates 0 (ezc3d reads it back as NaN).
    ``analog_rate_hz`` must be an integer multiple of ``point_rate_hz`` and M = N x that multiple.
    The file is written to a temporary name beside ``path`` and renamed when complete.
    """
    path = Path(path)
    points = np.asarray(points_m, dtype=np.float64)
    mask = np.asarray(valid, dtype=bool)
    signals = np.asarray(analog, dtype=np.float64)
    n_frames = points.shape[0]
    problems = []
    if points.ndim != 3 or points.shape[2] != 3:
        problems.append(f"points_m must have shape (frames, joints, 3), got {points.shape}")
    elif mask.shape != points.shape[:2]:
        problems.append(f"valid has shape {mask.shape}, expected {points.shape[:2]}")
    elif len(labels) != points.shape[1]:
        problems.append(f"{len(labels)} labels for {points.shape[1]} points")
    elif not np.all(np.isfinite(points[mask])):
        problems.append("points_m has non-finite values where valid is True")
    ratio = analog_rate_hz / point_rate_hz if point_rate_hz > 0 else float("nan")
    if not (ratio >= 1 and abs(ratio - round(ratio)) < 1e-9):
        problems.append(
            f"analog rate {analog_rate_hz} Hz must be an integer multiple of the point rate {point_rate_hz} Hz "
            "(C3D stores a whole number of analog samples per point frame)"
        )
    elif signals.ndim != 2 or signals.shape[1] != len(analog_labels):
        problems.append(f"analog has shape {signals.shape}, expected (samples, {len(analog_labels)} channels)")
    elif signals.shape[0] != n_frames * round(ratio):
        problems.append(
            f"analog has {signals.shape[0]} samples, expected {n_frames} frames x {round(ratio)} = "
            f"{n_frames * round(ratio)}"
        )
    if problems:
        raise ValueError(f"{path}: cannot write C3D: " + "; ".join(problems))

    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [float(point_rate_hz)]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = list(labels)
    c3d["parameters"]["POINT"]["DESCRIPTIONS"]["value"] = [""] * len(labels)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = ["mm"]
    c3d["parameters"]["ANALOG"]["RATE"]["value"] = [float(analog_rate_hz)]
    c3d["parameters"]["ANALOG"]["LABELS"]["value"] = list(analog_labels)
    c3d["parameters"]["ANALOG"]["DESCRIPTIONS"]["value"] = [""] * len(analog_labels)
    c3d["parameters"]["ANALOG"]["UNITS"]["value"] = ["V"] * len(analog_labels)

    data = np.ones((4, points.shape[1], n_frames))  # homogeneous coordinates, as ezc3d stores them
    data[:3] = np.where(mask[..., None], points * 1000.0, 0.0).transpose(2, 1, 0)
    residuals = np.where(mask, VALID_RESIDUAL_MM, -1.0).T[None]
    c3d["data"]["points"] = data
    c3d["data"]["meta_points"]["residuals"] = residuals
    c3d["data"]["meta_points"]["camera_masks"] = np.zeros((7, points.shape[1], n_frames), dtype=bool)
    c3d["data"]["analogs"] = signals.T[None]

    tmp = path.with_name(f".{path.stem}.tmp.c3d")  # ezc3d appends ".c3d" to any other name
    try:
        c3d.write(str(tmp))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info(
        "mocap: wrote %s (%d frames x %d points at %g Hz, %d analog at %g Hz, %d occluded samples)",
        path,
        n_frames,
        points.shape[1],
        point_rate_hz,
        len(analog_labels),
        analog_rate_hz,
        int((~mask).sum()),
    )
