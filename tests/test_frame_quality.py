"""PSNR and SSIM of stored frames: exact values on known pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from flexsync.frame_quality import frame_psnrs_db, psnr_db, ssim_luma


def _frames(n: int = 3, height: int = 32, width: int = 40, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(20, 236, size=(n, height, width, 3), dtype=np.uint8)


def test_identical_frames_are_infinitely_close() -> None:
    a = _frames()
    assert psnr_db(a, a.copy()) == math.inf
    assert frame_psnrs_db(a, a) == [math.inf] * len(a)
    assert ssim_luma(a, a) == pytest.approx(1.0, abs=1e-6)


def test_psnr_of_a_known_mse_is_exact() -> None:
    a = _frames()
    b = a.copy()
    b[0] += 4  # frame 0: every value off by 4 (MSE 16); the other frames equal
    assert psnr_db(a, b) == pytest.approx(10 * math.log10(255**2 / (16 / 3)), abs=1e-12)
    assert frame_psnrs_db(a, b) == [pytest.approx(10 * math.log10(255**2 / 16), abs=1e-12), math.inf, math.inf]
    one = a[0].copy()
    one[..., 0] -= 10  # one (H, W, 3) frame: red off by 10, MSE 100 / 3
    assert psnr_db(a[0], one) == pytest.approx(10 * math.log10(255**2 * 3 / 100), abs=1e-12)


def test_psnr_counts_differences_beyond_the_uint8_range() -> None:
    a = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    b = np.full_like(a, 255)  # no wrap-around: MSE 255**2, 0 dB
    assert psnr_db(a, b) == pytest.approx(0.0, abs=1e-12)


def test_ssim_of_noisy_frames_is_below_one() -> None:
    a = _frames()
    noisy = np.clip(a + np.random.default_rng(1).normal(0, 8, a.shape), 0, 255).astype(np.uint8)
    assert 0.0 < ssim_luma(a, noisy) < 1.0
    assert ssim_luma(a, noisy) < ssim_luma(a, np.clip(a.astype(np.int16) + 1, 0, 255).astype(np.uint8)) <= 1.0
    assert ssim_luma(a[0], noisy[0]) == pytest.approx(ssim_luma(a[:1], noisy[:1]))


def test_mismatched_frames_are_refused() -> None:
    a = _frames()
    with pytest.raises(ValueError, match="shape"):
        psnr_db(a, a[:2])
    with pytest.raises(ValueError, match="uint8"):
        psnr_db(a.astype(np.float32), a.astype(np.float32))
