"""H.264 frames inside Zarr: quality, determinism, odd sizes, and the fast paths' bytes equal zarr's."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
import zarr.registry

from flexsync.frame_quality import psnr_db as psnr
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.direct_chunks import direct_chunk_writer
from flexsync.storage.video_codec import CODEC_NAME, H264Codec, decode_frames, encode_frames
from flexsync.storage.zarr_io import create_array, frame_codec_of, open_group_for_write


def textured_frames(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Fine moving luma texture, smooth colour and mild noise: what a camera sees (chroma is coarse)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    t = np.arange(n, dtype=np.float64)[:, None, None]
    luma = 110 + 50 * np.sin(2 * np.pi * (x / 21.0 + 0.02 * t)) * np.cos(2 * np.pi * y / 17.0)
    tint = np.stack([1.0 + 0.2 * np.sin(2 * np.pi * x / width), np.ones_like(x), 1.0 - 0.2 * y / height], axis=-1)
    frames = luma[..., None] * tint + rng.normal(0.0, 1.0, size=(n, height, width, 3))
    return np.clip(frames, 0, 255).round().astype(np.uint8)


def test_a_gop_round_trips_with_odd_sizes_and_the_same_bytes_every_time():
    frames = textured_frames(16, 57, 91)  # odd sizes: padded for 4:2:0, cropped back
    data = encode_frames(frames)
    assert data == encode_frames(frames)  # deterministic
    decoded = decode_frames(data)
    assert decoded.shape == frames.shape and decoded.dtype == np.uint8
    assert psnr(frames, decoded) > 36.0  # tiny frames at CRF 16 (455x256 footage: docs/frame-storage.md)
    assert len(data) < frames.nbytes / 10  # it is video compression, not a container of raw frames
    better = decode_frames(encode_frames(frames, crf=10))
    assert psnr(frames, better) > psnr(frames, decoded)  # lower CRF, better frames


def test_the_bytes_do_not_depend_on_what_else_is_in_memory():
    # x264's macroblock tree once made the same frames give different bitstreams after unrelated work
    frames = textured_frames(16, 128, 455)
    first = encode_frames(frames)
    for _ in range(6):
        _ = np.random.default_rng().bytes(3_000_000)
        encode_frames(frames, crf=10)
        assert encode_frames(frames) == first


def test_damaged_chunks_are_refused_with_what_is_wrong():
    data = encode_frames(textured_frames(4, 32, 48))
    with pytest.raises(ValueError, match=r"not a flexsync H\.264 chunk"):
        decode_frames(data[:-10])
    with pytest.raises(ValueError, match=r"not a flexsync H\.264 chunk"):
        decode_frames(b"JUNK" + data[4:])
    with pytest.raises(ValueError, match=r"must be \(n, H, W, 3\) uint8"):
        encode_frames(np.zeros((4, 32, 48), dtype=np.uint8))


def test_zarr_reads_the_codec_through_its_registry_and_partial_last_chunks(tmp_path):
    assert zarr.registry.get_codec_class(CODEC_NAME) is H264Codec
    frames = textured_frames(37, 40, 64)  # 2 whole chunks of 16 and a last one of 5
    group = open_group_for_write(tmp_path / "g.zarr")
    array = create_array(group, "frames", shape=frames.shape, dtype="uint8", chunks=(16, 40, 64, 3), compressor="h264")
    array[:] = frames
    assert frame_codec_of(array) == {"compressor": "h264", "h264_crf": 16, "h264_preset": "veryfast"}
    reopened = zarr.open_group(tmp_path / "g.zarr", mode="r")["frames"]
    assert reopened.metadata.codecs == (H264Codec(crf=16),)
    stored = reopened[:]
    assert psnr(frames, stored) > 36.0
    np.testing.assert_array_equal(reopened[20:23], stored[20:23])  # any window decodes the same frames
    # the loaders' fast reader decodes the same pixels as zarr
    reader = ZarrRowReader(tmp_path / "g.zarr")
    np.testing.assert_array_equal(reader.read_rows("frames", 10, 37), stored[10:37])


def test_the_direct_writer_writes_the_bytes_zarr_writes(tmp_path):
    clips = textured_frames(2 * 12, 24, 40).reshape(2, 12, 24, 40, 3)  # (samples, time, H, W, 3), one GOP per clip
    paths = {}
    for way in ("zarr", "direct"):
        group = open_group_for_write(tmp_path / f"{way}.zarr")
        array = create_array(
            group,
            "video",
            shape=clips.shape,
            dtype="uint8",
            chunks=(1, 12, 24, 40, 3),
            compressor="h264",
            write_empty_chunks=True,
        )
        if way == "zarr":
            array[:] = clips
        else:
            writer = direct_chunk_writer(array)
            assert writer is not None
            for i in range(2):
                writer.write(i, clips[i : i + 1])
        paths[way] = tmp_path / f"{way}.zarr" / "video"
    for name in ("c.0.0.0.0.0", "c.1.0.0.0.0"):
        assert (paths["zarr"] / name).read_bytes() == (paths["direct"] / name).read_bytes()
    decoded = zarr.open_group(tmp_path / "direct.zarr", mode="r")["video"][:]
    assert decoded.shape == clips.shape and psnr(clips, decoded) > 36.0
