"""Forward kinematics of the 21-joint FLEX body from a handful of interpretable pose tracks.

The generator animates a few numbers per sample (pelvis offsets, trunk flexion, arm angles,
foot placement) and this module turns them into joint positions in the lab frame of
``flexsync.skeleton`` (metres, Z up, subject facing -Y, +X on the subject's left).
Every bone is a rigid vector rotated by the tracks, and the legs are solved by two-link
inverse kinematics from the hips to feet placed on the floor, so bone lengths are constant
and feet never go below z = 0 by construction.

Segment lengths are fractions of standing height (after Drillis & Contini / Winter).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from flexsync.skeleton import N_JOINTS, joint_index

__all__ = ["BODY", "POSE_TRACKS", "body_joints", "standing_hip_height_m"]

# Fractions of standing height.
BODY: dict[str, float] = {
    "ankle_height": 0.039,
    "shank": 0.246,
    "thigh": 0.245,
    "hip_half_width": 0.05,
    "trunk": 0.19,  # pelvis centre -> chest
    "chest_neck": 0.10,
    "neck_head": 0.115,
    "shoulder_half_width": 0.105,
    "shoulder_drop": 0.015,
    "upper_arm": 0.186,
    "forearm": 0.146,
    "hand": 0.055,
    "foot_front": 0.10,  # ankle -> toe, along the foot
    "foot_back": 0.04,  # ankle -> heel, along the foot
}
_LEG_REACH = 0.995  # legs never straighten beyond this fraction of thigh + shank

# Tracks body_joints reads (each (T,) float64); missing ones default to 0 (knee_out_* to 0.3).
POSE_TRACKS = (
    "pelvis_x_m",
    "pelvis_y_m",
    "pelvis_drop_m",
    "trunk_flex_deg",
    "upper_flex_deg",
    "head_flex_deg",
    "shrug_l_deg",
    "shrug_r_deg",
    "arm_f_l_deg",
    "arm_b_l_deg",
    "arm_e_l_deg",
    "arm_tw_l_deg",
    "arm_f_r_deg",
    "arm_b_r_deg",
    "arm_e_r_deg",
    "arm_tw_r_deg",
    "knee_out_l",
    "knee_out_r",
    "heel_l_deg",
    "heel_r_deg",
    "foot_y_l_m",
    "foot_y_r_m",
    "foot_z_l_m",
    "foot_z_r_m",
)
_SIDES = (("l", 1.0), ("r", -1.0))  # sigma: +1 on the left (+X), -1 on the right


def standing_hip_height_m(height_m: float, stance_m: float) -> float:
    """Height of the hip joints when standing with feet ``stance_m`` from the midline."""
    b = {k: v * height_m for k, v in BODY.items()}
    reach = _LEG_REACH * (b["thigh"] + b["shank"])
    return b["ankle_height"] + float(np.sqrt(reach**2 - (stance_m - b["hip_half_width"]) ** 2))


def body_joints(
    tracks: Mapping[str, np.ndarray],
    *,
    height_m: float,
    stance_m: float,
    toe_out_deg: float,
    arms_in_trunk_frame: bool,
) -> np.ndarray:
    """Joint positions (T, 21, 3) in metres from pose tracks (see POSE_TRACKS).

    ``pelvis_drop_m`` lowers the pelvis from standing; the pelvis is further lowered where a
    leg could not reach its foot. Arm angles (flexion f, abduction b, elbow e, humeral
    rotation tw) are measured from a hanging arm, in the trunk frame or the lab frame.
    """
    n = len(next(iter(tracks.values())))
    tr = {
        name: np.asarray(tracks.get(name, np.full(n, 0.3 if name.startswith("knee_out") else 0.0)), dtype=np.float64)
        for name in POSE_TRACKS
    }
    b = {k: v * height_m for k, v in BODY.items()}
    out = np.zeros((n, N_JOINTS, 3))

    def put(name: str, xyz: np.ndarray) -> None:
        out[:, joint_index(name)] = xyz

    # Feet: rigid triangles pitched about the toe (heel lift) and yawed outwards (toe-out).
    ankles = {}
    for side, sig in _SIDES:
        yaw = _rz(np.array([sig * np.radians(toe_out_deg)]))[0]
        home_ankle = np.array([sig * stance_m, 0.0, b["ankle_height"]])
        toe_home = home_ankle + yaw @ np.array([0.0, -b["foot_front"], -b["ankle_height"]])
        toe = toe_home + np.stack([np.zeros(n), tr[f"foot_y_{side}_m"], tr[f"foot_z_{side}_m"]], axis=1)
        rot = _rz(np.full(n, sig * np.radians(toe_out_deg))) @ _rx(np.radians(tr[f"heel_{side}_deg"]))
        ankles[side] = toe + _apply(rot, [0.0, b["foot_front"], b["ankle_height"]])
        put(f"{side}_toe", toe)
        put(f"{side}_ankle", ankles[side])
        put(f"{side}_heel", toe + _apply(rot, [0.0, b["foot_front"] + b["foot_back"], 0.0]))

    # Pelvis: lowered from standing, and never so high that a leg cannot reach its foot.
    reach = _LEG_REACH * (b["thigh"] + b["shank"])
    pelvis = np.stack(
        [tr["pelvis_x_m"], tr["pelvis_y_m"], standing_hip_height_m(height_m, stance_m) - tr["pelvis_drop_m"]], axis=1
    )
    for side, sig in _SIDES:
        horiz = pelvis[:, :2] + np.array([sig * b["hip_half_width"], 0.0]) - ankles[side][:, :2]
        z_max = ankles[side][:, 2] + np.sqrt(np.maximum(reach**2 - np.sum(horiz**2, axis=1), 1e-6))
        pelvis[:, 2] = np.minimum(pelvis[:, 2], z_max)
    for side, sig in _SIDES:
        hip = pelvis + np.array([sig * b["hip_half_width"], 0.0, 0.0])
        pole = np.stack([sig * tr[f"knee_out_{side}"], -np.ones(n), np.zeros(n)], axis=1)
        put(f"{side}_hip", hip)
        put(f"{side}_knee", _two_link_mid(hip, ankles[side], b["thigh"], b["shank"], pole))

    # Trunk and head: flexion about the lab X axis through the pelvis centre (the hip axis).
    trunk = np.radians(tr["trunk_flex_deg"])
    upper = trunk + np.radians(tr["upper_flex_deg"])
    r_upper = _rx(upper)
    chest = pelvis + _apply(_rx(trunk), [0.0, 0.0, b["trunk"]])
    neck = chest + _apply(r_upper, [0.0, 0.0, b["chest_neck"]])
    put("chest", chest)
    put("neck", neck)
    put("head", neck + _apply(_rx(upper + np.radians(tr["head_flex_deg"])), [0.0, 0.0, b["neck_head"]]))

    # Arms: shoulder girdle (elevation = shrug), then upper arm, forearm and hand as rigid vectors.
    base = r_upper if arms_in_trunk_frame else np.broadcast_to(np.eye(3), (n, 3, 3))
    for side, sig in _SIDES:
        girdle = r_upper @ _ry(-sig * np.radians(tr[f"shrug_{side}_deg"]))
        shoulder = neck + _apply(girdle, [sig * b["shoulder_half_width"], 0.0, -b["shoulder_drop"]])
        rot = (
            base
            @ _rx(-np.radians(tr[f"arm_f_{side}_deg"]))
            @ _ry(-sig * np.radians(tr[f"arm_b_{side}_deg"]))
            @ _rz(sig * np.radians(tr[f"arm_tw_{side}_deg"]))
        )
        u = _apply(rot, [0.0, 0.0, -1.0])
        w = _apply(rot, [0.0, -1.0, 0.0])
        elbow_rad = np.radians(tr[f"arm_e_{side}_deg"])[:, None]
        forearm = np.cos(elbow_rad) * u + np.sin(elbow_rad) * w
        elbow = shoulder + b["upper_arm"] * u
        wrist = elbow + b["forearm"] * forearm
        put(f"{side}_shoulder", shoulder)
        put(f"{side}_elbow", elbow)
        put(f"{side}_wrist", wrist)
        put(f"{side}_hand", wrist + b["hand"] * forearm)
    return out


def _two_link_mid(root: np.ndarray, end: np.ndarray, l1: float, l2: float, pole: np.ndarray) -> np.ndarray:
    """Middle joint of a two-link chain from ``root`` to a reachable ``end``, bent towards ``pole``."""
    d_vec = end - root
    d = np.linalg.norm(d_vec, axis=1, keepdims=True)
    d = np.clip(d, abs(l1 - l2) + 1e-6, l1 + l2 - 1e-9)
    u = d_vec / d
    a = (l1**2 - l2**2 + d**2) / (2.0 * d)
    h = np.sqrt(np.maximum(l1**2 - a**2, 0.0))
    v = pole - np.sum(pole * u, axis=1, keepdims=True) * u
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return root + a * u + h * v


def _apply(rot: np.ndarray, vec: list[float] | np.ndarray) -> np.ndarray:
    return np.einsum("tij,j->ti", rot, np.asarray(vec, dtype=np.float64))


def _rx(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def _ry(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def _rz(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)
