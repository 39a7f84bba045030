"""How close stored frames are to the frames they were made from: PSNR and SSIM of uint8 frames.

Lossy frame storage (H.264 chunks, JPEG folders) is judged by these: ``psnr_db`` from the mean
squared error over every pixel (RGB, peak 255), ``frame_psnrs_db`` one value per frame (the worst
frame is what a per-frame floor such as 40 dB is about), ``ssim_luma`` the mean SSIM of the
frames' BT.601 luma. Frames are compared one at a time, so a clip of thousands of frames needs
no float copy of the whole clip. Used by ``flexsync bench store`` (docs/frame-storage.md) and by
the tests of stored frames.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["frame_psnrs_db", "psnr_db", "ssim_luma"]

PEAK = 255.0
_SSIM_C1, _SSIM_C2 = (0.01 * PEAK) ** 2, (0.03 * PEAK) ** 2
_SSIM_PAD = 5  # the 11-pixel window's half width: borders are left out, as scikit-image does


def _check(reference: np.ndarray, stored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    reference, stored = np.asarray(reference), np.asarray(stored)
    if reference.shape != stored.shape:
        raise ValueError(f"frames differ in shape: reference {reference.shape}, stored {stored.shape}")
    if reference.dtype != np.uint8 or stored.dtype != np.uint8:
        raise ValueError(f"frames must be uint8, got {reference.dtype} and {stored.dtype}")
    return np.atleast_1d(reference), np.atleast_1d(stored)


def _squared_errors(reference: np.ndarray, stored: np.ndarray) -> list[int]:
    """Sum of squared differences of each slice along the first axis (exact, in int64)."""
    reference, stored = _check(reference, stored)
    return [
        int(np.square(a.astype(np.int32) - b.astype(np.int32), dtype=np.int64).sum())
        for a, b in zip(reference, stored, strict=True)
    ]


def _db(squared_error: float, values: int) -> float:
    return math.inf if squared_error == 0 else 10.0 * math.log10(PEAK**2 * values / squared_error)


def psnr_db(reference: np.ndarray, stored: np.ndarray) -> float:
    """PSNR (dB) of ``stored`` against ``reference`` (same shape, uint8) from the MSE over every value; inf if equal."""
    return _db(sum(_squared_errors(reference, stored)), np.asarray(reference).size)


def frame_psnrs_db(reference: np.ndarray, stored: np.ndarray) -> list[float]:
    """PSNR (dB) of each frame ``stored[i]`` against ``reference[i]`` (``(n, H, W, 3)`` uint8); inf where equal."""
    per_frame = math.prod(np.shape(reference)[1:])
    return [_db(error, per_frame) for error in _squared_errors(reference, stored)]


def _luma(frame: np.ndarray) -> np.ndarray:
    rgb = frame.astype(np.float32)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _blur(x: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(x, (11, 11), 1.5, borderType=cv2.BORDER_REFLECT)


def _frame_ssim(a: np.ndarray, b: np.ndarray) -> float:
    x, y = _luma(a), _luma(b)
    mx, my = _blur(x), _blur(y)
    vx, vy, vxy = _blur(x * x) - mx * mx, _blur(y * y) - my * my, _blur(x * y) - mx * my
    s = ((2 * mx * my + _SSIM_C1) * (2 * vxy + _SSIM_C2)) / ((mx * mx + my * my + _SSIM_C1) * (vx + vy + _SSIM_C2))
    return float(s[_SSIM_PAD:-_SSIM_PAD, _SSIM_PAD:-_SSIM_PAD].mean())


def ssim_luma(reference: np.ndarray, stored: np.ndarray) -> float:
    """Mean SSIM of ``(n, H, W, 3)`` (or one ``(H, W, 3)``) uint8 RGB frames, 1 if equal.

    Wang et al. 2004 on BT.601 luma: Gaussian window 11, sigma 1.5, the 5-pixel border left out
    (frames must be larger than 10x10).
    """
    reference, stored = _check(reference, stored)
    if reference.ndim == 3:
        reference, stored = reference[None], stored[None]
    if reference.ndim != 4 or reference.shape[-1] != 3 or min(reference.shape[1:3]) <= 2 * _SSIM_PAD:
        raise ValueError(f"SSIM takes (n, H, W, 3) frames larger than 10x10, got {reference.shape}")
    return float(np.mean([_frame_ssim(a, b) for a, b in zip(reference, stored, strict=True)]))
