"""The standard FLEX streams and the one entry point that ingests any of them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flexsync.config import PipelineSettings
from flexsync.errors import FlexsyncError
from flexsync.ingest.recording import RawRecording, naming_errors
from flexsync.quality import CheckOutcome
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


def ingest_stream(recording: RawRecording, stream: str, store: StoreLayout, settings: PipelineSettings) -> StreamResult:
    """Read, process and stage one stream of a recording (atomically replacing any earlier staging).

    A stream the manifest does not list is reported as absent and any stale staging is removed.
    """
    from flexsync.ingest import emg, mocap, physio, video

    kind = STREAMS[stream].kind if stream in STREAMS else recording.stream(stream).kind
    target = store.staging_stream(recording.key, stream)
    if not recording.has_stream(stream):
        shutil.rmtree(target, ignore_errors=True)
        return StreamResult(stream, kind, None, {"present": False}, [], [f"stream {stream} not in the manifest"])
    ingest = {
        "video": video.ingest_video,
        "mocap": mocap.ingest_mocap,
        "emg": emg.ingest_emg,
        "physio": physio.ingest_physio,
    }
    with naming_errors(recording, stream):
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
    every core busy: one video alone leaves a core idle between frames. The biggest input files
    start first so the last one to finish is short (longest-processing-time-first). A stream that
    fails yields its exception; the others carry on. ``workers`` = 0 means one per core.
    """
    workers = workers or os.cpu_count() or 1
    by_size = sorted(streams, key=lambda stream: -_input_size(recording, stream))
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(streams))), thread_name_prefix="ingest") as pool:
        futures = {stream: pool.submit(ingest_stream, recording, stream, store, settings) for stream in by_size}
        for stream in streams:
            try:
                yield stream, futures[stream].result()
            except Exception as error:  # reported per stream by the caller; the others go on
                yield stream, error


def _input_size(recording: RawRecording, stream: str) -> int:
    if not recording.has_stream(stream):
        return 0
    try:
        return recording.stream_path(stream).stat().st_size
    except (OSError, FlexsyncError):
        return 0  # a missing or unsafe file fails in ingest_stream with a message that names it
