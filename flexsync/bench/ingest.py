"""Ingest benchmark: is materialising a recording bound by video decoding?

For one generated recording it measures, in one worker process:

- pure decode: every video's frames decoded, nothing else;
- unavoidable work (a): decode and convert every frame to the stored size (455x256 RGB) with
  the fastest method we have (one reused swscale reformatter, AREA), discarding the result;
- pipeline (b): wall time of materialising every asset of the recording in-process (a second
  materialisation, so one-off imports do not count; it is idempotent);

and prints b / a. Peak memory (ru_maxrss) is measured in separate processes for a short and a
long recording, to show it does not grow with duration.
"""

from __future__ import annotations

import json
import logging
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["IngestBenchmark", "run_ingest_benchmark"]

VIEWS = ("cam1", "cam2", "cam3", "cam4", "phone")


@dataclass
class RecordingFigures:
    key: str
    duration_s: float
    frames: int
    source_size: str
    decode_s: float
    decode_convert_s: float
    pipeline_s: float
    peak_rss_mb: float

    @property
    def ratio(self) -> float:
        return self.pipeline_s / self.decode_convert_s


@dataclass
class IngestBenchmark:
    short: RecordingFigures
    long: RecordingFigures

    def to_dict(self) -> dict:
        out = {}
        for name in ("short", "long"):
            figures = getattr(self, name)
            out[name] = {**asdict(figures), "ratio": figures.ratio}
        out["memory_growth"] = self.long.peak_rss_mb / self.short.peak_rss_mb
        out["target_ratio"] = 1.25
        return out

    def format(self) -> str:
        lines = [
            "recording        duration  frames  source     decode   decode+convert (a)  pipeline (b)  b/a   peak RSS",
        ]
        for f in (self.short, self.long):
            lines.append(
                f"{f.key:16s} {f.duration_s:6.1f} s {f.frames:7d}  {f.source_size:9s} {f.decode_s:6.2f} s"
                f" {f.decode_convert_s:12.2f} s {f.pipeline_s:12.2f} s  {f.ratio:5.2f}  {f.peak_rss_mb:7.0f} MB"
            )
        lines.append(
            f"ratio b/a on the long recording: {self.long.ratio:.2f} (target <= 1.25); "
            f"peak memory long/short: {self.long.peak_rss_mb / self.short.peak_rss_mb:.2f} "
            f"for {self.long.duration_s / self.short.duration_s:.1f}x the duration"
        )
        return "\n".join(lines)


def measure_recording(raw_root: str, store_root: str, key: str) -> dict:
    """Worker: time decode, decode+convert and the pipeline on one recording; report peak RSS."""
    import dagster as dg

    from flexsync.assets.resources import FlexsyncResource
    from flexsync.config import PipelineSettings
    from flexsync.ingest.recording import RawRecording
    from flexsync.pipelines.runner import run_recording
    from flexsync.readers.video import decode_and_convert, decode_only, probe_video

    logging.getLogger("dagster").setLevel(logging.ERROR)
    settings = PipelineSettings()
    recording = RawRecording.open(raw_root, key)
    videos = [probe_video(recording.stream_path(v)) for v in VIEWS if recording.has_stream(v)]
    started = time.perf_counter()
    for video in videos:
        decode_only(video)
    decode_s = time.perf_counter() - started
    started = time.perf_counter()
    for video in videos:
        decode_and_convert(video, settings.frame_width, settings.frame_height)
    decode_convert_s = time.perf_counter() - started
    flexsync = FlexsyncResource(raw_root=raw_root, store_root=store_root)
    with dg.DagsterInstance.ephemeral() as instance:
        first = run_recording(key, instance, flexsync)  # warm-up: imports, caches
        started = time.perf_counter()
        second = run_recording(key, instance, flexsync)
        pipeline_s = time.perf_counter() - started
    if not (first.success and second.success):
        raise RuntimeError(f"benchmark recording {key} failed: {first.failures or second.failures}")
    return {
        "key": key,
        "duration_s": float(videos[0].timestamps_s[-1] - videos[0].timestamps_s[0]),
        "frames": int(sum(v.n_frames for v in videos)),
        "source_size": f"{videos[0].width}x{videos[0].height}",
        "decode_s": decode_s,
        "decode_convert_s": decode_convert_s,
        "pipeline_s": pipeline_s,
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
    *, width: int = 1280, height: int = 720, short_reps: int = 2, long_reps: int = 8, workdir: Path | None = None
) -> IngestBenchmark:
    """Generate a short and a long recording at ``width`` x ``height`` and measure both."""
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
            )
            raw = base / name / "raw"
            (key,) = generate_dataset(raw, base / name / "truth", options)
            figures.append(_measure_in_child(raw, base / name / "store", key))
        return IngestBenchmark(short=figures[0], long=figures[1])
