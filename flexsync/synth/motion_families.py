"""Keyframes of each exercise family: how the body moves between the start and the end of a rep.

A repetition is driven by one progress value ``s``: 0 at the start position (standing tall for
a squat, arms hanging for a curl) and 1 at the far end of the range (bottom of the squat, top
of the curl). Each track is ``(value at s=0, value at s=1)`` and may carry a window ``(a, b)``
of ``s`` over which it changes (a lunge steps first, then lowers). Lengths are fractions of
standing height, angles degrees (see ``flexsync.synth.motion_body`` for their meaning).

Families give the base motion; a few actions override tracks (a front squat holds the bar in
front, a deadlift bends the knees more than a Romanian deadlift). Overrides are keyed by the
action ids of the default FKG; other actions get their family's base motion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["FAMILY_MOTIONS", "MotionSpec", "Track", "motion_spec"]

Track = tuple[float, float] | tuple[float, float, float, float]


@dataclass(frozen=True)
class MotionSpec:
    """The motion of one action: keyframed tracks, stance, arm frame and base phase durations."""

    tracks: Mapping[str, Track]
    eccentric_s: float
    concentric_s: float
    stance: float = 0.075  # ankle distance from the midline, fraction of height
    toe_out_deg: float = 10.0
    arms_in_trunk_frame: bool = False

    def __post_init__(self) -> None:
        if not self.concentric_s < self.eccentric_s:
            raise ValueError(f"concentric_s {self.concentric_s} must be shorter than eccentric_s {self.eccentric_s}")


# Arm holds (flexion, abduction, elbow, humeral rotation), solved once for the target hand positions.
_BACK_BAR = {"arm_f": (-39.0, -39.0), "arm_b": (37.0, 37.0), "arm_e": (132.0, 132.0), "arm_tw": (124.0, 124.0)}
_FRONT_RACK = {"arm_f": (74.0, 74.0), "arm_b": (9.0, 9.0), "arm_e": (160.0, 160.0), "arm_tw": (-6.0, -6.0)}
_GOBLET = {"arm_f": (19.0, 19.0), "arm_b": (0.0, 0.0), "arm_e": (123.0, 123.0), "arm_tw": (-37.0, -37.0)}
_HANG = {"arm_f": (0.0, 0.0), "arm_b": (6.0, 6.0), "arm_e": (3.0, 3.0)}

FAMILY_MOTIONS: dict[str, MotionSpec] = {
    "squat": MotionSpec(
        {
            "pelvis_drop": (0.0, 0.25),
            "pelvis_back": (0.0, 0.09),
            "trunk_flex": (4.0, 38.0),
            "head_flex": (0.0, -15.0),
            "knee_out": (0.35, 0.35),
            **_BACK_BAR,
        },
        eccentric_s=1.8,
        concentric_s=1.1,
        stance=0.105,
        toe_out_deg=15.0,
        arms_in_trunk_frame=True,
    ),
    "hinge": MotionSpec(
        {
            "pelvis_drop": (0.0, 0.03),
            "pelvis_back": (0.0, 0.12),
            "trunk_flex": (2.0, 75.0),
            "head_flex": (0.0, -25.0),
            "knee_out": (0.2, 0.2),
            **_HANG,
        },
        eccentric_s=1.8,
        concentric_s=1.1,
        stance=0.07,
        toe_out_deg=8.0,
    ),
    "press": MotionSpec(
        {"trunk_flex": (-2.0, -1.0), "arm_f": (60.0, 170.0), "arm_b": (20.0, 5.0), "arm_e": (140.0, 5.0)},
        eccentric_s=1.7,
        concentric_s=1.1,
        stance=0.07,
    ),
    "row": MotionSpec(
        {
            "pelvis_drop": (0.04, 0.04),
            "pelvis_back": (0.09, 0.09),
            "trunk_flex": (50.0, 50.0),
            "head_flex": (-30.0, -30.0),
            "arm_f": (0.0, -75.0),
            "arm_b": (10.0, 20.0),
            "arm_e": (5.0, 95.0),
        },
        eccentric_s=1.5,
        concentric_s=0.9,
        stance=0.08,
    ),
    "curl": MotionSpec(
        {"trunk_flex": (0.0, 0.0), "arm_f": (0.0, 12.0), "arm_b": (8.0, 8.0), "arm_e": (8.0, 140.0)},
        eccentric_s=1.7,
        concentric_s=1.0,
    ),
    "raise": MotionSpec(
        {"arm_f": (5.0, 10.0), "arm_b": (6.0, 88.0), "arm_e": (12.0, 18.0)},
        eccentric_s=1.6,
        concentric_s=1.1,
    ),
    "lunge": MotionSpec(  # forward lunge with the right foot; the left heel rises
        {
            "step_r": (0.0, -0.40, 0.0, 0.4),
            "pelvis_back": (0.0, -0.17, 0.15, 1.0),
            "pelvis_drop": (0.0, 0.20, 0.35, 1.0),
            "heel_l": (0.0, 50.0, 0.35, 1.0),
            "trunk_flex": (2.0, 6.0),
            "knee_out": (0.25, 0.25),
            **_HANG,
        },
        eccentric_s=1.9,
        concentric_s=1.3,
        stance=0.06,
    ),
    "shrug": MotionSpec(
        {"shrug": (0.0, 30.0), "trunk_flex": (2.0, 2.0), **_HANG},
        eccentric_s=1.2,
        concentric_s=0.8,
    ),
    "extension": MotionSpec(
        {"arm_f": (170.0, 168.0), "arm_b": (8.0, 16.0), "arm_e": (10.0, 135.0)},
        eccentric_s=1.7,
        concentric_s=1.1,
    ),
    "fly": MotionSpec(
        {
            "pelvis_drop": (0.04, 0.04),
            "pelvis_back": (0.1, 0.1),
            "trunk_flex": (60.0, 60.0),
            "head_flex": (-30.0, -30.0),
            "arm_f": (0.0, 0.0),
            "arm_b": (5.0, 85.0),
            "arm_e": (15.0, 20.0),
        },
        eccentric_s=1.6,
        concentric_s=1.0,
    ),
}

# Per-action differences from the family motion (default FKG ids).
_ACTION_OVERRIDES: dict[str, dict] = {
    "A02": {
        "tracks": {"trunk_flex": (3.0, 22.0), "pelvis_back": (0.0, 0.07), "pelvis_drop": (0.0, 0.26), **_FRONT_RACK}
    },
    "A03": {
        "tracks": {"pelvis_drop": (0.0, 0.12), "pelvis_back": (0.0, 0.10), "trunk_flex": (2.0, 55.0)},
        "eccentric_s": 1.4,
        "concentric_s": 1.0,
    },
    "A05": {
        "tracks": {"pelvis_drop": (0.0, 0.025), "pelvis_back": (0.0, 0.13), "trunk_flex": (2.0, 80.0), **_BACK_BAR},
        "arms_in_trunk_frame": True,
    },
    "A09": {
        "tracks": {
            "step_r": (0.0, 0.40, 0.0, 0.4),
            "pelvis_back": (0.0, 0.16, 0.15, 1.0),
            "heel_l": (0.0, 0.0),
            "heel_r": (0.0, 50.0, 0.1, 0.5),
            **_BACK_BAR,
        },
        "arms_in_trunk_frame": True,
    },
    "A11": {"tracks": {"trunk_flex": (3.0, 25.0), "pelvis_back": (0.0, 0.075), **_GOBLET}},
    "A12": {"tracks": {"arm_b": (4.0, 4.0)}},
    "A13": {"tracks": {"arm_f": (10.0, 5.0), "arm_b": (80.0, 170.0), "arm_e": (95.0, 5.0), "arm_tw": (90.0, 90.0)}},
    "A14": {"tracks": {"arm_f": (0.0, -80.0), "arm_b": (5.0, 12.0), "arm_e": (5.0, 100.0)}},
    "A15": {"tracks": {"arm_b": (4.0, 4.0)}},
    "A17": {"tracks": {"arm_f": (5.0, 88.0), "arm_b": (6.0, 8.0), "arm_e": (10.0, 10.0)}},
}


def motion_spec(action_id: str, family: str) -> MotionSpec:
    """The motion of an action: its family's keyframes with the action's overrides applied."""
    try:
        base = FAMILY_MOTIONS[family]
    except KeyError:
        raise KeyError(
            f"action {action_id}: no motion model for exercise family {family!r}; "
            f"known families: {', '.join(sorted(FAMILY_MOTIONS))}"
        ) from None
    override = _ACTION_OVERRIDES.get(action_id)
    if not override:
        return base
    fields = {k: v for k, v in override.items() if k != "tracks"}
    return MotionSpec(
        {**base.tracks, **override.get("tracks", {})},
        eccentric_s=fields.get("eccentric_s", base.eccentric_s),
        concentric_s=fields.get("concentric_s", base.concentric_s),
        stance=fields.get("stance", base.stance),
        toe_out_deg=fields.get("toe_out_deg", base.toe_out_deg),
        arms_in_trunk_frame=fields.get("arms_in_trunk_frame", base.arms_in_trunk_frame),
    )
