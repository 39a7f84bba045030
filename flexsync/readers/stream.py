"""What every reader returns, whatever the file format.

A file holds one or more streams. Signals (EMG, physiology, mocap markers, analog channels)
are read into memory as ``SignalStream``; video is too big for that, so ``VideoStream``
carries the per-frame timestamps and opens frames lazily. Both keep the device timestamps
exactly as the file records them: nothing is replaced by ``index / nominal_rate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EventList", "FileContents", "SignalStream", "VideoStream"]


@dataclass
class SignalStream:
    """Samples of one device stream on the device clock.

    ``data`` has shape (n_samples, n_channels) for scalar channels, or
    (n_samples, n_markers, 3) for marker trajectories. ``valid`` (same leading shape,
    without the xyz axis) marks samples that were actually measured (False in gaps).
    ``timestamps_s`` are device-clock seconds, strictly increasing for a healthy file.
    """

    name: str
    kind: str  # "emg", "physio", "mocap", "analog", "signal"
    data: np.ndarray
    timestamps_s: np.ndarray
    channel_names: list[str]
    units: list[str]
    nominal_rate_hz: float
    source: Path
    format: str
    valid: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[0])

    def channel(self, name: str) -> np.ndarray:
        """One channel's samples by name (raises KeyError naming the file and the channels)."""
        try:
            return self.data[:, self.channel_names.index(name)]
        except ValueError:
            raise KeyError(
                f"{self.source}: channel {name!r} not found; channels are {', '.join(self.channel_names)}"
            ) from None


@dataclass
class EventList:
    """Discrete, labelled events on a device clock (marker streams, annotations, sync logs)."""

    name: str
    times_s: np.ndarray
    labels: list[str]
    source: Path
    format: str


@dataclass
class VideoStream:
    """One video stream: probe facts and per-frame presentation times, frames decoded on demand.

    ``timestamps_s`` are the container presentation timestamps in seconds (PTS x time base),
    in presentation order, which is what ffprobe reports as ``pts_time``.
    """

    name: str
    source: Path
    format: str
    stream_index: int
    codec: str
    width: int
    height: int
    nominal_rate_hz: float
    timestamps_s: np.ndarray
    rotation_deg: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def n_frames(self) -> int:
        return int(self.timestamps_s.shape[0])


@dataclass
class FileContents:
    """Everything one reader got out of one file."""

    source: Path
    format: str
    signals: dict[str, SignalStream] = field(default_factory=dict)
    videos: dict[str, VideoStream] = field(default_factory=dict)
    events: dict[str, EventList] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
