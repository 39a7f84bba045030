"""Ingest benchmark: is materialising a recording bound by video decoding?

For one generated recording it measures, in one worker process:

- pure decode: every video's frames decoded, nothing else;
- unavoidable work (a): decode and convert every frame to the stored size (455x256 RGB, swscale
  AREA with one reused reformatter), discarding the result, done the faster of two ways: one
  video at a time (with FFmpeg's decoder and scaler threads) or one video per core (each decoded
  and scaled on one thread), whichever is faster on this machine at this moment (both printed);
- ingest (b): wall time of materialising the recording's ingest assets in-process: every stream,
  the clock models and the aligned recording (a second materialisation, so one-off imports do
  not count; it is idempotent);
- samples (c): the training product built on top (103-frame clips per repetition), timed on its
  own because it re-reads the published frames rather than the raw files;

and prints b / a (the target) and (b + c) / a. CPU seconds (user + system) are printed next to
the wall times: on a shared machine they show the extra work without the scheduling noise. Peak
memory (ru_maxrss) is measured in separate processes for a short and a long recording, to show it
does not grow with duration.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["IngestBenchmark", "run_ingest_benchmark"]

VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")
# Ingest against the unavoidable decode+scale work: 1.5x once frames are stored as H.264 (encoding
# them is work the store needs, not overhead; docs/frame-storage.md). It was 1.25x for zstd frames.
TARGET_RATIO = 1.5


@dataclass
class RecordingFigures:
    key: str
    duration_s: float
    frames: int
    source_size: str
    decode_s: float
    convert_one_at_a_time_s: float
    convert_concurrent_s: float
    decode_convert_s: float
    decode_convert_cpu_s: float
    ingest_s: float
    ingest_cpu_s: float
    samples_s: float
    peak_rss_mb: float

    @property
    def ratio(self) -> float:
        return self.ingest_s / self.decode_convert_s

    @property
    def cpu_ratio(self) -> float:
        """b/a in CPU seconds: the extra work, without the scheduling noise of a shared machine."""
        return self.ingest_cpu_s / self.decode_convert_cpu_s

    @property
    def ratio_with_samples(self) -> float:
        return (self.ingest_s + self.samples_s) / self.decode_convert_s


@dataclass
class IngestBenchmark:
    short: RecordingFigures
    long: RecordingFigures

    def to_dict(self) -> dict:
        out = {}
        for name in ("short", "long"):
            figures = getattr(self, name)
            out[name] = {
                **asdict(figures),
                "ratio": figures.ratio,
                "cpu_ratio": figures.cpu_ratio,
                "ratio_with_samples": figures.ratio_with_samples,
            }
        out["memory_growth"] = self.long.peak_rss_mb / self.short.peak_rss_mb
        out["target_ratio"] = TARGET_RATIO
        return out

    def format(self) -> str:
        lines = [
            "recording     duration  frames  source     decode  decode+convert (a)       ingest (b)"
            "       samples (c)  b/a   (b+c)/a  peak RSS",
            "                                                     wall s  cpu s           wall s  cpu s     wall s",
        ]
        for f in (self.short, self.long):
            lines.append(
                f"{f.key:12s} {f.duration_s:6.1f} s {f.frames:7d}  {f.source_size:9s} {f.decode_s:6.2f}"
                f" {f.decode_convert_s:10.2f} {f.decode_convert_cpu_s:6.2f} {f.ingest_s:15.2f} {f.ingest_cpu_s:6.2f}"
                f" {f.samples_s:10.2f} {f.ratio:6.2f} {f.ratio_with_samples:7.2f} {f.peak_rss_mb:7.0f} MB"
            )
        long = self.long
        lines.append(
            f"(a) = min(one video at a time {long.convert_one_at_a_time_s:.2f} s, "
            f"videos concurrently {long.convert_concurrent_s:.2f} s) on the long recording"
        )
        lines.append(
            f"ratio b/a on the long recording: {long.ratio:.2f} (target <= {TARGET_RATIO}), in CPU seconds "
            f"{long.cpu_ratio:.2f}; peak memory long/short: {long.peak_rss_mb / self.short.peak_rss_mb:.2f} "
            f"for {long.duration_s / self.short.duration_s:.1f}x the duration"
        )
        return "\n".join(lines)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(work: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of ``work()`` (CPU of every thread of this process)."""
    wall, cpu = time.perf_counter(), _cpu_s()
    work()
    return time.perf_counter() - wall, _cpu_s() - cpu


def measure_recording(raw_root: str, store_root: str, key: str) -> dict:
    """Worker: time decode, decode+convert, ingest and samples on one recording; report peak RSS."""
    import dagster as dg

    from flexsync.assets import aligned_recording, clock_models, recording_streams
    from flexsync.assets.resources import FlexsyncResource
    from flexsync.assets.training import repetition_samples
    from flexsync.config import PipelineSettings
    from flexsync.ingest.recording import RawRecording
    from flexsync.pipelines.runner import run_recording
    from flexsync.readers.video import decode_and_convert, decode_only, probe_video

    logging.getLogger("dagster").setLevel(logging.ERROR)
    settings = PipelineSettings()
    recording = RawRecording.open(raw_root, key)
    videos = [probe_video(recording.stream_path(v)) for v in VIEWS if recording.has_stream(v)]
    videos.sort(key=lambda v: -v.n_frames * v.width * v.height)  # biggest first, as the pipeline does
    workers = min(len(videos), os.cpu_count() or 1)

    def convert(video, threads: str = "AUTO", scale_threads: int = 0) -> int:
        return decode_and_convert(
            video, settings.frame_width, settings.frame_height, threads=threads, scale_threads=scale_threads
        )

    decode_s, _ = _timed(lambda: [decode_only(video) for video in videos])
    # One video at a time with FFmpeg's decoder and scaler threads, or one video per core with
    # single-threaded decoding and scaling (what the pipeline does): the faster one is (a).
    one_at_a_time = _timed(lambda: [convert(video) for video in videos])
    with ThreadPoolExecutor(max_workers=workers) as pool:
        concurrent = _timed(lambda: list(pool.map(lambda video: convert(video, "NONE", 1), videos)))
    fastest = min(one_at_a_time, concurrent)
    flexsync = FlexsyncResource(raw_root=raw_root, store_root=store_root)
    ingest_assets = [recording_streams, clock_models, aligned_recording]
    with dg.DagsterInstance.ephemeral() as instance:
        first = run_recording(key, instance, flexsync)  # warm-up: imports, caches
        runs = {}

        def materialise(name: str, selection: list) -> None:
            runs[name] = run_recording(key, instance, flexsync, selection=selection)

        ingest_s, ingest_cpu_s = _timed(lambda: materialise("ingest", ingest_assets))
        samples_s, _ = _timed(lambda: materialise("samples", [repetition_samples]))
    failed = [run for run in (first, *runs.values()) if not run.success]
    if failed:
        raise RuntimeError(f"benchmark recording {key} failed: {failed[0].failures}")
    return {
        "key": key,
        "duration_s": float(videos[0].timestamps_s[-1] - videos[0].timestamps_s[0]),
        "frames": int(sum(v.n_frames for v in videos)),
        "source_size": f"{videos[0].width}x{videos[0].height}",
        "decode_s": decode_s,
        "convert_one_at_a_time_s": one_at_a_time[0],
        "convert_concurrent_s": concurrent[0],
        "decode_convert_s": fastest[0],
        "decode_convert_cpu_s": fastest[1],
        "ingest_s": ingest_s,
        "ingest_cpu_s": ingest_cpu_s,
        "samples_s": samples_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def _measure_in_child(raw_root: Path, store_root: Path, key: str) -> RecordingFigures:
    code = (
        "import json, sys\n"
        "from flexsync.bench.ingest import measure_recording\n"
        "print(json.dumps(measure_recording(sys.argv[1], sys.argv[2], sys.argv[3])))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(raw_root), str(store_root), key],
        check=True,
        capture_output=True,
        text=True,
    )
    return RecordingFigures(**json.loads(done.stdout.strip().splitlines()[-1]))


def run_ingest_benchmark(
    *,
    width: int = 1280,
    height: int = 720,
    short_reps: int = 2,
    long_reps: int = 8,
    look: str = "realistic",
    workdir: Path | None = None,
) -> IngestBenchmark:
    """Generate a short and a long recording at ``width`` x ``height`` and measure both.

    ``look`` "realistic" (default): camera-like frames and bitrates, what a lab's files cost to
    decode; "flat" for quick checks of the figures' arithmetic.
    """
    from flexsync.synth.dataset import generate_dataset
    from flexsync.synth.options import SynthOptions

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        base = Path(tmp)
        figures = []
        for name, reps in (("short", short_reps), ("long", long_reps)):
            options = SynthOptions(
                seed=1,
                subjects=1,
                actions=("A01",),
                repetitions=reps,
                width=width,
                height=height,
                phone_width=height,
                phone_height=width,
                look=look,
            )
            raw = base / name / "raw"
            (key,) = generate_dataset(raw, base / name / "truth", options)
            figures.append(_measure_in_child(raw, base / name / "store", key))
        return IngestBenchmark(short=figures[0], long=figures[1])
