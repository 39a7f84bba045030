"""Publish a recording: every staged stream on the reference clock plus a common grid, as one unit.

The big arrays (frames, raw EMG) are hard-linked from staging, not copied; only the
reference-clock times, the grid and the attributes are new. The aligned Zarr group, the
recording's tables and its sync report are built together, all validated, and committed at
once (``Store.publish_recording``): readers see the previous unit or the new one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr

from flexsync import __version__
from flexsync.config import PipelineSettings
from flexsync.errors import FlexsyncError
from flexsync.ingest.annotations import check_annotations
from flexsync.ingest.checks import RECORDING_CHECKS, outcome
from flexsync.ingest.clocks import read_clock_models
from flexsync.ingest.keypoints import RecordingKeypoints, keypoints_check, recording_keypoints
from flexsync.ingest.overlay import (
    OverlayView,
    StoredFrames,
    choose_moments,
    clip_window,
    render_clip,
    render_contact_sheet,
    sync_event_times,
)
from flexsync.ingest.recording import RawRecording
from flexsync.ingest.staging import StagedStream, read_staged
from flexsync.ingest.tables import table_frame
from flexsync.jsonsafe import json_safe
from flexsync.quality import CheckOutcome, ImageMeta, PathMeta, TableMeta
from flexsync.schemas.tables import TableValidationError
from flexsync.schemas.zarr_layout import STATUS_COMPLETE, check_recording_group
from flexsync.storage.store import OVERLAY_MP4, OVERLAY_PNG, UNIT_REPORT_DIR, Store, UnitWriter
from flexsync.storage.zarr_io import write_array
from flexsync.timing.clock_model import ClockModel
from flexsync.timing.resample import hold_or_interpolate, interpolate_pose, make_grid, nearest_frame

__all__ = ["PublishRefusedError", "PublishResult", "publish_recording"]

LAYOUT_VERSION = 1


@dataclass
class PublishResult:
    metadata: dict[str, Any]
    checks: list[CheckOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class PublishRefusedError(FlexsyncError, ValueError):
    """The recording failed its publish validation; nothing was published. ``checks`` says why."""

    def __init__(self, key: str, checks: list[CheckOutcome]) -> None:
        self.checks = checks
        failed = [c for c in checks if not c.passed]
        super().__init__(
            f"recording {key}: not published, {len(failed)} check(s) failed: "
            + "; ".join(f"{c.name}: {c.description}" for c in failed)
        )


def _aligned_times(staged: StagedStream, model: ClockModel) -> dict[str, np.ndarray]:
    """Reference-clock twins of every device-clock time array of a staged stream."""
    kind = staged.summary.kind
    names = {"video": ["t_device"], "physio": ["t_device"], "mocap": ["t_device", "sync_t_device"]}
    names["emg"] = ["t_device", "envelope_t_device"]
    return {name.replace("t_device", "t"): model.to_reference(staged.array(name)) for name in names[kind]}


def publish_recording(recording: RawRecording, store: Store, settings: PipelineSettings) -> PublishResult:
    """Build the aligned recording, its tables and its report, validate all of it, then publish it as one unit.

    Raises
    ------
    PublishRefusedError
        If the Zarr layout or a table fails validation; the previously published unit (if any) is untouched.
    InputFileError
        If the annotations do not fit the annotated view (checked before anything is built).
    """
    key = recording.key
    manifest = recording.manifest
    models = read_clock_models(store, key)
    staged = {name: read_staged(store, key, name) for name in manifest.streams}
    # Bad annotations fail here, before the unit is built, so they never replace a good publication.
    repetitions = check_annotations(recording, {name: s.summary.n_samples for name, s in staged.items()})
    times = {name: _aligned_times(s, models[name]) for name, s in staged.items()}
    grid_t = _grid(times, settings)
    keypoints = recording_keypoints(
        key,
        staged,
        times,
        recording.calibration,
        mocap=_grid_sources(staged)["pose"],
        max_gap_s=settings.pose_max_gap_s,
    )

    with store.publish_recording(key) as unit:
        root = unit.open_zarr()
        unit.group("streams", create=True)
        for name, stage in staged.items():
            unit.link_tree(stage.path, f"streams/{name}")
            group = unit.group(f"streams/{name}")
            for array_name, values in times[name].items():
                write_array(group, array_name, values, chunks=_time_chunks(values))
            if name in keypoints.views:
                _write_keypoints(group, keypoints.views[name].xy, keypoints.views[name].visible)
        grid_metadata = _write_grid(unit.group("grid", create=True), grid_t, staged, times, settings)
        root.attrs.update(
            {
                "flexsync_layout": LAYOUT_VERSION,
                "recording": key,
                "subject": manifest.subject,
                "action": manifest.action,
                "take": manifest.take,
                "reference_stream": manifest.reference_stream,
                "clock_models": {name: json_safe(model.to_dict()) for name, model in models.items()},
                "provenance": {
                    "code_version": __version__,
                    "inputs": {s.summary.file: s.summary.sha256 for s in staged.values()},
                    "parameters": json_safe(settings.to_dict()),
                },
                "status": STATUS_COMPLETE,
            }
        )
        problems = check_recording_group(unit.zarr_path)
        layout = outcome(
            RECORDING_CHECKS[0],
            not problems,
            f"recording {key}: "
            + ("the aligned group conforms to the Zarr layout contract" if not problems else "; ".join(problems[:10])),
            problems=problems[:50],
        )
        tables, table_rows = _write_tables(recording, unit, staged, grid_t, len(repetitions))
        checks = [layout, tables]
        if not all(c.passed for c in checks):
            raise PublishRefusedError(key, checks)  # leaves the unit uncommitted
        checks.append(keypoints_check(key, keypoints))  # warn only: never blocks the publish
        store.add_clock_fit(unit)
        _write_overlay(unit, store, staged, times, keypoints, grid_t)
    metadata = {
        "path": PathMeta(store.recording_path(key)),
        "streams": TableMeta(
            ("stream", "kind", "samples", "t_ref_first_s", "t_ref_last_s"),
            tuple(
                (name, s.summary.kind, s.summary.n_samples, float(times[name]["t"][0]), float(times[name]["t"][-1]))
                for name, s in staged.items()
            ),
        ),
        **grid_metadata,
        "table_rows": table_rows,
        "reprojection": keypoints.metadata(),
        "overlay_preview": ImageMeta(store.report_file(key, OVERLAY_PNG)),
        "overlay_clip": PathMeta(store.report_file(key, OVERLAY_MP4)),
    }
    return PublishResult(metadata=metadata, checks=checks, warnings=list(keypoints.warnings))


def _write_keypoints(group: zarr.Group, xy: np.ndarray, visible: np.ndarray) -> None:
    rows = min(max(1, xy.shape[0]), 4096)
    write_array(group, "keypoints_2d", xy, chunks=(rows, *xy.shape[1:]), attrs={"units": "px"})
    write_array(group, "keypoints_visible", visible, chunks=(rows, *visible.shape[1:]))


def _write_overlay(
    unit: UnitWriter,
    store: Store,
    staged: dict[str, StagedStream],
    times: dict[str, dict[str, np.ndarray]],
    keypoints: RecordingKeypoints,
    grid_t: np.ndarray,
) -> None:
    """Render the overlay preview (contact sheet at a few moments and every sync event, and a clip) into the unit."""
    views = []
    for name, stage in staged.items():
        if stage.summary.kind != "video":
            continue
        kp = keypoints.views.get(name)
        views.append(
            OverlayView(
                name=name,
                frames=StoredFrames(stage.path),  # the unit's frames are hard links of these
                t=times[name]["t"],
                max_gap_s=1.5 / stage.summary.nominal_rate_hz,
                keypoints=None if kp is None else kp.xy,
                visible=None if kp is None else kp.visible,
            )
        )
    if not views:
        return
    t0, t1 = float(grid_t[0]), float(grid_t[-1])
    events = sync_event_times([row["t_ref_s"] for row in store.read_clock_report(unit.key)["events"]])
    unit.write_file(f"{UNIT_REPORT_DIR}/{OVERLAY_PNG}", render_contact_sheet(views, choose_moments(t0, t1, events)))
    unit.write_file(f"{UNIT_REPORT_DIR}/{OVERLAY_MP4}", render_clip(views, *clip_window(t0, t1)))


def _time_chunks(values: np.ndarray) -> tuple[int]:
    return (min(max(1, values.shape[0]), 1 << 16),)


def _grid(times: dict[str, dict[str, np.ndarray]], settings: PipelineSettings) -> np.ndarray:
    """The common grid covers the span every stream covers (their overlap on the reference clock)."""
    start = max(float(t["t"][0]) for t in times.values())
    end = min(float(t["t"][-1]) for t in times.values())
    if end <= start:
        raise ValueError(f"streams do not overlap on the reference clock (latest start {start}, earliest end {end})")
    return make_grid(start, end, settings.grid_rate_hz)


def _write_grid(group: zarr.Group, grid_t, staged, times, settings: PipelineSettings) -> dict[str, Any]:
    views = [name for name, s in staged.items() if s.summary.kind == "video"]
    sources = _grid_sources(staged)
    group.attrs.update({"rate_hz": float(settings.grid_rate_hz), "views": views, "sources": sources})
    write_array(group, "t", grid_t)
    frame_index = np.full((grid_t.size, len(views)), -1, dtype=np.int32)
    coverage = {}
    for column, view in enumerate(views):
        # A grid point more than 1.5 frame intervals from any frame lies in a dropped-frame gap.
        max_distance = 1.5 / staged[view].summary.nominal_rate_hz
        index, valid = nearest_frame(times[view]["t"], grid_t, max_distance_s=max_distance)
        frame_index[:, column] = np.where(valid, index, -1)
        coverage[view] = float(valid.mean())
    write_array(group, "video_frame_index", frame_index)
    if sources["pose"] is not None:
        name = sources["pose"]
        pose, mask = interpolate_pose(
            times[name]["t"],
            staged[name].array("joints"),
            staged[name].array("valid"),
            grid_t,
            max_gap_s=settings.pose_max_gap_s,
        )
        write_array(group, "pose", pose)
        write_array(group, "pose_valid", mask)
        coverage["pose"] = float(mask.mean())
    if sources["emg_envelope"]:
        # Every EMG device's channels side by side, in manifest order.
        parts = []
        for name in sources["emg_envelope"]:
            rate = float(staged[name].attrs["envelope_rate_hz"])
            parts.append(
                hold_or_interpolate(
                    times[name]["envelope_t"],
                    staged[name].array("envelope"),
                    grid_t,
                    mode="linear",
                    max_gap_s=2.5 / rate,
                )
            )
        envelope, mask = _side_by_side(parts)
        write_array(group, "emg_envelope", envelope)
        write_array(group, "emg_valid", mask.all(axis=1))
        coverage["emg"] = float(mask.all(axis=1).mean())
    if sources["physio"]:
        parts = [
            hold_or_interpolate(times[name]["t"], staged[name].array("values"), grid_t, mode="linear")
            for name in sources["physio"]
        ]
        values, mask = _side_by_side(parts)
        write_array(group, "physio", values)
        write_array(group, "physio_valid", mask.all(axis=1))
        coverage["physio"] = float(mask.all(axis=1).mean())
    return {
        "grid_rate_hz": float(settings.grid_rate_hz),
        "grid_points": int(grid_t.size),
        "grid_span_s": float(grid_t[-1] - grid_t[0]),
        "grid_coverage": TableMeta(("stream", "valid_fraction"), tuple(coverage.items())),
    }


def _grid_sources(staged: dict[str, StagedStream]) -> dict[str, Any]:
    """Which streams feed the grid: the first mocap stream, every EMG and every physio stream (manifest order)."""
    by_kind: dict[str, list[str]] = {}
    for name, stage in staged.items():
        by_kind.setdefault(stage.summary.kind, []).append(name)
    mocap = by_kind.get("mocap", [])
    return {
        "pose": (mocap[0] if mocap else None),
        "emg_envelope": by_kind.get("emg", []),
        "physio": by_kind.get("physio", []),
    }


def _side_by_side(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (values, mask) pairs along the channel axis (one pair is returned as it is)."""
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts], axis=1), np.concatenate([p[1] for p in parts], axis=1)


def _write_tables(
    recording: RawRecording, unit: UnitWriter, staged: dict[str, StagedStream], grid_t: np.ndarray, n_repetitions: int
) -> tuple[CheckOutcome, dict[str, int]]:
    """Validate and add the recording's own tables to the unit; the outcome names every table that failed."""
    key = recording.key
    manifest = recording.manifest
    recordings = [
        {
            "recording": key,
            "subject": manifest.subject,
            "action": manifest.action,
            "take": manifest.take,
            "reference_stream": manifest.reference_stream,
            "n_streams": len(staged),
            "duration_s": float(grid_t[-1] - grid_t[0]),
            "n_repetitions": n_repetitions,
            "code_version": __version__,
        }
    ]
    streams, dropped, quality = [], [], []
    for name, stage in staged.items():
        s = stage.summary
        streams.append(
            {
                "recording": key,
                "stream": name,
                "kind": s.kind,
                "format": s.format,
                "device": s.device,
                "file": s.file,
                "sha256": s.sha256,
                "bytes": s.bytes,
                "nominal_rate_hz": s.nominal_rate_hz,
                "measured_rate_hz": s.measured_rate_hz,
                "n_samples": s.n_samples,
                "n_channels": s.n_channels,
                "t_device_first_s": s.t_device_first_s,
                "t_device_last_s": s.t_device_last_s,
                "width": s.width,
                "height": s.height,
                "codec": s.codec,
            }
        )
        dropped += [{"recording": key, "stream": name, **gap} for gap in s.dropped_frames]
        for q in s.channel_quality:
            flags = (q["flat"], q["saturated"], q["powerline"])
            quality.append(
                {
                    "recording": key,
                    "stream": name,
                    "channel": q["name"],
                    "rms_uv": q["rms_uv"],
                    "snr_db": q["snr_db"],
                    "powerline_ratio": q["powerline_ratio"],
                    "saturation_fraction": q["saturation_fraction"],
                    "flat": flags[0],
                    "saturated": flags[1],
                    "powerline": flags[2],
                    "ok": not any(flags),
                }
            )
    rows: dict[str, int] = {}
    failures: list[str] = []
    for table, data in (
        ("recordings", recordings),
        ("streams", streams),
        ("dropped_frames", dropped),
        ("channel_quality", quality),
    ):
        try:
            unit.write_table(table, table_frame(table, data))
        except TableValidationError as error:
            failures.append(str(error))
        rows[table] = len(data)
    check = outcome(
        RECORDING_CHECKS[1],
        not failures,
        f"recording {key}: " + ("; ".join(failures) if failures else "tables validated: " + ", ".join(rows)),
        rows=rows,
    )
    return check, rows
