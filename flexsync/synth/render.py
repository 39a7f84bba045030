"""Cheap, plausible frames of a lifter, the implement and the sync LED, seen by one camera.

The synthetic videos have to exercise the pipeline, not fool a person: what matters is that the
body moves where the mocap says, that views differ, that frames are not uniform (so H.264 has
something to encode and motion energy is measurable) and that the sync LED's brightness encodes
how much of the exposure it was lit (``led_level``), which makes sub-frame timing recoverable.

Everything static (wall, floor grid, rack, box, LED stand) is drawn once into a background. A
frame is that background plus the body as depth-sorted thick anti-aliased limbs (nearer =
brighter), the implement, and the LED disc drawn last so the body never hides it. No noise is
added here: with ``textured=True`` (the realistic look) the background gets static textures
(``flexsync.synth.textures``) and each limb a stripe of its own shade; sensor noise, blur,
lighting and the rolling shutter are ``flexsync.synth.look``'s job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from flexsync.skeleton import BONES, N_JOINTS, joint_index
from flexsync.synth.cameras import BODY_CENTRE_LAB, CameraCalibration
from flexsync.synth.textures import limb_stripe_colour, texture_background

__all__ = ["EQUIPMENT_KINDS", "LED_OFF_RGB", "LED_ON_RGB", "FrameRenderer"]

logger = logging.getLogger(__name__)

EQUIPMENT_KINDS = ("barbell", "dumbbells", "none")
LED_OFF_RGB = np.array([45.0, 45.0, 45.0])  # dark grey lens when off
LED_ON_RGB = np.array([215.0, 255.0, 225.0])  # bright white-green when fully on for the whole exposure
_HOUSING_RGB = (18, 18, 18)

_SHIFT = 4  # cv2 fixed-point bits: sub-pixel positions so slow motion still changes pixels
_SCALE = float(1 << _SHIFT)
_NEAR_M = 0.05  # geometry closer than this to the camera plane is clipped

# Body look: radii in metres, colours RGB. Left and right differ so mirrored views differ too.
_LIMB_RADIUS_M = {"arm": 0.045, "forearm": 0.04, "hand": 0.035, "thigh": 0.075, "shin": 0.055, "foot": 0.035}
_HEAD_RADIUS_M = 0.105
_TORSO_RADIUS_M = 0.06  # outline of the torso polygon
_COLOURS = {
    "r_upper": (205.0, 85.0, 60.0),
    "l_upper": (70.0, 115.0, 210.0),
    "r_lower": (95.0, 80.0, 70.0),
    "l_lower": (60.0, 75.0, 105.0),
    "torso": (185.0, 185.0, 195.0),
    "skin": (225.0, 180.0, 150.0),
    "iron": (60.0, 62.0, 66.0),
    "steel": (170.0, 172.0, 178.0),
}
_BAR_RADIUS_M = 0.015
_PLATE_RADIUS_M = 0.225
_PLATE_HALF_WIDTH_M = 0.03
_PLATE_INSET_M = 0.2  # plates sit this far inside the bar ends
_DUMBBELL_HALF_LENGTH_M = 0.16
_DUMBBELL_PLATE_RADIUS_M = 0.09
_DUMBBELL_PLATE_INSET_M = 0.05
_RIM_POINTS = 12

# Depth shading: brightness gain per metre nearer than the body centre.
_SHADE_PER_M = 0.55
_SHADE_RANGE = (0.45, 1.25)


@dataclass(frozen=True)
class _Limb:
    a: int
    b: int
    radius_m: float
    colour: tuple[float, float, float]


def _limb_table() -> tuple[_Limb, ...]:
    """Radius and colour of every bone in skeleton.BONES (torso bones are drawn as a polygon)."""
    limbs = []
    for name_a, name_b in BONES:
        side = name_b[0] if name_b[:2] in ("r_", "l_") else ""
        if name_b in ("r_elbow", "l_elbow"):
            radius, colour = _LIMB_RADIUS_M["arm"], _COLOURS[f"{side}_upper"]
        elif name_b in ("r_wrist", "l_wrist"):
            radius, colour = _LIMB_RADIUS_M["forearm"], _COLOURS[f"{side}_upper"]
        elif name_b in ("r_hand", "l_hand"):
            radius, colour = _LIMB_RADIUS_M["hand"], _COLOURS["skin"]
        elif name_b in ("r_knee", "l_knee"):
            radius, colour = _LIMB_RADIUS_M["thigh"], _COLOURS[f"{side}_lower"]
        elif name_b in ("r_ankle", "l_ankle"):
            radius, colour = _LIMB_RADIUS_M["shin"], _COLOURS[f"{side}_lower"]
        elif name_b.endswith(("_heel", "_toe")):
            radius, colour = _LIMB_RADIUS_M["foot"], _COLOURS["iron"]
        elif name_a == "head":
            radius, colour = _LIMB_RADIUS_M["shin"], _COLOURS["skin"]  # the neck
        else:
            radius, colour = _TORSO_RADIUS_M, _COLOURS["torso"]
        limbs.append(_Limb(joint_index(name_a), joint_index(name_b), radius, colour))
    return tuple(limbs)


_LIMBS = _limb_table()
_TORSO_JOINTS = tuple(joint_index(n) for n in ("r_shoulder", "l_shoulder", "l_hip", "r_hip"))
_HEAD = joint_index("head")


class FrameRenderer:
    """Render frames of one camera view.

    Parameters
    ----------
    camera : CameraCalibration
        The view; frames are ``(camera.height, camera.width, 3)`` uint8 RGB.
    led_position_lab : ndarray, shape (3,)
        Centre of the sync LED in lab metres (chosen by the caller, e.g. on a stand at
        ``(0.9, 0.4, 1.2)``). Must be in front of the camera.
    led_radius_m : float
        Radius of the LED disc in metres (drawn at least 2 px wide).
    background_seed : int
        Seeds the placement and tint of the static clutter (same seed => same background).
    equipment : {"barbell", "dumbbells", "none"}
        How to read ``equipment_lab``: the two bar ends, the two dumbbell centres, or nothing.
    textured : bool
        Realistic look: textured background and striped limbs (default False: the flat look,
        byte for byte as before the option existed).
    texture_seed : int
        Seeds the textures (only with ``textured``).

    Notes
    -----
    The background and all constant geometry are computed once here, so ``render`` with a
    reused ``out`` costs little more than the background copy and the limbs (timings in
    docs/design-notes.md).
    """

    def __init__(
        self,
        camera: CameraCalibration,
        *,
        led_position_lab: np.ndarray,
        led_radius_m: float = 0.04,
        background_seed: int = 0,
        equipment: Literal["barbell", "dumbbells", "none"] = "barbell",
        textured: bool = False,
        texture_seed: int = 0,
    ) -> None:
        if equipment not in EQUIPMENT_KINDS:
            raise ValueError(f"camera {camera.name}: equipment {equipment!r} is not one of {EQUIPMENT_KINDS}")
        if not led_radius_m > 0:
            raise ValueError(f"camera {camera.name}: led_radius_m must be > 0, got {led_radius_m}")
        self.camera = camera
        self.equipment = equipment
        self.shape = (camera.height, camera.width, 3)
        self._focal_px = float(np.sqrt(camera.K[0, 0] * camera.K[1, 1]))
        self._centre_depth_m = float(camera.project(BODY_CENTRE_LAB)[1][0])
        led = np.asarray(led_position_lab, dtype=np.float64).reshape(3)
        led_px, led_depth = camera.project(led)
        if not led_depth[0] > _NEAR_M:
            raise ValueError(f"camera {camera.name}: the LED at {led.tolist()} m is behind the camera")
        self.led_position_lab = led
        self.led_centre_px = led_px[0]
        self.led_radius_px = max(2.0, led_radius_m * self._focal_px / float(led_depth[0]))
        u, v = self.led_centre_px
        if not (0 <= u <= camera.width - 1 and 0 <= v <= camera.height - 1):
            logger.warning("camera %s: the sync LED projects outside the image at (%.1f, %.1f) px", camera.name, u, v)
        self._led_centre_fx = (round(u * _SCALE), round(v * _SCALE))
        self._background = _Background(camera, led, self._focal_px, np.random.default_rng(background_seed)).image
        self._stripes: dict[int, tuple[float, float, float]] = {}
        if textured:
            texture_rng = np.random.default_rng(texture_seed)
            self._background = texture_background(self._background, texture_rng)
            self._stripes = {i: limb_stripe_colour(limb.colour, texture_rng) for i, limb in enumerate(_LIMBS)}
        self._background.flags.writeable = False

    @property
    def led_draw_centre_px(self) -> tuple[float, float]:
        """Centre of the LED lens as drawn (sub-pixel fixed point), (u, v) pixels."""
        return (self._led_centre_fx[0] / _SCALE, self._led_centre_fx[1] / _SCALE)

    @property
    def led_draw_radius_px(self) -> float:
        """Radius of the LED lens as drawn, pixels."""
        return round(self.led_radius_px * _SCALE) / _SCALE

    @property
    def background(self) -> np.ndarray:
        """The static background, (H, W, 3) uint8 RGB, read-only."""
        return self._background

    def led_mask(self, *, inset_px: float = 1.0) -> np.ndarray:
        """Boolean (H, W) mask of the LED disc pixels, ``inset_px`` inside its edge (for measuring it)."""
        rows, cols = np.mgrid[0 : self.camera.height, 0 : self.camera.width]
        u, v = self.led_centre_px
        radius = max(self.led_radius_px - inset_px, 0.5)
        return (cols - u) ** 2 + (rows - v) ** 2 <= radius**2

    def render(
        self,
        joints_lab: np.ndarray,
        equipment_lab: np.ndarray,
        *,
        led_level: float,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Draw one frame.

        Parameters
        ----------
        joints_lab : ndarray, shape (21, 3)
            Joint positions in lab metres, in ``skeleton.JOINT_NAMES`` order. Joints with
            non-finite coordinates are skipped with their bones.
        equipment_lab : ndarray, shape (2, 3)
            Bar ends or dumbbell centres in lab metres (ignored for ``equipment="none"``).
        led_level : float
            Fraction of this frame's exposure during which the LED was on, in [0, 1]. The disc
            colour interpolates linearly between off and on.
        out : ndarray, optional
            A C-contiguous (H, W, 3) uint8 buffer to draw into (reused: avoids allocating a frame).

        Returns
        -------
        ndarray
            The (H, W, 3) uint8 RGB frame (``out`` if given).
        """
        joints = np.asarray(joints_lab, dtype=np.float64)
        if joints.shape != (N_JOINTS, 3):
            raise ValueError(
                f"camera {self.camera.name}: joints_lab must have shape ({N_JOINTS}, 3), got {joints.shape}"
            )
        if not 0.0 <= led_level <= 1.0:
            raise ValueError(f"camera {self.camera.name}: led_level must be in [0, 1], got {led_level}")
        if out is None:
            out = self._background.copy()
        else:
            if out.shape != self.shape or out.dtype != np.uint8 or not out.flags.c_contiguous:
                raise ValueError(
                    f"camera {self.camera.name}: out must be a C-contiguous uint8 array of shape {self.shape}, "
                    f"got {out.dtype} {out.shape}"
                )
            np.copyto(out, self._background)
        items = self._body_items(joints)
        if self.equipment != "none":
            equipment = np.asarray(equipment_lab, dtype=np.float64)
            if equipment.shape != (2, 3):
                raise ValueError(
                    f"camera {self.camera.name}: equipment_lab must have shape (2, 3), got {equipment.shape}"
                )
            items.extend(self._equipment_items(equipment))
        # Painter's algorithm: far first. Stable sort keeps ties in a fixed order.
        for _, draw in sorted(items, key=lambda item: -item[0]):
            draw(out)
        self._draw_led(out, float(led_level))
        return out

    # -- per-frame drawing ---------------------------------------------------------------------

    def _shade(self, colour: tuple[float, float, float], depth_m: float) -> tuple[float, float, float]:
        gain = 1.0 + _SHADE_PER_M * (self._centre_depth_m - depth_m)
        gain = min(max(gain, _SHADE_RANGE[0]), _SHADE_RANGE[1])
        return (min(colour[0] * gain, 255.0), min(colour[1] * gain, 255.0), min(colour[2] * gain, 255.0))

    def _thickness(self, radius_m: float, depth_m: float) -> int:
        return max(1, round(2.0 * radius_m * self._focal_px / depth_m))

    def _body_items(self, joints: np.ndarray) -> list[tuple[float, object]]:
        px, depth = self.camera.project(joints)
        ok = np.isfinite(px).all(axis=1) & (depth > _NEAR_M)
        fx = np.zeros((N_JOINTS, 2), dtype=np.int64)
        fx[ok] = np.rint(px[ok] * _SCALE).astype(np.int64)
        items: list[tuple[float, object]] = []
        for number, limb in enumerate(_LIMBS):
            if not (ok[limb.a] and ok[limb.b]):
                continue
            d = 0.5 * (depth[limb.a] + depth[limb.b])
            colour, thickness = self._shade(limb.colour, d), self._thickness(limb.radius_m, d)
            if number in self._stripes and thickness >= 4:
                stripe = self._shade(self._stripes[number], d)
                items.append((d, _striped_line(fx[limb.a], fx[limb.b], colour, stripe, thickness)))
            else:
                items.append((d, _line(fx[limb.a], fx[limb.b], colour, thickness)))
        torso = list(_TORSO_JOINTS)
        if ok[torso].all():
            d = float(depth[torso].mean())
            # Slightly behind the torso bones so the outline strokes stay on top.
            items.append((d + 0.01, _polygon(fx[torso], self._shade(_COLOURS["torso"], d))))
        if ok[_HEAD]:
            d = float(depth[_HEAD])
            radius_fx = round(_HEAD_RADIUS_M * self._focal_px / d * _SCALE)
            items.append((d, _disc(fx[_HEAD], radius_fx, self._shade(_COLOURS["skin"], d))))
        return items

    def _equipment_items(self, equipment: np.ndarray) -> list[tuple[float, object]]:
        if not np.isfinite(equipment).all():
            return []
        if self.equipment == "barbell":
            axis = equipment[1] - equipment[0]
            length = float(np.linalg.norm(axis))
            if length < 1e-6:
                return []
            axis /= length
            inset = min(_PLATE_INSET_M, 0.25 * length)
            bars = [(equipment[0], equipment[1])]
            plates = [equipment[0] + inset * axis, equipment[1] - inset * axis]
            plate_radius = _PLATE_RADIUS_M
        else:
            axis = equipment[1] - equipment[0]
            axis[2] = 0.0
            norm = float(np.linalg.norm(axis))
            axis = axis / norm if norm > 1e-6 else np.array([1.0, 0.0, 0.0])
            half = _DUMBBELL_HALF_LENGTH_M * axis
            bars = [(c - half, c + half) for c in equipment]
            offset = (_DUMBBELL_HALF_LENGTH_M - _DUMBBELL_PLATE_INSET_M) * axis
            plates = [p for c in equipment for p in (c - offset, c + offset)]
            plate_radius = _DUMBBELL_PLATE_RADIUS_M
        rims = _cylinder_points(np.array(plates), axis, plate_radius, _PLATE_HALF_WIDTH_M)
        ends = np.array([p for pair in bars for p in pair])
        px, depth = self.camera.project(np.vstack([ends, rims.reshape(-1, 3)]))
        if not (np.isfinite(px).all() and (depth > _NEAR_M).all()):
            return []
        fx = np.rint(px * _SCALE).astype(np.int64)
        items: list[tuple[float, object]] = []
        for i in range(len(bars)):
            d = float(depth[2 * i : 2 * i + 2].mean())
            thickness = self._thickness(_BAR_RADIUS_M, d)
            items.append((d, _line(fx[2 * i], fx[2 * i + 1], self._shade(_COLOURS["steel"], d), thickness)))
        n_rim = rims.shape[1]
        for j in range(len(plates)):
            sl = slice(len(ends) + j * n_rim, len(ends) + (j + 1) * n_rim)
            d = float(depth[sl].mean())
            hull = cv2.convexHull(fx[sl].astype(np.int32))
            items.append((d, _polygon(hull.reshape(-1, 2), self._shade(_COLOURS["iron"], d))))
        return items

    def _draw_led(self, out: np.ndarray, level: float) -> None:
        colour = LED_OFF_RGB + level * (LED_ON_RGB - LED_OFF_RGB)
        radius_fx = round(self.led_radius_px * _SCALE)
        housing_fx = round((self.led_radius_px + max(1.5, 0.5 * self.led_radius_px)) * _SCALE)
        cv2.circle(out, self._led_centre_fx, housing_fx, _HOUSING_RGB, -1, cv2.LINE_AA, _SHIFT)
        cv2.circle(out, self._led_centre_fx, radius_fx, tuple(float(c) for c in colour), -1, cv2.LINE_AA, _SHIFT)


# -- drawing primitives (closures so items can be depth-sorted before drawing) -----------------


def _line(a_fx: np.ndarray, b_fx: np.ndarray, colour: tuple[float, float, float], thickness: int):
    pa, pb = (int(a_fx[0]), int(a_fx[1])), (int(b_fx[0]), int(b_fx[1]))

    def draw(img: np.ndarray) -> None:
        cv2.line(img, pa, pb, colour, thickness, cv2.LINE_AA, _SHIFT)

    return draw


def _striped_line(
    a_fx: np.ndarray,
    b_fx: np.ndarray,
    colour: tuple[float, float, float],
    stripe: tuple[float, float, float],
    thickness: int,
):
    """A limb with a stripe of another shade along its middle (a third of its width): textured clothing."""
    pa, pb = (int(a_fx[0]), int(a_fx[1])), (int(b_fx[0]), int(b_fx[1]))

    def draw(img: np.ndarray) -> None:
        cv2.line(img, pa, pb, colour, thickness, cv2.LINE_AA, _SHIFT)
        cv2.line(img, pa, pb, stripe, max(1, thickness // 3), cv2.LINE_AA, _SHIFT)

    return draw


def _polygon(points_fx: np.ndarray, colour: tuple[float, float, float]):
    pts = np.ascontiguousarray(points_fx, dtype=np.int32)

    def draw(img: np.ndarray) -> None:
        cv2.fillConvexPoly(img, pts, colour, cv2.LINE_AA, _SHIFT)

    return draw


def _disc(centre_fx: np.ndarray, radius_fx: int, colour: tuple[float, float, float]):
    centre = (int(centre_fx[0]), int(centre_fx[1]))

    def draw(img: np.ndarray) -> None:
        cv2.circle(img, centre, max(radius_fx, int(_SCALE)), colour, -1, cv2.LINE_AA, _SHIFT)

    return draw


def _cylinder_points(centres: np.ndarray, axis: np.ndarray, radius_m: float, half_width_m: float) -> np.ndarray:
    """Rim points of short cylinders (plates): shape (n_plates, 2 * _RIM_POINTS, 3)."""
    helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    angles = np.linspace(0.0, 2.0 * np.pi, _RIM_POINTS, endpoint=False)
    ring = radius_m * (np.cos(angles)[:, None] * u + np.sin(angles)[:, None] * v)  # (R, 3)
    faces = np.concatenate([ring - half_width_m * axis, ring + half_width_m * axis])  # (2R, 3)
    return centres[:, None, :] + faces[None, :, :]


# -- the static background ---------------------------------------------------------------------


class _Background:
    """Wall gradient, floor with a perspective grid, a rack, a box, plates and the LED stand."""

    def __init__(self, camera: CameraCalibration, led_lab: np.ndarray, focal_px: float, rng: np.random.Generator):
        self.camera = camera
        self.focal_px = focal_px
        h, w = camera.height, camera.width
        tint = rng.uniform(-12.0, 12.0, 3)
        top = np.array([196.0, 200.0, 206.0]) + tint
        bottom = np.array([150.0, 152.0, 158.0]) + tint
        ramp = np.linspace(0.0, 1.0, h)[:, None]
        column = np.clip(np.rint(top + ramp * (bottom - top)), 0, 255).astype(np.uint8)  # (H, 3)
        self.image = np.ascontiguousarray(np.broadcast_to(column[:, None, :], (h, w, 3)))
        self._floor(rng)
        # Static objects, far first so nearer ones overlap them.
        objects = self._objects(led_lab, rng)
        centre = camera.centre_lab
        for _, draw in sorted(objects, key=lambda item: -float(np.linalg.norm(item[0] - centre))):
            draw()

    def _to_fx(self, points_lab: np.ndarray) -> np.ndarray:
        px, _ = self.camera.project(points_lab)
        return np.rint(px * _SCALE).astype(np.int64)

    def _clip_to_camera(self, points_lab: np.ndarray) -> np.ndarray:
        """Clip a convex polygon (lab points) to the half-space in front of the camera's near plane."""
        R, t = self.camera.R, self.camera.t
        cam = points_lab @ R.T + t
        kept = []
        n = len(cam)
        for i in range(n):
            a, b = cam[i], cam[(i + 1) % n]
            a_in, b_in = a[2] >= _NEAR_M, b[2] >= _NEAR_M
            if a_in:
                kept.append(a)
            if a_in != b_in:
                s = (_NEAR_M - a[2]) / (b[2] - a[2])
                kept.append(a + s * (b - a))
        if not kept:
            return np.empty((0, 3))
        return (np.array(kept) - t) @ R  # back to lab: R.T @ (x - t)

    def _floor(self, rng: np.random.Generator) -> None:
        half = 6.0
        floor = np.array([[-half, -half, 0.0], [half, -half, 0.0], [half, half, 0.0], [-half, half, 0.0]])
        clipped = self._clip_to_camera(floor)
        if len(clipped) >= 3:
            colour = tuple(float(c) for c in np.array([112.0, 98.0, 84.0]) + rng.uniform(-10.0, 10.0, 3))
            cv2.fillPoly(self.image, [self._to_fx(clipped).astype(np.int32)], colour, cv2.LINE_AA, _SHIFT)
        grid_colour = (150.0, 138.0, 122.0)
        for c in np.arange(-half, half + 1e-9, 0.5):
            for a, b in (((c, -half, 0.0), (c, half, 0.0)), ((-half, c, 0.0), (half, c, 0.0))):
                self._segment(np.array(a), np.array(b), grid_colour, 1)

    def _segment(self, a: np.ndarray, b: np.ndarray, colour: tuple[float, ...], thickness: int) -> None:
        R, t = self.camera.R, self.camera.t
        da, db = (R @ a + t)[2], (R @ b + t)[2]
        if da < _NEAR_M and db < _NEAR_M:
            return
        if da < _NEAR_M:
            a = a + (_NEAR_M - da) / (db - da) * (b - a)
        elif db < _NEAR_M:
            b = b + (_NEAR_M - db) / (da - db) * (a - b)
        fx = self._to_fx(np.array([a, b]))
        # Clip in pixel space first: cv2 needs coordinates that fit in int32 after the shift.
        w_fx, h_fx = self.camera.width * int(_SCALE), self.camera.height * int(_SCALE)
        ok, p, q = cv2.clipLine(
            (-w_fx, -h_fx, 3 * w_fx, 3 * h_fx),
            (int(fx[0, 0]), int(fx[0, 1])),
            (int(fx[1, 0]), int(fx[1, 1])),
        )
        if ok:
            cv2.line(self.image, p, q, colour, thickness, cv2.LINE_AA, _SHIFT)

    def _thick_segment(self, a: np.ndarray, b: np.ndarray, colour: tuple[float, ...], radius_m: float) -> None:
        depth = self.camera.project(np.array([a, b]))[1]
        if (depth < _NEAR_M).any():
            return
        thickness = max(1, round(2.0 * radius_m * self.focal_px / float(depth.mean())))
        self._segment(a, b, colour, thickness)

    def _box(self, lo: np.ndarray, hi: np.ndarray, colour: np.ndarray) -> None:
        """A solid axis-aligned box with back-face culling and per-face shading."""
        corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
        depth = self.camera.project(corners)[1]
        if (depth < _NEAR_M).any():
            return
        fx = self._to_fx(corners).astype(np.int32)
        centre = self.camera.centre_lab
        mid = 0.5 * (lo + hi)
        # corner index = 4*ix + 2*iy + iz
        faces = {
            (-1, 0, 0): ([0, 1, 3, 2], 0.75),
            (1, 0, 0): ([4, 5, 7, 6], 0.85),
            (0, -1, 0): ([0, 1, 5, 4], 0.95),
            (0, 1, 0): ([2, 3, 7, 6], 0.7),
            (0, 0, 1): ([1, 3, 7, 5], 1.1),
        }
        for normal, (idx, gain) in faces.items():
            n = np.array(normal, dtype=np.float64)
            face_point = mid + n * 0.5 * (hi - lo)
            if np.dot(centre - face_point, n) <= 0:
                continue
            shaded = tuple(float(c) for c in np.clip(colour * gain, 0, 255))
            cv2.fillConvexPoly(self.image, fx[idx], shaded, cv2.LINE_AA, _SHIFT)

    def _objects(self, led_lab: np.ndarray, rng: np.random.Generator) -> list[tuple[np.ndarray, object]]:
        objects: list[tuple[np.ndarray, object]] = []
        # A power rack behind the subject (the subject faces -Y, so +Y is behind).
        rack_x = 0.55 + rng.uniform(-0.05, 0.05)
        rack_y0, rack_y1 = 1.7 + rng.uniform(0.0, 0.2), 2.5 + rng.uniform(0.0, 0.2)
        rack_colour = (40.0, 42.0, 48.0)
        for x in (-rack_x, rack_x):
            for y in (rack_y0, rack_y1):
                a, b = np.array([x, y, 0.0]), np.array([x, y, 2.3])
                objects.append((0.5 * (a + b), self._make_thick(a, b, rack_colour, 0.04)))
            objects.append(
                (
                    np.array([x, 0.5 * (rack_y0 + rack_y1), 2.3]),
                    self._make_thick(np.array([x, rack_y0, 2.3]), np.array([x, rack_y1, 2.3]), rack_colour, 0.035),
                )
            )
        for y in (rack_y0, rack_y1):
            objects.append(
                (
                    np.array([0.0, y, 2.3]),
                    self._make_thick(np.array([-rack_x, y, 2.3]), np.array([rack_x, y, 2.3]), rack_colour, 0.035),
                )
            )
        # A plyo box and a stack of plates to the side.
        box_xy = np.array([-1.9, 1.9]) + rng.uniform(-0.2, 0.2, 2)
        box_lo, box_hi = np.array([*box_xy - 0.3, 0.0]), np.array([*box_xy + 0.3, 0.6])
        box_colour = np.array([150.0, 105.0, 60.0]) + rng.uniform(-15.0, 15.0, 3)
        objects.append((0.5 * (box_lo + box_hi), lambda: self._box(box_lo, box_hi, box_colour)))
        stack_xy = np.array([1.9, 1.3]) + rng.uniform(-0.2, 0.2, 2)
        stack_lo, stack_hi = np.array([*stack_xy - 0.23, 0.0]), np.array([*stack_xy + 0.23, 0.35])
        stack_colour = np.array([55.0, 55.0, 60.0])
        objects.append((0.5 * (stack_lo + stack_hi), lambda: self._box(stack_lo, stack_hi, stack_colour)))
        # The LED stand: a pole from the floor to just under the LED, and a small base.
        foot = np.array([led_lab[0], led_lab[1], 0.0])
        top = led_lab - np.array([0.0, 0.0, 0.05])
        objects.append((0.5 * (foot + top), self._make_thick(foot, top, (30.0, 30.0, 30.0), 0.012)))
        base_lo, base_hi = foot - np.array([0.12, 0.12, 0.0]), foot + np.array([0.12, 0.12, 0.03])
        objects.append((foot, lambda: self._box(base_lo, base_hi, np.array([35.0, 35.0, 38.0]))))
        return objects

    def _make_thick(self, a: np.ndarray, b: np.ndarray, colour: tuple[float, ...], radius_m: float):
        return lambda: self._thick_segment(a, b, colour, radius_m)
