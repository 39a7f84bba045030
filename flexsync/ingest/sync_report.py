"""The sync report of a recording, as bytes: its JSON (models, methods, fallbacks, events) and its plot.

Rendering only: the caller decides where the bytes go.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
import numpy as np

from flexsync.ingest.clock_fit import ClockFit
from flexsync.ingest.clock_tables import sync_event_rows
from flexsync.ingest.staging import SyncEvent
from flexsync.jsonsafe import json_safe
from flexsync.timing.clock_model import ClockModel

__all__ = ["render_sync_plot", "sync_report", "sync_report_json"]


def sync_report(fit: ClockFit) -> dict[str, Any]:
    """The sync report (JSON-safe): models, methods, motion-check decisions and mapped events."""
    models = fit.models
    return json_safe(
        {
            "recording": fit.recording,
            "reference_stream": fit.reference,
            "models": {name: model.to_dict() for name, model in models.items()},
            "methods": {name: {"method": m.method, "confidence": float(m.confidence)} for name, m in models.items()},
            "fallback": {name: d.to_report() for name, d in fit.fallback.items()},
            "events": sync_event_rows(fit),
        }
    )


def sync_report_json(fit: ClockFit) -> bytes:
    """``sync_report.json``: the fit's JSON-safe report, keys sorted, indented, UTF-8, one trailing newline."""
    return (json.dumps(sync_report(fit), indent=2, sort_keys=True) + "\n").encode("utf-8")


def render_sync_plot(
    key: str,
    reference: str,
    events: Mapping[str, Sequence[SyncEvent]],
    models: Mapping[str, ClockModel],
    reference_times: Mapping[str, float],
) -> bytes:
    """``sync_report.png``, two panels: event times on each device clock (before), and on the reference clock (after).

    After alignment, every stream's start and end events should sit on one vertical line each, at
    ``reference_times`` (the reference's events by label, on the reference clock: its device
    clock, or the lab clock when the manifest declares it); the right-hand labels give each
    stream's largest deviation from them in ms.
    """
    names = list(events)
    fig, (before, after) = plt.subplots(2, 1, figsize=(8, 1.2 + 0.45 * len(names) * 2), sharey=True)
    ref_events = dict(reference_times)
    for row, name in enumerate(names):
        stream_events = events[name]
        device = np.array([e.t_device_s for e in stream_events])
        mapped = models[name].to_reference(device) if device.size else device
        before.scatter(device, [row] * len(device), marker="|", s=200)
        after.scatter(mapped, [row] * len(mapped), marker="|", s=200)
        errors = [
            abs(m - ref_events[e.label]) * 1e3
            for m, e in zip(mapped, stream_events, strict=True)
            if e.label in ref_events
        ]
        text = f"{max(errors):.3f} ms" if errors else "no events"
        after.annotate(text, xy=(1.01, row), xycoords=("axes fraction", "data"), va="center", fontsize=8)
    for t in ref_events.values():
        after.axvline(t, color="0.7", lw=0.8, zorder=0)
    for ax, title in ((before, "device clocks (before)"), (after, f"reference clock: {reference} (after)")):
        ax.set_yticks(range(len(names)), names)
        ax.set_title(f"{key}: sync events on {title}", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
