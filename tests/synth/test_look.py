"""The realistic camera look (flexsync.synth.look): noise model, rolling shutter, determinism; flat unchanged.

The noise and rolling-shutter tests drive ``CameraLook`` directly on uniform renders (milliseconds);
the determinism tests generate tiny recordings (64 x 96 frames, one repetition).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from flexsync.raw.layout import RECORDINGS_DIR
from flexsync.raw.manifest import read_manifest
from flexsync.synth.dataset import generate_dataset
from flexsync.synth.look import CINEMA_SENSOR, PHONE_SENSOR, SENSOR_LINES, CameraLook, SensorProfile
from flexsync.synth.options import SynthOptions

TINY = dict(
    seed=3,
    subjects=1,
    actions=("A01", "A13"),
    repetitions=1,
    width=96,
    height=64,
    phone_width=64,
    phone_height=96,
    max_start_spread_s=0.5,
    lead_in_s=1.6,
    lead_out_s=1.4,
)
# sha256 over (relative path, bytes) of every raw and truth file of SynthOptions(**TINY), computed
# with main's code before the look option existed (same libx264 / PyAV as the venv).
FLAT_DIGEST = "b7f28d782dff1426ef46afba3538f744f3b1873a1ecaf1512959118e6cf06bcb"


def _tree_digest(*roots: Path) -> str:
    h = hashlib.sha256()
    for root in roots:
        for p in sorted(q for q in root.rglob("*") if q.is_file()):
            h.update(p.relative_to(root).as_posix().encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _generate(base: Path, options: SynthOptions, workers: int = 1) -> str:
    generate_dataset(base / "raw", base / "truth", options, workers=workers)
    return _tree_digest(base / "raw", base / "truth")


def test_flat_look_is_byte_for_byte_what_main_generated(tmp_path: Path) -> None:
    assert SynthOptions().look == "flat"
    assert _generate(tmp_path / "a", SynthOptions(**TINY, look="flat")) == FLAT_DIGEST
    assert "look" not in SynthOptions(**TINY).to_dict()  # dataset.json as before the option


def test_realistic_look_is_deterministic_with_any_worker_count(tmp_path: Path) -> None:
    options = SynthOptions(**TINY, look="realistic")
    one = _generate(tmp_path / "one", options, workers=1)
    two = _generate(tmp_path / "two", options, workers=2)
    assert one == two
    assert one != FLAT_DIGEST
    manifest = read_manifest(tmp_path / "one" / "raw" / RECORDINGS_DIR / "S01_A01_T1")
    assert manifest.streams["phone"].options["rolling_shutter_s"] == PHONE_SENSOR.readout_s
    assert "rolling_shutter_s" not in manifest.streams["cam1"].options  # global shutter
    assert SynthOptions(**TINY, look="realistic").to_dict()["look"] == "realistic"


def test_unknown_look_is_refused() -> None:
    with pytest.raises(ValueError, match="look must be one of flat, realistic, got 'grainy'"):
        SynthOptions(look="grainy")


def _look(shape: tuple[int, int, int], sensor: SensorProfile, exposure_s: float, **kw) -> CameraLook:
    defaults = dict(led_centre_px=np.array([shape[1] / 2, shape[0] / 2]), led_radius_px=3.0, led_rgb=np.zeros(3))
    return CameraLook(shape, exposure_s=exposure_s, sensor=sensor, rng=np.random.default_rng(7), **(defaults | kw))


@pytest.mark.parametrize(("exposure_s", "grey"), [(1 / 60, 60), (1 / 60, 160), (1 / 240, 100)])
def test_frame_difference_variance_matches_the_noise_model(exposure_s: float, grey: int) -> None:
    """Static scene: var(frame - next frame) / 2 = shot (gain * shot_dn * signal) + read ((gain * read)^2), binned."""
    sensor = replace(CINEMA_SENSOR, shot_dn=0.5, read_noise_dn=3.0, vignetting=0.0)
    shape = (128, 160, 3)
    look = _look(shape, sensor, exposure_s)
    renders = np.full((sensor.n_sub, *shape), grey, dtype=np.uint8)
    levels = np.zeros(len(look.led_rows))
    a = look.frame(renders, 1.0, levels, np.empty(shape, np.uint8)).astype(np.float64)
    b = look.frame(renders, 1.0, levels, np.empty(shape, np.uint8)).astype(np.float64)
    signal = 0.5 * (a + b)  # the noise-free level (lighting gradient included), to within the noise
    gain = sensor.reference_exposure_s / exposure_s
    binning = (min(shape[:2]) / SENSOR_LINES) ** 2
    model = binning * (gain * sensor.shot_dn * signal + (gain * sensor.read_noise_dn) ** 2) + 1.0 / 12.0
    measured = np.mean((a - b) ** 2) / 2.0
    assert measured == pytest.approx(float(model.mean()), rel=0.06)
    assert measured > 3.0 / 12.0  # the noise dominates the 8-bit quantisation here


def test_noise_grows_with_signal_and_with_shorter_exposure() -> None:
    sensor = replace(CINEMA_SENSOR, vignetting=0.0, shot_dn=0.5, read_noise_dn=1.0)
    shape = (96, 96, 3)

    def diff_var(grey: int, exposure_s: float) -> float:
        look = _look(shape, sensor, exposure_s)
        renders = np.full((sensor.n_sub, *shape), grey, dtype=np.uint8)
        frames = [look.frame(renders, 0.0, np.zeros(len(look.led_rows)), np.empty(shape, np.uint8)) for _ in (0, 1)]
        return float(np.var(frames[0].astype(float) - frames[1]))

    assert diff_var(180, 1 / 60) > 2.0 * diff_var(40, 1 / 60)  # shot noise: variance ~ signal
    assert diff_var(100, 1 / 240) > 3.0 * diff_var(100, 1 / 60)  # 4x gain: 4x shot variance, 16x read


def test_rolling_shutter_lights_only_the_rows_read_out_after_the_flash_starts() -> None:
    """LED on from mid-readout: rows exposed wholly before stay dark, later rows light up by their overlap."""
    sensor = replace(PHONE_SENSOR, shot_dn=0.0, read_noise_dn=0.0, vignetting=0.0, auto_exposure=False)
    h, w = 96, 64
    exposure, readout = 0.002, sensor.readout_s  # rows ramp from dark to lit over 9.6 rows
    look = _look(
        (h, w, 3),
        sensor,
        exposure,
        led_centre_px=np.array([32.0, 48.0]),
        led_radius_px=20.0,
        led_rgb=np.array([150.0, 150.0, 150.0]),
    )
    on = 0.5 * readout + exposure  # row 48's exposure ends exactly when the LED comes on
    levels = look.led_row_levels(np.array([0.0]), np.array([exposure]), [(on, on + 0.1)])[0]
    row_start = look.led_rows / h * readout
    expected = np.clip((row_start + exposure - on) / exposure, 0.0, 1.0)
    np.testing.assert_allclose(levels, expected, atol=1e-12)
    assert np.all(levels[look.led_rows <= 48] == 0.0)
    np.testing.assert_allclose(levels[look.led_rows >= 58], 1.0, rtol=1e-12)
    renders = np.full((sensor.n_sub, h, w, 3), 40, dtype=np.uint8)
    lit = look.frame(renders, 0.0, levels, np.empty((h, w, 3), np.uint8)).astype(float)
    dark = look.frame(renders, 0.0, np.zeros_like(levels), np.empty((h, w, 3), np.uint8)).astype(float)
    added = (lit - dark)[:, 32, 1]  # the LED's light down the disc's middle column (no noise here)
    assert np.all(added[30:49] == 0.0)  # upper half of the disc: exposed before the onset, dark
    assert np.all(added[58:67] == 150.0)  # rows read out well after the onset: fully lit
    rows = np.arange(49, 58)
    np.testing.assert_allclose(added[rows], np.rint(150.0 * expected[np.isin(look.led_rows, rows)]), atol=1.0)


def test_global_shutter_weights_every_sub_render_equally_and_rolling_shutter_skews_them() -> None:
    cinema = _look((60, 80, 3), CINEMA_SENSOR, 1 / 60)
    np.testing.assert_allclose(cinema.sub_offsets_s, (np.arange(3) + 0.5) / 3 / 60)
    phone = _look((60, 80, 3), PHONE_SENSOR, 1 / 30)
    assert phone.sub_offsets_s[-1] > 1 / 30  # renders reach into the last rows' exposure
    w = phone._weights[:, 0, 0, :]
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-6)
    assert w[0, -1] == 0.0 and w[-1, 0] < w[0, 0]  # the top row never sees the last render
