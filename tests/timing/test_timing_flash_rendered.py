"""LED flash timing on video the real generator renders, H.264-encodes and the reader decodes.

The generator's frames go through everything the pipeline's do: cv2-drawn body and LED disc,
H.264 at a low bitrate (partial-frame brightness is quantised towards the previous frame, small
changes skipped), decoding and swscale resizing to 455 x 256, then ``FlashFeatures``. Truth
(``truth.json``) gives each view's flash onsets on its own clock. Both flashes must be found in
every view, within 2 ms (cinema, exposure 1/60 s) or 5 ms (phone, 1/30 s, variable frame rate),
and within 3 standard uncertainties.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flexsync.raw.layout import RECORDINGS_DIR, TRUTH_FILE
from flexsync.readers.video import iter_frames, probe_video
from flexsync.synth.dataset import generate_dataset
from flexsync.synth.options import SynthOptions
from flexsync.synth.truth import RecordingTruth
from flexsync.timing import FlashEvents, FlashFeatures, detect_flashes

VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")
MAX_ERROR_S = {"cinema": 2e-3, "phone": 5e-3}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RecordingTruth]:
    root = tmp_path_factory.mktemp("flash_rendered")
    options = SynthOptions(subjects=1, actions=("A01",), repetitions=2, width=320, height=180)
    (key,) = generate_dataset(root / "raw", root / "truth", options)
    return root / "raw" / RECORDINGS_DIR / key, RecordingTruth.read(root / "truth" / key / TRUTH_FILE)


def detect(recording: Path, view: str, exposure_s: float) -> tuple[FlashEvents, np.ndarray]:
    video = probe_video(recording / "video" / f"{view}.mp4", name=view)
    acc = FlashFeatures()
    for chunk in iter_frames(video, width=455, height=256, chunk_frames=32):
        acc.update(chunk.frames)
    pts = np.asarray(video.timestamps_s)
    return detect_flashes(acc, pts, exposure_s=exposure_s, pulse_s=0.1, stream=view), pts


@pytest.mark.parametrize("view", VIEWS)
def test_both_flashes_timed_within_budget_and_uncertainty(rendered: tuple[Path, RecordingTruth], view: str) -> None:
    recording, truth = rendered
    st = truth.stream(view)
    assert st.exposure_s is not None and not st.extra.get("missed_flashes")
    ev, pts = detect(recording, view, st.exposure_s)
    true_onsets = np.array(st.event_device_times_s)
    assert ev.n == 2 and ev.which == ("start", "end")
    err = np.abs(ev.onset_s - true_onsets)
    kind = "phone" if view == "phone" else "cinema"
    assert np.all(err < MAX_ERROR_S[kind]), (view, err)
    assert np.all(err <= 3.0 * ev.uncertainty_s), (view, err, ev.uncertainty_s)
    # Honest but not padded: a partial frame pins the edge, so the standard uncertainty stays a
    # small fraction of the exposure (coding floor 3.5 % of it, plus the frame noise).
    assert np.all(ev.uncertainty_s < 0.1 * st.exposure_s), (view, ev.uncertainty_s)
    # The first lit frame is the one whose exposure contains (or first follows) the onset.
    first_lit = np.searchsorted(pts + st.exposure_s, true_onsets, side="right")
    assert np.all(np.abs(ev.first_lit_index - first_lit) <= 1)
    np.testing.assert_allclose(ev.offset_s, true_onsets + truth.sync_pulse_s, atol=MAX_ERROR_S[kind])
