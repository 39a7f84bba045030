"""A wrong calibration shows: republished with cam2 turned 40 degrees and the phone's entry gone.

The recording's staged streams and clock fit are hard-linked into a fresh store and its raw folder
into a fresh raw root (the calibration file replaced, never edited through a link), then published
again with :func:`publish_recording`: cam2's reprojected joints land outside its image and fail
``keypoints_in_image`` (a warning: the recording is still published), the phone gets no keypoints
and the publish says why.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from flexsync.config import PipelineSettings
from flexsync.ingest.align import publish_recording
from flexsync.ingest.recording import RawRecording
from flexsync.schemas.zarr_layout import check_recording_group
from flexsync.storage import Store
from flexsync.storage.atomic import link_or_copy_tree


@pytest.fixture(scope="module")
def miscalibrated(pose_store, tmp_path_factory):
    key = pose_store.key
    base = tmp_path_factory.mktemp("miscalibrated")
    raw, store = base / "raw", Store(base / "store")
    link_or_copy_tree(pose_store.raw, raw)
    link_or_copy_tree(pose_store.store.root / "staging" / key, store.root / "staging" / key)
    path = raw / "recordings" / key / "calibration.json"
    calibration = json.loads(path.read_text(encoding="utf-8"))
    turn = cv2.Rodrigues(np.array([0.0, np.deg2rad(40.0), 0.0]))[0]  # about the camera's vertical axis
    cam2 = calibration["cameras"]["cam2"]
    cam2["R"], cam2["t"] = (turn @ np.array(cam2["R"])).tolist(), (turn @ np.array(cam2["t"])).tolist()
    del calibration["cameras"]["phone"]
    path.unlink()  # a new file: the original stays untouched behind its hard link
    path.write_text(json.dumps(calibration), encoding="utf-8")
    result = publish_recording(RawRecording.open(raw, key), store, PipelineSettings(frame_codec="zstd"))
    return store, key, result


def test_a_gross_miscalibration_fails_the_check_and_names_the_view(miscalibrated):
    store, key, result = miscalibrated
    checks = {c.name: c for c in result.checks}
    assert checks["zarr_layout"].passed and checks["tables_schema"].passed
    check = checks["keypoints_in_image"]
    assert not check.passed and check.severity == "warn"
    assert check.metadata["failing_views"] == ["cam2"]
    fractions = check.metadata["outside_fraction"]
    assert sorted(fractions) == ["cam1", "cam2", "cam3", "cam4"]
    assert fractions["cam2"] > 0.9 and max(fractions[v] for v in ("cam1", "cam3", "cam4")) == 0.0
    frames = store.open_recording(key)["streams/cam2/t"].shape[0]
    assert check.metadata["n_outlier_frames"]["cam2"] > 0.9 * frames
    listed = check.metadata["outlier_frames"]["cam2"]  # the first 20, by frame index
    assert len(listed) == 20 and listed == sorted(listed) and listed[-1] < frames
    assert "failing views: cam2" in check.description and "view phone has no calibration entry" in check.description


def test_an_uncalibrated_view_is_published_without_keypoints_and_a_warning(miscalibrated):
    store, key, result = miscalibrated
    assert result.warnings == [f"recording {key}: view phone has no calibration entry, so it gets no 2D keypoints"]
    rec = store.open_recording(key)
    assert "keypoints_2d" not in rec["streams/phone"] and "keypoints_visible" not in rec["streams/phone"]
    assert "keypoints_2d" in rec["streams/cam2"]
    assert check_recording_group(rec) == []
    rows = {row[0]: row for row in result.metadata["reprojection"].rows}
    assert sorted(rows) == ["cam1", "cam2", "cam3", "cam4"] and rows["cam2"][3] > 0.9
    assert result.metadata["overlay_preview"].path == store.report_file(key, "overlay.png")
    assert result.metadata["overlay_preview"].path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
