"""The frames every candidate stores: a real video and generated recordings, decoded at the stored size."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flexsync.readers.video import iter_frames, probe_video
from flexsync.synth.options import SynthOptions

__all__ = [
    "FRAME_HEIGHT",
    "FRAME_WIDTH",
    "REAL_VIDEO",
    "FrameInput",
    "generate_inputs",
    "load_video_frames",
    "real_input",
]

FRAME_WIDTH, FRAME_HEIGHT = 455, 256  # the store's frame size
REAL_VIDEO = Path(__file__).resolve().parents[4] / "shared" / "data" / "real" / "nasa_13013.mp4"
REAL_STREAM_INDEX = 3  # the 29.97 fps 480x270 stream with 390 frames (data/real/README.md)
GENERATED_VIEW = "cam1"
LOOKS = ("realistic", "flat")


@dataclass
class FrameInput:
    """Frames every candidate stores: ``frames`` (n, H, W, 3) uint8 RGB at the stored size."""

    name: str
    frames: np.ndarray
    source: str
    look: str | None = None
    rate_hz: float | None = None


def load_video_frames(
    path: Path | str, n_frames: int, *, width: int, height: int, stream_index: int | None = None
) -> np.ndarray:
    """The first ``n_frames`` frames of a video decoded and scaled to ``width`` x ``height`` (AREA)."""
    video = probe_video(path, stream_index=stream_index)
    n = min(n_frames, video.n_frames)
    out = np.empty((n, height, width, 3), dtype=np.uint8)
    filled = 0
    for chunk in iter_frames(video, width=width, height=height):
        take = min(chunk.n_frames, n - filled)
        out[filled : filled + take] = chunk.frames[:take]
        filled += take
        if filled == n:
            break
    return out[:filled]


def real_input(path: Path, n_frames: int, width: int, height: int, notes: list[str]) -> FrameInput:
    """The first ``n_frames`` of a real video (stream 3 of the bundled one); a note if it holds fewer."""
    index = REAL_STREAM_INDEX if path.resolve() == REAL_VIDEO.resolve() else None
    video = probe_video(path, stream_index=index)
    frames = load_video_frames(path, n_frames, width=width, height=height, stream_index=index)
    if len(frames) < n_frames:
        notes.append(f"{path.name} holds {len(frames)} frames: fewer than the {n_frames} asked for")
    source = f"real {path.name} stream {video.stream_index} ({video.width}x{video.height} {video.codec})"
    return FrameInput(f"real {path.stem}", frames, source)


def generate_inputs(
    workdir: Path,
    n_frames: int,
    *,
    width: int,
    height: int,
    source_width: int,
    source_height: int,
    with_flat: bool,
    status: Callable[[str], None],
) -> list[FrameInput]:
    """Frames of ``cam1`` of a generated recording with the realistic look, and with the flat one."""
    # Imported here: the generator pulls in scipy and the sensor writers (about 1 s), which a
    # benchmark given its own inputs never needs.
    from flexsync.synth.dataset import generate_dataset

    inputs = []
    for look in LOOKS if with_flat else LOOKS[:1]:
        status(f"generating a {source_width}x{source_height} recording with the {look} look...")
        options = SynthOptions(
            seed=1,
            subjects=1,
            actions=("A01",),
            repetitions=1 + n_frames // 400,  # one repetition gives ~470 cinema frames at 60 fps
            width=source_width,
            height=source_height,
            cinema_cameras=1,
            look=look,
        )
        base = workdir / f"generated-{look}"
        (key,) = generate_dataset(base / "raw", base / "truth", options)
        folder = base / "raw" / "recordings" / key
        rate = _manifest_rate(folder / "manifest.json", GENERATED_VIEW)
        frames = load_video_frames(folder / "video" / f"{GENERATED_VIEW}.mp4", n_frames, width=width, height=height)
        source = f"generated {GENERATED_VIEW} {source_width}x{source_height} at {rate:g} fps, look {look}"
        inputs.append(FrameInput(f"generated {look}", frames, source, look=look, rate_hz=rate))
        shutil.rmtree(base)
    return inputs


def _manifest_rate(manifest: Path, view: str) -> float:
    data = json.loads(manifest.read_text(encoding="utf-8"))
    return float(data["streams"][view]["nominal_rate_hz"])
