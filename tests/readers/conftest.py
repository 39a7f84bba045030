"""Factories that write small real files (PyAV, ezc3d, edfio) for the reader tests."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import ezc3d
import numpy as np
import pytest


def write_video(
    path: Path,
    pts_s: Sequence[float],
    *,
    width: int = 64,
    height: int = 48,
    rotation_deg: int = 0,
    time_base: Fraction = Fraction(1, 90000),
) -> np.ndarray:
    """H.264 without B-frames, one frame per PTS (seconds); frame k is uniformly grey 10 + 5k (k < 49).

    Returns the integer PTS written (in ``time_base`` units).
    """
    pts = np.rint(np.asarray(pts_s) / float(time_base)).astype(np.int64)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=30, options={"bf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base  # else the encoder renumbers frames at `rate`
        if rotation_deg:
            stream.set_display_rotation(rotation_deg)
        for k, p in enumerate(pts):
            frame = av.VideoFrame.from_ndarray(np.full((height, width, 3), 10 + 5 * k, np.uint8), format="rgb24")
            frame.pts, frame.time_base = int(p), time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return pts


def write_c3d(
    path: Path,
    labels: Sequence[str],
    points_mm: np.ndarray,
    *,
    rate_hz: float = 100.0,
    invalid: np.ndarray | None = None,
    analog: np.ndarray | None = None,
    analog_labels: Sequence[str] = ("SYNC",),
    analog_ratio: int = 10,
    x_screen: str = "+X",
    y_screen: str = "+Z",
    units: str = "mm",
) -> None:
    """A C3D written by ezc3d: ``points_mm`` (n_frames, n_markers, 3); ``invalid`` (n_frames, n_markers)."""
    n_frames, n_markers, _ = points_mm.shape
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [rate_hz]
    c3d["parameters"]["POINT"]["LABELS"]["value"] = tuple(labels)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = [units]
    points = np.ones((4, n_markers, n_frames))
    points[:3] = points_mm.transpose(2, 1, 0)
    residuals = np.zeros((1, n_markers, n_frames))
    if invalid is not None:
        residuals[0][invalid.T] = -1.0
    c3d["data"]["points"] = points
    c3d["data"]["meta_points"] = {
        "residuals": residuals,
        "camera_masks": np.zeros((7, n_markers, n_frames), dtype=bool),
    }
    if analog is not None:
        c3d["parameters"]["ANALOG"]["RATE"]["value"] = [rate_hz * analog_ratio]
        c3d["parameters"]["ANALOG"]["LABELS"]["value"] = tuple(analog_labels)
        c3d["parameters"]["ANALOG"]["UNITS"]["value"] = tuple("V" for _ in analog_labels)
        c3d["data"]["analogs"] = analog.T[None, :, :]
    c3d.add_parameter("POINT", "X_SCREEN", [x_screen])
    c3d.add_parameter("POINT", "Y_SCREEN", [y_screen])
    c3d.write(str(path))


@pytest.fixture
def halve():
    """Copy ``source`` into ``folder`` cut to its first half (a truncated file)."""

    def make(source: Path, folder: Path, name: str | None = None) -> Path:
        data = source.read_bytes()
        target = folder / (name or source.name)
        target.write_bytes(data[: len(data) // 2])
        return target

    return make


@pytest.fixture
def garbage():
    """A file of deterministic garbage bytes with the given name."""

    def make(folder: Path, name: str, n_bytes: int = 4096) -> Path:
        target = folder / name
        target.write_bytes(np.random.default_rng(7).integers(0, 256, n_bytes, dtype=np.uint8).tobytes())
        return target

    return make


def encoder_for(container: str) -> str:
    """An encoder the installed PyAV has for ``container``: AV1 (else VP9) for mkv/webm, H.264 for mp4/mov."""
    available = av.codecs_available
    if container in ("mkv", "webm"):
        for codec in ("libaom-av1", "libsvtav1", "librav1e", "libvpx-vp9"):
            if codec in available:
                return codec
    if container == "avi":
        return "mpeg4"
    return "libx264"


def write_clip(
    path: Path,
    *,
    codec: str | None = None,
    n_frames: int = 60,
    rate: int = 30,
    pts_s: Sequence[float] | None = None,
    faststart: bool = False,
    width: int = 64,
    height: int = 48,
) -> None:
    """Encode a short noisy clip (noise keeps every frame's packet large) into ``path``'s container.

    ``pts_s`` gives each frame's PTS in seconds (a variable frame rate); default ``k / rate``.
    ``faststart`` writes an MP4/MOV index before the data (the index survives a cut).
    """
    codec = codec or encoder_for(path.suffix.lstrip("."))
    time_base = Fraction(1, 1000 if pts_s is not None else rate)
    times = np.arange(n_frames) / rate if pts_s is None else np.asarray(pts_s, dtype=np.float64)
    options = {"movflags": "faststart"} if faststart else {}
    encoder_options = {"bf": "0", "preset": "ultrafast"} if codec == "libx264" else {}
    if codec == "libsvtav1":
        encoder_options = {"preset": "12"}
    rng = np.random.default_rng(5)
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=rate, options=encoder_options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = time_base
        for t in times:
            image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = round(float(t) / float(time_base)), time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def cut(source: Path, folder: Path, fraction: float = 0.6) -> Path:
    """A copy of ``source`` in ``folder`` cut to ``fraction`` of its bytes."""
    data = source.read_bytes()
    target = folder / f"cut_{source.name}"
    target.write_bytes(data[: int(len(data) * fraction)])
    return target


def _xdf_chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return b"\x08" + struct.pack("<Q", len(body)) + body


def write_xdf(path: Path, streams: Sequence[dict]) -> None:
    """An XDF 1.0 file: per stream ``name``, ``rate`` (declared Hz), ``t`` (timestamps), ``data`` (n, channels).

    Chunks as pyxdf reads them: FileHeader (1), StreamHeader (2), Samples (3, 100 a chunk, every
    sample with its float64 timestamp), StreamFooter (6). Values are float32.
    """
    out = [b"XDF:", _xdf_chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, s in enumerate(streams):
        header = (
            f'<?xml version="1.0"?><info><name>{s["name"]}</name><type>EEG</type>'
            f"<channel_count>{s['data'].shape[1]}</channel_count><nominal_srate>{s['rate']}</nominal_srate>"
            "<channel_format>float32</channel_format><desc/></info>"
        )
        out.append(_xdf_chunk(2, struct.pack("<I", sid) + header.encode()))
    for sid, s in enumerate(streams):
        times, data = np.asarray(s["t"], dtype=np.float64), np.asarray(s["data"], dtype="<f4")
        for a in range(0, times.size, 100):
            b = min(a + 100, times.size)
            body = struct.pack("<I", sid) + b"\x08" + struct.pack("<Q", b - a)
            body += b"".join(b"\x08" + struct.pack("<d", times[k]) + data[k].tobytes() for k in range(a, b))
            out.append(_xdf_chunk(3, body))
    for sid, s in enumerate(streams):
        footer = (
            f'<?xml version="1.0"?><info><first_timestamp>{s["t"][0]}</first_timestamp>'
            f"<last_timestamp>{s['t'][-1]}</last_timestamp><sample_count>{len(s['t'])}</sample_count></info>"
        )
        out.append(_xdf_chunk(6, struct.pack("<I", sid) + footer.encode()))
    path.write_bytes(b"".join(out))


def write_analog_only_c3d(path: Path, analog: np.ndarray, *, rate_hz: float = 1000.0, per_frame: int = 10) -> None:
    """A force-plate C3D (no points) written by the ``c3d`` package, then given a header frame rate of 0
    and POINT:RATE 0, as force-plate systems write them; ANALOG:RATE keeps ``rate_hz``.

    ``analog`` is (n_samples, n_channels) with n_samples a multiple of ``per_frame``.
    """
    import warnings

    import c3d

    point_rate = rate_hz / per_frame
    with warnings.catch_warnings():  # the c3d package warns that the file has no point data, as intended
        warnings.simplefilter("ignore", UserWarning)
        _write_analog_frames(path, analog, c3d.Writer(point_rate=point_rate, analog_rate=rate_hz), per_frame)
    data = bytearray(path.read_bytes())
    rate = struct.pack("<f", point_rate)
    assert data[20:24] == rate
    data[20:24] = struct.pack("<f", 0.0)  # header frame rate
    position = data.find(rate, 512)  # POINT:RATE, the only other float with this value
    data[position : position + 4] = struct.pack("<f", 0.0)
    path.write_bytes(bytes(data))


def _write_analog_frames(path: Path, analog: np.ndarray, writer, per_frame: int) -> None:
    n_samples, n_channels = analog.shape
    writer.set_analog_labels([f"F{i + 1}" for i in range(n_channels)])
    writer.set_analog_scales(np.ones(n_channels))
    writer.set_analog_offsets(np.zeros(n_channels, dtype=int))
    writer.analog_group.add_str("UNITS", "units", "N" * n_channels, 1, n_channels)
    no_points = np.zeros((0, 5), np.float32)
    for k in range(n_samples // per_frame):
        writer.add_frames((no_points, analog[k * per_frame : (k + 1) * per_frame].T.astype(np.float32)))
    with path.open("wb") as f:
        writer.write(f)


def write_rotation_c3d(path: Path, poses: np.ndarray, labels: Sequence[str], *, rate_hz: float = 100.0) -> None:
    """A markerless-style C3D holding only a ROTATION group; ``poses`` (n_frames, n_segments, 4, 4), mm."""
    n_frames = poses.shape[0]
    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [rate_hz]
    c3d["data"]["points"] = np.zeros((4, 0, n_frames))
    c3d["data"]["rotations"] = poses.transpose(2, 3, 1, 0)
    c3d.add_parameter("ROTATION", "LABELS", list(labels))
    c3d.add_parameter("ROTATION", "RATE", [rate_hz])
    c3d.add_parameter("ROTATION", "USED", [len(labels)])
    c3d.write(str(path))


def set_c3d_first_frame(path: Path, first: int) -> None:
    """Renumber a C3D's frames in its header (words 4 and 5) to start at ``first``."""
    data = bytearray(path.read_bytes())
    old_first, old_last = struct.unpack("<HH", data[6:10])
    data[6:10] = struct.pack("<HH", first, first + old_last - old_first)
    path.write_bytes(bytes(data))
