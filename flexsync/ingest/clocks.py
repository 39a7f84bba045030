"""Fit every stream's clock against the reference stream from the staged sync events.

Event times are corrected for known fixed device latencies first (a wireless EMG that
delivers its samples late, say), then paired by label (start/end) and fitted.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
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
from flexsync.timing.clock_model import ClockModel, fit_clock_model, identity_model

__all__ = ["ClockFitResult", "fit_recording_clocks", "read_clock_models"]


@dataclass
class ClockFitResult:
    models: dict[str, ClockModel]
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _latency(settings: PipelineSettings, stream: str, kind: str) -> float:
    return float(settings.device_latency_s.get(stream, settings.device_latency_s.get(kind, 0.0)))


def _fit(name: str, staged: StagedStream, ref_name: str, ref: StagedStream, settings: PipelineSettings) -> ClockModel:
    if name == ref_name:
        return identity_model(name)
    events = staged.summary.sync_events
    ref_events = ref.summary.sync_events
    latency = _latency(settings, name, staged.summary.kind)
    ref_latency = _latency(settings, ref_name, ref.summary.kind)
    return fit_clock_model(
        name,
        np.array([e.t_device_s - latency for e in events]),
        np.array([e.t_device_s - ref_latency for e in ref_events]),
        reference=ref_name,
        device_timestamps_s=staged.array("t_device"),
        nominal_rate_hz=staged.summary.nominal_rate_hz,
        device_event_uncertainty_s=[e.uncertainty_s for e in events],
        reference_event_uncertainty_s=[e.uncertainty_s for e in ref_events],
        device_event_labels=[e.label for e in events],
        reference_event_labels=[e.label for e in ref_events],
    )


def fit_recording_clocks(recording: RawRecording, store: StoreLayout, settings: PipelineSettings) -> ClockFitResult:
    key = recording.key
    ref_name = recording.manifest.reference_stream
    staged = {name: read_staged(store, key, name) for name in recording.manifest.streams}
    models = {name: _fit(name, s, ref_name, staged[ref_name], settings) for name, s in staged.items()}

    model_rows, event_rows = [], []
    ref_times = {e.label: e.t_device_s for e in staged[ref_name].summary.sync_events}
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
            t_ref = float(model.to_reference(np.array([event.t_device_s - _latency(settings, name, summary.kind)]))[0])
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

    residual_outcome = _residual_check(key, models, staged, settings)
    table_outcome = _write_tables(store, key, model_rows, event_rows)
    report = {
        "recording": key,
        "reference_stream": ref_name,
        "models": {name: model.to_dict() for name, model in models.items()},
        "events": event_rows,
    }
    json_path = store.report(key, SYNC_REPORT_JSON)
    png_path = store.report(key, SYNC_REPORT_PNG)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_file(json_path) as tmp:
        tmp.write_text(json.dumps(_json_safe(report), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    with atomic_file(png_path) as tmp:
        plot_sync_report(tmp, key, ref_name, staged, models)
    warnings = [f"{name}: {note}" for name, model in models.items() for note in model.notes]
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
    }
    return ClockFitResult(models=models, metadata=metadata, checks=[residual_outcome, table_outcome], warnings=warnings)


def _residual_check(
    key: str, models: dict[str, ClockModel], staged: dict[str, StagedStream], settings: PipelineSettings
) -> CheckOutcome:
    check = CLOCK_CHECKS[0]
    failures, rows = [], []
    for name, model in models.items():
        kind = staged[name].summary.kind
        limit = settings.residual_limit_s(kind)
        quality = model.quality_s
        ok = model.method in ("identity", "events") and not math.isnan(quality) and quality <= limit
        rows.append((name, model.method, quality * 1e3, limit * 1e3, "ok" if ok else "FAIL"))
        if not ok:
            reason = (
                f"method {model.method}"
                if model.method not in ("identity", "events")
                else f"quality {quality * 1e3:.3f} ms > {limit * 1e3:.3f} ms"
            )
            failures.append((quality if not math.isnan(quality) else math.inf, name, reason))
    if failures:
        worst = max(failures)
        text = f"recording {key}: {len(failures)} stream(s) not aligned well enough; worst {worst[1]} ({worst[2]})"
    else:
        text = f"recording {key}: every stream within its residual threshold"
    return outcome(
        check,
        not failures,
        text,
        streams=TableMeta(("stream", "method", "quality_ms", "limit_ms", "status"), tuple(rows)),
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
