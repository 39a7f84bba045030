"""Rows of the ``clock_models`` and ``sync_events`` tables from a recording's clock fit.

``clock_models``: one row per stream and clock segment (its span clipped to the stream's own
timestamps, offset, drift, residuals, the events' own uncertainty, confidence, and how many sync
events or pulses were found in the segment, matched and fitted, and rejected). ``sync_events``:
one row per sync event of every stream, mapped onto the reference clock, with the reference
event it was paired with (the same label for the flash pair; the pulse the train fit chose),
its residual against it (NaN when it has none) and its status: "fitted", "rejected" (paired but
left out of the fit as an outlier), "unmatched", "unused" (the model is not an event fit) or
"reference" (the reference's own events).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from flexsync.ingest.clock_fit import ClockFit, StreamClock

__all__ = ["EVENT_STATUSES", "clock_model_rows", "sync_event_rows"]

EVENT_STATUSES = ("fitted", "rejected", "unmatched", "unused", "reference")
_EVENT_METHODS = ("events", "events+offset-only")


def _event_times(stream: StreamClock) -> np.ndarray:
    """The stream's events on its model's event timeline (the data latency undone)."""
    return np.array([e.t_device_s + stream.event_latency_s for e in stream.events], dtype=np.float64)


def _sync_source(stream: StreamClock, reference: str) -> str | None:
    if stream.pulses is not None:
        return stream.pulses.sync_source
    if stream.model.method in _EVENT_METHODS or (stream.stream == reference and stream.events):
        return "flashes"
    return None


def clock_model_rows(fit: ClockFit) -> list[dict[str, Any]]:
    """The recording's ``clock_models`` rows, stream by stream, segment by segment."""
    rows = []
    for name, stream in fit.streams.items():
        model = stream.model
        statuses = _statuses(fit, stream)
        times = _event_times(stream)
        seg_of = model.segment_indices(times) if times.size else np.zeros(0, dtype=np.intp)
        source = _sync_source(stream, fit.reference)
        for index, segment in enumerate(model.segments):
            residuals = np.abs(np.asarray(segment.residuals_s, dtype=np.float64))
            mine = [statuses[i] for i in np.flatnonzero(seg_of == index)]
            found = segment.n_found if segment.n_found is not None else len(mine)
            matched = sum(s in ("fitted", "reference") for s in mine) if segment.n_found is None else segment.n_events
            unc = segment.event_uncertainty_s
            rows.append(
                {
                    "recording": fit.recording,
                    "stream": name,
                    "reference": fit.reference,
                    "segment": index,
                    "method": model.method,
                    "device_start_s": max(segment.device_start_s, stream.device_first_s),
                    "device_end_s": min(segment.device_end_s, stream.device_last_s),
                    "offset_s": segment.offset_s,
                    "drift_ppm": segment.drift * 1e6,
                    "n_events": segment.n_events,
                    "rms_residual_s": float(np.sqrt(np.mean(residuals**2))) if residuals.size else 0.0,
                    "max_abs_residual_s": float(residuals.max()) if residuals.size else 0.0,
                    "confidence": float(model.confidence),
                    "sync_source": source,
                    "n_pulses_found": int(found),
                    "n_pulses_matched": int(matched),
                    "n_pulses_rejected": int(found - matched),
                    "event_uncertainty_s": float(unc) if math.isfinite(unc) and segment.n_events else None,
                }
            )
    return rows


def _statuses(fit: ClockFit, stream: StreamClock) -> list[str]:
    """Each event's status (module docstring)."""
    n = len(stream.events)
    if stream.stream == fit.reference:
        return ["reference"] * n
    if stream.pulses is not None:
        return [
            "fitted" if used else ("rejected" if j >= 0 else "unmatched")
            for j, used in zip(stream.pulses.reference_index, stream.pulses.in_fit, strict=True)
        ]
    if stream.model.method not in _EVENT_METHODS:
        return ["unused"] * n
    dropped = set(stream.model.dropped_device_events)
    return [
        "fitted" if e.label in fit.reference_times and i not in dropped else "unmatched"
        for i, e in enumerate(stream.events)
    ]


def _reference_index(fit: ClockFit, stream: StreamClock) -> list[int | None]:
    """Per event, the index of the reference event it is compared with (None: none)."""
    if stream.pulses is not None:
        return [j if j >= 0 else None for j in stream.pulses.reference_index]
    ref = fit.streams.get(fit.reference)
    by_label = {e.label: i for i, e in enumerate(ref.events)} if ref is not None else {}
    return [by_label.get(e.label) for e in stream.events]


def sync_event_rows(fit: ClockFit) -> list[dict[str, Any]]:
    """The recording's ``sync_events`` rows (also the sync report's ``events``)."""
    rows = []
    for name, stream in fit.streams.items():
        statuses = _statuses(fit, stream)
        partners = _reference_index(fit, stream)
        for index, event in enumerate(stream.events):
            # Events keep their own stamps: undo the data latency to place them on the event timeline.
            t_event = event.t_device_s + stream.event_latency_s
            t_ref = float(stream.model.to_reference(np.array([t_event]))[0])
            partner = partners[index]
            if stream.pulses is not None:
                target = (
                    fit.reference_events[partner]
                    if partner is not None and partner < len(fit.reference_events)
                    else None
                )
            else:
                target = fit.reference_times.get(event.label)
            rows.append(
                {
                    "recording": fit.recording,
                    "stream": name,
                    "event": index,
                    "source": event.source,
                    "t_device_s": event.t_device_s,
                    "t_ref_s": t_ref,
                    "residual_s": t_ref - target if target is not None else None,
                    "uncertainty_s": event.uncertainty_s,
                    "reference_event": partner,
                    "status": statuses[index],
                }
            )
    return rows
