"""Ingest physiology: heart and breathing rate with device timestamps, and the logged sync inputs."""

from __future__ import annotations

import numpy as np

from flexsync.config import PipelineSettings
from flexsync.errors import InputFileError
from flexsync.ingest.checks import STREAM_CHECKS, outcome
from flexsync.ingest.recording import RawRecording, verify_input
from flexsync.ingest.staging import StreamSummary, events_check_text, label_events, strictly_increasing_problem
from flexsync.ingest.streams import StreamResult
from flexsync.readers.registry import read_file
from flexsync.storage.atomic import atomic_directory
from flexsync.storage.layout import StoreLayout
from flexsync.storage.zarr_io import open_group_for_write, write_array

__all__ = ["ingest_physio"]

# The device logs its digital input with millisecond timestamps.
LOGGED_EVENT_UNCERTAINTY_S = 5e-4


def ingest_physio(recording: RawRecording, stream: str, store: StoreLayout, settings: PipelineSettings) -> StreamResult:
    entry = recording.stream(stream)
    path = recording.stream_path(stream)
    sha256, size = verify_input(recording, entry.file, stream=stream)
    contents = read_file(path, format=entry.format, options={"name": stream})
    if len(contents.signals) != 1:
        raise InputFileError(
            f"expected one signal table, found {len(contents.signals)}", path=path, recording=recording.key
        )
    signal = next(iter(contents.signals.values()))
    t_device = np.asarray(signal.timestamps_s, dtype=np.float64)
    onsets = np.array([], dtype=np.float64)
    if entry.events_file:
        verify_input(recording, entry.events_file, stream=stream)
        events_contents = read_file(recording.path(entry.events_file), format="csv", options={"name": "events"})
        for events in events_contents.events.values():
            onsets = np.array([t for t, label in zip(events.times_s, events.labels, strict=True) if label == "sync"])
    events = label_events(
        onsets,
        t_device,
        source="log",
        uncertainty_s=LOGGED_EVENT_UNCERTAINTY_S,
    )
    summary = StreamSummary.measure(
        entry,
        stream=stream,
        kind="physio",
        sha256=sha256,
        size=size,
        t_device=t_device,
        n_channels=len(signal.channel_names),
        sync_events=events,
        warnings=list(contents.warnings),
    )
    target = store.staging_stream(recording.key, stream)
    with atomic_directory(target) as tmp:
        group = open_group_for_write(tmp)
        write_array(group, "values", np.asarray(signal.data, dtype=np.float32))
        write_array(group, "t_device", t_device)
        group.attrs.update(
            {
                "kind": "physio",
                "channel_names": list(signal.channel_names),
                "units": list(signal.units),
                "ingest": summary.to_attrs(),
            }
        )
    means = {name: float(np.nanmean(signal.data[:, i])) for i, name in enumerate(signal.channel_names)}
    timestamps, sync = STREAM_CHECKS["physio"]
    where = f"recording {recording.key}, stream {stream}"
    problem = strictly_increasing_problem(t_device)
    found, text = events_check_text(events)
    return StreamResult(
        stream=stream,
        kind="physio",
        staging_path=target,
        metadata={
            "samples": summary.n_samples,
            "rate_hz": summary.measured_rate_hz,
            **{f"mean_{k}": v for k, v in means.items()},
        },
        checks=[
            outcome(timestamps, problem is None, f"{where}: " + (problem or "timestamps strictly increasing")),
            outcome(sync, found, f"{where}: {text}", n_events=len(events)),
        ],
        warnings=summary.warnings,
    )
