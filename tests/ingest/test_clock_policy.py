"""The clock policy on hand-built models: which model a stream keeps, and the residual gate's verdicts.

Every branch of ``choose_clock`` (two events, one event confirmed or rejected by motion, no event,
no motion reference, motion impossible), the declared clock (through ``fit_clocks`` on in-memory
staged streams), and the gate just inside and just outside each limit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from flexsync.config import PipelineSettings
from flexsync.ingest.clock_policy import (
    MOTION_METHOD,
    ClockSource,
    FallbackDecision,
    FallbackReason,
    choose_clock,
    gate_stream,
    residual_outcome,
    wants_motion,
)
from flexsync.ingest.clock_tables import clock_model_rows, sync_event_rows
from flexsync.ingest.clocks import fit_clocks
from flexsync.ingest.staging import StreamSummary, SyncEvent
from flexsync.ingest.sync_report import sync_report_json
from flexsync.raw.manifest import Manifest, StreamEntry
from flexsync.timing.clock_model import ClockModel, ClockSegmentFit

SETTINGS = PipelineSettings()  # video limit 4 ms; fallback: 20 ms, confidence >= 0.25, agreement 50 ms


def model(
    method: str,
    offset_s: float = 0.0,
    *,
    drift: float = 0.0,
    n_events: int = 2,
    uncertainty_s: float = 1e-3,
    confidence: float = 0.8,
    stream: str = "cam1",
    notes: tuple[str, ...] = (),
) -> ClockModel:
    """A one-segment model whose quality is ``uncertainty_s`` (fewer than three events)."""
    seg = ClockSegmentFit(-math.inf, math.inf, offset_s, drift, n_events, (), (), uncertainty_s)
    return ClockModel(stream, "mocap", method, (seg,), confidence, notes=notes)


def event(t_s: float, label: str = "start") -> SyncEvent:
    return SyncEvent(t_s, 2e-4, "flash", label)


def choose(events: list[SyncEvent], event_model: ClockModel, motion: ClockModel | None, **kw: Any):
    args = {"reference": "mocap", "reference_kind": "mocap", "agreement_s": SETTINGS.fallback_agreement_s} | kw
    return choose_clock("cam1", "video", events, event_model, motion, **args)


MOTION = model(MOTION_METHOD, 1.030, uncertainty_s=0.01, confidence=0.6, notes=("clock from motion",))


# -- which model ---------------------------------------------------------------------------------


def test_two_events_keep_the_event_model_without_a_motion_check() -> None:
    events = [event(2.0), event(20.0, "end")]
    fitted = model("events", 1.0)
    assert not wants_motion("video", len(events), "mocap")
    choice = choose(events, fitted, None)
    assert choice.model is fitted and choice.source is ClockSource.EVENTS
    assert choice.fallback is None and choice.warnings == ()


def test_only_videos_short_of_events_want_motion() -> None:
    assert wants_motion("video", 1, "mocap") and wants_motion("video", 0, "mocap")
    assert not wants_motion("emg", 1, "mocap")  # not a video: its one event stands, no motion check
    assert not wants_motion("video", 1, "emg")  # no joint speed to correlate with
    one = model("events+offset-only", 0.7, n_events=1)
    choice = choose_clock(
        "emg", "emg", [event(3.0)], one, None, reference="mocap", reference_kind="mocap", agreement_s=0.05
    )
    assert choice.model is one and choice.source is ClockSource.EVENTS and choice.fallback is None


def test_one_event_confirmed_by_motion_keeps_the_event_offset() -> None:
    one = model("events+offset-only", 1.0, n_events=1)
    choice = choose([event(2.0)], one, MOTION)
    assert choice.source is ClockSource.EVENTS and choice.model.segments[0].offset_s == 1.0
    assert choice.model.notes[-1] == "offset from one start event, confirmed by motion cross-correlation (-30.0 ms)"
    d = choice.fallback
    assert d.reason is FallbackReason.CONFIRMED_BY_MOTION and not d.used and d.method == "events+offset-only"
    assert d.event_minus_motion_s == pytest.approx(-0.030, abs=1e-12)
    assert d.to_report() == {
        "n_events": 1,
        "event_method": "events+offset-only",
        "motion_method": MOTION_METHOD,
        "motion_confidence": 0.6,
        "motion_quality_s": 0.01,
        "event_minus_motion_s": pytest.approx(-0.030, abs=1e-12),
        "method": "events+offset-only",
        "used": False,
        "reason": "one sync event, confirmed by motion",
    }
    assert list(d.to_report()) == [  # the report's key order, as ClockFitResult.fallback gives it
        "n_events",
        "event_method",
        "motion_method",
        "motion_confidence",
        "motion_quality_s",
        "event_minus_motion_s",
        "method",
        "used",
        "reason",
    ]


def test_one_event_disagreeing_with_motion_takes_the_motion_model() -> None:
    one = model("events+offset-only", 1.110, n_events=1)  # 80 ms from the motion model
    choice = choose([event(18.0, "end")], one, MOTION)
    assert choice.source is ClockSource.MOTION and choice.model.method == MOTION_METHOD
    assert choice.model.segments[0].offset_s == 1.030
    assert choice.model.notes == (
        "clock from motion",
        "its one end sync event and motion cross-correlation disagree by +80.0 ms (> 50 ms): clock from motion",
    )
    d = choice.fallback
    assert d.reason is FallbackReason.DISAGREES_WITH_MOTION and d.used and d.method == MOTION_METHOD
    assert d.to_report()["reason"] == "one sync event, disagreeing with motion"
    assert d.event_minus_motion_s == pytest.approx(0.080, abs=1e-12)


@pytest.mark.parametrize(("gap_s", "confirmed"), [(0.0499, True), (-0.0499, True), (0.0501, False), (-0.0501, False)])
def test_agreement_limit_just_inside_and_just_outside(gap_s: float, confirmed: bool) -> None:
    one = model("events+offset-only", 1.030 + gap_s, n_events=1)
    choice = choose([event(5.0)], one, MOTION)
    assert (choice.source is ClockSource.EVENTS) is confirmed
    assert choice.fallback.reason is (
        FallbackReason.CONFIRMED_BY_MOTION if confirmed else FallbackReason.DISAGREES_WITH_MOTION
    )


def test_agreement_is_measured_at_the_event_with_both_drifts() -> None:
    """Offsets 60 ms apart, but the motion model's drift closes the gap to 10 ms at t = 100 s."""
    one = model("events+offset-only", 1.0, n_events=1)
    drifting = model(MOTION_METHOD, 1.060, drift=-5e-4, uncertainty_s=0.01)
    choice = choose([event(100.0)], one, drifting)
    assert choice.fallback.reason is FallbackReason.CONFIRMED_BY_MOTION
    assert choice.fallback.event_minus_motion_s == pytest.approx(-0.010, abs=1e-9)


def test_an_unmatched_event_never_confirms() -> None:
    """A nominal event model (its one event could not be paired) is not trusted even at 0 ms."""
    nominal = model("nominal", 1.030, n_events=0, uncertainty_s=math.nan, confidence=0.0)
    choice = choose([event(2.0)], nominal, MOTION)
    assert choice.source is ClockSource.MOTION and choice.fallback.reason is FallbackReason.DISAGREES_WITH_MOTION
    assert choice.fallback.event_minus_motion_s == 0.0


def test_no_event_takes_the_motion_model() -> None:
    nominal = model("nominal", 0.0, n_events=0, uncertainty_s=math.nan, confidence=0.0)
    choice = choose([], nominal, MOTION)
    assert choice.model is MOTION and choice.source is ClockSource.MOTION and choice.warnings == ()
    assert choice.fallback.to_report() == {
        "n_events": 0,
        "event_method": "nominal",
        "motion_method": MOTION_METHOD,
        "motion_confidence": 0.6,
        "motion_quality_s": 0.01,
        "method": MOTION_METHOD,
        "used": True,
        "reason": "no sync event",
    }


def test_no_motion_reference_keeps_the_event_model_and_warns() -> None:
    one = model("events+offset-only", 1.0, n_events=1)
    choice = choose([event(2.0)], one, None, reference="emg", reference_kind="emg")
    assert choice.model is one and choice.source is ClockSource.EVENTS
    assert choice.fallback.reason is FallbackReason.NO_MOTION_REFERENCE and not choice.fallback.used
    assert choice.fallback.to_report() == {
        "n_events": 1,
        "event_method": "events+offset-only",
        "method": "events+offset-only",
        "used": False,
        "reason": "reference emg is not mocap (no joint speed)",
    }
    assert choice.warnings == (
        "cam1: 1 sync event(s) and no motion fallback: reference emg is not mocap (no joint speed)",
    )


def test_motion_impossible_keeps_the_event_model_and_warns() -> None:
    one = model("events+offset-only", 1.0, n_events=1)
    flat = model("nominal", 0.0, n_events=0, uncertainty_s=math.nan, confidence=0.0, notes=("motion impossible: flat",))
    choice = choose([event(2.0)], one, flat)
    assert choice.model is one and choice.source is ClockSource.EVENTS
    assert choice.fallback.reason is FallbackReason.MOTION_IMPOSSIBLE
    assert choice.fallback.to_report()["reason"] == "motion cross-correlation impossible"
    assert choice.fallback.to_report()["motion_method"] == "nominal"
    assert math.isnan(choice.fallback.to_report()["motion_quality_s"])
    assert choice.warnings == ("cam1: 1 sync event(s) and motion impossible: flat",)


def test_a_missing_motion_model_is_refused() -> None:
    with pytest.raises(ValueError, match="stream cam1: a video with 0 sync event"):
        choose([], model("nominal", n_events=0, uncertainty_s=math.nan), None)


# -- the declared clock, through fit_clocks on in-memory streams -----------------------------------


@dataclass
class MemoryStream:
    """A staged stream held in memory (what ``fit_clocks`` reads of one)."""

    summary: StreamSummary
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    def array(self, name: str) -> np.ndarray:
        return self.arrays[name]


def _memory_stream(name: str, kind: str, rate_hz: float, events: list[SyncEvent], t: np.ndarray) -> MemoryStream:
    summary = StreamSummary(
        stream=name,
        kind=kind,
        format="memory",
        device="",
        file="",
        sha256="",
        bytes=0,
        nominal_rate_hz=rate_hz,
        measured_rate_hz=rate_hz,
        n_samples=t.size,
        n_channels=1,
        t_device_first_s=float(t[0]),
        t_device_last_s=float(t[-1]),
        sync_events=events,
    )
    return MemoryStream(summary, {"t_device": t})


def test_declared_clock_replaces_the_fit_and_ignores_latency() -> None:
    entries = {
        "mocap": StreamEntry("mocap", "mocap", "m.c3d", "c3d", 100.0),
        "emg": StreamEntry(
            "emg", "emg", "e.edf", "edf", 100.0, options={"clock": {"offset_s": 0.25, "drift_ppm": 12.0}}
        ),
        "physio": StreamEntry("physio", "physio", "p.csv", "csv", 1.0),
    }
    manifest = Manifest("K", "S01", "A01", 1, entries, calibration=None)
    recording = SimpleNamespace(key="K", manifest=manifest, calibration=None)
    t_ref = np.arange(0, 30, 0.01)
    ref_events = [SyncEvent(2.0, 1e-4, "analog", "start"), SyncEvent(25.0, 1e-4, "analog", "end")]
    physio_events = [SyncEvent(1.5, 0.01, "log", "start"), SyncEvent(24.5, 0.01, "log", "end")]
    staged = {
        "mocap": _memory_stream("mocap", "mocap", 100.0, ref_events, t_ref),
        "emg": _memory_stream("emg", "emg", 100.0, [SyncEvent(9.0, 1e-4, "trigger", "middle")], t_ref),
        "physio": _memory_stream("physio", "physio", 1.0, physio_events, np.arange(0.0, 28.0)),
    }
    settings = PipelineSettings(device_latency_s={"emg": 0.5})
    fit = fit_clocks(recording, staged, settings)

    assert {n: s.source for n, s in fit.streams.items()} == {
        "mocap": ClockSource.IDENTITY,
        "emg": ClockSource.DECLARED,
        "physio": ClockSource.EVENTS,
    }
    emg = fit.streams["emg"]
    assert emg.model.method == "declared" and emg.model.notes == ()  # no latency note: the declaration rules
    assert emg.model.segments[0].offset_s == 0.25 and emg.model.segments[0].drift == pytest.approx(12e-6)
    assert emg.event_latency_s == 0.0 and emg.gate.ok and emg.gate.quality_s == 0.0
    physio = fit.streams["physio"].model
    assert physio.method == "events" and physio.segments[0].offset_s == pytest.approx(0.5, abs=1e-12)
    assert fit.fallback == {} and fit.residual_check.passed
    assert fit.residual_check.description == "recording K: every stream within its residual threshold"
    # Tables and the report from the same fit: the emg event mapped by its declared clock; the
    # reference has no "middle" event, so its residual is unknown (NaN in the table, null in the report).
    (emg_row,) = [r for r in sync_event_rows(fit) if r["stream"] == "emg"]
    assert emg_row["t_ref_s"] == pytest.approx(0.25 + (1 + 12e-6) * 9.0, abs=1e-12)
    assert emg_row["residual_s"] is None
    assert [r["method"] for r in clock_model_rows(fit)] == ["identity", "declared", "events"]
    report = json.loads(sync_report_json(fit))
    assert report["fallback"] == {} and report["methods"]["emg"] == {"method": "declared", "confidence": 1.0}
    assert report["events"][2]["stream"] == "emg" and report["events"][2]["residual_s"] is None


# -- the residual gate -------------------------------------------------------------------------


@pytest.mark.parametrize(("quality_s", "ok"), [(0.0039, True), (0.004, True), (0.0041, False)])
def test_event_model_gate_at_its_kind_limit(quality_s: float, ok: bool) -> None:
    gate = gate_stream("cam1", model("events", uncertainty_s=quality_s), "video", ClockSource.EVENTS, None, SETTINGS)
    assert gate.ok is ok and gate.limit_s == 0.004 and gate.quality_s == quality_s
    assert gate.reason == f"quality {quality_s * 1e3:.3f} ms > 4.000 ms"
    assert gate.row() == ("cam1", "events", quality_s * 1e3, 4.0, 0.8, "ok" if ok else "FAIL")


def test_gate_limit_follows_the_stream_kind() -> None:
    emg = gate_stream("emg", model("events", uncertainty_s=0.0011), "emg", ClockSource.EVENTS, None, SETTINGS)
    assert not emg.ok and emg.limit_s == 0.001
    physio = gate_stream("physio", model("events", uncertainty_s=0.049), "physio", ClockSource.EVENTS, None, SETTINGS)
    assert physio.ok and physio.limit_s == 0.05


@pytest.mark.parametrize(
    ("quality_s", "confidence", "ok"),
    [(0.0199, 0.26, True), (0.02, 0.25, True), (0.0201, 0.9, False), (0.005, 0.249, False), (math.nan, 0.9, False)],
)
def test_motion_model_gate_on_fallback_limits(quality_s: float, confidence: float, ok: bool) -> None:
    motion = model(MOTION_METHOD, uncertainty_s=quality_s, confidence=confidence)
    gate = gate_stream("cam2", motion, "video", ClockSource.MOTION, None, SETTINGS)
    assert gate.ok is ok and gate.limit_s == 0.02
    assert gate.reason.startswith(f"motion fallback: quality {quality_s * 1e3:.3f} ms (limit 20.000 ms), ")
    assert gate.reason.endswith(f"confidence {confidence:.3f} (min 0.250)")


def _decision(reason: FallbackReason, motion_confidence: float) -> FallbackDecision:
    return FallbackDecision(1, "events+offset-only", reason, "mocap", MOTION_METHOD, motion_confidence, 0.01, 0.003)


@pytest.mark.parametrize(("motion_confidence", "ok"), [(0.25, True), (0.2499, False)])
def test_one_event_passes_only_when_motion_confirmed_it_confidently(motion_confidence: float, ok: bool) -> None:
    one = model("events+offset-only", uncertainty_s=0.001, n_events=1)
    decision = _decision(FallbackReason.CONFIRMED_BY_MOTION, motion_confidence)
    gate = gate_stream("cam3", one, "video", ClockSource.EVENTS, decision, SETTINGS)
    assert gate.ok is ok
    assert gate.reason == ("quality 1.000 ms > 4.000 ms" if ok else "method events+offset-only")


@pytest.mark.parametrize(
    "decision",
    [None, _decision(FallbackReason.MOTION_IMPOSSIBLE, 0.9), _decision(FallbackReason.NO_MOTION_REFERENCE, 0.9)],
)
def test_one_event_alone_fails(decision: FallbackDecision | None) -> None:
    one = model("events+offset-only", uncertainty_s=0.001, n_events=1)
    gate = gate_stream("cam3", one, "video", ClockSource.EVENTS, decision, SETTINGS)
    assert not gate.ok and gate.reason == "method events+offset-only"


def test_nominal_fails_and_identity_and_declared_pass() -> None:
    nominal = model("nominal", n_events=0, uncertainty_s=math.nan, confidence=0.0)
    assert gate_stream("cam4", nominal, "video", ClockSource.EVENTS, None, SETTINGS).reason == "method nominal"
    declared = model("declared", confidence=1.0)
    assert gate_stream("emg", declared, "emg", ClockSource.DECLARED, None, SETTINGS).ok
    identity = model("identity", confidence=1.0)
    assert gate_stream("mocap", identity, "mocap", ClockSource.IDENTITY, None, SETTINGS).ok


def test_residual_outcome_names_the_worst_failure_and_the_fallbacks() -> None:
    confirmed = _decision(FallbackReason.CONFIRMED_BY_MOTION, 0.9)
    gates = [
        gate_stream("mocap", model("identity", confidence=1.0), "mocap", ClockSource.IDENTITY, None, SETTINGS),
        gate_stream("cam1", model("events", uncertainty_s=0.006), "video", ClockSource.EVENTS, None, SETTINGS),
        gate_stream("cam2", model(MOTION_METHOD, uncertainty_s=0.03), "video", ClockSource.MOTION, None, SETTINGS),
        gate_stream("cam3", model("events+offset-only", n_events=1), "video", ClockSource.EVENTS, confirmed, SETTINGS),
    ]
    events, motion = ClockSource.EVENTS, ClockSource.MOTION
    sources = {"mocap": ClockSource.IDENTITY, "cam1": events, "cam2": motion, "cam3": events}
    no_event = FallbackDecision(0, "nominal", FallbackReason.NO_EVENT, "mocap", MOTION_METHOD, 0.6, 0.03)
    result = residual_outcome("K", gates, sources, {"cam2": no_event, "cam3": confirmed})
    assert not result.passed and result.name == "clock_residuals" and result.severity == "error"
    assert result.description == (
        "recording K: 2 stream(s) not aligned well enough; worst cam2 (motion fallback: quality 30.000 ms "
        "(limit 20.000 ms), confidence 0.800 (min 0.250)); also cam1 (quality 6.000 ms > 4.000 ms); motion "
        "cross-correlation fallback (missed sync flash) for cam2; one-event offset confirmed by motion for cam3"
    )
    files = {"mocap": "mocap/mocap.c3d", "cam1": "video/cam1.mp4", "cam2": "video/cam2.mp4"}
    named = residual_outcome("K", gates, sources, {}, files)
    assert "worst cam2 (motion fallback: quality 30.000 ms (limit 20.000 ms), confidence 0.800 (min 0.250); " in (
        named.description
    )
    assert (
        "sync events read from video/cam2.mp4); also cam1 (quality 6.000 ms > 4.000 ms; sync events read from "
        "video/cam1.mp4)" in named.description
    )
    eventless = residual_outcome("K", gates, sources, {}, files, eventless_reference="mocap")
    assert eventless.description.startswith(
        "recording K: the reference stream mocap has no sync event in mocap/mocap.c3d, so no stream could be "
        "aligned by events; 2 stream(s) failed"
    )
    assert result.metadata["motion_fallback"] == "cam2"
    assert result.metadata["fallback_reasons"].rows == (
        ("cam2", 0, MOTION_METHOD, "no sync event"),
        ("cam3", 1, "events+offset-only", "one sync event, confirmed by motion"),
    )
    assert [row[-1] for row in result.metadata["streams"].rows] == ["ok", "FAIL", "FAIL", "ok"]
    passing = residual_outcome("K", gates[:1], {"mocap": ClockSource.IDENTITY}, {})
    assert passing.passed and passing.description == "recording K: every stream within its residual threshold"
    assert passing.metadata["motion_fallback"] == "none"
