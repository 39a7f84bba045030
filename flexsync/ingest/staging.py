"""Staged streams: what one ingest step leaves in the store for the clock fit and the publish.

A staging group holds the stream's arrays on its device clock plus an ``ingest`` attribute:
a plain summary (file, hashes, counts, detected sync events, dropped frames, channel quality)
that later steps read without touching the raw files again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.jsonsafe import json_safe
from flexsync.raw.manifest import StreamEntry
from flexsync.storage.store import Store
from flexsync.storage.zarr_io import open_group_readonly

__all__ = [
    "StagedStream",
    "StreamSummary",
    "SyncEvent",
    "events_check_text",
    "label_events",
    "read_staged",
    "strictly_increasing_problem",
]


@dataclass(frozen=True)
class SyncEvent:
    """One detected sync event on the device clock."""

    t_device_s: float
    uncertainty_s: float
    source: str  # "flash", "trigger", "analog", "log"
    label: str  # "start" or "end"


@dataclass
class StreamSummary:
    """What an ingest step measured about one stream (stored as the ``ingest`` attribute)."""

    stream: str
    kind: str
    format: str
    device: str
    file: str
    sha256: str
    bytes: int
    nominal_rate_hz: float
    measured_rate_hz: float
    n_samples: int
    n_channels: int
    t_device_first_s: float
    t_device_last_s: float
    sync_events: list[SyncEvent] = field(default_factory=list)
    width: int | None = None
    height: int | None = None
    codec: str | None = None
    dropped_frames: list[dict[str, Any]] = field(default_factory=list)
    channel_quality: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def measure(
        cls,
        entry: StreamEntry,
        *,
        stream: str,
        kind: str,
        sha256: str,
        size: int,
        t_device: np.ndarray,
        n_channels: int,
        **fields: Any,
    ) -> StreamSummary:
        """A summary whose counts, span and measured rate come from the device timestamps."""
        duration = float(t_device[-1] - t_device[0]) if t_device.size > 1 else 0.0
        return cls(
            stream=stream,
            kind=kind,
            format=entry.format,
            device=entry.device,
            file=entry.file,
            sha256=sha256,
            bytes=size,
            nominal_rate_hz=entry.nominal_rate_hz,
            measured_rate_hz=(t_device.size - 1) / duration if duration > 0 else 0.0,
            n_samples=int(t_device.size),
            n_channels=n_channels,
            t_device_first_s=float(t_device[0]),
            t_device_last_s=float(t_device[-1]),
            **fields,
        )

    def to_attrs(self) -> dict[str, Any]:
        return json_safe(asdict(self))  # JSON attributes cannot hold NaN/inf: None instead

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> StreamSummary:
        data = dict(attrs)
        data["sync_events"] = [SyncEvent(**e) for e in data.get("sync_events", [])]
        return cls(**data)


@dataclass(frozen=True)
class StagedStream:
    """A staging group opened read-only, with its summary."""

    path: Path
    summary: StreamSummary
    attrs: dict[str, Any]

    def array(self, name: str) -> np.ndarray:
        return np.asarray(open_group_readonly(self.path)[name][...])


def read_staged(store: Store, key: str, stream: str) -> StagedStream:
    """The staged stream ``stream`` of recording ``key`` (MissingInputError if it was never staged)."""
    path = store.staged_stream_path(key, stream)
    attrs = dict(open_group_readonly(path).attrs)
    return StagedStream(path=path, summary=StreamSummary.from_attrs(attrs["ingest"]), attrs=attrs)


def strictly_increasing_problem(t: np.ndarray) -> str | None:
    """None if ``t`` is finite and strictly increasing, else a sentence saying where it is not."""
    if t.size == 0:
        return "no samples"
    if not np.all(np.isfinite(t)):
        return f"{int((~np.isfinite(t)).sum())} timestamps are not finite"
    steps = np.diff(t)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        i = int(bad[0])
        return f"{bad.size} non-increasing steps; first at sample {i + 1}: {t[i]:.6f} s then {t[i + 1]:.6f} s"
    return None


def label_events(onsets_s: np.ndarray, t_device: np.ndarray, *, source: str, uncertainty_s: float) -> list[SyncEvent]:
    """Name detected sync events "start"/"end": by order when two, by position when one.

    Extra events (more than two) keep the first and the last: the sync box fires two.
    """
    onsets = [float(t) for t in np.sort(np.asarray(onsets_s, dtype=np.float64))]
    if len(onsets) >= 2:
        chosen = [(onsets[0], "start"), (onsets[-1], "end")]
    elif len(onsets) == 1:
        middle = 0.5 * (float(t_device[0]) + float(t_device[-1]))
        chosen = [(onsets[0], "start" if onsets[0] < middle else "end")]
    else:
        chosen = []
    return [SyncEvent(t, uncertainty_s, source, label) for t, label in chosen]


def events_check_text(events: list[SyncEvent]) -> tuple[bool, str]:
    labels = sorted(e.label for e in events)
    return labels == ["end", "start"], "sync events found: " + (", ".join(labels) or "none")
