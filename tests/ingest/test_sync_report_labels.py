"""The sync plot's "after" labels say what each stream's alignment error is known to be.

Two events fit offset and drift exactly: their residuals are zero by construction, so the label
gives the events' timing uncertainty (the table's quality), not "0.000 ms".
"""

from __future__ import annotations

import math

from flexsync.ingest.staging import SyncEvent
from flexsync.ingest.sync_report import after_label, render_sync_plot
from flexsync.timing.clock_model import ClockModel, ClockSegmentFit, identity_model


def _model(*segments: tuple[int, float], method: str = "events") -> ClockModel:
    """A model with one segment per (n_events, event_uncertainty_s)."""
    fits = tuple(
        ClockSegmentFit(-math.inf, math.inf, 0.1, 1e-5, n, (0.0,) * n, (), uncertainty) for n, uncertainty in segments
    )
    return ClockModel(stream="cam1", reference="mocap", method=method, segments=fits, confidence=0.9)


def test_two_events_are_an_exact_fit_with_their_uncertainty():
    assert after_label(_model((2, 0.000592)), [0.0, 0.0]) == "exact fit, 2 events, ±0.592 ms"


def test_one_event_per_segment_is_exact_too():
    label = after_label(_model((1, 0.0005), method="events+offset-only"), [0.0])
    assert label == "exact fit, 1 event, ±0.5 ms"


def test_an_exact_fit_without_uncertainty_says_so():
    assert after_label(_model((2, math.nan)), [0.0, 0.0]) == "exact fit, 2 events, uncertainty unknown"


def test_three_events_or_more_show_the_measured_error():
    assert after_label(_model((3, 0.0005)), [0.1, 0.25, 0.05]) == "max error 0.250 ms"


def test_reference_and_eventless_streams():
    assert after_label(identity_model("mocap"), [0.0, 0.0]) == "reference clock"
    assert after_label(_model((0, math.nan), method="nominal"), []) == "no events"


def test_the_plot_is_deterministic():
    events = {
        "mocap": [SyncEvent(1.0, 0.0, "log", "start"), SyncEvent(9.0, 0.0, "log", "end")],
        "cam1": [SyncEvent(0.9, 0.0005, "flash", "start"), SyncEvent(8.9, 0.0005, "flash", "end")],
    }
    models = {"mocap": identity_model("mocap"), "cam1": _model((2, 0.0005))}
    first = render_sync_plot("S01_A01_T1", "mocap", events, models, {"start": 1.0, "end": 9.0})
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert render_sync_plot("S01_A01_T1", "mocap", events, models, {"start": 1.0, "end": 9.0}) == first
