"""The overlay renderer on small hand-made views: layout of the sheet and the clip, the drawing, determinism."""

from __future__ import annotations

import io

import av
import cv2
import numpy as np
import pytest

from flexsync.ingest import overlay
from flexsync.ingest.overlay import (
    Moment,
    OverlayView,
    choose_moments,
    clip_window,
    render_clip,
    render_contact_sheet,
    sync_event_times,
)
from flexsync.skeleton import JOINT_NAMES, N_JOINTS

H, W, N = 90, 160, 40  # stored frames, smaller than a tile: drawn at their own size


def _view(name: str, t0: float, keypoints: bool = True) -> OverlayView:
    frames = np.full((N, H, W, 3), 90, dtype=np.uint8)
    frames[:, :, :, 2] = np.arange(N, dtype=np.uint8)[:, None, None] * 5  # each frame its own blue level
    t = t0 + np.arange(N) / 20.0
    xy = np.zeros((N, N_JOINTS, 2), dtype=np.float32)
    xy[:, :, 0] = np.linspace(30, 130, N_JOINTS)[None, :]
    xy[:, :, 1] = np.linspace(10, 80, N_JOINTS)[None, :]
    visible = np.ones((N, N_JOINTS), dtype=bool)
    visible[:, JOINT_NAMES.index("head")] = False
    return OverlayView(name, frames, t, 1.5 / 20.0, xy if keypoints else None, visible if keypoints else None)


def _decode_png(data: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_moments_events_and_window():
    assert sync_event_times([1.0, 1.002, 0.999, float("nan"), 9.0, 9.001]) == pytest.approx([1.0, 9.0005], abs=1e-12)
    moments = choose_moments(0.0, 8.0, [0.5, 7.9], spread=4)
    assert [(m.t, m.title) for m in moments] == [
        (0.5, "sync 1"),
        (1.0, ""),
        (3.0, ""),
        (5.0, ""),
        (7.0, ""),
        (7.9, "sync 2"),
    ]
    assert clip_window(2.0, 12.0, 3.0) == (5.5, 8.5)
    assert clip_window(2.0, 3.0, 3.0) == (2.0, 3.0)


def test_contact_sheet_layout_drawing_and_determinism():
    views = [_view("cam1", 0.0), _view("cam2", 0.5, keypoints=False)]
    moments = [Moment(0.25, "sync 1"), Moment(1.0), Moment(0.1)]  # 0.1 s: before cam2's first frame
    png = render_contact_sheet(views, moments)
    assert render_contact_sheet(views, moments) == png
    sheet = _decode_png(png)
    gap, label_w, header_h = overlay._GAP, overlay._LABEL_W, overlay._HEADER_H
    assert sheet.shape == (header_h + 2 * (H + gap), label_w + 3 * (W + gap), 3)
    y1, y2 = header_h, header_h + H + gap
    x = [label_w + c * (W + gap) for c in range(3)]
    # cam1 at t = 1.0 s shows frame 20 (its blue level), cam2 at 0.1 s has no frame (grey tile)
    assert sheet[y1 + 2, x[1] + 2].tolist() == [90, 90, 100]
    assert sheet[y2 + 2, x[2] + 2].tolist() == [48, 48, 48]
    # the skeleton is drawn on cam1 (left-side joints in their colour), not on cam2, which has no keypoints
    l_hip = JOINT_NAMES.index("l_hip")
    cx, cy = (round(float(v)) for v in views[0].keypoints[0, l_hip])
    assert sheet[y1 + cy, x[0] + cx].tolist() == list(overlay._LEFT)
    tile2 = sheet[y2 : y2 + H, x[1] : x[1] + W]
    assert not np.any(np.all(tile2 == overlay._LEFT, axis=-1))


def test_clip_tiles_every_view_at_the_clip_rate():
    views = [_view(f"cam{i}", 0.0) for i in range(1, 4)]
    data = render_clip(views, 0.2, 1.2, rate_hz=10.0)
    assert render_clip(views, 0.2, 1.2, rate_hz=10.0) == data
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert len(frames) == 10
    assert frames[0].shape == (2 * H, 2 * W, 3)  # 3 views: 2 x 2 tiles, one left empty
    # the clip advances: frame k shows source frame round((0.2 + k / 10) * 20) (blue level 5 per frame)
    blues = [int(np.median(f[40:50, 150:158, 2])) for f in (frames[0], frames[-1])]
    assert abs(blues[0] - 4 * 5) <= 3 and abs(blues[1] - 22 * 5) <= 3
