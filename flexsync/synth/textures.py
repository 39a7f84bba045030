"""Static textures of the realistic look: a floor, walls and clothing that are not flat colours.

Drawn once (into the background, or as each limb's stripe colour), so they cost nothing per
frame; deterministic from the generator given.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["limb_stripe_colour", "texture_background"]


def texture_background(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``image`` (H, W, 3) uint8 with a multiplicative texture: blotches (~1/16 of the frame) and fine grain.

    Blotches model stains and uneven paint (+-8 %), the grain the weave of mats and the wall's
    roughness (+-3 %, slightly smoothed so it survives as structure, not as per-frame noise).
    """
    h, w = image.shape[:2]
    coarse = rng.standard_normal((max(2, h // 16), max(2, w // 16))).astype(np.float32)
    blotch = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (3, 3), 0.7)
    gain = 1.0 + 0.08 * np.clip(blotch, -2.5, 2.5) / 2.5 + 0.015 * np.clip(grain, -3.0, 3.0) / 1.5
    tinted = image.astype(np.float32) * gain[..., None]
    return np.clip(np.rint(tinted), 0, 255).astype(np.uint8)


def limb_stripe_colour(colour: tuple[float, float, float], rng: np.random.Generator) -> tuple[float, float, float]:
    """A stripe colour for a limb of ``colour``: a darker or lighter shade with its own tint (a seam, a print)."""
    factor = rng.choice([0.7, 1.25]) * (1.0 + rng.uniform(-0.05, 0.05, 3))
    return tuple(float(min(255.0, c * f)) for c, f in zip(colour, factor, strict=True))
