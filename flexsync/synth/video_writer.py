"""Write synthetic camera frames to H.264 mp4 with exactly the presentation timestamps given.

The pipeline's timing rests on container PTS (docs/raw-format.md): a camera that drops a frame
leaves a gap in PTS, a phone writes jittered intervals. So this writer takes an explicit PTS per
frame in a 1/90000 time base and never synthesises timestamps from a frame rate. The stream has
no B-frames (decode order = presentation order, PTS = DTS), is yuv420p (plays everywhere), and
the file is byte-reproducible: x264 runs on a fixed thread count and the muxer writes no
creation time or library version (``bitexact``). Frames are encoded as they come; the file
appears under its final name only when ``close`` succeeds.
"""

from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

__all__ = ["VIDEO_TIME_BASE", "Mp4Writer"]

logger = logging.getLogger(__name__)

VIDEO_TIME_BASE = Fraction(1, 90000)  # the MPEG clock: 90 kHz ticks, the mp4 track timescale
_PARTIAL_SUFFIX = ".partial"


class Mp4Writer:
    """Encode RGB frames with explicit PTS into an H.264 mp4 (a context manager).

    Parameters
    ----------
    path : path-like
        Output file. Written as ``<path>.partial`` and renamed on a successful ``close``; on an
        exception inside the ``with`` block the partial file is deleted.
    width, height : int
        Frame size in pixels; both must be even (yuv420p halves the chroma planes).
    time_base : Fraction
        Unit of ``pts_ticks`` and the mp4 track timescale (default 1/90000 s).
    average_rate_hz : float
        Nominal frame rate: a hint for the encoder's rate control and the duration given to
        each frame's sample (only the last frame's duration is not implied by the next PTS).
    crf : int
        x264 constant rate factor (0-51; lower = better quality, bigger file). 20 keeps the sync
        LED's partial brightness faithful enough for sub-frame flash timing (docs/design-notes.md).
        Ignored when ``bitrate_kbps`` is given.
    bitrate_kbps : int, optional
        Encode like a camera does instead: average bitrate (kbit/s, one-pass ABR) capped by a VBV
        of maxrate 1.5 x and buffer 2 x that (one to two seconds of video), so a noisy scene costs
        what it costs on a real device rather than whatever a CRF spends on its noise.
    preset : str
        x264 preset (``veryfast`` by default; its speed is in docs/design-notes.md).
    gop_frames : int
        Maximum distance between key frames, in frames.
    threads : int
        x264 threads. The bitstream depends on the thread count, so it is fixed (not "auto")
        to keep the output byte-identical on any machine.

    Raises
    ------
    ValueError
        Odd or non-positive size, bad rate or CRF, a frame of the wrong shape or dtype, or a
        PTS that is negative or not strictly increasing (the message names the file and PTS).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        width: int,
        height: int,
        time_base: Fraction = VIDEO_TIME_BASE,
        average_rate_hz: float,
        crf: int = 20,
        bitrate_kbps: int | None = None,
        preset: str = "veryfast",
        gop_frames: int = 60,
        threads: int = 1,
    ) -> None:
        self.path = Path(path)
        problems = []
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, int | np.integer) or value <= 0 or value % 2:
                problems.append(f"{name} must be a positive even number of pixels (yuv420p), got {value!r}")
        if not (np.isfinite(average_rate_hz) and average_rate_hz > 0):
            problems.append(f"average_rate_hz must be > 0, got {average_rate_hz!r}")
        if not 0 <= crf <= 51:
            problems.append(f"crf must be in 0..51, got {crf!r}")
        if bitrate_kbps is not None and not (isinstance(bitrate_kbps, int | np.integer) and bitrate_kbps > 0):
            problems.append(f"bitrate_kbps must be a positive integer (kbit/s), got {bitrate_kbps!r}")
        if gop_frames < 1 or threads < 1:
            problems.append(f"gop_frames and threads must be >= 1, got {gop_frames!r} and {threads!r}")
        time_base = Fraction(time_base)
        if time_base.numerator != 1 or time_base <= 0:
            problems.append(f"time_base must be 1/N for a positive integer N (the mp4 timescale), got {time_base}")
        if problems:
            raise ValueError(f"{self.path}: " + "; ".join(problems))
        self.width, self.height = int(width), int(height)
        self.time_base = time_base
        self.average_rate_hz = float(average_rate_hz)
        # Duration of one nominal frame in ticks: the last sample's duration in the mp4.
        self._frame_ticks = max(1, round(1.0 / (self.average_rate_hz * float(time_base))))
        self._last_pts: int | None = None
        self.n_frames = 0
        self._partial = self.path.with_name(self.path.name + _PARTIAL_SUFFIX)
        # Edit lists (a first PTS > 0) are stored in the movie timescale, 1/1000 s by default, which
        # would shift every PTS by the rounding error: use the track's timescale for both.
        timescale = str(time_base.denominator)
        options = {"movie_timescale": timescale, "video_track_timescale": timescale}
        self._container = av.open(str(self._partial), "w", format="mp4", options=options)
        try:
            self._container.flags |= av.container.Flags.bitexact.value  # no "encoder: Lavf..." tag
            rate = Fraction(self.average_rate_hz).limit_denominator(1001)
            stream = self._container.add_stream("libx264", rate=rate)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
            stream.time_base = time_base
            ctx = stream.codec_context
            ctx.time_base = time_base
            ctx.gop_size = int(gop_frames)
            ctx.max_b_frames = 0
            # What swscale's default rgb24 -> yuv420p conversion produces: BT.601, limited range.
            ctx.colorspace = av.video.reformatter.Colorspace.ITU601
            ctx.color_range = av.video.reformatter.ColorRange.MPEG
            ctx.thread_count = int(threads)
            # No macroblock-tree lookahead: with it the bitstream is not reproducible from run
            # to run (docs/design-notes.md). Reproducibility first, at about twice the file size.
            params = f"mbtree=0:lookahead-threads=1:threads={int(threads)}"
            rate_control = {"crf": str(int(crf))}
            if bitrate_kbps is not None:
                kbps = int(bitrate_kbps)
                rate_control = {}
                params += f":bitrate={kbps}:vbv-maxrate={kbps * 3 // 2}:vbv-bufsize={kbps * 2}"
            ctx.options = {
                "preset": preset,
                **rate_control,
                "bf": "0",
                "threads": str(int(threads)),
                "x264-params": params,
            }
            self._stream = stream
        except Exception:
            self._abort()
            raise
        rate = f"{bitrate_kbps} kbit/s" if bitrate_kbps is not None else f"crf {crf}"
        logger.debug("%s: encoding %dx%d H.264, %s preset, %s", self.path, self.width, self.height, preset, rate)

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort()

    def write(self, frame_rgb: np.ndarray, pts_ticks: int) -> None:
        """Encode one frame presented at ``pts_ticks`` (time-base ticks, strictly increasing).

        Parameters
        ----------
        frame_rgb : ndarray, shape (height, width, 3), uint8
            The RGB image; it is converted at once, so the caller may reuse the buffer.
        pts_ticks : int
            Presentation time of the frame's exposure start, in ``time_base`` ticks (>= 0).
        """
        if self._container is None:
            raise ValueError(f"{self.path}: write() after close()")
        if frame_rgb.shape != (self.height, self.width, 3) or frame_rgb.dtype != np.uint8:
            raise ValueError(
                f"{self.path}: frame must be uint8 of shape ({self.height}, {self.width}, 3), "
                f"got {frame_rgb.dtype} {frame_rgb.shape}"
            )
        pts = int(pts_ticks)
        if pts != pts_ticks or pts < 0:
            raise ValueError(f"{self.path}: pts must be a non-negative integer number of ticks, got {pts_ticks!r}")
        if self._last_pts is not None and pts <= self._last_pts:
            raise ValueError(
                f"{self.path}: pts {pts} of frame {self.n_frames} is not after the previous pts {self._last_pts} "
                "(presentation timestamps must be strictly increasing)"
            )
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame_rgb), format="rgb24")
        frame.pts = pts
        frame.time_base = self.time_base
        self._mux(self._stream.encode(frame))
        self._last_pts = pts
        self.n_frames += 1

    def close(self) -> None:
        """Flush the encoder, finish the mp4 and move it to its final name. Idempotent."""
        if self._container is None:
            return
        try:
            self._mux(self._stream.encode(None))
            self._container.close()
        except Exception:
            self._abort()
            raise
        self._container = None
        os.replace(self._partial, self.path)
        logger.debug("%s: wrote %d frames", self.path, self.n_frames)

    def _mux(self, packets: list[av.Packet]) -> None:
        for packet in packets:
            packet.duration = self._frame_ticks
            self._container.mux(packet)

    def _abort(self) -> None:
        """Close without finishing and delete the partial file."""
        container, self._container = self._container, None
        if container is not None:
            try:
                container.close()
            except (av.FFmpegError, OSError) as exc:
                logger.debug("%s: error while aborting: %s", self.path, exc)
        self._partial.unlink(missing_ok=True)
