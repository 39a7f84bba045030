"""H.264 inside Zarr: a chunk of frames stored as one closed group of pictures (libx264 through PyAV).

Why a Zarr codec and not a video file beside the arrays: every reader of frames (samples, loaders,
exports, xarray) keeps reading ``frames[a:b]`` from the array, and decodes only the chunks that
hold ``a:b``. A chunk of ``(n, H, W, 3)`` uint8 RGB frames is encoded as ONE closed GOP of ``n``
frames (the first an IDR frame carrying SPS/PPS, so every chunk decodes on its own): with chunks of
16 frames any frame is at most 15 decodes from a keyframe; a sample's 103-frame clip is one chunk,
decoded front to back with no seek. Frames are padded to even sizes for 4:2:0 chroma and cropped
on decode. The codec is libx264's and FFmpeg's (PyAV); this module only frames their bytes.

Encoding is deterministic (same frames, same bytes; tested under memory churn): one thread per
chunk, fixed options, and x264's macroblock-tree rate control off (with it on, the bitstream changed
with the contents of unrelated memory: 3 different outputs in 20 runs of the same 16 frames).
The codec registers itself with zarr under ``flexsync.h264`` when this module is imported (and
through the ``zarr.codecs`` entry point, so any zarr reader with flexsync installed decodes it).

Decoding is PyAV's by default; ``backend="torchcodec"`` (optional, CPU or CUDA:
:mod:`flexsync.storage.decoder_choice`, :mod:`flexsync.storage.torchcodec_gop`) gives the same frames.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Self

import av
import numpy as np
from av.video.reformatter import VideoReformatter
from zarr.abc.codec import ArrayBytesCodec
from zarr.core.array_spec import ArraySpec
from zarr.core.buffer import Buffer, NDBuffer
from zarr.registry import register_codec

from flexsync.storage.decoder_choice import resolve_decoder

__all__ = [
    "CODEC_NAME",
    "DEFAULT_CRF",
    "DEFAULT_PRESET",
    "H264Codec",
    "chunk_bitstream",
    "decode_chunk",
    "decode_frames",
    "decode_frames_tensor",
    "encode_chunk",
    "encode_frames",
]

CODEC_NAME = "flexsync.h264"
_MAGIC = b"FXH1"
_HEADER = struct.Struct("<4sIIII")  # magic, frames, height, width, bitstream bytes
DEFAULT_CRF = 16  # every realistic frame >= 40 dB (18: 11 of 384 below); docs/frame-storage.md
DEFAULT_PRESET = "veryfast"


def _even(n: int) -> int:
    return n + (n % 2)


def encode_frames(frames: np.ndarray, *, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET) -> bytes:
    """``(n, H, W, 3)`` uint8 RGB frames as one closed H.264 GOP (header + Annex B bitstream)."""
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"H.264 frames must be (n, H, W, 3) uint8, got {frames.dtype} {frames.shape}")
    n, height, width, _ = frames.shape
    padded_h, padded_w = _even(height), _even(width)
    if (padded_h, padded_w) != (height, width):
        frames = np.pad(frames, ((0, 0), (0, padded_h - height), (0, padded_w - width), (0, 0)), mode="edge")
    ctx = av.CodecContext.create("libx264", "w")
    ctx.width, ctx.height, ctx.pix_fmt = padded_w, padded_h, "yuv420p"
    ctx.time_base = Fraction(1, 30)
    ctx.framerate = Fraction(30, 1)
    ctx.thread_count = 1
    ctx.options = {
        "crf": str(int(crf)),
        "preset": preset,
        "x264-params": f"keyint={n}:min-keyint={n}:scenecut=0:threads=1:sliced-threads=0:mbtree=0",
    }
    parts: list[bytes] = []
    for i in range(n):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[i]), format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        parts.extend(bytes(packet) for packet in ctx.encode(frame))
    parts.extend(bytes(packet) for packet in ctx.encode(None))
    stream = b"".join(parts)
    return _HEADER.pack(_MAGIC, n, height, width, len(stream)) + stream


def chunk_bitstream(data: bytes | memoryview) -> tuple[int, int, int, bytes]:
    """``(frames, height, width, Annex B bitstream)`` of an :func:`encode_frames` chunk; ValueError if not one."""
    view = memoryview(data).cast("B")
    if len(view) < _HEADER.size:
        raise ValueError(f"H.264 chunk of {len(view)} bytes is shorter than its header")
    magic, n, height, width, size = _HEADER.unpack_from(view)
    if magic != _MAGIC or len(view) != _HEADER.size + size:
        raise ValueError(f"not a flexsync H.264 chunk (magic {magic!r}, {len(view)} bytes for {size} declared)")
    return n, height, width, bytes(view[_HEADER.size :])


def decode_frames(data: bytes | memoryview, *, out: np.ndarray | None = None, backend: str = "pyav") -> np.ndarray:
    """The ``(n, H, W, 3)`` uint8 RGB frames of :func:`encode_frames`' bytes (into ``out`` if given).

    ``backend``: ``"pyav"``, ``"torchcodec"`` (decoded on the CPU, copied into the array) or
    ``"auto"`` (:func:`~flexsync.storage.decoder_choice.resolve_decoder`). Both give the same frames.
    """
    n, height, width, bitstream = chunk_bitstream(data)
    if out is None:
        out = np.empty((n, height, width, 3), dtype=np.uint8)
    elif out.shape != (n, height, width, 3):
        raise ValueError(f"H.264 chunk holds {(n, height, width, 3)}, the buffer is {out.shape}")
    if resolve_decoder(backend) == "torchcodec":
        from flexsync.storage.torchcodec_gop import decode_gop

        out[...] = decode_gop(bitstream, n, height, width)[0].numpy()
        return out
    ctx = av.CodecContext.create("h264", "r")
    ctx.thread_count = 1
    to_rgb = VideoReformatter()  # one swscale context for the chunk: a new one per frame costs 2.6x the decode
    count = 0
    packets = [*ctx.parse(bitstream), *ctx.parse(None)]  # parse(None) flushes the last one
    for packet in [*packets, None]:
        for frame in ctx.decode(packet):
            if count < n:
                out[count] = to_rgb.reformat(frame, format="rgb24").to_ndarray()[:height, :width]
            count += 1
    if count != n:
        raise ValueError(f"H.264 chunk declares {n} frames, decoded {count}")
    return out


def decode_frames_tensor(data: bytes | memoryview, *, backend: str = "pyav", device: str = "cpu") -> Any:
    """The frames of :func:`decode_frames` as a uint8 ``(n, H, W, 3)`` torch tensor on ``device``.

    torchcodec decodes on ``device`` itself (NVDEC on ``"cuda"``); PyAV decodes on the CPU and the
    frames are copied to ``device``. Imports torch.
    """
    if resolve_decoder(backend, device) == "torchcodec":
        from flexsync.storage.torchcodec_gop import decode_gop

        n, height, width, bitstream = chunk_bitstream(data)
        return decode_gop(bitstream, n, height, width, device=device)[0]
    import torch

    return torch.from_numpy(decode_frames(data)).to(device)


def encode_chunk(chunk: np.ndarray, codec: H264Codec) -> bytes:
    """A Zarr chunk of shape ``(..., H, W, 3)``: its leading axes flattened into one GOP of frames."""
    return encode_frames(np.ascontiguousarray(chunk).reshape(-1, *chunk.shape[-3:]), crf=codec.crf, preset=codec.preset)


def decode_chunk(
    data: bytes | memoryview | np.ndarray,
    shape: tuple[int, ...],
    out: np.ndarray | None = None,
    *,
    backend: str = "pyav",
) -> np.ndarray:
    """The chunk of shape ``shape`` that :func:`encode_chunk` encoded (decoded into ``out`` if given)."""
    frames_shape = (int(np.prod(shape[:-3])), *shape[-3:])
    target = None if out is None else out.reshape(frames_shape)
    frames = decode_frames(data, out=target, backend=backend)
    if frames.shape != frames_shape:
        raise ValueError(f"H.264 chunk holds {frames.shape}, the array's chunks are {tuple(shape)}")
    return frames.reshape(shape) if out is None else out


@dataclass(frozen=True)
class H264Codec(ArrayBytesCodec):
    """Zarr v3 array-to-bytes codec: each chunk of ``(n, H, W, 3)`` uint8 frames is one H.264 GOP."""

    is_fixed_size = False

    crf: int = DEFAULT_CRF
    preset: str = DEFAULT_PRESET

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        configuration = dict(data.get("configuration") or {})
        return cls(
            crf=int(configuration.get("crf", DEFAULT_CRF)), preset=str(configuration.get("preset", DEFAULT_PRESET))
        )

    def to_dict(self) -> dict[str, Any]:
        return {"name": CODEC_NAME, "configuration": {"crf": self.crf, "preset": self.preset}}

    def validate(self, *, shape: tuple[int, ...], dtype: Any, chunk_grid: Any) -> None:
        native = dtype.to_native_dtype() if hasattr(dtype, "to_native_dtype") else np.dtype(dtype)
        if np.dtype(native) != np.uint8 or len(shape) < 4 or shape[-1] != 3:
            raise ValueError(f"{CODEC_NAME} stores (..., n, H, W, 3) uint8 frames, not {native} {shape}")

    async def _decode_single(self, chunk_bytes: Buffer, chunk_spec: ArraySpec) -> NDBuffer:
        return chunk_spec.prototype.nd_buffer.from_ndarray_like(
            decode_chunk(chunk_bytes.as_numpy_array(), chunk_spec.shape)
        )

    async def _encode_single(self, chunk_array: NDBuffer, chunk_spec: ArraySpec) -> Buffer | None:
        return chunk_spec.prototype.buffer.from_bytes(encode_chunk(chunk_array.as_numpy_array(), self))

    def compute_encoded_size(self, input_byte_length: int, _chunk_spec: ArraySpec) -> int:
        raise NotImplementedError("H.264 chunks have no fixed size")


register_codec(CODEC_NAME, H264Codec)
