"""Fit every stream's clock against the reference stream from its staged sync events.

``fit_clocks`` is the whole fit of one recording, without writing anything: event times are
corrected for known fixed device latencies (a wireless EMG that delivers its samples late, say),
paired by label (start/end) and fitted; a video that missed a flash is checked against motion
cross-correlation with the reference's joint speed (``flexsync.timing.motion_xcorr``) and the
clock policy (``flexsync.ingest.clock_policy``) decides which model it keeps; clocks the manifest
declares replace fits. The result, a ``ClockFit``, holds per stream the model, the decision and
the residual gate's verdict, plus the recording's ``clock_residuals`` check and its sync report.
Its table rows come from ``flexsync.ingest.clock_tables``, its report files from
``flexsync.ingest.sync_report``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from flexsync.config import PipelineSettings
from flexsync.ingest.checks import CLOCK_CHECKS, outcome
from flexsync.ingest.clock_fit import ClockFit, PulsePairing, StreamClock
from flexsync.ingest.clock_policy import (
    DECLARED_METHOD,
    MOTION_METHOD,
    ClockChoice,
    ClockSource,
    choose_clock,
    gate_stream,
    residual_outcome,
    wants_motion,
)
from flexsync.ingest.clock_tables import clock_model_rows, sync_event_rows
from flexsync.ingest.pulse_gate import pulse_outcome
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.staging import StreamSummary, SyncEvent, read_staged
from flexsync.ingest.sync_inputs import PULSE_LABEL, train_source
from flexsync.ingest.sync_report import render_sync_plot, sync_report_json
from flexsync.ingest.tables import table_frame
from flexsync.ingest.train_fit import MotionSignals, fit_train_stream, pairing
from flexsync.quality import CheckOutcome, ImageMeta, TableMeta
from flexsync.schemas.tables import TableValidationError
from flexsync.storage.store import SYNC_REPORT_JSON, SYNC_REPORT_PNG, Store
from flexsync.timing.clock_model import (
    ClockFitOptions,
    ClockModel,
    ClockSegmentFit,
    EventTimes,
    fit_clock_model,
    identity_model,
)
from flexsync.timing.motion_xcorr import (
    emg_activity,
    fit_by_motion,
    joint_speed,
    motion_agreement,
    video_motion_energy,
)
from flexsync.timing.pulse_train import TrainFit

__all__ = [
    "DECLARED_METHOD",
    "MOTION_METHOD",
    "ClockFit",
    "ClockFitResult",
    "StreamClock",
    "fit_clocks",
    "fit_recording_clocks",
    "fit_view_by_motion",
    "optical_axis",
    "read_clock_models",
]

logger = logging.getLogger(__name__)


class Staged(Protocol):
    """What the fit needs of a staged stream (``StagedStream``, or an in-memory stand-in)."""

    @property
    def summary(self) -> StreamSummary: ...

    @property
    def attrs(self) -> dict[str, Any]: ...

    def array(self, name: str) -> np.ndarray: ...


def fit_clocks(recording: RawRecording, staged: Mapping[str, Staged], settings: PipelineSettings) -> ClockFit:
    """Fit, choose and gate every stream's clock of ``recording`` from its staged streams (by name).

    Writes nothing and opens no store path: the staged arrays come through ``staged[name].array``.
    """
    key = recording.key
    ref_name = recording.manifest.reference_stream
    ref = staged[ref_name]
    declared = _declared_models(recording, ref_name)
    ref_train = train_source(recording.manifest.streams[ref_name]) if ref_name in recording.manifest.streams else None
    trains = {
        name: train
        for name, s in staged.items()
        if name not in declared
        and name != ref_name
        and (train := train_source(recording.manifest.streams[name])) is not None
        and train == ref_train
    }
    fitted_trains: dict[str, TrainFit] = {}
    choices = {
        name: ClockChoice(declared[name], ClockSource.DECLARED)
        if name in declared
        else _choose(name, s, ref_name, ref, settings, optical_axis(recording, name), trains.get(name), fitted_trains)
        for name, s in staged.items()
    }
    ref_latency = _latency(settings, ref_name, ref.summary.kind)
    models = {
        name: _shift_data(
            choice.model,
            # Motion fits already relate data to data; event fits and the identity relate events.
            0.0 if choice.source is ClockSource.MOTION else _latency(settings, name, staged[name].summary.kind),
            ref_latency if choice.source is ClockSource.MOTION else 0.0,
        )
        for name, choice in choices.items()
    }
    models = _onto_declared(models, declared, ref_name)

    # By label: the flash pair's start/end (a train's markers); a train's plain pulses pair one by one instead.
    ref_times = {e.label: e.t_device_s for e in ref.summary.sync_events if e.label != PULSE_LABEL}
    ref_events = np.array([e.t_device_s for e in ref.summary.sync_events], dtype=np.float64)
    if ref_name in declared:
        ref_times = {label: float(declared[ref_name].to_reference(np.array([t]))[0]) for label, t in ref_times.items()}
        ref_events = declared[ref_name].to_reference(ref_events)
    streams = {}
    for name, model in models.items():
        choice, summary = choices[name], staged[name].summary
        # The model maps data stamps; sync events are stamped the data latency earlier than the data
        # (unless the model was not shifted for latency: motion and declared models).
        untouched = choice.source in (ClockSource.MOTION, ClockSource.DECLARED)
        streams[name] = StreamClock(
            stream=name,
            kind=summary.kind,
            model=model,
            source=choice.source,
            fallback=choice.fallback,
            gate=gate_stream(name, model, summary.kind, choice.source, choice.fallback, settings),
            events=tuple(summary.sync_events),
            event_latency_s=0.0 if untouched else _latency(settings, name, summary.kind),
            device_first_s=summary.t_device_first_s,
            device_last_s=summary.t_device_last_s,
            pulses=_pairing(name, choice, fitted_trains, ref_name, ref_train, len(summary.sync_events)),
        )
    fallback = {name: c.fallback for name, c in choices.items() if c.fallback is not None}
    entries = recording.manifest.streams
    sync_files = {name: entries[name].events_file or entries[name].file for name in streams if name in entries}
    check = residual_outcome(
        key,
        [s.gate for s in streams.values()],
        {n: s.source for n, s in streams.items()},
        fallback,
        sync_files,
        eventless_reference=None if ref.summary.sync_events or ref_name in declared else ref_name,
    )
    warnings = [f"{name}: {note}" for name, model in models.items() for note in model.notes]
    warnings += [w for choice in choices.values() for w in choice.warnings]
    pulses = pulse_outcome(key, streams, settings)
    return ClockFit(
        key, ref_name, streams, ref_times, check, tuple(warnings), pulses, tuple(float(t) for t in ref_events)
    )


# -- one stream -------------------------------------------------------------------------------


def _choose(
    name: str,
    staged: Staged,
    ref_name: str,
    ref: Staged,
    settings: PipelineSettings,
    view_axis: np.ndarray | None,
    train: str | None = None,
    fitted_trains: dict[str, TrainFit] | None = None,
) -> ClockChoice:
    """The stream's clock before latency: the identity, its event (or pulse-train) fit, or (a video short
    of events) motion. A pulse-train fit is recorded in ``fitted_trains`` under the stream's name."""
    if name == ref_name:
        return ClockChoice(identity_model(name), ClockSource.IDENTITY)
    kind, events = staged.summary.kind, staged.summary.sync_events

    def refit(gap: str) -> ClockModel:
        if train is None:
            return _fit_events(name, staged, ref_name, ref, forward_gap=gap)
        result = _fit_train(name, staged, ref_name, ref, train, view_axis, forward_gap=gap)
        if fitted_trains is not None:
            fitted_trains[name] = result
        return result.model

    event_model = refit("auto")
    if kind == "video":
        event_model = _settle_forward_gaps(name, staged, ref_name, ref, event_model, view_axis, refit)
    motion = (
        fit_view_by_motion(name, staged, ref_name, ref, view_axis)
        if wants_motion(kind, len(events), ref.summary.kind)
        else None
    )
    return choose_clock(
        name,
        kind,
        events,
        event_model,
        motion,
        reference=ref_name,
        reference_kind=ref.summary.kind,
        agreement_s=settings.fallback_agreement_s,
    )


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


def _onto_declared(
    models: dict[str, ClockModel], declared: dict[str, ClockModel], ref_name: str
) -> dict[str, ClockModel]:
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


def _latency(settings: PipelineSettings, stream: str, kind: str) -> float:
    """The configured data latency of a stream (s), by name, else by kind, else 0."""
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


def _event_times(events: list[SyncEvent]) -> EventTimes:
    return EventTimes(
        [e.t_device_s for e in events],
        uncertainty_s=[e.uncertainty_s for e in events],
        labels=[e.label for e in events],
    )


def _fit_events(name: str, staged: Staged, ref_name: str, ref: Staged, *, forward_gap: str = "auto") -> ClockModel:
    return fit_clock_model(
        name,
        _event_times(staged.summary.sync_events),
        _event_times(ref.summary.sync_events),
        reference=ref_name,
        device_timestamps_s=staged.array("t_device"),
        nominal_rate_hz=staged.summary.nominal_rate_hz,
        options=ClockFitOptions(forward_gap=forward_gap),
    )


def _settle_forward_gaps(
    name: str,
    staged: Staged,
    ref_name: str,
    ref: Staged,
    model: ClockModel,
    view_axis: np.ndarray | None,
    refit: Callable[[str], ClockModel] | None = None,
) -> ClockModel:
    """A video segment without sync events after a forward PTS gap: reset or pause? Motion decides.

    The timestamps cannot tell a clock reset (the counter jumped, frames went on: place the segment
    by sample continuity) from a pause (frames stopped, the clock ran on: keep the previous model);
    the two placements differ by the whole gap (0.5-5 s). Both are fitted, and the one whose
    event-less segments line up better with the reference's joint speed (``motion_agreement``
    within +-0.1 s: a choice between two placements, not a free search that could lock onto another
    repetition) is kept. Without usable motion the timestamp rule (``forward_gap="auto"``) stands.
    ``refit(forward_gap)`` fits the stream again with the given rule (default: its sync-event fit).
    """
    empty = [k for k, seg in enumerate(model.segments) if seg.n_events == 0]
    if not empty or len(model.segments) < 2 or ref.summary.kind != "mocap" or model.method == "nominal":
        return model
    fit_again = refit or (lambda gap: _fit_events(name, staged, ref_name, ref, forward_gap=gap))
    candidates = {gap: fit_again(gap) for gap in ("continuity", "pause")}
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


def _fit_train(
    name: str,
    staged: Staged,
    ref_name: str,
    ref: Staged,
    sync_source: str,
    view_axis: np.ndarray | None,
    *,
    forward_gap: str = "auto",
) -> TrainFit:
    """The stream's pulse-train fit; motion (video energy or EMG activity vs joint speed) breaks a period's tie."""
    summary = staged.summary
    signals: MotionSignals | None = None
    if ref.summary.kind == "mocap" and summary.kind == "video":

        def signals() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            return _motion_signals(staged, ref, view_axis)

    elif ref.summary.kind == "mocap" and summary.kind == "emg":

        def signals() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            t, activity = emg_activity(staged.array("envelope_t_device"), staged.array("envelope"))
            rt, speed = joint_speed(ref.array("t_device"), ref.array("joints"), ref.array("valid"))
            return t, activity, rt, speed

    return fit_train_stream(
        name,
        summary.sync_events,
        ref.summary.sync_events,
        reference=ref_name,
        sync_source=sync_source,
        t_device=staged.array("t_device"),
        nominal_rate_hz=summary.nominal_rate_hz,
        file_format=summary.format,
        motion_signals=signals,
        forward_gap=forward_gap,  # type: ignore[arg-type]
    )


def _pairing(
    name: str,
    choice: ClockChoice,
    fitted_trains: dict[str, TrainFit],
    ref_name: str,
    ref_train: str | None,
    n_events: int,
) -> PulsePairing | None:
    """How the stream's events were paired, when a pulse train placed it (the reference pairs with itself)."""
    if name == ref_name and ref_train is not None:
        return PulsePairing(tuple(range(n_events)), (True,) * n_events, False, ref_train)
    if name in fitted_trains and choice.source is ClockSource.EVENTS:
        return pairing(fitted_trains[name])
    return None


def fit_view_by_motion(
    name: str, staged: Staged, ref_name: str, ref: Staged, view_axis: np.ndarray | None
) -> ClockModel:
    """Video motion energy against the reference's joint speed as the view sees it (``view_axis``:
    its optical axis, see ``optical_axis``): maps data stamps to reference data stamps."""
    t, energy, rt, speed = _motion_signals(staged, ref, view_axis)
    return fit_by_motion(name, t, energy, rt, speed, reference=ref_name, device_timestamps_s=staged.array("t_device"))


def _motion_signals(
    staged: Staged, ref: Staged, view_axis: np.ndarray | None
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
    camera = (recording.calibration or {}).get(stream)
    return None if camera is None else np.array(camera.R[2])


# -- the store-facing wrapper (to be replaced with the new store API) ---------------------------


@dataclass
class ClockFitResult:
    """Per stream its clock model; ``fallback`` says, per stream that missed sync events, what was done."""

    models: dict[str, ClockModel]
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    fallback: dict[str, dict[str, Any]] = field(default_factory=dict)


def fit_recording_clocks(recording: RawRecording, store: Store, settings: PipelineSettings) -> ClockFitResult:
    """Read the staged streams, ``fit_clocks``, stage the tables and the sync report; return the result."""
    key = recording.key
    staged = {name: read_staged(store, key, name) for name in recording.manifest.streams}
    fit = fit_clocks(recording, staged, settings)
    png = render_sync_plot(
        key, fit.reference, {n: s.events for n, s in fit.streams.items()}, fit.models, fit.reference_times
    )
    table_outcome = _stage_fit(store, key, clock_model_rows(fit), sync_event_rows(fit), sync_report_json(fit), png)
    png_path = store.clock_fit_file(key, SYNC_REPORT_PNG) if table_outcome.passed else None
    fallback = {name: d.to_report() for name, d in fit.fallback.items()}
    models = fit.models
    metadata = {
        "reference_stream": fit.reference,
        "clock_models": TableMeta(
            (
                "stream",
                "method",
                "offset_s",
                "drift_ppm",
                "quality_ms",
                "n_events",
                "confidence",
                "pulses_found",
                "pulses_rejected",
                "rms_residual_ms",
            ),
            tuple(
                (
                    name,
                    m.method,
                    m.segments[0].offset_s,
                    m.segments[0].drift * 1e6,
                    m.quality_s * 1e3,
                    sum(s.n_events for s in m.segments),
                    m.confidence,
                    (m.pulse_counts or {}).get("found", len(fit.streams[name].events)),
                    (m.pulse_counts or {}).get("rejected", 0),
                    m.rms_residual_s * 1e3,
                )
                for name, m in models.items()
            ),
        ),
        "worst_quality_ms": max(
            (m.quality_s * 1e3 for m in models.values() if not math.isnan(m.quality_s)), default=0.0
        ),
        **({"sync_plot": ImageMeta(png_path)} if png_path is not None else {}),
        "motion_fallback_streams": ", ".join(n for n, f in fallback.items() if f["used"]) or "none",
    }
    return ClockFitResult(
        models=models,
        metadata=metadata,
        checks=[fit.residual_check, table_outcome, *([fit.pulse_check] if fit.pulse_check is not None else [])],
        warnings=list(fit.warnings),
        fallback=fallback,
    )


def _stage_fit(
    store: Store, key: str, model_rows: list[dict], event_rows: list[dict], report_json: bytes, report_png: bytes
) -> CheckOutcome:
    """Stage the fit whole (tables validated first); a schema failure stages nothing and fails the check."""
    check = CLOCK_CHECKS[1]
    tables = {
        "clock_models": table_frame("clock_models", model_rows),
        "sync_events": table_frame("sync_events", event_rows),
    }
    try:
        store.write_clock_fit(key, tables, {SYNC_REPORT_JSON: report_json, SYNC_REPORT_PNG: report_png})
    except TableValidationError as error:
        return outcome(check, False, f"recording {key}: {error}", failures=str(error.failure_cases.head(20)))
    return outcome(check, True, f"recording {key}: {len(model_rows)} clock model rows, {len(event_rows)} sync events")


def read_clock_models(store: Store, key: str) -> dict[str, ClockModel]:
    """The clock models last fitted for a recording (from its staged sync report)."""
    data = store.read_clock_report(key)
    return {name: ClockModel.from_dict(model) for name, model in data["models"].items()}
