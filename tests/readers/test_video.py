"""Video: PTS from packets equal ffprobe's and the decoder's; frames decoded in reused chunks."""

from __future__ import annotations

import json
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers.registry import read_file
from flexsync.readers.video import decode_and_convert, decode_only, iter_frames, probe_video

from .conftest import write_video

MP4 = "nasa_13013.mp4"


@pytest.fixture(scope="module")
def stream3(real_data):
    return probe_video(real_data / MP4, stream_index=3)


def test_stream3_timestamps_equal_ffprobe(real_data, stream3):
    frames = json.loads((real_data / f"{MP4}.frames.json").read_text())
    ffprobe = np.array([float(f["pts_time"]) for f in frames])
    assert ffprobe.size == 390 == stream3.n_frames
    # ffprobe prints pts_time with 6 decimals: ours, printed the same way, are the same numbers.
    np.testing.assert_allclose(np.round(stream3.timestamps_s, 6), ffprobe, rtol=0, atol=1e-9)
    # and the unrounded values are exact multiples of 1001/30000 s (29.97 fps, time base 1/30000).
    np.testing.assert_allclose(stream3.timestamps_s, np.arange(390) * 1001 / 30000, rtol=0, atol=1e-12)
    assert stream3.metadata["time_base"] == "1/30000"
    assert (stream3.codec, stream3.width, stream3.height) == ("h264", 480, 270)
    assert stream3.nominal_rate_hz == pytest.approx(30000 / 1001, abs=1e-12)
    assert stream3.rotation_deg == 0 and not stream3.metadata["variable_frame_rate"]
    assert stream3.warnings == []


def test_both_video_streams_probed(real_data):
    contents = read_file(real_data / MP4, options={"stream_index": "all", "name": "clip"})
    assert sorted(contents.videos) == ["clip_0", "clip_3"]
    v0, v3 = contents.videos["clip_0"], contents.videos["clip_3"]
    assert (v0.stream_index, v0.n_frames, v0.width, v0.nominal_rate_hz) == (0, 325, 320, 25.0)
    np.testing.assert_allclose(v0.timestamps_s, np.arange(325) / 25.0, rtol=0, atol=1e-12)
    assert (v3.stream_index, v3.n_frames, v3.width) == (3, 390, 480)
    assert [s["type"] for s in contents.metadata["streams"]] == ["video", "audio", "subtitle"] * 2


def test_default_is_first_video_stream_with_a_warning(real_data):
    contents = read_file(real_data / MP4, format="mp4", options={"name": "cam1"})
    video = contents.videos["cam1"]
    assert video.stream_index == 0 and video.n_frames == 325
    assert any("2 video streams" in w for w in video.warnings)


def test_non_video_stream_index_is_rejected(real_data):
    with pytest.raises(InputFileError, match=r"nasa_13013\.mp4.*stream 1 is not a video stream; .* 0, 3"):
        probe_video(real_data / MP4, stream_index=1)


def test_decoded_pts_match_probe_and_chunks(stream3):
    chunks = []
    for chunk in iter_frames(stream3, width=96, height=54, chunk_frames=16):
        assert chunk.frames.shape[1:] == (54, 96, 3) and chunk.frames.dtype == np.uint8
        np.testing.assert_array_equal(
            chunk.timestamps_s, stream3.timestamps_s[chunk.start_index : chunk.start_index + chunk.n_frames]
        )
        chunks.append((chunk.start_index, chunk.n_frames))
    assert len(chunks) == 25  # 24 full chunks of 16 and one of 6
    assert chunks[-1] == (384, 6)
    assert sum(n for _, n in chunks) == 390
    assert decode_only(stream3) == 390
    assert decode_and_convert(stream3, 96, 54) == 390


def test_resized_frames_match_cv2_area(real_data, stream3):
    width, height = 160, 90
    wanted = {0, 5, 200, 389}
    ours = {}
    buffer = np.empty((16, height, width, 3), np.uint8)
    for chunk in iter_frames(stream3, width=width, height=height, out=buffer):
        assert np.shares_memory(chunk.frames, buffer)
        for i in wanted & set(range(chunk.start_index, chunk.start_index + chunk.n_frames)):
            ours[i] = chunk.frames[i - chunk.start_index].astype(np.float64)
    with av.open(str(real_data / MP4)) as container:
        for i, frame in enumerate(container.decode(container.streams[3])):
            if i in wanted:
                full = frame.to_ndarray(format="rgb24")
                ref = cv2.resize(full, (width, height), interpolation=cv2.INTER_AREA).astype(np.float64)
                assert np.abs(ours[i].mean(axis=(0, 1)) - ref.mean(axis=(0, 1))).max() < 2.0
                assert np.abs(ours[i] - ref).mean() < 3.0
    # frame 200 is bright footage, frame 0 nearly black: the comparison is not trivially satisfied
    assert ours[200].mean() > 60 and ours[0].mean() < 20


def test_variable_frame_rate_and_gaps(tmp_path):
    rng = np.random.default_rng(3)
    pts_s = np.cumsum(np.r_[0.0, rng.uniform(0.028, 0.039, 40)])
    pts_s = np.delete(pts_s, [20, 21])  # two dropped frames
    path = tmp_path / "phone.mp4"
    written = write_video(path, pts_s)
    video = probe_video(path)
    np.testing.assert_allclose(video.timestamps_s, written / 90000, rtol=0, atol=1e-12)
    assert video.metadata["time_base"] == "1/90000"
    assert video.metadata["variable_frame_rate"] is True
    assert any("gaps" in w for w in video.warnings)
    # every decoded frame keeps its pts and its grey level (frame k was written with 10 + 5k; neighbours differ by 5)
    levels = [c.frames.mean(axis=(1, 2, 3)) for c in iter_frames(video, width=32, height=24, chunk_frames=7)]
    np.testing.assert_allclose(np.concatenate(levels), 10 + 5 * np.arange(video.n_frames), atol=2.5)


def test_rotation_is_reported_not_applied(tmp_path):
    path = tmp_path / "portrait.mov"
    write_video(path, np.arange(5) / 30, width=64, height=48, rotation_deg=90, time_base=Fraction(1, 30))
    video = read_file(path).videos["portrait"]
    assert video.rotation_deg == 90
    assert (video.width, video.height) == (64, 48)
    chunk = next(iter_frames(video, width=64, height=48))
    assert chunk.frames.shape == (5, 48, 64, 3)


def test_bad_out_buffer_is_rejected(stream3):
    with pytest.raises(ValueError, match=r"out must be .* shape \(16, 54, 96, 3\)"):
        next(iter_frames(stream3, width=96, height=54, out=np.empty((16, 54, 96, 3), np.float32)))


def test_truncated_video_is_rejected(real_data, tmp_path, halve):
    path = halve(real_data / MP4, tmp_path)
    with pytest.raises(InputFileError, match=r"nasa_13013\.mp4: cannot open as a video container"):
        read_file(path)


def test_garbage_video_is_rejected(tmp_path, garbage):
    path = garbage(tmp_path, "cam1.mp4")
    with pytest.raises(InputFileError, match=r"cam1\.mp4: cannot open as a video container"):
        read_file(path)


def test_missing_frames_at_decode_are_reported(tmp_path):
    path = tmp_path / "short.mp4"
    write_video(path, np.arange(12) / 30)
    video = probe_video(path)
    video.timestamps_s = np.r_[video.timestamps_s, 12 / 30]  # claim one frame more than the file has
    with pytest.raises(InputFileError, match=r"short\.mp4: stream 0: decoded 12 frames, probed 13"):
        decode_only(video)
    video.timestamps_s = video.timestamps_s[:-1].copy()
    video.timestamps_s[4] += 1 / 90  # a pts the decoder will not produce
    with pytest.raises(InputFileError, match=r"short\.mp4: stream 0: frame 4 decoded with pts"):
        decode_only(video)
