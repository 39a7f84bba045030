"""Ingest physiology: heart and breathing rate with device timestamps, and the logged sync inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from flexsync.errors import InputFileError
from flexsync.ingest.checks import STREAM_CHECKS
from flexsync.ingest.contract import StageOutput, StreamSource
from flexsync.ingest.recording import verify_input
from flexsync.ingest.staging import label_events
from flexsync.ingest.sync_inputs import train_events, train_source
from flexsync.readers.registry import read_file
from flexsync.storage.zarr_io import open_group_for_write, write_array

__all__ = ["PhysioIngester"]

# The device logs its digital input with millisecond timestamps.
LOGGED_EVENT_UNCERTAINTY_S = 5e-4
# Label of a logged falling edge of the sync input (rising edges are "sync"); written with pulse trains.
SYNC_OFF_LABEL = "sync_off"


def _logged_widths(onsets: np.ndarray, offsets: np.ndarray) -> np.ndarray | None:
    """Each logged pulse's width: its rising edge to the first falling edge before the next rise (NaN: none)."""
    if offsets.size == 0:
        return None
    following = np.append(onsets[1:], np.inf)
    k = np.searchsorted(offsets, onsets, side="right")
    fall = np.where(k < offsets.size, offsets[np.minimum(k, offsets.size - 1)], np.nan)
    return np.where(fall < following, fall - onsets, np.nan)


class PhysioIngester:
    """Heart and breathing rate with device timestamps, and the logged sync inputs (``events_file``)."""

    kind = "physio"
    description = "Heart and breathing rate with device timestamps and logged sync inputs."
    checks = STREAM_CHECKS["physio"]
    time_noun = "timestamps"
    events_noun = "sync events"

    def work_estimate(self, source_path: Path) -> float:
        return float(source_path.stat().st_size)

    def stage(self, source: StreamSource, group_dir: Path) -> StageOutput:
        recording, entry, path = source.recording, source.entry, source.path
        contents = read_file(path, format=entry.format, options={"name": source.stream})
        if len(contents.signals) != 1:
            raise InputFileError(
                f"expected one signal table, found {len(contents.signals)}", path=path, recording=recording.key
            )
        signal = next(iter(contents.signals.values()))
        t_device = np.asarray(signal.timestamps_s, dtype=np.float64)
        onsets = np.array([], dtype=np.float64)
        offsets = np.array([], dtype=np.float64)
        if entry.events_file:
            verify_input(recording, entry.events_file, stream=source.stream)
            events_contents = read_file(recording.path(entry.events_file), format="csv", options={"name": "events"})
            for events in events_contents.events.values():
                pairs = list(zip(events.times_s, events.labels, strict=True))
                onsets = np.array([t for t, label in pairs if label == "sync"], dtype=np.float64)
                offsets = np.array([t for t, label in pairs if label == SYNC_OFF_LABEL], dtype=np.float64)
        train = train_source(entry)
        if train is None:
            events = label_events(onsets, t_device, source="log", uncertainty_s=LOGGED_EVENT_UNCERTAINTY_S)
        else:  # a pulse train on the digital input: every logged rising edge is an event
            events = train_events(
                onsets,
                _logged_widths(onsets, offsets),
                t_device,
                source="log",
                uncertainty_s=LOGGED_EVENT_UNCERTAINTY_S,
                pulse_s=source.settings.sync_pulse_s,
                sync_source=train,
            )
        summary = source.summary(
            t_device=t_device,
            n_channels=len(signal.channel_names),
            sync_events=events,
            warnings=list(contents.warnings),
        )
        group = open_group_for_write(group_dir)
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
        metadata = {
            "samples": summary.n_samples,
            "rate_hz": summary.measured_rate_hz,
            **{f"mean_{k}": v for k, v in means.items()},
        }
        return StageOutput(summary=summary, t_device=t_device, metadata=metadata)
