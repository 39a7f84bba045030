"""The same work without orchestration: the pipeline's domain functions, one process per worker.

Each recording gets what its ``ingest_recordings`` run does, step for step, called directly
(no Dagster, no instance, no event log): every stream ingested (``ingest_streams``, threads as the
asset uses them), the clock fit, the publication, the repetition samples, into a store of its own.
Worker processes start and import everything before the clock starts, so the reference excludes
process start-up as a long-lived worker would; the throughput is recordings over the wall time
from the first submission to the last result.

Once every timed recording is done, the same workers measure what the extrapolation needs, off
the clock: each recording's source pixels and video seconds per view (packet probe) and the
decode + convert cost of every view on one thread (``decode_and_convert`` to the stored size, as
the pipeline converts).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flexsync.bench.scale.processes import own_cpu_s

__all__ = ["DirectFigures", "VideoCost", "measure_video_cost", "run_direct"]


@dataclass(frozen=True)
class VideoCost:
    """A recording's video: views, frames, source pixels, seconds summed over views, one-thread decode cost."""

    views: int
    frames: int
    pixels: float
    video_s: float
    decode_s: float
    decode_cpu_s: float

    def to_dict(self) -> dict:
        return {
            "views": self.views,
            "frames": self.frames,
            "pixels": self.pixels,
            "video_s": self.video_s,
            "decode_s": self.decode_s,
            "decode_cpu_s": self.decode_cpu_s,
            "decode_cpu_s_per_megapixel": self.decode_cpu_s / self.pixels * 1e6 if self.pixels else None,
        }


def measure_video_cost(
    raw_root: str, key: str, frame_width: int, frame_height: int, *, decode: bool = True
) -> VideoCost:
    """Probe every video stream of ``key`` and time decode + convert to the stored size on one thread.

    ``decode`` False: the probe only (decode times 0).
    """
    from flexsync.ingest.recording import RawRecording
    from flexsync.readers.video import decode_and_convert, probe_video

    recording = RawRecording.open(raw_root, key)
    names = [name for name, entry in recording.manifest.streams.items() if entry.kind == "video"]
    videos = [probe_video(recording.stream_path(name)) for name in names]
    wall, cpu = time.perf_counter(), time.process_time()
    for video in videos if decode else ():
        decode_and_convert(video, frame_width, frame_height, threads="NONE", scale_threads=1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    seconds = 0.0
    for video in videos:
        t = video.timestamps_s
        seconds += float(t[-1] - t[0]) * len(t) / (len(t) - 1) if len(t) > 1 else 0.0
    return VideoCost(
        views=len(videos),
        frames=int(sum(v.n_frames for v in videos)),
        pixels=float(sum(v.n_frames * v.width * v.height for v in videos)),
        video_s=seconds,
        decode_s=wall,
        decode_cpu_s=cpu,
    )


def _warm(ready: Any) -> None:
    """Pool initializer: import everything a recording needs, then wait for every worker to be ready."""
    import flexsync.ingest.align
    import flexsync.ingest.clocks
    import flexsync.ingest.streams
    import flexsync.samples.extract  # noqa: F401

    ready.wait()


def _pid() -> int:
    return os.getpid()


def _one(args: tuple[str, str, str, dict[str, Any]]) -> dict[str, Any]:
    """Worker: the work of one ``ingest_recordings`` run on ``key``, timed stage by stage."""
    from flexsync.config import PipelineSettings
    from flexsync.ingest.align import publish_recording
    from flexsync.ingest.clocks import fit_recording_clocks
    from flexsync.ingest.recording import RawRecording
    from flexsync.ingest.registry import INGESTERS
    from flexsync.ingest.streams import ingest_streams, streams_of_kind
    from flexsync.samples.extract import build_recording_samples
    from flexsync.storage.store import Store

    raw_root, store_root, key, values = args
    settings, store = PipelineSettings.from_values(values), Store(store_root)
    started, cpu = time.perf_counter(), own_cpu_s()
    recording = RawRecording.open(raw_root, key)
    streams = [s for kind in INGESTERS for s in streams_of_kind(recording, kind)]
    for stream, result in ingest_streams(recording, streams, store, settings, workers=0):
        if isinstance(result, Exception):
            raise RuntimeError(f"{key} {stream}: {result}") from result
    marks = [time.perf_counter()]
    fit_recording_clocks(recording, store, settings)
    marks.append(time.perf_counter())
    publish_recording(recording, store, settings)
    marks.append(time.perf_counter())
    build_recording_samples(raw_root, store, key, settings=settings)
    marks.append(time.perf_counter())
    ended, cpu = marks[-1], own_cpu_s() - cpu
    return {
        "key": key,
        "pid": os.getpid(),
        "wall_s": ended - started,
        "cpu_s": cpu,
        "stages_s": {
            "recording_streams": marks[0] - started,
            "clock_models": marks[1] - marks[0],
            "aligned_recording": marks[2] - marks[1],
            "repetition_samples": marks[3] - marks[2],
        },
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


@dataclass(frozen=True)
class DirectFigures:
    """The direct runs: per recording figures and the pool's wall time."""

    workers: int
    recordings: list[dict[str, Any]]
    wall_s: float

    def to_dict(self) -> dict:
        return {"workers": self.workers, "wall_s": self.wall_s, "per_recording": self.recordings}


def run_direct(
    raw_root: Path,
    store_root: Path,
    keys: list[str],
    workers: int,
    settings: dict[str, Any],
    *,
    probe_keys: list[str] = (),
) -> tuple[DirectFigures, dict[str, VideoCost]]:
    """Run ``keys`` directly in ``workers`` warm processes (spawned: see flexsync.pipelines.runner).

    ``settings``: PipelineSettings values, those the code location's runs use (FLEXSYNC_SETTINGS).
    Returns the figures and the video of ``keys`` (decode timed) and ``probe_keys`` (probed only).
    """
    from flexsync.config import PipelineSettings

    stored = PipelineSettings.from_values(settings)
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(workers, timeout=600)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm, initargs=(ready,)) as pool:
        # One task per worker starts them all (a pool starts a process per submission while none is idle);
        # the barrier holds each until all have imported, so the clock starts with every worker warm.
        for future in [pool.submit(_pid) for _ in range(workers)]:
            future.result()
        started = time.perf_counter()
        jobs = [(str(raw_root), str(store_root), key, settings) for key in keys]
        results = list(pool.map(_one, jobs))
        wall = time.perf_counter() - started
        others = [key for key in probe_keys if key not in set(keys)]
        jobs = [(str(raw_root), key, stored.frame_width, stored.frame_height, key in keys) for key in [*keys, *others]]
        video = dict(zip([*keys, *others], pool.map(_video_cost, jobs, chunksize=8), strict=True))
    return DirectFigures(workers, results, wall), video


def _video_cost(args: tuple[str, str, int, int, bool]) -> VideoCost:
    raw_root, key, width, height, decode = args
    return measure_video_cost(raw_root, key, width, height, decode=decode)
