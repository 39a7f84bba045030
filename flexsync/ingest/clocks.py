"""Fit every stream's clock against the reference stream from the staged sync events.

Event times are corrected for known fixed device latencies first (a wireless EMG that
delivers its samples late, say), then paired by label (start/end) and fitted.

A video stream that missed a flash (fewer than two sync events) falls back to motion
cross-correlation against the reference's joint speed (``flexsync.timing.motion_xcorr``):
with no event the motion model is used; with one event the event's offset-only model is kept
only when it agrees with the motion model within ``fallback_agreement_s`` (else the motion
model, with a warning). Which streams fell back, and why, goes into the sync report and the
``clock_residuals`` check, which accepts a motion model under its own looser thresholds.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from flexsync.config import PipelineSettings
from flexsync.ingest.checks import CLOCK_CHECKS, outcome
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.staging import StagedStream, read_staged
from flexsync.ingest.sync_report import plot_sync_report
from flexsync.ingest.tables import table_frame
from flexsync.quality import CheckOutcome, ImageMeta, TableMeta
from flexsync.schemas.tables import TableValidationError
from flexsync.storage.atomic import atomic_file
from flexsync.storage.layout import SYNC_REPORT_JSON, SYNC_REPORT_PNG, StoreLayout
from flexsync.storage.tables import write_partition
from flexsync.timing.clock_model import ClockModel, ClockSegmentFit, fit_clock_model, identity_model
from flexsync.timing.motion_xcorr import fit_by_motion, joint_speed, motion_agreement, video_motion_energy

__all__ = [
    "DECLARED_METHOD",
    "MOTION_METHOD",
    "ClockFitResult",
    "fit_recording_clocks",
    "fit_view_by_motion",
    "optical_axis",
    "read_clock_models",
]

logger = logging.getLogger(__name__)

MOTION_METHOD = "motion-xcorr"
# A clock the lab declares in the manifest (stream option "clock"): no events needed, no fit.
DECLARED_METHOD = "declared"
_EVENT_METHODS = ("identity", "events", DECLARED_METHOD)
_CONFIRMED = "one sync event, confirmed by motion"


def _declared_models(recording: RawRecording, ref_name: str) -> dict[str, ClockModel]:
    """Models of the streams whose manifest entry declares a ``clock`` (t_ref = offset_s + (1 + drift) * t_dev).

    The declared reference maps its own device clock onto the lab clock the declarations share.
    """
    models: dict[str, ClockModel] = {}
    for name, entry in recording.manifest.streams.items():
        if entry.declared_clock is not None:
            offset_s, drift = entry.declared_clock
            seg = ClockSegmentFit(-math.inf, math.inf, offset_s, drift, 0, (), (), 0.0)
            models[name] = ClockModel(name, ref_name, DECLARED_METHOD, (seg,), 1.0)
    return models


def _onto_declared(models: dict[str, ClockModel], declared: dict[str, ClockModel], ref_name: str) -> dict:
    """Declared streams keep their declared model; when the reference is declared, every fitted model
    (device -> reference device clock) is composed with it, so all land on the declared lab clock."""
    ref = declared[ref_name].segments[0] if ref_name in declared else None
    out = {}
    for name, model in models.items():
        if name in declared:
            out[name] = declared[name]
        elif ref is not None:
            segments = tuple(
                replace(
                    s,
                    offset_s=ref.offset_s + (1.0 + ref.drift) * s.offset_s,
                    drift=(1.0 + ref.drift) * (1.0 + s.drift) - 1.0,
                )
                for s in model.segments
            )
            out[name] = replace(model, segments=segments)
        else:
            out[name] = model
    return out


@dataclass
class ClockFitResult:
    """Per stream its clock model; ``fallback`` says, per stream that missed sync events, what was done."""

    models: dict[str, ClockModel]
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fallback: dict[str, dict[str, Any]] = field(default_factory=dict)


def _latency(settings: PipelineSettings, stream: str, kind: str) -> float:
    return float(settings.device_latency_s.get(stream, settings.device_latency_s.get(kind, 0.0)))


def _shift_data(model: ClockModel, data_latency_s: float, reference_shift_s: float = 0.0) -> ClockModel:
    """The model for a stream's DATA when it is stamped ``data_latency_s`` after its sync events.

    A wireless EMG whose sensors lag the base station's trigger input by L stamps a sample at t
    that belongs at model(t - L) on the reference's event timeline. ``reference_shift_s`` moves
    maps that target the reference's data stamps (motion fits) onto its event timeline.
    """
    if not data_latency_s and not reference_shift_s:
        return model
    segments = tuple(
        replace(seg, offset_s=seg.offset_s - (1.0 + seg.drift) * data_latency_s - reference_shift_s)
        for seg in model.segments
    )
    note = f"data latency {data_latency_s * 1e3:.3f} ms applied (configured device_latency_s)"
    return replace(model, segments=segments, notes=(*model.notes, note))


def _fit_events(
    name: str,
    staged: StagedStream,
    ref_name: str,
    ref: StagedStream,
    settings: PipelineSettings,
    *,
    forward_gap: str = "auto",
    continuity_step_intervals: float = 1.0,
) -> ClockModel:
    events = staged.summary.sync_events
    ref_events = ref.summary.sync_events
    return fit_clock_model(
        name,
        np.array([e.t_device_s for e in events]),
        np.array([e.t_device_s for e in ref_events]),
        reference=ref_name,
        device_timestamps_s=staged.array("t_device"),
        nominal_rate_hz=staged.summary.nominal_rate_hz,
        device_event_uncertainty_s=[e.uncertainty_s for e in events],
        reference_event_uncertainty_s=[e.uncertainty_s for e in ref_events],
        device_event_labels=[e.label for e in events],
        reference_event_labels=[e.label for e in ref_events],
        forward_gap=forward_gap,
        continuity_step_intervals=continuity_step_intervals,
    )


def _settle_forward_gaps(
    name: str,
    staged: StagedStream,
    ref_name: str,
    ref: StagedStream,
    settings: PipelineSettings,
    model: ClockModel,
    view_axis: np.ndarray | None,
) -> ClockModel:
    """A video segment without sync events after a forward PTS gap: reset or pause? Motion decides.

    The timestamps cannot tell a clock reset (the counter jumped, frames went on: place the segment
    by sample continuity) from a pause (frames stopped, the clock ran on: keep the previous model);
    the two placements differ by the whole gap (0.5-5 s). Both are fitted, and the one whose
    event-less segments line up better with the reference's joint speed (``motion_agreement``
    within +-0.1 s, a test between two hypotheses, not a free search that could lock onto another
    repetition) is kept. Without usable motion the timestamp rule (``forward_gap="auto"``) stands.
    """
    empty = [k for k, seg in enumerate(model.segments) if seg.n_events == 0]
    if not empty or len(model.segments) < 2 or ref.summary.kind != "mocap" or model.method == "nominal":
        return model
    candidates = {
        gap: _fit_events(name, staged, ref_name, ref, settings, forward_gap=gap) for gap in ("continuity", "pause")
    }
    a, b = (candidates[g] for g in ("continuity", "pause"))
    if len(a.segments) != len(b.segments) or all(
        abs(x.offset_s - y.offset_s) < 1e-9 for x, y in zip(a.segments, b.segments, strict=True)
    ):
        return model
    t, energy, rt, speed = _motion_signals(staged, ref, view_axis)
    scores = {}
    for gap, candidate in candidates.items():
        values = []
        for k in empty:
            seg = candidate.segments[k]
            sel = (t >= seg.device_start_s) & (t <= seg.device_end_s)
            values.append(motion_agreement(t[sel], energy[sel], rt, speed, seg.offset_s, drift=seg.drift))
        scores[gap] = float(np.mean(values)) if values and all(math.isfinite(v) for v in values) else math.nan
    if not all(math.isfinite(v) for v in scores.values()):
        return model
    best = max(scores, key=lambda g: (scores[g], g == "continuity"))
    how = "sample continuity (clock reset)" if best == "continuity" else "the previous model (pause)"
    note = (
        f"segment(s) {empty} without sync events placed by {how}: "
        f"motion agreement {scores['continuity']:.2f} (reset) vs {scores['pause']:.2f} (pause)"
    )
    logger.info("stream %s: %s", name, note)
    chosen = candidates[best]
    return replace(chosen, notes=(*chosen.notes, note))


def fit_view_by_motion(
    name: str, staged: StagedStream, ref_name: str, ref: StagedStream, view_axis: np.ndarray | None
) -> ClockModel:
    """Video motion energy against the reference's joint speed as the view sees it (``view_axis``:
    its optical axis, see ``optical_axis``): maps data stamps to reference data stamps."""
    t, energy, rt, speed = _motion_signals(staged, ref, view_axis)
    return fit_by_motion(name, t, energy, rt, speed, reference=ref_name, device_timestamps_s=staged.array("t_device"))


def _motion_signals(
    staged: StagedStream, ref: StagedStream, view_axis: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A view's motion energy (times, values) and the reference's joint speed as that view sees it."""
    t, energy = video_motion_energy(
        staged.array("luma_grid"),
        staged.array("t_device"),
        exposure_s=float(staged.attrs.get("exposure_s") or 0.0),
        exclude_cells=[int(c) for c in staged.summary.extra.get("flash_cells", [])],
    )
    rt, speed = joint_speed(ref.array("t_device"), ref.array("joints"), ref.array("valid"), view_axis=view_axis)
    return t, energy, rt, speed


def optical_axis(recording: RawRecording, stream: str) -> np.ndarray | None:
    """A calibrated view's optical axis in the mocap frame (third row of its rotation), if known."""
    camera = (recording.calibration or {}).get("cameras", {}).get(stream, {})
    rotation = camera.get("R")
    if rotation is None:
        return None
    axis = np.asarray(rotation, dtype=np.float64)
    return axis[2] if axis.shape == (3, 3) and np.isfinite(axis).all() else None


def _fit(
    name: str,
    staged: StagedStream,
    ref_name: str,
    ref: StagedStream,
    settings: PipelineSettings,
    view_axis: np.ndarray | None = None,
) -> tuple[ClockModel, dict[str, Any] | None, list[str]]:
    """The stream's clock model; for a video that missed a flash, also what the fallback did and warnings."""
    if name == ref_name:
        return identity_model(name), None, []
    events = staged.summary.sync_events
    event_model = _fit_events(name, staged, ref_name, ref, settings)
    if staged.summary.kind == "video":
        event_model = _settle_forward_gaps(name, staged, ref_name, ref, settings, event_model, view_axis)
    if staged.summary.kind != "video" or len(events) >= 2:
        return event_model, None, []
    info: dict[str, Any] = {"n_events": len(events), "event_method": event_model.method}
    if ref.summary.kind != "mocap":
        info.update(method=event_model.method, used=False, reason=f"reference {ref_name} is not mocap (no joint speed)")
        return event_model, info, [f"{name}: {len(events)} sync event(s) and no motion fallback: {info['reason']}"]
    motion = fit_view_by_motion(name, staged, ref_name, ref, view_axis)
    info.update(motion_method=motion.method, motion_confidence=motion.confidence, motion_quality_s=motion.quality_s)
    if motion.method != MOTION_METHOD:
        info.update(method=event_model.method, used=False, reason="motion cross-correlation impossible")
        return event_model, info, [f"{name}: {len(events)} sync event(s) and {motion.notes[-1]}"]
    if not events:
        info.update(method=MOTION_METHOD, used=True, reason="no sync event")
        logger.info("stream %s: no sync event; clock from motion cross-correlation", name)
        return motion, info, []
    t_event = np.array([events[0].t_device_s])
    gap = float(event_model.to_reference(t_event)[0] - motion.to_reference(t_event)[0])
    info["event_minus_motion_s"] = gap
    if event_model.method != "nominal" and abs(gap) <= settings.fallback_agreement_s:
        info.update(method=event_model.method, used=False, reason=_CONFIRMED)
        note = f"offset from one {events[0].label} event, confirmed by motion cross-correlation ({gap * 1e3:+.1f} ms)"
        return replace(event_model, notes=(*event_model.notes, note)), info, []
    info.update(method=MOTION_METHOD, used=True, reason="one sync event, disagreeing with motion")
    note = (
        f"its one {events[0].label} sync event and motion cross-correlation disagree by {gap * 1e3:+.1f} ms "
        f"(> {settings.fallback_agreement_s * 1e3:.0f} ms): clock from motion"
    )
    logger.warning("stream %s: %s", name, note)
    # The note becomes a warning of the clock fit with the model's other notes.
    return replace(motion, notes=(*motion.notes, note)), info, []


def fit_recording_clocks(recording: RawRecording, store: StoreLayout, settings: PipelineSettings) -> ClockFitResult:
    key = recording.key
    ref_name = recording.manifest.reference_stream
    staged = {name: read_staged(store, key, name) for name in recording.manifest.streams}
    declared = _declared_models(recording, ref_name)
    fits = {
        name: (declared[name], None, [])
        if name in declared
        else _fit(name, s, ref_name, staged[ref_name], settings, optical_axis(recording, name))
        for name, s in staged.items()
    }
    ref_latency = _latency(settings, ref_name, staged[ref_name].summary.kind)
    models = {
        name: _shift_data(
            model,
            # Motion fits already relate data to data; event fits and the identity relate events.
            0.0 if model.method == MOTION_METHOD else _latency(settings, name, staged[name].summary.kind),
            ref_latency if model.method == MOTION_METHOD else 0.0,
        )
        for name, (model, _, _) in fits.items()
    }
    models = _onto_declared(models, declared, ref_name)
    fallback = {name: fit[1] for name, fit in fits.items() if fit[1] is not None}

    model_rows, event_rows = [], []
    ref_times = {e.label: e.t_device_s for e in staged[ref_name].summary.sync_events}
    if ref_name in declared:
        ref_times = {label: float(declared[ref_name].to_reference(np.array([t]))[0]) for label, t in ref_times.items()}
    for name, model in models.items():
        summary = staged[name].summary
        for index, segment in enumerate(model.segments):
            residuals = np.abs(np.asarray(segment.residuals_s, dtype=np.float64))
            model_rows.append(
                {
                    "recording": key,
                    "stream": name,
                    "reference": ref_name,
                    "segment": index,
                    "method": model.method,
                    "device_start_s": max(segment.device_start_s, summary.t_device_first_s),
                    "device_end_s": min(segment.device_end_s, summary.t_device_last_s),
                    "offset_s": segment.offset_s,
                    "drift_ppm": segment.drift * 1e6,
                    "n_events": segment.n_events,
                    "rms_residual_s": float(np.sqrt(np.mean(residuals**2))) if residuals.size else 0.0,
                    "max_abs_residual_s": float(residuals.max()) if residuals.size else 0.0,
                    "confidence": float(model.confidence),
                }
            )
        for index, event in enumerate(summary.sync_events):
            # Events keep their own stamps: undo the data latency to place them on the event timeline.
            t_event = event.t_device_s + (
                0.0 if model.method in (MOTION_METHOD, DECLARED_METHOD) else _latency(settings, name, summary.kind)
            )
            t_ref = float(model.to_reference(np.array([t_event]))[0])
            target = ref_times.get(event.label)
            event_rows.append(
                {
                    "recording": key,
                    "stream": name,
                    "event": index,
                    "source": event.source,
                    "t_device_s": event.t_device_s,
                    "t_ref_s": t_ref,
                    "residual_s": t_ref - target if target is not None else math.nan,
                    "uncertainty_s": event.uncertainty_s,
                }
            )

    residual_outcome = _residual_check(key, models, staged, settings, fallback)
    table_outcome = _write_tables(store, key, model_rows, event_rows)
    report = {
        "recording": key,
        "reference_stream": ref_name,
        "models": {name: model.to_dict() for name, model in models.items()},
        "methods": {name: {"method": m.method, "confidence": float(m.confidence)} for name, m in models.items()},
        "fallback": fallback,
        "events": event_rows,
    }
    json_path = store.report(key, SYNC_REPORT_JSON)
    png_path = store.report(key, SYNC_REPORT_PNG)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(json_path) as tmp:
        tmp.write_text(json.dumps(_json_safe(report), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with atomic_file(png_path) as tmp:
        plot_sync_report(tmp, key, ref_name, staged, models, ref_times)
    warnings = [f"{name}: {note}" for name, model in models.items() for note in model.notes]
    warnings += [w for fit in fits.values() for w in fit[2]]
    metadata = {
        "reference_stream": ref_name,
        "clock_models": TableMeta(
            ("stream", "method", "offset_s", "drift_ppm", "quality_ms", "n_events", "confidence"),
            tuple(
                (
                    name,
                    m.method,
                    m.segments[0].offset_s,
                    m.segments[0].drift * 1e6,
                    m.quality_s * 1e3,
                    sum(s.n_events for s in m.segments),
                    m.confidence,
                )
                for name, m in models.items()
            ),
        ),
        "worst_quality_ms": max(
            (m.quality_s * 1e3 for m in models.values() if not math.isnan(m.quality_s)), default=0.0
        ),
        "sync_plot": ImageMeta(png_path),
        "motion_fallback_streams": ", ".join(n for n, f in fallback.items() if f["used"]) or "none",
    }
    return ClockFitResult(
        models=models,
        metadata=metadata,
        checks=[residual_outcome, table_outcome],
        warnings=warnings,
        fallback=fallback,
    )


def _residual_check(
    key: str,
    models: dict[str, ClockModel],
    staged: dict[str, StagedStream],
    settings: PipelineSettings,
    fallback: dict[str, dict[str, Any]],
) -> CheckOutcome:
    """Event models (and the identity) gate on their kind's residual limit; motion models on the
    fallback limits (quality and confidence); anything else ("nominal", one event alone) fails."""
    check = CLOCK_CHECKS[0]
    failures, rows = [], []
    for name, model in models.items():
        quality = model.quality_s
        if model.method == MOTION_METHOD:
            limit = settings.max_fallback_residual_s
            ok = not math.isnan(quality) and quality <= limit and model.confidence >= settings.min_fallback_confidence
            reason = (
                f"motion fallback: quality {quality * 1e3:.3f} ms (limit {limit * 1e3:.3f} ms), "
                f"confidence {model.confidence:.3f} (min {settings.min_fallback_confidence:.3f})"
            )
        else:
            limit = settings.residual_limit_s(staged[name].summary.kind)
            info = fallback.get(name, {})
            # One event whose offset the motion fit confirmed (drift assumed 0): as good as its event.
            confirmed = (
                model.method == "events+offset-only"
                and info.get("reason") == _CONFIRMED
                and info.get("motion_confidence", 0.0) >= settings.min_fallback_confidence
            )
            accepted = model.method in _EVENT_METHODS or confirmed
            ok = accepted and not math.isnan(quality) and quality <= limit
            reason = (
                f"method {model.method}" if not accepted else f"quality {quality * 1e3:.3f} ms > {limit * 1e3:.3f} ms"
            )
        rows.append((name, model.method, quality * 1e3, limit * 1e3, float(model.confidence), "ok" if ok else "FAIL"))
        if not ok:
            failures.append((quality if not math.isnan(quality) else math.inf, name, reason))
    used = [name for name, model in models.items() if model.method == MOTION_METHOD]
    confirmed_by_motion = [name for name, info in fallback.items() if info.get("reason") == _CONFIRMED]
    via = f"; motion cross-correlation fallback (missed sync flash) for {', '.join(used)}" if used else ""
    if confirmed_by_motion:
        via += f"; one-event offset confirmed by motion for {', '.join(confirmed_by_motion)}"
    if failures:
        worst = max(failures)
        text = f"recording {key}: {len(failures)} stream(s) not aligned well enough; worst {worst[1]} ({worst[2]})"
    else:
        text = f"recording {key}: every stream within its residual threshold"
    return outcome(
        check,
        not failures,
        text + via,
        streams=TableMeta(("stream", "method", "quality_ms", "limit_ms", "confidence", "status"), tuple(rows)),
        motion_fallback=", ".join(used) or "none",
        fallback_reasons=TableMeta(
            ("stream", "n_events", "method", "reason"),
            tuple((n, int(f["n_events"]), str(f["method"]), str(f["reason"])) for n, f in fallback.items()),
        ),
    )


def _write_tables(store: StoreLayout, key: str, model_rows: list[dict], event_rows: list[dict]) -> CheckOutcome:
    check = CLOCK_CHECKS[1]
    try:
        write_partition(store.root, "clock_models", key, table_frame("clock_models", model_rows))
        write_partition(store.root, "sync_events", key, table_frame("sync_events", event_rows))
    except TableValidationError as error:
        return outcome(check, False, f"recording {key}: {error}", failures=str(error.failure_cases.head(20)))
    return outcome(check, True, f"recording {key}: {len(model_rows)} clock model rows, {len(event_rows)} sync events")


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def read_clock_models(store: StoreLayout, key: str) -> dict[str, ClockModel]:
    """The clock models last fitted for a recording (from its sync report)."""
    data = json.loads(store.report(key, SYNC_REPORT_JSON).read_text(encoding="utf-8"))
    return {name: ClockModel.from_dict(model) for name, model in data["models"].items()}
