"""Factories that write small real files (PyAV, ezc3d, edfio) for the reader tests."""

from __future__ import annotations

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
