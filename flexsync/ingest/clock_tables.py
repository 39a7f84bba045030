"""Rows of the ``clock_models`` and ``sync_events`` tables from a recording's clock fit.

``clock_models``: one row per stream and clock segment (its span clipped to the stream's own
timestamps, offset, drift, residuals, confidence). ``sync_events``: one row per sync event of
every stream, mapped onto the reference clock, with its residual against the reference's event
of the same label (NaN when the reference has none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flexsync.ingest.clock_fit import ClockFit

__all__ = ["clock_model_rows", "sync_event_rows"]


def clock_model_rows(fit: ClockFit) -> list[dict[str, Any]]:
    """The recording's ``clock_models`` rows, stream by stream, segment by segment."""
    rows = []
    for name, stream in fit.streams.items():
        model = stream.model
        for index, segment in enumerate(model.segments):
            residuals = np.abs(np.asarray(segment.residuals_s, dtype=np.float64))
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
                }
            )
    return rows


def sync_event_rows(fit: ClockFit) -> list[dict[str, Any]]:
    """The recording's ``sync_events`` rows (also the sync report's ``events``)."""
    rows = []
    for name, stream in fit.streams.items():
        for index, event in enumerate(stream.events):
            # Events keep their own stamps: undo the data latency to place them on the event timeline.
            t_event = event.t_device_s + stream.event_latency_s
            t_ref = float(stream.model.to_reference(np.array([t_event]))[0])
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
                }
            )
    return rows
