"""Decode one stored H.264 GOP with torchcodec, on the CPU or a CUDA device.

torchcodec's ``VideoDecoder`` reads a container, not a bare bitstream: given the Annex B bytes of a
chunk it stops on "the maximum pts value in seconds is unknown" (no timestamps), and its exact
mode cannot seek in a raw stream. So the GOP is first wrapped, in memory, in a tiny MP4 written
with PyAV's muxer (no re-encoding; about 1 ms for 16 frames of 455x256): one packet per picture,
with presentation timestamps from the slice headers (:mod:`flexsync.storage.h264_order`: with
B-frames decode order is not presentation order) at 30 frames/s, so frame ``k`` of the chunk is
played at ``k / 30`` s. MP4 keeps the first pts at 0 (an edit list absorbs the B-frame delay);
NUT shifts it. Frames come back as uint8 ``(n, H, W, 3)`` torch tensors on the device, cropped
to the stored size (the encoder pads to even sizes).

torch and torchcodec are imported when a function here is called, never at import.
"""

from __future__ import annotations

import io
from fractions import Fraction
from typing import Any

import av
import numpy as np

from flexsync.storage.h264_order import presentation_order

__all__ = ["RATE", "decode_gop", "gop_container"]

RATE = 30  # frames per second of the wrapped GOP: frame k plays at k / RATE s


def gop_container(bitstream: bytes, width: int, height: int) -> bytes:
    """An in-memory MP4 holding the Annex B GOP ``bitstream``, one picture per packet, pts = frame index."""
    parser = av.CodecContext.create("h264", "r")
    packets = [*parser.parse(bitstream), *parser.parse(None)]
    order = presentation_order([bytes(p) for p in packets])
    delay = max(0, int((np.arange(len(order)) - order).max(initial=0)))  # decode runs ahead by this much
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("h264", rate=RATE)
        stream.width, stream.height = width + width % 2, height + height % 2
        for i, packet in enumerate(packets):
            packet.stream = stream
            packet.time_base = Fraction(1, RATE)
            packet.pts, packet.dts, packet.duration = int(order[i]), i - delay, 1
            container.mux(packet)
    return buffer.getvalue()


def decode_gop(bitstream: bytes, n: int, height: int, width: int, *, device: str = "cpu") -> tuple[Any, Any]:
    """``(frames, pts_s)``: uint8 ``(n, height, width, 3)`` frames on ``device`` and their float64 pts.

    Raises
    ------
    ValueError
        If torchcodec decodes another number of frames than the chunk declares.
    """
    from torchcodec.decoders import VideoDecoder

    decoder = VideoDecoder(
        gop_container(bitstream, width, height),
        dimension_order="NHWC",
        num_ffmpeg_threads=1,
        device=device,
        seek_mode="exact",
    )
    if len(decoder) != n:
        raise ValueError(f"H.264 chunk declares {n} frames, torchcodec finds {len(decoder)}")
    batch = decoder.get_frames_in_range(0, n)
    frames = batch.data
    if tuple(frames.shape[1:3]) != (height, width):
        frames = frames[:, :height, :width].contiguous()
    return frames, batch.pts_seconds
