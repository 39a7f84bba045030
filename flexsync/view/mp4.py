"""A view's frames as one MP4 file, remuxed from the stored H.264 groups of pictures (no re-encode).

Why remux and not hand the stored bitstream to a video-stream logger: each stored chunk is one
closed GOP (:mod:`flexsync.storage.video_codec`) and x264 puts B-frames in it, so decode order is
not presentation order. A streamed sample carries one timestamp (no decode timestamp), which
cannot express that; an MP4 carries both. The presentation order of each GOP is learnt by running
the decoder over its packets once (0.5 to 1 ms a frame at 455x256 here, no colour conversion); the
packets then go into the MP4 untouched, so the file plays exactly the stored pixels.

Arrays stored with another codec (``frame_codec="zstd"`` or none) are encoded here, one GOP per
chunk, with the codec's default settings (CRF 16, preset veryfast).

A stored H.264 chunk always holds a whole chunk of frames: the last one is padded past the array's
end. Its padding frames stay in the MP4 (a B-frame before them may reference them) and are simply
never shown: :attr:`Mp4Video.first_row` and the array rows map every real frame to its position.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from flexsync.errors import InputFileError
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.storage.video_codec import chunk_bitstream, encode_frames

__all__ = ["MP4_TIMESCALE", "Mp4Video", "frames_mp4"]

MP4_TIMESCALE = 90_000  # ticks per second of the MP4 track (the usual video timescale)


@dataclass(frozen=True)
class Mp4Video:
    """An MP4 (H.264) holding the stored frames of rows ``first_row ..`` of a view, in presentation order."""

    data: bytes
    first_row: int  # array row of the MP4's first frame (a chunk boundary)
    n_frames: int  # frames in the file, padding of a last partial chunk included
    width: int  # of the coded frames: the stored size rounded up to even (4:2:0)
    height: int


def frames_mp4(reader: ZarrRowReader, rel: str, start: int, stop: int, *, rate_hz: float) -> Mp4Video:
    """The MP4 of the chunks of ``reader``'s frames array ``rel`` that hold rows ``start:stop``.

    ``rate_hz`` only sets the MP4's own frame clock (its frames are one ``1 / rate_hz`` apart);
    callers place each frame on their timelines through its presentation index.

    Raises
    ------
    InputFileError
        If a chunk file of an H.264 array is missing or not a flexsync H.264 chunk.
    """
    info = reader.info(rel)
    if not 0 <= start < stop <= info.shape[0]:
        raise ValueError(f"{info.path}: rows {start}:{stop} are not a non-empty range of its {info.shape[0]} rows")
    rows = info.chunk_rows
    chunks = range(start // rows, (stop - 1) // rows + 1)
    packets: list[bytes] = []
    keyframes: list[bool] = []
    shown_at: list[np.ndarray] = []  # per GOP: presentation position of each packet (decode order)
    height = width = 0
    for bitstream, frame_height, frame_width in _gops(reader, rel, chunks):
        gop_packets, gop_keyframes, positions = _gop_order(bitstream)
        shown_at.append(positions + len(packets))
        packets += gop_packets
        keyframes += gop_keyframes
        height, width = frame_height, frame_width
    data = _mux(packets, keyframes, np.concatenate(shown_at), rate_hz=rate_hz)
    return Mp4Video(
        data=data,
        first_row=chunks.start * rows,
        n_frames=len(packets),
        width=width + width % 2,
        height=height + height % 2,
    )


def _gops(reader: ZarrRowReader, rel: str, chunks: range) -> Iterator[tuple[bytes, int, int]]:
    """Per chunk: its Annex B bitstream and frame size, as stored (H.264) or encoded here (other codecs)."""
    info = reader.info(rel)
    for chunk in chunks:
        if info.h264 and info.direct:
            path = reader.chunk_path(rel, chunk)
            try:
                _, height, width, bitstream = chunk_bitstream(path.read_bytes())
            except FileNotFoundError:
                raise InputFileError("H.264 chunk file missing: frames not written?", path=path) from None
            except ValueError as exc:
                raise InputFileError(f"not a flexsync H.264 chunk ({exc})", path=path) from None
        else:
            lo, hi = chunk * info.chunk_rows, min(info.shape[0], (chunk + 1) * info.chunk_rows)
            frames = reader.read_rows(rel, lo, hi)
            _, height, width, bitstream = chunk_bitstream(encode_frames(frames))
        yield bitstream, height, width


def _gop_order(bitstream: bytes) -> tuple[list[bytes], list[bool], np.ndarray]:
    """Packets of one GOP in decode order, their keyframe flags and the position each is shown at."""
    ctx = av.CodecContext.create("h264", "r")
    ctx.thread_count = 1
    parsed = [*ctx.parse(bitstream), *ctx.parse(None)]
    for index, packet in enumerate(parsed):
        packet.pts = index  # the decoder hands each frame back with the pts of the packet it came from
    shown: list[int] = []
    for packet in [*parsed, None]:
        shown += [int(frame.pts) for frame in ctx.decode(packet)]
    if sorted(shown) != list(range(len(parsed))):
        raise ValueError(f"H.264 GOP of {len(parsed)} packets decoded to {len(shown)} frames")
    positions = np.empty(len(parsed), dtype=np.int64)
    positions[np.asarray(shown, dtype=np.int64)] = np.arange(len(parsed))
    return [bytes(p) for p in parsed], [bool(p.is_keyframe) for p in parsed], positions


def _mux(packets: list[bytes], keyframes: list[bool], shown_at: np.ndarray, *, rate_hz: float) -> bytes:
    """One H.264 track: packet i decoded at i frame intervals and shown at ``shown_at[i]`` (plus the reorder delay)."""
    template = av.open(io.BytesIO(packets[0]), format="h264")  # codec parameters (SPS/PPS) of the first keyframe
    out_buffer = io.BytesIO()
    try:
        with av.open(out_buffer, "w", format="mp4") as out:
            stream = out.add_stream_from_template(template.streams.video[0])
            time_base = Fraction(1, MP4_TIMESCALE)
            stream.time_base = time_base
            tick = max(1, round(MP4_TIMESCALE / rate_hz))
            delay = int(max(0, (np.arange(len(packets)) - shown_at).max()))  # so that dts <= pts
            for index, (data, keyframe) in enumerate(zip(packets, keyframes, strict=True)):
                packet = av.Packet(data)
                packet.stream = stream
                packet.time_base = time_base
                packet.dts = index * tick
                packet.pts = (int(shown_at[index]) + delay) * tick
                packet.duration = tick
                packet.is_keyframe = keyframe
                out.mux(packet)
    finally:
        template.close()
    return out_buffer.getvalue()
