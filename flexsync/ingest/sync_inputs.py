"""Sync events of a stream whose sync input carries a pulse train: every pulse, markers named.

The manifest's stream option ``sync_source`` says what the lab wired (docs/sync-notes.md). With
the flash pair (the default) an ingester keeps the start and end events (``label_events``).
With a train it keeps every pulse it detected, labelled "pulse"; a pulse train's markers (at
least twice the pulse width; the box sends ``MARKER_WIDTH_FACTOR`` x ``sync_pulse_s``) are
labelled "start" and "end" in order (one alone by its position in the recording), and the clock
fit pairs them all (``flexsync.timing.pulse_train``).
"""

from __future__ import annotations

import numpy as np

from flexsync.ingest.staging import SyncEvent
from flexsync.raw.manifest import StreamEntry
from flexsync.timing.pulse_train import MARKER_LABELS, MARKER_WIDTH_FACTOR, TRAIN_SOURCES

__all__ = [
    "MARKER_WIDTH_FACTOR",
    "PULSE_LABEL",
    "max_train_pulses",
    "pulse_widths",
    "train_events",
    "train_source",
]

PULSE_LABEL = "pulse"
_MARKER_MIN_WIDTHS = 2.0  # a pulse this many sync_pulse_s long or longer is a marker
_SHORTEST_INTERVAL_S = 0.5  # trains space their pulses at least this far apart


def train_source(entry: StreamEntry) -> str | None:
    """The train wired into the stream ("pulse_train", "coded_train"), or None for the flash pair."""
    source = entry.sync_source
    return source if source in TRAIN_SOURCES else None


def max_train_pulses(duration_s: float) -> int:
    """How many pulses a train can fit in ``duration_s`` (a bound for the video detector)."""
    return int(np.ceil(max(duration_s, 0.0) / _SHORTEST_INTERVAL_S)) + 2


def pulse_widths(onsets_s: np.ndarray, offsets_s: np.ndarray) -> np.ndarray:
    """Each pulse's width: its offset minus its onset (s)."""
    return np.asarray(offsets_s, dtype=np.float64) - np.asarray(onsets_s, dtype=np.float64)


def train_events(
    onsets_s: np.ndarray,
    widths_s: np.ndarray | None,
    t_device: np.ndarray,
    *,
    source: str,
    uncertainty_s: float | np.ndarray,
    pulse_s: float,
    sync_source: str,
) -> list[SyncEvent]:
    """Every detected pulse as a ``SyncEvent`` in time order; a pulse train's markers named "start"/"end".

    ``widths_s`` (None: unknown, no markers) tells markers from pulses; ``uncertainty_s`` is one value
    or one per pulse.
    """
    onsets = np.asarray(onsets_s, dtype=np.float64).reshape(-1)
    order = np.argsort(onsets, kind="stable")
    unc = np.broadcast_to(np.asarray(uncertainty_s, dtype=np.float64), onsets.shape)[order]
    onsets = onsets[order]
    labels = [PULSE_LABEL] * onsets.size
    if widths_s is not None and sync_source == "pulse_train":
        widths = np.asarray(widths_s, dtype=np.float64).reshape(-1)[order]
        markers = np.flatnonzero(widths >= _MARKER_MIN_WIDTHS * pulse_s).tolist()
        if len(markers) >= 2:
            labels[markers[0]], labels[markers[-1]] = MARKER_LABELS
        elif len(markers) == 1:
            middle = 0.5 * (float(t_device[0]) + float(t_device[-1])) if len(t_device) else 0.0
            labels[markers[0]] = MARKER_LABELS[0] if onsets[markers[0]] < middle else MARKER_LABELS[1]
    return [SyncEvent(float(t), float(u), source, label) for t, u, label in zip(onsets, unc, labels, strict=True)]
