"""The standard FLEX streams and the one entry point that ingests any of them."""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexsync.config import PipelineSettings
from flexsync.errors import FlexsyncError
from flexsync.ingest.recording import RawRecording, naming_errors
from flexsync.quality import CheckOutcome
from flexsync.readers.video import decoding_work
from flexsync.storage.layout import StoreLayout

__all__ = ["STREAMS", "StreamResult", "StreamSpec", "ingest_stream", "ingest_streams"]


@dataclass(frozen=True)
class StreamSpec:
    name: str
    kind: str
    description: str


STREAMS: dict[str, StreamSpec] = {
    spec.name: spec
    for spec in (
        *(
            StreamSpec(f"cam{i}", "video", f"Cinema view {i}: frame PTS, dropped frames, sync flash, resized frames.")
            for i in range(1, 5)
        ),
        StreamSpec("phone", "video", "Phone view (variable frame rate): PTS, drops, sync flash, resized frames."),
        StreamSpec("mocap", "mocap", "Motion capture: 21 joints in metres with gap mask, analog sync pulses."),
        StreamSpec("emg", "emg", "sEMG: raw, cleaned (band-pass + notch) and envelope, channel quality, trigger."),
        StreamSpec("physio", "physio", "Heart and breathing rate with device timestamps and logged sync inputs."),
    )
}


@dataclass
class StreamResult:
    """What an ingest step tells the orchestrator."""

    stream: str
    kind: str
    staging_path: Path | None
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def ingest_stream(
    recording: RawRecording, stream: str, store: StoreLayout, settings: PipelineSettings, *, alongside: bool = False
) -> StreamResult:
    """Read, process and stage one stream of a recording (atomically replacing any earlier staging).

    A stream the manifest does not list is reported as absent and any stale staging is removed.
    ``alongside``: other streams are ingested at the same time (a video then decodes on one thread).
    """
    from flexsync.ingest import emg, mocap, physio, video

    kind = STREAMS[stream].kind if stream in STREAMS else recording.stream(stream).kind
    target = store.staging_stream(recording.key, stream)
    if not recording.has_stream(stream):
        shutil.rmtree(target, ignore_errors=True)
        return StreamResult(stream, kind, None, {"present": False}, [], [f"stream {stream} not in the manifest"])
    ingest = {
        "mocap": mocap.ingest_mocap,
        "emg": emg.ingest_emg,
        "physio": physio.ingest_physio,
    }
    with naming_errors(recording, stream):
        if kind == "video":
            return video.ingest_video(recording, stream, store, settings, alongside=alongside)
        return ingest[kind](recording, stream, store, settings)


def ingest_streams(
    recording: RawRecording,
    streams: Sequence[str],
    store: StoreLayout,
    settings: PipelineSettings,
    *,
    workers: int = 0,
) -> Iterator[tuple[str, StreamResult | Exception]]:
    """Ingest several streams of a recording at once; yield each stream's result or error, in order.

    Decoding and scaling (FFmpeg) and chunk compression (zstd) release the GIL, so threads keep
    every core busy. Each video decodes on one thread while others run (cheaper than FFmpeg's
    own threads competing with them); the biggest videos start first and the signal streams last
    (longest-processing-time-first), and the last video to start gets FFmpeg's threads, as it
    soon has the cores to itself. A stream that fails yields its exception; the others carry on.
    ``workers`` = 0 means one per core.
    """
    workers = max(1, min(workers or os.cpu_count() or 1, len(streams)))
    work = {stream: _work_estimate(recording, stream) for stream in streams}
    order = sorted(streams, key=lambda stream: -work[stream])
    videos_waiting = [sum(1 for stream in streams if _kind(recording, stream) == "video")]
    lock = threading.Lock()

    def run(stream: str) -> StreamResult:
        alongside = workers > 1
        if _kind(recording, stream) == "video":
            with lock:
                videos_waiting[0] -= 1
                # The last video to start soon has the cores to itself: let FFmpeg thread it.
                alongside = alongside and videos_waiting[0] > 0
        return ingest_stream(recording, stream, store, settings, alongside=alongside)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        futures = {stream: pool.submit(run, stream) for stream in order}
        for stream in streams:
            try:
                yield stream, futures[stream].result()
            except Exception as error:  # reported per stream by the caller; the others go on
                yield stream, error


def _kind(recording: RawRecording, stream: str) -> str:
    return STREAMS[stream].kind if stream in STREAMS else recording.stream(stream).kind


def _work_estimate(recording: RawRecording, stream: str) -> float:
    """Videos by pixels to decode, ahead of every signal stream (those take well under a second)."""
    if not recording.has_stream(stream):
        return 0.0
    try:
        path = recording.stream_path(stream)
        if _kind(recording, stream) == "video":
            return 1e9 + decoding_work(path)
        return float(path.stat().st_size)
    except (OSError, FlexsyncError):
        return 0.0  # a missing or unsafe file fails in ingest_stream with a message that names it
