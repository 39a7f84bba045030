"""``run_store_benchmark``: every candidate on every input, in a temporary folder (``flexsync bench store``)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from flexsync.bench.store.candidates import CLIP_FRAMES, GOP_FRAMES, build_candidates
from flexsync.bench.store.inputs import FRAME_HEIGHT, FRAME_WIDTH, REAL_VIDEO, FrameInput, generate_inputs, real_input
from flexsync.bench.store.measure import measure_input
from flexsync.bench.store.report import StoreBenchmark
from flexsync.bench.store.targets import FlexSize

__all__ = ["run_store_benchmark"]


def run_store_benchmark(
    *,
    n_frames: int = 390,
    n_clips: int = 8,
    width: int = FRAME_WIDTH,
    height: int = FRAME_HEIGHT,
    source_width: int = 960,
    source_height: int = 540,
    with_flat: bool = True,
    real_video: Path | str | None = REAL_VIDEO,
    inputs: Sequence[FrameInput] | None = None,
    clip_frames: int = CLIP_FRAMES,
    gop_frames: int = GOP_FRAMES,
    rate_hz: float | None = None,
    repeats: int = 3,
    workdir: Path | None = None,
    status: Callable[[str], None] = lambda _line: None,
) -> StoreBenchmark:
    """Measure every candidate on the real video and generated recordings (or on ``inputs``).

    ``rate_hz`` (FLEX-size extrapolation) defaults to the generated cinema cameras' frame rate.
    """
    started, load_start = time.perf_counter(), os.getloadavg()[0]
    candidates, skipped = build_candidates()
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="flexsync-bench-store-", dir=workdir) as tmp:
        base = Path(tmp)
        frame_inputs = list(inputs or [])
        if inputs is None:
            if real_video is not None and Path(real_video).is_file():
                frame_inputs.append(real_input(Path(real_video), n_frames, width, height, notes))
            elif real_video is not None:
                skipped.append(f"real video {real_video} not found: the real input is skipped")
            frame_inputs += generate_inputs(
                base,
                n_frames,
                width=width,
                height=height,
                source_width=source_width,
                source_height=source_height,
                with_flat=with_flat,
                status=status,
            )
        measured = []
        for frame_input in frame_inputs:
            status(f"measuring {len(candidates)} candidates on {frame_input.name} ({len(frame_input.frames)} frames)")
            measured.append(
                measure_input(
                    frame_input,
                    candidates,
                    base,
                    n_clips=n_clips,
                    clip_frames=clip_frames,
                    gop_frames=gop_frames,
                    repeats=repeats,
                    status=status,
                )
            )
    rate = rate_hz or next((i.rate_hz for i in frame_inputs if i.rate_hz), None) or 60.0
    notes.append(
        "per-frame image codecs are measured with their encode/decode functions, one file per frame "
        "(what a Zarr array with 1-frame chunks would hold), not through zarr"
    )
    notes.append(
        f"loader: one process, one thread per decode, the fastest of {repeats} passes; cold = the candidate's "
        "files evicted from the page cache (posix_fadvise DONTNEED) before the pass, directory entries stay cached"
    )
    machine = {"cpus": os.cpu_count(), "load_start": load_start, "load_end": os.getloadavg()[0]}
    return StoreBenchmark(measured, FlexSize(rate_hz=rate), skipped, notes, time.perf_counter() - started, machine)
