"""Ingest the streams of a recording: the skeleton every kind shares, and running several at once.

The skeleton (verify, read, summarise, write, check) is written once here: the file is located
safely and hashed against the manifest, the kind's ingester reads it and writes its staging group
into a folder that becomes the staged stream only if everything succeeds, and the checks every
kind has (timestamps increasing, sync events found) are evaluated the same way for all.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from flexsync.config import PipelineSettings
from flexsync.errors import FlexsyncError
from flexsync.ingest.checks import outcome
from flexsync.ingest.contract import Ingester, StageOutput, StreamResult, StreamSource
from flexsync.ingest.recording import RawRecording, naming_errors, verify_input
from flexsync.ingest.registry import ingester_for
from flexsync.ingest.staging import strictly_increasing_problem
from flexsync.ingest.sync_inputs import train_source
from flexsync.quality import CheckOutcome
from flexsync.storage.store import Store

__all__ = ["ingest_stream", "ingest_streams", "streams_of_kind"]


def streams_of_kind(recording: RawRecording, kind: str) -> list[str]:
    """The manifest's streams of one kind, in manifest order."""
    return [name for name, entry in recording.manifest.streams.items() if entry.kind == kind]


def ingest_stream(
    recording: RawRecording, stream: str, store: Store, settings: PipelineSettings, *, alongside: bool = False
) -> StreamResult:
    """Read, process and stage one manifest stream (atomically replacing any earlier staging).

    ``alongside``: other streams are ingested at the same time (a video then decodes on one thread).
    Errors name the recording, the stream and the file.
    """
    ingester = ingester_for(recording, stream)
    with naming_errors(recording, stream):
        entry = recording.stream(stream)
        path = recording.stream_path(stream)
        sha256, size = verify_input(recording, entry.file, stream=stream)
        source = StreamSource(recording, stream, entry, path, sha256, size, settings, alongside)
        with store.write_staged_stream(recording.key, stream) as group_dir:
            staged = ingester.stage(source, group_dir)
    return StreamResult(
        stream=stream,
        kind=ingester.kind,
        metadata=staged.metadata,
        checks=_shared_checks(ingester, source, staged),
        warnings=staged.summary.warnings,
    )


def _shared_checks(ingester: Ingester, source: StreamSource, staged: StageOutput) -> list[CheckOutcome]:
    """The kind's checks in registry order: timestamps, the kind's own, sync events."""
    timestamps, *_, sync = ingester.checks
    problem = strictly_increasing_problem(staged.t_device)
    labels = sorted(e.label for e in staged.summary.sync_events)
    found = labels == ["end", "start"]
    text = f"{ingester.events_noun} found: " + (", ".join(labels) or "none")
    train = train_source(source.entry)
    if train is not None:  # a sync train: every pulse is an event; two place a clock
        found = len(labels) >= 2
        text = f"{len(labels)} pulses of the {train} found"
    if staged.no_sync_reason is not None:
        found, text = True, f"{staged.no_sync_reason}: no sync events expected"
    return [
        outcome(
            timestamps, problem is None, f"{source.where}: " + (problem or f"{ingester.time_noun} strictly increasing")
        ),
        *staged.checks,
        outcome(sync, found, f"{source.where}: {text}", n_events=len(labels)),
    ]


def ingest_streams(
    recording: RawRecording,
    streams: Sequence[str],
    store: Store,
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


def _kind(recording: RawRecording, stream: str) -> str | None:
    return recording.manifest.streams[stream].kind if recording.has_stream(stream) else None


def _work_estimate(recording: RawRecording, stream: str) -> float:
    """Relative ingest cost, by the kind's own estimate (0 when the file cannot be located)."""
    try:
        return ingester_for(recording, stream).work_estimate(recording.stream_path(stream))
    except (OSError, FlexsyncError):
        return 0.0  # a missing or unsafe file fails in ingest_stream with a message that names it
