"""LED flash detection and sub-frame timing on rendered synthetic video.

The renderer stands in for a camera: a dark noisy room, a bright blob moving like a body, a
lamp that switches on, a bright patch lit for 0.4 s (the wrong duration for the LED), and a
5 px LED disc whose brightness is the fraction of each frame's exposure during which the LED
was on. PTS are the start of each exposure on the device clock; dropped frames are removed.
The frames are not encoded, so the detector is told so (``codec_sigma_fraction=0``): its uncertainty is
then the frame noise alone, and ``uncertainty_s`` is a standard (1-sigma) uncertainty.
"""

from __future__ import annotations

import logging

import numpy as np
import pytest

from flexsync.timing import FlashFeatures, FlashOptions, detect_flashes, luma_grid

H, W = 90, 160
LED_YX = (12, 145)
LOSSLESS = FlashOptions(codec_sigma_fraction=0.0)  # frames here are drawn, not coded


def render(
    rng: np.random.Generator,
    pts_s: np.ndarray,
    *,
    exposure_s: float,
    onsets_s: tuple[float, ...],
    pulse_s: float,
    led: bool = True,
    noise: float = 2.0,
    crossings_s: tuple[float, ...] = (),
) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    disc = (yy - LED_YX[0]) ** 2 + (xx - LED_YX[1]) ** 2 <= 2.5**2
    lamp = (yy < 15) & (xx < 20)
    patch = (yy > 70) & (xx > 140)
    frames = np.empty((pts_s.size, H, W, 3), dtype=np.uint8)
    for k, p in enumerate(pts_s):
        img = 20.0 + rng.normal(0.0, noise, (H, W))
        bx, by = 80 + 50 * np.sin(np.pi * p), 50 + 10 * np.sin(2 * np.pi * 0.9 * p)
        img += 200 * np.exp(-((xx - bx) ** 2 + (yy - by) ** 2) / (2 * 8.0**2))
        if p > 2.0:
            img[lamp] += 100
        if 3.0 < p < 3.4:
            img[patch] += 150
        for c in crossings_s:  # a bright limb sweeps across the frame and the LED's cells at 4 px a frame
            x0 = int(-40 + 240 * (p - c))
            if -40 <= x0 < W:
                img[6:19, max(x0, 0) : x0 + 40] = 230.0
        if led:
            on = sum(max(0.0, min(p + exposure_s, t + pulse_s) - max(p, t)) for t in onsets_s) / exposure_s
            img[disc] = 20 + 220 * on + rng.normal(0.0, noise, int(disc.sum()))
        frames[k] = np.clip(np.round(img), 0, 255).astype(np.uint8)[..., None]
    return frames


def features_of(frames: np.ndarray, chunk: int = 50) -> FlashFeatures:
    acc = FlashFeatures()
    for a in range(0, frames.shape[0], chunk):
        acc.update(frames[a : a + chunk])
    return acc


def camera(rng: np.random.Generator, *, drift: float, offset: float, fps: float = 60.0, duration_s: float = 6.0):
    """True flash times -> device-clock onsets (t_true = offset + (1 + drift) t_dev), random sub-frame phase."""
    true_onsets = np.array([1.0, 5.0]) + rng.uniform(0, 1 / fps, 2)
    dev_onsets = (true_onsets - offset) / (1 + drift)
    pulse_dev = 0.1 / (1 + drift)
    pts = np.arange(int(duration_s * fps)) / fps
    return pts, dev_onsets, pulse_dev


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("drop_at_onset", [True, False])
def test_exposure_equals_interval_sub_ms(seed: int, drop_at_onset: bool) -> None:
    rng = np.random.default_rng(seed)
    pts, onsets, pulse = camera(rng, drift=3e-5, offset=0.02)
    first_partial = int(np.searchsorted(pts, onsets[0]) - 1)
    drops = [first_partial, 250] if drop_at_onset else [first_partial - 20, 250]  # two dropped frames
    pts = np.delete(pts, drops)
    frames = render(rng, pts, exposure_s=1 / 60, onsets_s=tuple(onsets), pulse_s=pulse)
    ev = detect_flashes(features_of(frames), pts, exposure_s=1 / 60, pulse_s=0.1, options=LOSSLESS)
    assert ev.n == 2 and ev.which == ("start", "end")
    err = ev.onset_s - onsets
    assert np.max(np.abs(err)) < 5e-4
    # A partial frame pins each edge: 1-sigma uncertainty of tens of microseconds, honest within 3 sigma.
    assert np.all(ev.uncertainty_s < 1.5e-4)
    assert np.all(np.abs(err) <= 3.0 * ev.uncertainty_s)
    assert np.all(ev.confidence > 0.5)
    # The LED sits in the cells around pixel (12, 145) of the 48 x 27 grid.
    acc_shape = (27, 48)
    assert ev.grid_shape == acc_shape
    for r, c in ev.cell_rc:
        assert abs((r + 0.5) * H / 27 - LED_YX[0]) < 6 and abs((c + 0.5) * W / 48 - LED_YX[1]) < 6
    np.testing.assert_allclose(ev.offset_s, onsets + pulse, atol=1e-3)


@pytest.mark.parametrize("seed", [10, 11, 12, 13])
def test_short_exposure_edge_in_gap_is_honest(seed: int) -> None:
    rng = np.random.default_rng(seed)
    pts, onsets, pulse = camera(rng, drift=-2e-5, offset=0.5)
    pts = np.delete(pts, [100, 301])
    frames = render(rng, pts, exposure_s=1 / 120, onsets_s=tuple(onsets), pulse_s=pulse)
    ev = detect_flashes(features_of(frames), pts, exposure_s=1 / 120, pulse_s=0.1, options=LOSSLESS)
    assert ev.n == 2
    err = np.abs(ev.onset_s - onsets)
    assert np.all(err < 0.5 / 60)
    # An edge inside an exposure is pinned (1-sigma uncertainty from the frame noise, well under
    # 0.2 ms); one in the 1/120 s gap between exposures could be anywhere in it: a uniform
    # interval of half-width 1/240 s, standard uncertainty (1/240) / sqrt(3) = 2.41 ms, and an
    # error of at most sqrt(3) of that.
    gap_sigma = (0.5 / 120) / np.sqrt(3.0)
    for e, u in zip(err, ev.uncertainty_s, strict=True):
        assert u < 2e-4 or abs(u - gap_sigma) < 1e-4, u
        assert e <= 3.0 * u if u < 2e-4 else e <= np.sqrt(3.0) * u + 1e-4


@pytest.mark.parametrize("seed", [20, 21, 22])
def test_variable_frame_rate_phone(seed: int) -> None:
    rng = np.random.default_rng(seed)
    intervals = (1 / 30) * (1 + rng.uniform(-0.15, 0.15, 200))
    pts = np.concatenate([[0.0], np.cumsum(intervals)])
    pts = pts[pts < 6.0]
    onsets = (1.0 + rng.uniform(0, 1 / 30), 5.0 + rng.uniform(0, 1 / 30))
    exposure = 0.03
    frames = render(rng, pts, exposure_s=exposure, onsets_s=onsets, pulse_s=0.1)
    ev = detect_flashes(features_of(frames), pts, exposure_s=exposure, pulse_s=0.1, options=LOSSLESS)
    assert ev.n == 2
    err = np.abs(ev.onset_s - np.array(onsets))
    assert np.all(err <= 3.0 * ev.uncertainty_s)
    assert np.all(err < 0.5 / 30)


def test_body_crossing_the_led_cells_often_does_not_hide_the_flashes() -> None:
    """A limb often crossing the LED's cells (as in S02_A01_T1 cam3), with frame-to-frame changes as
    large as the LED's partial steps, does not hide the flashes: each pulse is scored against the
    noise around it, not against the cell's whole-recording variability alone."""
    rng = np.random.default_rng(5)
    pts, onsets, pulse = camera(rng, drift=1e-5, offset=0.1)
    crossings = (0.1, 1.3, 2.2, 3.1, 4.0, 5.1)
    frames = render(rng, pts, exposure_s=1 / 60, onsets_s=tuple(onsets), pulse_s=pulse, crossings_s=crossings)
    ev = detect_flashes(features_of(frames), pts, exposure_s=1 / 60, pulse_s=0.1, options=LOSSLESS)
    assert ev.n == 2 and ev.which == ("start", "end")
    err = np.abs(ev.onset_s - onsets)
    assert np.all(err < 5e-4) and np.all(err <= 3.0 * ev.uncertainty_s)
    # The crossings alone (no LED) are not flashes: the limb covers a cell for ~0.18 s, not pulse_s.
    frames = render(rng, pts, exposure_s=1 / 60, onsets_s=(), pulse_s=pulse, led=False, crossings_s=crossings)
    assert detect_flashes(features_of(frames), pts, exposure_s=1 / 60, pulse_s=0.1).n == 0


def test_view_missing_end_flash_returns_one_event(caplog: pytest.LogCaptureFixture) -> None:
    rng = np.random.default_rng(30)
    pts = np.arange(360) / 60.0
    onsets = (1.0 + rng.uniform(0, 1 / 60),)
    frames = render(rng, pts, exposure_s=1 / 60, onsets_s=onsets, pulse_s=0.1)
    with caplog.at_level(logging.INFO, logger="flexsync.timing.flash"):
        ev = detect_flashes(features_of(frames), pts, exposure_s=1 / 60, pulse_s=0.1, options=LOSSLESS, stream="cam3")
    assert ev.n == 1 and ev.which == ("start",)
    assert abs(ev.onset_s[0] - onsets[0]) < 5e-4
    assert "stream cam3: only one LED flash found (start" in caplog.text


def test_view_missing_start_flash_says_end() -> None:
    rng = np.random.default_rng(31)
    pts = np.arange(360) / 60.0
    onsets = (5.0 + rng.uniform(0, 1 / 60),)
    frames = render(rng, pts, exposure_s=1 / 60, onsets_s=onsets, pulse_s=0.1)
    ev = detect_flashes(features_of(frames), pts, exposure_s=1 / 60, pulse_s=0.1, options=LOSSLESS)
    assert ev.n == 1 and ev.which == ("end",)
    assert abs(ev.onset_s[0] - onsets[0]) < 5e-4


def test_body_lamp_and_wrong_flash_alone_are_not_flashes() -> None:
    rng = np.random.default_rng(40)
    pts = np.arange(360) / 60.0
    frames = render(rng, pts, exposure_s=1 / 60, onsets_s=(), pulse_s=0.1, led=False)
    ev = detect_flashes(features_of(frames), pts, exposure_s=1 / 60, pulse_s=0.1, options=LOSSLESS)
    assert ev.n == 0 and ev.onset_s.shape == (0,)


def test_luma_grid_matches_direct_mean() -> None:
    rng = np.random.default_rng(50)
    frames = rng.integers(0, 256, (3, 37, 53, 3), dtype=np.uint8)
    got = luma_grid(frames, 4, 5)
    ys = np.round(np.linspace(0, 37, 5)).astype(int)
    xs = np.round(np.linspace(0, 53, 6)).astype(int)
    luma = frames.astype(float) @ np.array([0.299, 0.587, 0.114])
    want = np.array(
        [[luma[n, ys[r] : ys[r + 1], xs[c] : xs[c + 1]].mean() for r in range(4) for c in range(5)] for n in range(3)]
    )
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.dtype == np.float32 and got.shape == (3, 20)


def test_features_accumulate_across_chunks_and_check_size() -> None:
    rng = np.random.default_rng(51)
    frames = rng.integers(0, 256, (10, 54, 96, 3), dtype=np.uint8)
    acc = features_of(frames, chunk=3)
    assert acc.n_frames == 10 and acc.features.shape == (10, 27 * 48)
    np.testing.assert_array_equal(acc.features, luma_grid(frames, 27, 48))
    assert acc.cell_box(48 + 1) == (2, 4, 2, 4)
    with pytest.raises(ValueError, match="frame size changed"):
        acc.update(frames[:, :50])


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        detect_flashes(np.zeros((20, 4)), np.r_[np.arange(10), np.arange(10)] / 60.0, exposure_s=0.01, pulse_s=0.1)
    with pytest.raises(ValueError, match="n_frames = 19 timestamps"):
        detect_flashes(np.zeros((20, 4)), np.arange(19) / 60.0, exposure_s=0.01, pulse_s=0.1)


def test_flash_options_are_validated() -> None:
    with pytest.raises(ValueError, match=r"codec_sigma_fraction must be in \[0, 0.5\), got 0.5"):
        FlashOptions(codec_sigma_fraction=0.5)
    with pytest.raises(ValueError, match="max_events must be an integer >= 1"):
        FlashOptions(max_events=0)
    with pytest.raises(ValueError, match="min_score_sigmas must be > 0"):
        FlashOptions(min_score_sigmas=0.0)
