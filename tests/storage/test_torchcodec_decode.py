"""torchcodec decodes the stored H.264 GOPs to exactly PyAV's frames, in the same order, at the same times."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest
from test_video_codec import textured_frames

from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.decoder_choice import resolve_decoder, torchcodec_problem
from flexsync.storage.h264_order import presentation_order
from flexsync.storage.torchcodec_gop import RATE, decode_gop, gop_container
from flexsync.storage.video_codec import chunk_bitstream, decode_frames, decode_frames_tensor, encode_frames
from flexsync.storage.zarr_io import create_array, open_group_for_write

pytestmark = pytest.mark.skipif(torchcodec_problem() is not None, reason=str(torchcodec_problem()))


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def numbered_frames(n: int, height: int, width: int) -> np.ndarray:
    """Textured frames carrying their number k in two flat blocks: 20 + 9 (k mod 25) and 20 + 9 (k div 25)."""
    frames = textured_frames(n, height, width)
    k = np.arange(n)
    frames[:, :16, :16] = (20 + 9 * (k % 25)).astype(np.uint8)[:, None, None, None]
    frames[:, 16:32, :16] = (20 + 9 * (k // 25)).astype(np.uint8)[:, None, None, None]
    return frames


def frame_numbers(frames: np.ndarray) -> np.ndarray:
    """The numbers :func:`numbered_frames` wrote, read back from decoded (lossy) frames."""
    low, high = (np.rint((frames[:, y, 8].mean(axis=-1) - 20) / 9).astype(int) for y in (8, 24))
    return low + 25 * high


def pyav_decode_order(bitstream: bytes) -> np.ndarray:
    """Presentation index of each packet, from PyAV's decoder: packets get pts = decode index."""
    ctx = av.CodecContext.create("h264", "r")
    packets = [*ctx.parse(bitstream), *ctx.parse(None)]
    for i, packet in enumerate(packets):
        packet.pts = i
    shown = [frame.pts for packet in [*packets, None] for frame in ctx.decode(packet)]
    order = np.empty(len(shown), dtype=np.int64)
    order[np.array(shown)] = np.arange(len(shown))
    return order


@pytest.mark.parametrize(("n", "height", "width"), [(16, 57, 91), (103, 64, 96)])
def test_the_slice_headers_give_the_decoders_presentation_order(n, height, width):
    bitstream = chunk_bitstream(encode_frames(numbered_frames(n, height, width)))[3]
    ctx = av.CodecContext.create("h264", "r")
    order = presentation_order([bytes(p) for p in [*ctx.parse(bitstream), *ctx.parse(None)]])
    np.testing.assert_array_equal(order, pyav_decode_order(bitstream))
    assert (order != np.arange(n)).sum() >= n // 2  # B-frames: decode order is not presentation order


@pytest.mark.parametrize(("n", "height", "width"), [(16, 57, 91), (16, 256, 455), (103, 64, 96)])
def test_torchcodec_gives_pyavs_frames_in_order_at_frame_times(n, height, width):
    frames = numbered_frames(n, height, width)
    data = encode_frames(frames)
    _, _, _, bitstream = chunk_bitstream(data)
    reference = decode_frames(data, backend="pyav")
    decoded, pts = decode_gop(bitstream, n, height, width)
    assert tuple(decoded.shape) == (n, height, width, 3) and str(decoded.dtype) == "torch.uint8"
    np.testing.assert_array_equal(decoded.numpy(), reference)  # same decoder, same swscale: identical
    np.testing.assert_array_equal(frame_numbers(reference), np.arange(n))  # frame k is frame k
    np.testing.assert_array_equal(pts.numpy(), np.arange(n) / RATE)
    np.testing.assert_array_equal(decode_frames(data, backend="torchcodec"), reference)
    np.testing.assert_array_equal(decode_frames_tensor(data, backend="torchcodec").numpy(), reference)


def test_the_wrapped_gop_keeps_every_packet_and_starts_at_zero():
    n, height, width = 16, 57, 91
    bitstream = chunk_bitstream(encode_frames(numbered_frames(n, height, width)))[3]
    blob = gop_container(bitstream, width, height)
    with av.open(io.BytesIO(blob)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (92, 58)  # padded to even sizes, as encoded
        assert sorted(int(p.pts * p.time_base * RATE) for p in packets) == list(range(n))
        assert all(p.time_base * p.duration == Fraction(1, RATE) for p in packets)
    assert len(blob) < len(bitstream) + 2000  # a container of a few hundred bytes around the GOP


def test_auto_falls_back_to_pyav_when_torchcodec_does_not_load():
    assert resolve_decoder("auto") == "torchcodec"  # it loads here
    assert resolve_decoder("auto", torchcodec_loads=False) == "pyav"
    assert resolve_decoder("auto", "cuda", torchcodec_loads=False) == "pyav"
    assert resolve_decoder("pyav", torchcodec_loads=True) == "pyav"
    with pytest.raises(ImportError, match="decoder='torchcodec'"):
        resolve_decoder("torchcodec", torchcodec_loads=False)
    with pytest.raises(ValueError, match="decoder must be one of"):
        resolve_decoder("ffmpeg")
    with pytest.raises(ValueError, match="device must be one of"):
        resolve_decoder("auto", "tpu")


def test_the_reader_gives_the_same_rows_with_either_decoder(tmp_path):
    frames = numbered_frames(40, 48, 64)  # chunks of 16: 2 whole, 1 partial, and a missing one
    group = open_group_for_write(tmp_path / "r.zarr", attrs={})
    array = create_array(
        group, "frames", shape=(64, 48, 64, 3), dtype="uint8", chunks=(16, 48, 64, 3), compressor="h264"
    )
    array[:40] = frames
    pyav = ZarrRowReader(tmp_path, decoder="pyav")
    torchcodec = ZarrRowReader(tmp_path, decoder="torchcodec")
    fallback = ZarrRowReader(tmp_path, decoder=resolve_decoder("auto", torchcodec_loads=False))
    assert (pyav.decoder, torchcodec.decoder, fallback.decoder) == ("pyav", "torchcodec", "pyav")
    for start, stop in [(0, 16), (5, 37), (16, 64), (33, 34)]:
        expected = pyav.read_rows("r.zarr/frames", start, stop)
        np.testing.assert_array_equal(torchcodec.read_rows("r.zarr/frames", start, stop), expected)
        np.testing.assert_array_equal(fallback.read_rows("r.zarr/frames", start, stop), expected)
        tensor = torchcodec.read_rows_tensor("r.zarr/frames", start, stop)
        assert tuple(tensor.shape) == expected.shape
        np.testing.assert_array_equal(tensor.numpy(), expected)
    assert not pyav.read_rows("r.zarr/frames", 48, 64).any()  # never written: the fill value
    np.testing.assert_array_equal(frame_numbers(pyav.read_rows("r.zarr/frames", 0, 40)), np.arange(40))


@pytest.mark.skipif(not cuda_available(), reason="no CUDA device: NVDEC decoding is tested where a GPU exists")
def test_torchcodec_decodes_on_cuda_to_pyavs_frames():
    frames = numbered_frames(16, 256, 455)
    data = encode_frames(frames)
    reference = decode_frames(data)
    decoded = decode_frames_tensor(data, backend="torchcodec", device="cuda")
    assert decoded.device.type == "cuda" and tuple(decoded.shape) == reference.shape
    # Not measured here (no GPU): NVDEC's bitstream decode is exact, its YUV->RGB may differ by a level or two.
    difference = np.abs(decoded.cpu().numpy().astype(np.int16) - reference)
    assert difference.max() <= 3 and difference.mean() < 0.5
