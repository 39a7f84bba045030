"""The sync report of a recording, as bytes: its JSON (models, methods, fallbacks, events) and its plot.

Rendering only: the caller decides where the bytes go.
"""

from __future__ import annotations

import io
import json
import math
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

__all__ = ["after_label", "render_sync_plot", "sync_report", "sync_report_json"]

# Share of the figure's width for the axes; the rest holds the "after" panel's labels.
LABEL_MARGIN = 0.78


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


def after_label(model: ClockModel, errors_ms: Sequence[float]) -> str:
    """What a stream's alignment error is known to be, for the right of the "after" panel.

    ``errors_ms``: its mapped events' distances to the reference's (ms). They only measure the
    fit when there are more events than parameters: with two events per segment (offset and
    drift) or one (offset only) the fit is exact and they are zero by construction, so the label
    says so and gives the events' timing uncertainty, the figure the clock table reports.
    """
    if model.method == "identity":
        return "reference clock"
    if not errors_ms:
        return "no events"
    fitted = [s for s in model.segments if s.n_events > 0]
    if fitted and all(s.n_events <= 2 for s in fitted):
        n = sum(s.n_events for s in fitted)
        events = f"{n} event" + ("s" if n != 1 else "")
        known = [s.event_uncertainty_s for s in fitted if math.isfinite(s.event_uncertainty_s)]
        uncertainty = f", ±{max(known) * 1e3:.3g} ms" if known else ", uncertainty unknown"
        return f"exact fit, {events}{uncertainty}"
    return f"max error {max(errors_ms):.3f} ms"


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
    clock, or the lab clock when the manifest declares it); the right-hand labels say what each
    stream's alignment error is known to be (``after_label``).
    """
    names = list(events)
    fig, (before, after) = plt.subplots(2, 1, figsize=(9, 1.2 + 0.45 * len(names) * 2), sharey=True)
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
        text = after_label(models[name], errors)
        label = after.annotate(text, xy=(1.01, row), xycoords=("axes fraction", "data"), va="center", fontsize=8)
        label.set_in_layout(False)  # placed in the margin that tight_layout leaves (LABEL_MARGIN)
    for t in ref_events.values():
        after.axvline(t, color="0.7", lw=0.8, zorder=0)
    for ax, title in ((before, "device clocks (before)"), (after, f"reference clock: {reference} (after)")):
        ax.set_yticks(range(len(names)), names)
        ax.set_title(f"{key}: sync events on {title}", fontsize=9)
        ax.set_xlabel("time (s)")
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout(rect=(0.0, 0.0, LABEL_MARGIN, 1.0))  # room on the right for the labels
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
