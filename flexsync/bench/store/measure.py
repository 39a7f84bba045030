"""Measuring the candidates on one input: bytes, fidelity, ingest CPU, and loader passes cold and warm."""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.bench.store.candidates import Candidate, Layouts, Reader, files_under
from flexsync.bench.store.inputs import FrameInput
from flexsync.frame_quality import frame_psnrs_db, psnr_db, ssim_luma

__all__ = ["clip_starts", "evict", "measure_candidate", "measure_input", "measure_loaders"]


def clip_starts(n_frames: int, n_clips: int, clip_frames: int) -> list[int]:
    """``n_clips`` clip starts spread evenly over the frames (clips overlap when frames are few)."""
    if n_frames < clip_frames:
        raise ValueError(f"{n_frames} frames cannot hold a {clip_frames}-frame clip")
    return [round(float(s)) for s in np.linspace(0, n_frames - clip_frames, max(1, n_clips))]


def measure_input(
    frame_input: FrameInput,
    candidates: Sequence[Candidate],
    workdir: Path,
    *,
    n_clips: int,
    clip_frames: int,
    gop_frames: int,
    repeats: int,
    status: Callable[[str], None],
) -> dict[str, Any]:
    """Every candidate on one input's frames, each in its own folder (removed after)."""
    frames = frame_input.frames
    layouts = Layouts(frames, clip_starts(len(frames), n_clips, clip_frames), clip_frames, gop_frames)
    results, readers, files = {}, {}, {}
    for candidate in candidates:
        status(f"  {frame_input.name}: {candidate.name}")
        folder = workdir / _slug(f"{frame_input.name}-{candidate.name}")
        results[candidate.name] = measure_candidate(candidate, layouts, folder)
        files[candidate.name] = files_under(folder / "samples")
        for reader, read in candidate.readers(folder / "samples", layouts).items():
            readers[(candidate.name, reader)] = read
    status(f"  {frame_input.name}: loader passes ({repeats} rounds of {len(readers)} readers)")
    loaders = measure_loaders(readers, files, len(layouts.clip_starts), repeats=repeats)
    for (candidate_name, reader), figures in loaders.items():
        results[candidate_name]["samples"].setdefault("loader", {})[reader] = figures
    for candidate in candidates:
        shutil.rmtree(workdir / _slug(f"{frame_input.name}-{candidate.name}"))
    return {
        "name": frame_input.name,
        "source": frame_input.source,
        "look": frame_input.look,
        "rate_hz": frame_input.rate_hz,
        "frames": len(frames),
        "frame_size": f"{frames.shape[2]}x{frames.shape[1]}",
        "clips": len(layouts.clip_starts),
        "repeats": repeats,
        "clip_frames": clip_frames,
        "gop_frames": gop_frames,
        "clip_starts": layouts.clip_starts,
        "candidates": results,
    }


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-." else "_" for c in text)


# --------------------------------------------------------------------------- bytes, fidelity, ingest


def measure_candidate(candidate: Candidate, layouts: Layouts, folder: Path) -> dict[str, Any]:
    """Storage, fidelity and ingest CPU figures of one candidate on one input's frames (loader: later)."""
    _warm_up(candidate, layouts, folder / "warm-up")
    n_frames = len(layouts.frames)
    n_clip_frames = len(layouts.clip_starts) * layouts.clip_frames
    out: dict[str, Any] = {"candidate": candidate.name, "kind": candidate.kind, "codec": candidate.describe()}

    cpu = time.process_time()
    candidate.write_recording(folder / "recording", layouts)
    recording_cpu = time.process_time() - cpu
    recording = _storage_figures(folder / "recording", n_frames)
    recording["encode_cpu_s_per_frame"] = recording_cpu / n_frames
    recording.update(_fidelity(layouts.frames, candidate.read_all(folder / "recording")))
    out["recordings"] = recording

    cpu = time.process_time()
    candidate.write_samples(folder / "samples", layouts)
    samples_cpu = time.process_time() - cpu
    samples = _storage_figures(folder / "samples", n_clip_frames)
    if candidate.kind == "zarr":
        samples["encode_cpu_s_per_frame"] = samples_cpu / n_clip_frames
        samples.update(
            _fidelity(layouts.clips().reshape(-1, *layouts.frames.shape[1:]), candidate.read_all(folder / "samples"))
        )
    else:  # the same per-frame files as the recordings layout: same encode cost and fidelity
        for name in ("encode_cpu_s_per_frame", "lossless", "psnr_db", "min_frame_psnr_db", "ssim"):
            samples[name] = recording[name]
    out["samples"] = samples
    shutil.rmtree(folder / "recording")
    return out


def _warm_up(candidate: Candidate, layouts: Layouts, folder: Path) -> None:
    """One untimed chunk written and read, so imports and codec set-up are not counted as ingest."""
    small = Layouts(layouts.frames[: layouts.gop_frames], [], layouts.clip_frames, layouts.gop_frames)
    candidate.write_recording(folder, small)
    candidate.read_all(folder)
    shutil.rmtree(folder)


def _storage_figures(folder: Path, n_frames: int) -> dict[str, Any]:
    """Apparent bytes and bytes allocated on disk (4 KiB blocks and all) of the frame files (no zarr.json)."""
    stats = [p.stat() for p in files_under(folder) if p.name != "zarr.json"]
    size, disk = sum(s.st_size for s in stats), sum(s.st_blocks * 512 for s in stats)
    return {
        "files": len(stats),
        "bytes": size,
        "bytes_per_frame": size / n_frames,
        "disk_bytes_per_frame": disk / n_frames,
    }


def _fidelity(reference: np.ndarray, stored: np.ndarray) -> dict[str, Any]:
    lossless = bool(np.array_equal(reference, stored))
    return {
        "lossless": lossless,
        "psnr_db": psnr_db(reference, stored),
        "min_frame_psnr_db": min(frame_psnrs_db(reference, stored)),
        "ssim": 1.0 if lossless else ssim_luma(reference, stored),
    }


# --------------------------------------------------------------------------- loader passes


def measure_loaders(
    readers: dict[tuple[str, str], Reader],
    files: dict[str, list[Path]],
    n_clips: int,
    *,
    repeats: int,
) -> dict[tuple[str, str], dict[str, Any]]:
    """Loader passes in rounds: each round runs every (candidate, reader) once, cold then warm.

    Interleaving the candidates spreads the slow drifts of a shared machine's load over all of
    them alike; the fastest pass of each kind is kept.
    """
    clips = list(range(n_clips))
    for read in readers.values():
        read(0)  # untimed: imports, codec set-up
    passes: dict[tuple[str, str], dict[str, list]] = {key: {"cold": [], "warm": []} for key in readers}
    for _ in range(max(1, repeats)):
        for (candidate, reader), read in readers.items():
            evict(files[candidate])
            passes[(candidate, reader)]["cold"].append(_timed_pass(read, clips))
            passes[(candidate, reader)]["warm"].append(_timed_pass(read, clips))
    return {key: {kind: _best(runs) for kind, runs in kinds.items()} for key, kinds in passes.items()}


def evict(paths: Sequence[Path]) -> None:
    """Drop the files' pages from the page cache (flushed first: dirty pages cannot be dropped)."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _storage_read_bytes() -> int | None:
    """Bytes this process has made the kernel fetch from storage (``/proc/self/io``), if known."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _timed_pass(read_clip: Reader, clips: Sequence[int]) -> dict[str, float | None]:
    """Read every clip once: clips per wall second and per CPU second, bytes fetched from storage."""
    before = _storage_read_bytes()
    wall, cpu = time.perf_counter(), time.process_time()
    for index in clips:
        read_clip(index)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = _storage_read_bytes()
    return {
        "clips_per_s": len(clips) / wall,
        "clips_per_cpu_s": len(clips) / cpu if cpu > 0 else math.inf,
        "wall_s": wall,
        "storage_read_mb": None if before is None or after is None else (after - before) / 1e6,
    }


def _best(passes: Sequence[dict[str, float | None]]) -> dict[str, Any]:
    """The fastest of repeated passes (the least disturbed by other work on the machine), and all of them."""
    best = min(passes, key=lambda p: p["wall_s"] or math.inf)
    return {**best, "clips_per_cpu_s": max(p["clips_per_cpu_s"] or 0.0 for p in passes), "passes": list(passes)}
