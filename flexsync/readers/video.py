"""Video through PyAV: presentation timestamps without decoding, frames decoded in reused chunks.

Timing is what matters here: a frame's device timestamp is its container presentation
timestamp (PTS x time base), the number ffprobe prints as ``pts_time``. ``probe_video``
reads those by demuxing packets only (no decoding), sorts them into presentation order, and
keeps them as they are: dropped frames show as jumps, a variable frame rate as uneven steps.

Decoding is for later stages (flash detection, clip extraction). ``iter_frames`` decodes with
FFmpeg's own threading and converts every frame with ONE reused ``VideoReformatter`` (swscale
AREA downscaling to RGB) into a reused chunk buffer, which is faster than ``frame.to_ndarray``
with a size (that builds a converter per frame; see docs/design-notes.md) and never holds the
whole video. Every decoded frame's PTS is checked against the probed list, so timestamps and
pixels cannot drift apart silently.

Rotation (a phone's display matrix) is reported as ``rotation_deg`` (counter-clockwise, as a
player would apply it) and not applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import av.error
import numpy as np
from av.video.reformatter import Interpolation, VideoReformatter

from flexsync.errors import InputFileError
from flexsync.readers.registry import (
    ON_TRUNCATED,
    check_readable,
    get_option,
    on_truncated_option,
    stream_name,
    truncation,
)
from flexsync.readers.stream import FileContents, VideoStream

__all__ = [
    "FrameChunk",
    "decode_and_convert",
    "decode_only",
    "frame_gaps",
    "iter_frames",
    "probe_video",
    "read_video",
    "truncation_problem",
]

logger = logging.getLogger(__name__)

# An interval this many times the median frame interval counts as a gap (dropped frames).
GAP_FACTOR = 1.5
# The median is local: of the GAP_WINDOW intervals on each side (not the interval itself), so a
# variable-frame-rate stretch (a phone slowing down in low light) is not taken for dropped frames.
GAP_WINDOW = 5
# A stream whose frames end more than this many frame intervals (plus 1 ms of rounding) before
# the end its container declares is truncated; one frame's slack is for the last frame's duration.
TRUNCATION_SLACK_FRAMES = 1.5
# When only the container's duration (of all its streams) is known and the file has several streams.
MULTI_STREAM_SLACK_S = 1.0


@dataclass
class FrameChunk:
    """Consecutive decoded frames: ``frames`` (n, height, width, 3) uint8 RGB, their PTS in seconds.

    ``frames`` is a view of a buffer reused for the next chunk: copy it to keep it.
    """

    start_index: int
    frames: np.ndarray
    timestamps_s: np.ndarray
    luma: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])


def read_video(path: Path, options: Mapping[str, Any]) -> FileContents:
    """Registry entry point: probe one video stream (``stream_index``, default the first) or ``"all"``.

    Options: ``name`` (stream key, default the file stem), ``stream_index`` (container stream
    index of the video stream the manifest names, or ``"all"``), ``on_truncated`` (``"raise"``,
    the default, or ``"warn"``: a stream whose frames fall short of what its container declares).
    """
    path = check_readable(path)
    base = stream_name(options, path)
    on_truncated = on_truncated_option(options, path)
    index = get_option(options, "stream_index", None, (int, str), path)
    if isinstance(index, str) and index != "all":
        raise ValueError(f"{path}: reader option 'stream_index' must be an int or 'all', got {index!r}")
    layout = _container_layout(path)
    video_indices = [s["index"] for s in layout["streams"] if s["type"] == "video"]
    contents = FileContents(source=path, format=path.suffix.lstrip(".").lower() or "video", metadata=layout)
    if index == "all":
        for i in video_indices:
            contents.videos[f"{base}_{i}"] = probe_video(
                path, stream_index=i, name=f"{base}_{i}", on_truncated=on_truncated
            )
        return contents
    video = probe_video(path, stream_index=index, name=base, on_truncated=on_truncated)
    if index is None and len(video_indices) > 1:
        video.warnings.append(
            f"file has {len(video_indices)} video streams (indices {video_indices}); read stream "
            f"{video.stream_index}, the first; set the stream's option stream_index to choose another"
        )
    contents.videos[base] = video
    return contents


def probe_video(
    path: Path | str, *, stream_index: int | None = None, name: str | None = None, on_truncated: str = "warn"
) -> VideoStream:
    """Per-frame presentation timestamps and stream facts, from packets (no full decode).

    The frames found are compared with what the container declares: the frame count of its
    index (MP4, MOV, AVI) and the stream's duration (the stream's own, Matroska's DURATION tag,
    else the container's). Fewer frames, or frames ending before the declared end, is a
    truncated (cut or damaged) file: ``metadata["truncation"]`` holds the numbers.

    Parameters
    ----------
    path
        Any container FFmpeg opens.
    stream_index
        Container index of the video stream; default the first video stream.
    name
        Stream name (default the file stem).
    on_truncated
        ``"warn"`` (the default here: the caller decides, as ingest does) keeps the frames present
        with a warning; ``"raise"`` rejects the file.

    Raises
    ------
    InputFileError
        Not a video container, no such video stream, no frames, packets without timestamps,
        duplicate timestamps, a first frame that cannot be decoded, or (``on_truncated="raise"``)
        a truncated stream.
    """
    if on_truncated not in ON_TRUNCATED:
        raise ValueError(f"on_truncated must be one of {', '.join(map(repr, ON_TRUNCATED))}, got {on_truncated!r}")
    path = check_readable(path)
    rotation = _first_frame_rotation(path, stream_index)
    with _open_container(path) as container:
        stream = _select_stream(container, stream_index, path)
        pts, corrupt = _packet_pts(container, stream, path)
        time_base = stream.time_base
        warnings: list[str] = []
        if corrupt:
            warnings.append(f"{corrupt} packets are flagged corrupt by the demuxer")
        timestamps_s = _pts_to_seconds(pts, time_base)
        nominal = _nominal_rate(stream, timestamps_s)
        intervals = np.diff(timestamps_s)
        gaps = frame_gaps(timestamps_s)
        truncation_facts = _declared_extent(container, stream, timestamps_s, nominal)
        problem = truncation_problem(truncation_facts)
        truncation_facts["truncated"] = problem is not None
        if problem:
            warnings.extend(truncation(f"stream {stream.index}: {problem}", on_truncated, path))
        warnings.extend(_timing_warnings(timestamps_s, stream.frames, gaps))
        steady = np.delete(intervals, [g["after_frame"] for g in gaps])
        metadata = {
            "time_base": f"{time_base.numerator}/{time_base.denominator}",
            "first_pts": int(pts[0]),
            "last_pts": int(pts[-1]),
            "container_format": container.format.name,
            "pix_fmt": stream.codec_context.pix_fmt,
            "average_rate_hz": _rate_or_none(stream.average_rate),
            "guessed_rate_hz": _rate_or_none(stream.guessed_rate),
            "frames_in_header": int(stream.frames),
            "measured_rate_hz": float(1.0 / np.mean(intervals)) if intervals.size else None,
            # VFR: intervals that vary beyond PTS rounding, gaps (dropped frames) aside.
            "variable_frame_rate": bool(steady.size and np.ptp(steady) > 1.5 * float(time_base)),
            "frame_interval_s": _interval_range(steady),
            "gaps": gaps,
            "rotation_deg": rotation,
            "stream_metadata": dict(stream.metadata),
            "truncation": truncation_facts,
        }
        codec = stream.codec_context.name
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        index = int(stream.index)
    logger.debug("%s stream %d: %d frames, %s", path, index, pts.size, metadata["time_base"])
    return VideoStream(
        name=name or path.stem,
        source=path,
        format=path.suffix.lstrip(".").lower() or "video",
        stream_index=index,
        codec=codec,
        width=width,
        height=height,
        nominal_rate_hz=nominal,
        timestamps_s=timestamps_s,
        rotation_deg=rotation,
        metadata=metadata,
        warnings=warnings,
    )


def iter_frames(
    video: VideoStream,
    *,
    width: int,
    height: int,
    chunk_frames: int = 16,
    threads: str = "AUTO",
    out: np.ndarray | None = None,
    luma_grid: tuple[int, int] | None = None,
    scale_threads: int = 0,
    buffers: Callable[[], np.ndarray] | None = None,
) -> Iterator[FrameChunk]:
    """Decode every frame, converted to RGB at ``width`` x ``height`` (swscale AREA), in chunks.

    With ``luma_grid=(rows, cols)`` each chunk also carries ``luma`` (n, rows, cols) float32: the
    mean luma (0-255 scale) of each cell of the frame, area-averaged by swscale from the decoded
    frame's luma plane in 16-bit precision. It feeds sync-flash detection at almost no cost
    (~0.1 ms a 720p frame, in C; the cell grid covers the same field of view as the RGB frames).

    Parameters
    ----------
    video
        From ``probe_video``.
    width, height
        Output size in pixels (rotation is not applied).
    chunk_frames
        Frames per chunk (the last chunk may be shorter).
    threads
        FFmpeg decoder thread type: ``"AUTO"``, ``"FRAME"``, ``"SLICE"`` or ``"NONE"``.
    out
        Optional reused buffer of shape (chunk_frames, height, width, 3), uint8, C-contiguous.
    luma_grid
        Optional (rows, cols) of the per-frame luma cell grid.
    buffers
        Optional source of a fresh buffer (shape as ``out``) for every chunk, such as a
        background writer's free buffers: the frames are then converted straight into memory the
        writer owns, saving one copy of every frame. Overrides ``out``.
    scale_threads
        swscale threads for the RGB conversion: 0 = one per core (fastest for one video alone),
        1 when several videos are decoded at once (the cores are busy already: slicing only adds
        synchronisation).

    Yields
    ------
    FrameChunk
        Whose ``frames`` is a view into the buffer, overwritten by the next chunk.

    Raises
    ------
    InputFileError
        A decode error, a decoded PTS that differs from the probed one, or a frame count that
        differs from the probed count; the message names the file and the frame index.
    """
    if width <= 0 or height <= 0 or chunk_frames <= 0:
        raise ValueError(f"width, height and chunk_frames must be positive, got {width}, {height}, {chunk_frames}")
    shape = (chunk_frames, height, width, 3)
    if out is None and buffers is None:
        out = np.empty(shape, dtype=np.uint8)
    next_buffer = buffers or (lambda: out)
    buffer = _checked_buffer(next_buffer(), shape)
    reformatter = VideoReformatter()
    luma_reformatter = VideoReformatter() if luma_grid else None
    luma = np.empty((chunk_frames, *luma_grid), dtype=np.float32) if luma_grid else None
    expected_pts = _expected_pts(video)
    row_bytes = width * 3
    filled = 0
    start = 0
    for index, frame in _decoded_frames(video, threads, expected_pts):
        rgb = reformatter.reformat(
            frame, width=width, height=height, format="rgb24", interpolation=Interpolation.AREA, threads=scale_threads
        )
        plane = rgb.planes[0]
        rows = np.frombuffer(plane, dtype=np.uint8).reshape(height, plane.line_size)
        buffer[filled] = rows[:, :row_bytes].reshape(height, width, 3)
        if luma_reformatter is not None and luma is not None:
            luma[filled] = _cell_luma(luma_reformatter, frame, luma.shape[1], luma.shape[2])
        filled += 1
        if filled == chunk_frames:
            yield FrameChunk(start, buffer[:filled], video.timestamps_s[start : start + filled], _head(luma, filled))
            start = index + 1
            filled = 0
            if index + 1 < expected_pts.size:
                buffer = _checked_buffer(next_buffer(), shape)
    if filled:
        yield FrameChunk(start, buffer[:filled], video.timestamps_s[start : start + filled], _head(luma, filled))


def _checked_buffer(buffer: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    if buffer.shape != shape or buffer.dtype != np.uint8 or not buffer.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous uint8 array of shape {shape}, got {buffer.dtype} {buffer.shape}")
    return buffer


def _head(array: np.ndarray | None, n: int) -> np.ndarray | None:
    return None if array is None else array[:n]


def _cell_luma(reformatter: VideoReformatter, frame: Any, rows: int, cols: int) -> np.ndarray:
    """Mean luma per cell of a decoded frame, area-averaged to (rows, cols) in 16-bit gray."""
    # One thread: slicing a 48x27 output across threads costs more than it saves (docs/design-notes.md).
    gray = reformatter.reformat(
        frame, width=cols, height=rows, format="gray16le", interpolation=Interpolation.AREA, threads=1
    )
    plane = gray.planes[0]
    values = np.frombuffer(plane, dtype="<u2").reshape(rows, plane.line_size // 2)[:, :cols]
    return values.astype(np.float32) * np.float32(255.0 / 65535.0)


def decoding_work(path: Path) -> float:
    """Pixels to decode (frames x width x height) as the container header states them; 0 if unknown.

    A cheap estimate (no packet is read) to schedule several videos over the cores: the file
    size is a poor one, since it depends on how busy the picture is rather than on its size.
    """
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                return 0.0
            stream = container.streams.video[0]
            return float(stream.frames) * stream.codec_context.width * stream.codec_context.height
    except (av.error.FFmpegError, OSError):
        return 0.0


def decode_only(video: VideoStream, *, threads: str = "AUTO") -> int:
    """Decode every frame without conversion (the benchmark's floor); returns the frame count."""
    count = 0
    for _ in _decoded_frames(video, threads, _expected_pts(video)):
        count += 1
    return count


def decode_and_convert(
    video: VideoStream, width: int, height: int, *, threads: str = "AUTO", scale_threads: int = 0
) -> int:
    """Decode and convert every frame with one reused reformatter, discarding the pixels.

    This is the unavoidable work of frame extraction; returns the frame count.
    """
    reformatter = VideoReformatter()
    count = 0
    for _, frame in _decoded_frames(video, threads, _expected_pts(video)):
        reformatter.reformat(
            frame, width=width, height=height, format="rgb24", interpolation=Interpolation.AREA, threads=scale_threads
        )
        count += 1
    return count


class _open_container:
    """``av.open`` as a context manager whose failures name the file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container: Any = None

    def __enter__(self) -> Any:
        try:
            self.container = av.open(str(self.path), mode="r")
        except av.error.FFmpegError as exc:
            raise InputFileError(
                f"cannot open as a video container (truncated, wrong header or not a video?): {exc}", path=self.path
            ) from exc
        return self.container

    def __exit__(self, *exc_info: object) -> None:
        self.container.close()


def _container_layout(path: Path) -> dict[str, Any]:
    with _open_container(path) as container:
        streams = [
            {
                "index": int(s.index),
                "type": s.type,
                "codec": s.codec_context.name if s.codec_context is not None else None,
            }
            for s in container.streams
        ]
        return {"container_format": container.format.name, "streams": streams}


def _select_stream(container: Any, stream_index: int | None, path: Path) -> Any:
    videos = list(container.streams.video)
    if not videos:
        kinds = ", ".join(f"{s.index}:{s.type}" for s in container.streams) or "none"
        raise InputFileError(f"no video stream in the file (streams: {kinds})", path=path)
    if stream_index is None:
        return videos[0]
    for stream in videos:
        if stream.index == stream_index:
            return stream
    raise InputFileError(
        f"stream {stream_index} is not a video stream; video streams are at indices "
        f"{', '.join(str(s.index) for s in videos)}",
        path=path,
    )


def _packet_pts(container: Any, stream: Any, path: Path) -> tuple[np.ndarray, int]:
    """PTS of every packet that yields a frame, sorted into presentation order."""
    values: list[int] = []
    corrupt = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.is_discard:
                continue  # flush packets; edit-list discards are not shown (ffprobe skips them too)
            pts = packet.pts if packet.pts is not None else packet.dts
            if pts is None:
                raise InputFileError(f"stream {stream.index}: packet {len(values)} has neither pts nor dts", path=path)
            corrupt += int(packet.is_corrupt)
            values.append(int(pts))
    except av.error.FFmpegError as exc:
        raise InputFileError(
            f"stream {stream.index}: demuxing failed after {len(values)} packets: {exc}", path=path
        ) from exc
    if not values:
        raise InputFileError(f"stream {stream.index}: no frames", path=path)
    pts_array = np.sort(np.asarray(values, dtype=np.int64))
    duplicates = np.flatnonzero(np.diff(pts_array) == 0)
    if duplicates.size:
        raise InputFileError(
            f"stream {stream.index}: {duplicates.size} duplicate presentation timestamps "
            f"(first pts {int(pts_array[duplicates[0]])})",
            path=path,
        )
    return pts_array, corrupt


def _first_frame_rotation(path: Path, stream_index: int | None) -> int:
    """Rotation from the display matrix of the first decoded frame (or the legacy ``rotate`` tag).

    Decoding one frame also proves early that the stream decodes at all.
    """
    with _open_container(path) as container:
        stream = _select_stream(container, stream_index, path)
        try:
            for frame in container.decode(stream):
                rotation = frame.rotation
                break
            else:
                raise InputFileError(f"stream {stream.index}: no frame could be decoded", path=path)
        except av.error.FFmpegError as exc:
            raise InputFileError(f"stream {stream.index}: frame 0 cannot be decoded: {exc}", path=path) from exc
        if not rotation and "rotate" in stream.metadata:
            rotation = -float(stream.metadata["rotate"])  # the legacy tag is clockwise
    return round(rotation) % 360


def _pts_to_seconds(pts: np.ndarray, time_base: Fraction) -> np.ndarray:
    # pts * num / den in float64, as ffprobe's pts_time (pts * av_q2d(time_base)).
    return pts.astype(np.float64) * (time_base.numerator / time_base.denominator)


def _rate_or_none(rate: Fraction | None) -> float | None:
    return float(rate) if rate else None


def _nominal_rate(stream: Any, timestamps_s: np.ndarray) -> float:
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate:
            return float(rate)
    if timestamps_s.size > 1:
        return float((timestamps_s.size - 1) / (timestamps_s[-1] - timestamps_s[0]))
    return 0.0


def frame_gaps(timestamps_s: np.ndarray) -> list[dict[str, float | int]]:
    """Intervals longer than GAP_FACTOR x the local median interval: where frames are missing.

    The local median is that of the GAP_WINDOW intervals on either side (the interval itself left
    out), so a stretch of a variable frame rate is not a gap while a lone long interval is. Each
    gap: ``after_frame``, ``t_device_s`` (PTS of that frame), ``gap_s``, ``n_missing`` (the gap
    over the local interval, minus one).
    """
    steps = np.diff(np.asarray(timestamps_s, dtype=np.float64))
    if steps.size < 3:
        return []
    half = min(GAP_WINDOW, steps.size - 1)
    padded = np.pad(steps, half, mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    local = np.median(np.delete(windows, half, axis=1), axis=1)
    return [
        {
            "after_frame": int(i),
            "t_device_s": float(timestamps_s[i]),
            "gap_s": float(steps[i]),
            "n_missing": max(1, round(float(steps[i] / local[i])) - 1),
        }
        for i in np.flatnonzero(steps > GAP_FACTOR * local)
    ]


def _interval_range(steps: np.ndarray) -> dict[str, float] | None:
    if not steps.size:
        return None
    return {"min": float(steps.min()), "median": float(np.median(steps)), "max": float(steps.max())}


def _timing_warnings(timestamps_s: np.ndarray, frames_in_header: int, gaps: list[dict]) -> list[str]:
    warnings = []
    if frames_in_header and frames_in_header < timestamps_s.size:  # fewer: a truncation, reported as one
        warnings.append(f"the header says {frames_in_header} frames, the packets give {timestamps_s.size}")
    if gaps:
        missing = sum(int(g["n_missing"]) for g in gaps)
        warnings.append(
            f"{len(gaps)} gaps longer than {GAP_FACTOR} frame intervals (dropped frames?, about {missing} "
            f"missing), first after frame {gaps[0]['after_frame']} at {gaps[0]['t_device_s']:.6f} s"
        )
    return warnings


def _parse_duration_tag(text: str) -> float | None:
    """Matroska's per-track DURATION tag, ``HH:MM:SS.nnnnnnnnn``, in seconds."""
    try:
        hours, minutes, seconds = text.strip().split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None


def _declared_extent(container: Any, stream: Any, timestamps_s: np.ndarray, nominal: float) -> dict[str, Any]:
    """What the container declares for the stream (frames, end) against what its packets hold.

    Durations are spans from the first frame's PTS; the held span counts the last frame's own
    duration as the local frame interval.
    """
    first, last = float(timestamps_s[0]), float(timestamps_s[-1])
    steps = np.diff(timestamps_s)
    frame_s = float(np.median(steps[-2 * GAP_WINDOW :])) if steps.size else (1.0 / nominal if nominal > 0 else 0.0)
    tb = float(stream.time_base)
    declared_end, source, slack = None, None, TRUNCATION_SLACK_FRAMES * frame_s + 1e-3
    if stream.duration:
        start = stream.start_time * tb if stream.start_time is not None else first
        declared_end, source = start + stream.duration * tb, "the stream's duration"
    elif _parse_duration_tag(str(stream.metadata.get("DURATION", ""))) is not None:
        declared_end, source = _parse_duration_tag(str(stream.metadata["DURATION"])), "the Matroska DURATION tag"
    elif container.duration and "matroska" in container.format.name:
        declared_end, source = container.duration / 1e6, "the Matroska segment duration"
        if len(container.streams) > 1:
            source += " (all streams)"
            slack += MULTI_STREAM_SLACK_S
    header_frames = int(stream.frames or 0)
    declared_s = None if declared_end is None else max(0.0, declared_end - first)
    return {
        "frames_in_header": header_frames or None,
        "declared_duration_s": declared_s,
        "declared_by": source,
        "expected_frames": header_frames or (round(declared_s * nominal) if declared_s and nominal > 0 else None),
        "frames": int(timestamps_s.size),
        "duration_s": last - first + frame_s,
        "last_pts_s": last,
        "slack_s": slack,
        "nominal_rate_hz": nominal,
    }


def truncation_problem(facts: Mapping[str, Any], *, with_durations: bool = True) -> str | None:
    """The problem, declared vs held frames and durations, if the stream holds less than declared.

    A complete index (every frame the header counts is there) settles it; otherwise the frames
    must reach the declared end, within ``slack_s``.
    """
    held, header = int(facts["frames"]), facts.get("frames_in_header")
    declared_s, duration_s = facts.get("declared_duration_s"), float(facts["duration_s"])
    by_frames = bool(header) and header > held
    by_time = not (header and header <= held) and declared_s is not None
    by_time = by_time and declared_s - duration_s > float(facts["slack_s"])
    if not (by_frames or by_time):
        return None
    durations = (
        f"; the container declares {declared_s:.3f} s ({facts['declared_by']}), the frames cover {duration_s:.3f} s"
        if declared_s is not None
        else ""
    )
    if by_frames:
        text = (
            f"truncated video: the container header promises {header} frames but the file holds {held} "
            f"(last PTS {float(facts['last_pts_s']):.3f} s)"
        )
        return text + durations if with_durations else text
    expected = facts.get("expected_frames")
    rate = float(facts.get("nominal_rate_hz") or 0.0)
    return (
        f"truncated video: the container declares {declared_s:.3f} s ({facts['declared_by']}"
        + (f", about {expected} frames at {rate:.6g} fps" if expected else "")
        + f"), the file holds {held} frames covering {duration_s:.3f} s (last PTS {float(facts['last_pts_s']):.3f} s)"
    )


def _expected_pts(video: VideoStream) -> np.ndarray:
    num, _, den = str(video.metadata["time_base"]).partition("/")
    return np.rint(video.timestamps_s * int(den) / int(num)).astype(np.int64)


def _decoded_frames(video: VideoStream, threads: str, expected_pts: np.ndarray) -> Iterator[tuple[int, Any]]:
    """Decoded frames with their index, each checked against the probed PTS list."""
    path = video.source
    index = -1
    with _open_container(path) as container:
        stream = container.streams[video.stream_index]
        stream.thread_type = threads
        try:
            for frame in container.decode(stream):
                index += 1
                if index >= expected_pts.size:
                    raise InputFileError(
                        f"stream {video.stream_index}: decoded more frames than the {expected_pts.size} probed",
                        path=path,
                    )
                if frame.pts != expected_pts[index]:
                    raise InputFileError(
                        f"stream {video.stream_index}: frame {index} decoded with pts {frame.pts}, "
                        f"probed pts {int(expected_pts[index])}",
                        path=path,
                    )
                yield index, frame
        except av.error.FFmpegError as exc:
            raise InputFileError(
                f"stream {video.stream_index}: decode error at frame {index + 1} of {expected_pts.size}: {exc}; "
                "the file is damaged, copy it again from the recorder",
                path=path,
            ) from exc
    if index + 1 != expected_pts.size:
        raise InputFileError(
            f"stream {video.stream_index}: decoded {index + 1} frames, probed {expected_pts.size}"
            + (
                f" (the frames after PTS {float(video.timestamps_s[index]):.3f} s do not decode: the file is "
                "damaged or cut short, copy it again from the recorder)"
                if index >= 0 and index + 1 < expected_pts.size
                else ""
            ),
            path=path,
        )
