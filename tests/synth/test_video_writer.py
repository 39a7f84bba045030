"""H.264 mp4 writing: exact variable-rate PTS, no B-frames, decodable content, byte-identical output."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType

from flexsync.synth.video_writer import VIDEO_TIME_BASE, Mp4Writer

WIDTH, HEIGHT = 96, 64
TICKS_60HZ = 1500  # 1/60 s in 1/90000 ticks


def irregular_pts(first_pts: int, rng: np.random.Generator, n: int = 90) -> np.ndarray:
    """60 fps with +-1 ms jitter, one dropped frame a third of the way in and two dropped at two thirds."""
    steps = TICKS_60HZ + rng.integers(-90, 91, n - 1)
    steps[n // 3] += TICKS_60HZ
    steps[2 * n // 3] += 2 * TICKS_60HZ
    return first_pts + np.concatenate([[0], np.cumsum(steps)])


def pattern_frames(n: int) -> np.ndarray:
    """Flat frames alternating dark / mid / bright in a pattern that is not periodic."""
    levels = np.array([30, 220, 120, 220, 30, 30, 180, 75])[np.arange(n) * 7 % 8]
    return np.repeat(levels.astype(np.uint8)[:, None, None, None], HEIGHT, 1).repeat(WIDTH, 2).repeat(3, 3)


def write(path: Path, frames: np.ndarray, pts: np.ndarray, **kwargs) -> None:
    with Mp4Writer(path, width=WIDTH, height=HEIGHT, average_rate_hz=60.0, **kwargs) as writer:
        for frame, p in zip(frames, pts, strict=True):
            writer.write(frame, int(p))


@pytest.mark.parametrize("first_pts", [0, 1500, 123457])
def test_pts_survive_exactly_with_gaps_and_jitter(tmp_path: Path, first_pts: int) -> None:
    pts = irregular_pts(first_pts, np.random.default_rng(first_pts))
    frames = pattern_frames(len(pts))
    path = tmp_path / "cam1.mp4"
    write(path, frames, pts)

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.time_base == Fraction(1, 90000)
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (WIDTH, HEIGHT)
        assert stream.codec_context.format.name == "yuv420p"
        assert stream.frames == len(pts)
        decoded_pts, decoded_time, means, picture_types = [], [], [], []
        for frame in container.decode(stream):
            decoded_pts.append(frame.pts)
            decoded_time.append(frame.time)
            means.append(frame.to_ndarray(format="rgb24").mean())
            picture_types.append(PictureType(frame.pict_type).name)
    assert decoded_pts == pts.tolist()
    np.testing.assert_allclose(decoded_time, pts / 90000, rtol=0, atol=1e-12)
    assert set(picture_types) <= {"I", "P"}
    assert picture_types[0] == "I"
    # The bright/dark pattern survives the yuv420p round trip within 1.5 grey levels.
    np.testing.assert_allclose(means, frames.reshape(len(pts), -1).mean(axis=1), atol=1.5)

    with av.open(str(path)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
    assert [p.pts for p in packets] == pts.tolist()
    assert all(p.dts == p.pts for p in packets)  # no B-frames: decode order is presentation order


def test_output_is_byte_identical_and_carries_no_wall_clock(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    pts = irregular_pts(3000, rng, n=40)
    frames = rng.integers(0, 256, (len(pts), HEIGHT, WIDTH, 3), dtype=np.uint8)
    write(tmp_path / "a.mp4", frames, pts)
    write(tmp_path / "b.mp4", frames, pts)
    data = (tmp_path / "a.mp4").read_bytes()
    assert hashlib.sha256(data).hexdigest() == hashlib.sha256((tmp_path / "b.mp4").read_bytes()).hexdigest()
    # mvhd: version/flags, then creation and modification time (seconds since 1904): both zero.
    mvhd = data.index(b"mvhd")
    assert data[mvhd + 4 : mvhd + 16] == bytes(12)
    assert b"Lavf" not in data  # bitexact muxing: no library version string
    write(tmp_path / "c.mp4", frames, pts + 1)
    assert (tmp_path / "c.mp4").read_bytes() != data  # the PTS really are in the file


def test_frames_are_encoded_as_they_come(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    path = tmp_path / "phone.mp4"
    partial = tmp_path / "phone.mp4.partial"
    with Mp4Writer(path, width=WIDTH, height=HEIGHT, average_rate_hz=30.0) as writer:
        for i in range(120):
            writer.write(rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8), 3000 * i)
        # x264 keeps only its lookahead in memory: most of the video is already on disk.
        assert partial.stat().st_size > 0.5 * 120 * 4000
        assert not path.exists()
    assert path.exists() and not partial.exists()


def test_an_error_inside_the_block_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "cam2.mp4"
    with (
        pytest.raises(RuntimeError, match="renderer failed"),
        Mp4Writer(path, width=WIDTH, height=HEIGHT, average_rate_hz=60.0) as writer,
    ):
        writer.write(pattern_frames(1)[0], 0)
        raise RuntimeError("renderer failed")
    assert list(tmp_path.iterdir()) == []


def test_non_increasing_pts_name_the_file_and_the_pts(tmp_path: Path) -> None:
    path = tmp_path / "cam3.mp4"
    frame = pattern_frames(1)[0]
    with Mp4Writer(path, width=WIDTH, height=HEIGHT, average_rate_hz=60.0) as writer:
        writer.write(frame, 1500)
        with pytest.raises(ValueError, match=r"cam3\.mp4: pts 1500 of frame 1 is not after the previous pts 1500"):
            writer.write(frame, 1500)
        with pytest.raises(ValueError, match=r"cam3\.mp4: pts 900 of frame 1 is not after the previous pts 1500"):
            writer.write(frame, 900)
        with pytest.raises(ValueError, match=r"pts must be a non-negative integer number of ticks, got 1600\.5"):
            writer.write(frame, 1600.5)
        with pytest.raises(ValueError, match=r"frame must be uint8 of shape \(64, 96, 3\), got uint8 \(64, 96, 4\)"):
            writer.write(np.zeros((HEIGHT, WIDTH, 4), np.uint8), 3000)
        writer.write(frame, 3000)
    writer.close()  # idempotent
    with pytest.raises(ValueError, match=r"cam3\.mp4: write\(\) after close\(\)"):
        writer.write(frame, 4500)
    with av.open(str(path)) as container:
        assert [f.pts for f in container.decode(video=0)] == [1500, 3000]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 95}, "width must be a positive even number of pixels"),
        ({"height": 63}, "height must be a positive even number of pixels"),
        ({"width": 0}, "width must be a positive even number of pixels"),
        ({"average_rate_hz": 0.0}, "average_rate_hz must be > 0"),
        ({"crf": 60}, r"crf must be in 0\.\.51"),
        ({"time_base": Fraction(7, 90000)}, "time_base must be 1/N"),
    ],
)
def test_bad_settings_are_rejected_before_a_file_exists(tmp_path: Path, kwargs: dict, message: str) -> None:
    settings = {"width": WIDTH, "height": HEIGHT, "average_rate_hz": 60.0} | kwargs
    with pytest.raises(ValueError, match=rf"bad\.mp4: .*{message}"):
        Mp4Writer(tmp_path / "bad.mp4", **settings)
    assert list(tmp_path.iterdir()) == []


def test_default_time_base_is_the_90khz_clock() -> None:
    assert Fraction(1, 90000) == VIDEO_TIME_BASE
