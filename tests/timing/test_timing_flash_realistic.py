"""LED flash timing on the realistic look: sensor noise, motion blur, AE drift and the phone's rolling shutter.

A realistic recording (``SynthOptions(look="realistic")``: noise, blur, vignetting, camera-like
bitrates, a phone read out row by row in ``rolling_shutter_s``) is decoded and resized like the
pipeline does. With the readout modelled (``detect_flashes(readout_s=...)``) the phone's onsets stay
a small fraction of its 33 ms frame from the truth; ignoring it shifts them by the LED rows' delay.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flexsync.raw.layout import RECORDINGS_DIR, TRUTH_FILE
from flexsync.raw.manifest import read_manifest
from flexsync.readers.video import iter_frames, probe_video
from flexsync.synth.dataset import generate_dataset
from flexsync.synth.options import SynthOptions
from flexsync.synth.truth import RecordingTruth
from flexsync.timing import FlashFeatures, detect_flashes


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RecordingTruth]:
    root = tmp_path_factory.mktemp("flash_realistic")
    options = SynthOptions(
        subjects=1, actions=("A01",), repetitions=1, width=320, height=180, cinema_cameras=1, look="realistic"
    )
    (key,) = generate_dataset(root / "raw", root / "truth", options)
    return root / "raw" / RECORDINGS_DIR / key, RecordingTruth.read(root / "truth" / key / TRUTH_FILE)


def _features(recording: Path, view: str) -> tuple[FlashFeatures, np.ndarray]:
    video = probe_video(recording / "video" / f"{view}.mp4", name=view)
    acc = FlashFeatures()
    size = (455, 256) if video.width > video.height else (256, 455)
    for chunk in iter_frames(video, width=size[0], height=size[1], chunk_frames=32):
        acc.update(chunk.frames)
    return acc, np.asarray(video.timestamps_s)


def test_phone_onsets_with_the_rolling_shutter_modelled(realistic: tuple[Path, RecordingTruth]) -> None:
    recording, truth = realistic
    readout = read_manifest(recording).streams["phone"].options["rolling_shutter_s"]
    assert readout > 0
    st = truth.stream("phone")
    acc, pts = _features(recording, "phone")
    kw = dict(exposure_s=st.exposure_s, pulse_s=truth.sync_pulse_s, stream="phone")
    ev = detect_flashes(acc, pts, readout_s=readout, **kw)
    true_onsets = np.array(st.event_device_times_s)
    assert ev.n == 2 and ev.which == ("start", "end")
    err = np.abs(ev.onset_s - true_onsets)
    assert np.all(err < 0.06 * st.exposure_s), err  # < 2 ms of a 33 ms exposure
    # Ignoring the readout times the LED's rows as if exposed with the first row: early by their delay.
    rows = np.array([r for r, _ in ev.cell_rc])
    delay = readout * (rows.mean() + 0.5) / acc.grid_shape[0]
    global_shutter = detect_flashes(acc, pts, **kw)
    np.testing.assert_allclose(ev.onset_s - global_shutter.onset_s, delay, atol=0.25 * delay)
    assert delay > 2e-3


def test_cinema_onsets_through_noise_and_blur(realistic: tuple[Path, RecordingTruth]) -> None:
    recording, truth = realistic
    st = truth.stream("cam1")
    acc, pts = _features(recording, "cam1")
    ev = detect_flashes(acc, pts, exposure_s=st.exposure_s, pulse_s=truth.sync_pulse_s, stream="cam1")
    assert ev.n == 2
    err = np.abs(ev.onset_s - np.array(st.event_device_times_s))
    assert np.all(err < 2e-3), err
    assert np.all(err <= 3.0 * ev.uncertainty_s), (err, ev.uncertainty_s)


def test_readout_needs_the_grid_shape_and_a_sane_value() -> None:
    x, t = np.zeros((20, 4), np.float32), np.arange(20) / 30.0
    with pytest.raises(ValueError, match="needs grid_shape"):
        detect_flashes(x, t, exposure_s=0.03, pulse_s=0.1, readout_s=0.02)
    with pytest.raises(ValueError, match="readout_s must be >= 0"):
        detect_flashes(x, t, exposure_s=0.03, pulse_s=0.1, readout_s=-1.0, grid_shape=(2, 2))
