"""Ingest motion capture: joints in metres with a gap mask, and the analog sync pulses."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.errors import InputFileError
from flexsync.ingest.checks import STREAM_CHECKS, outcome
from flexsync.ingest.contract import StageOutput, StreamSource
from flexsync.ingest.recording import RawRecording, verify_input
from flexsync.ingest.staging import StreamSummary, label_events
from flexsync.ingest.sync_inputs import pulse_widths, train_events, train_source
from flexsync.quality import TableMeta
from flexsync.readers.marker_sets import validate_marker_set
from flexsync.readers.registry import read_file
from flexsync.readers.stream import SignalStream
from flexsync.skeleton import JOINT_NAMES
from flexsync.storage.zarr_io import open_group_for_write, write_array
from flexsync.timing.pulses import detect_pulses

__all__ = ["MocapIngester"]

MAX_OCCLUDED_FRACTION = 0.2
# Pulse edges come from an integrating analog input: sub-sample exact, limited by noise.
ANALOG_EDGE_UNCERTAINTY_S = 1e-5


def _pick(contents, name: str, *, kind: str, path, recording: str) -> SignalStream:
    for stream in contents.signals.values():
        if stream.name == name:
            return stream
    raise InputFileError(
        f"no {kind} stream {name!r} in the file; it has {', '.join(contents.signals) or 'no streams'}",
        path=path,
        recording=recording,
    )


def _marker_set(recording: RawRecording, stream: str, value: Any) -> str | dict:
    """The ``marker_set`` option as the readers take it: ``"identity"``, or a mapping (inline or from a
    JSON file inside the recording folder, resolved with ``resolve_inside``: never outside the raw root)."""
    if value is None or value == "identity" or isinstance(value, dict):
        return "identity" if value is None else value
    relative = str(value)
    verify_input(recording, relative, stream=stream)
    path = recording.path(relative)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"marker set is not valid JSON: {exc}", path=path, recording=recording.key) from exc
    if not isinstance(data, dict):
        raise InputFileError(
            "a marker set file holds one object {joint: [markers]}", path=path, recording=recording.key
        )
    try:
        return validate_marker_set(data)
    except ValueError as exc:
        raise InputFileError(str(exc), path=path, recording=recording.key, stream=stream) from exc


class MocapIngester:
    """Motion capture: joints in metres with a gap mask, and the analog sync pulses.

    Manifest options ``marker_set`` and ``sync_channel`` (docs/raw-format.md): ``marker_set`` maps
    the file's markers to the 21 FLEX joints (default ``"identity"``: the file is labelled with the
    joint names); ``sync_channel`` null: no analog sync, no sync events.
    """

    kind = "mocap"
    description = "Motion capture: 21 joints in metres with gap mask, analog sync pulses."
    checks = STREAM_CHECKS["mocap"]
    time_noun = "frame times"
    events_noun = "sync events"

    def work_estimate(self, source_path: Path) -> float:
        return float(source_path.stat().st_size)

    def stage(self, source: StreamSource, group_dir: Path) -> StageOutput:
        recording, entry, path, stream = source.recording, source.entry, source.path, source.stream
        options = {"name": stream, "nominal_rate_hz": entry.nominal_rate_hz, **entry.options}
        options["marker_set"] = _marker_set(recording, stream, entry.options.get("marker_set"))
        contents = read_file(path, format=entry.format, options=options)
        joints = _pick(contents, f"{stream}_joints", kind="joint", path=path, recording=recording.key)
        if list(joints.channel_names) != list(JOINT_NAMES):
            raise InputFileError(
                f"joints are {joints.channel_names}, expected the 21 FLEX joints {list(JOINT_NAMES)} "
                "(give a marker_set in the manifest options)",
                path=path,
                recording=recording.key,
                stream=stream,
            )
        sync_option = entry.options.get("sync_channel", "SYNC")
        t_device = np.asarray(joints.timestamps_s, dtype=np.float64)
        valid = np.asarray(joints.valid, dtype=bool)
        if valid.size and not valid.any():
            # No pose at all: nothing to align, interpolate or train on (the occlusion check only warns).
            raise InputFileError(
                f"every joint sample is occluded ({t_device.size} frames, 0 valid): the stream holds no pose; "
                "check the marker labelling or the marker_set option",
                path=path,
                recording=recording.key,
                stream=stream,
            )
        analog_rate_hz = math.nan
        if sync_option is not None:
            analog = _pick(contents, f"{stream}_analog", kind="analog", path=path, recording=recording.key)
            try:
                sync = np.asarray(analog.channel(str(sync_option)), dtype=np.float32)
            except KeyError as exc:
                raise InputFileError(exc.args[0], path=path, recording=recording.key, stream=stream) from None
            sync_t_device = np.asarray(analog.timestamps_s, dtype=np.float64)
            analog_rate_hz = float(analog.nominal_rate_hz)
        else:  # no sync wired to the analog board: nothing to detect (the clock must be declared)
            sync, sync_t_device = np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.float64)
        pulses = detect_pulses(sync, sync_t_device) if sync.size else None
        onsets = pulses.onset_s if pulses is not None else np.zeros(0)
        train = train_source(entry)
        if train is None:
            events = label_events(onsets, t_device, source="analog", uncertainty_s=ANALOG_EDGE_UNCERTAINTY_S)
        else:  # a pulse train on the analog sync channel: every pulse is an event
            events = train_events(
                onsets,
                pulse_widths(onsets, pulses.offset_s) if pulses is not None else None,
                t_device,
                source="analog",
                uncertainty_s=ANALOG_EDGE_UNCERTAINTY_S,
                pulse_s=source.settings.sync_pulse_s,
                sync_source=train,
            )
        summary = source.summary(
            t_device=t_device,
            n_channels=len(JOINT_NAMES),
            sync_events=events,
            warnings=[*contents.warnings, *joints.warnings],
            extra={"occluded_fraction": float(1.0 - valid.mean()), "analog_rate_hz": analog_rate_hz},
        )
        group = open_group_for_write(group_dir)
        write_array(group, "joints", np.where(valid[..., None], joints.data, np.nan).astype(np.float32))
        write_array(group, "valid", valid)
        write_array(group, "t_device", t_device)
        write_array(group, "sync", sync)
        write_array(group, "sync_t_device", sync_t_device)
        group.attrs.update(
            {
                "kind": "mocap",
                "units": "m",
                "joint_names": list(JOINT_NAMES),
                "nominal_rate_hz": float(entry.nominal_rate_hz),
                "ingest": summary.to_attrs(),
            }
        )
        occluded = summary.extra["occluded_fraction"]
        gaps = outcome(
            self.checks[1],
            occluded <= MAX_OCCLUDED_FRACTION,
            f"{source.where}: {occluded:.1%} of joint samples occluded",
            occluded_fraction=occluded,
            occluded_samples=int((~valid).sum()),
        )
        return StageOutput(
            summary=summary,
            t_device=t_device,
            metadata=_metadata(summary, valid),
            checks=[gaps],
            no_sync_reason=None if sync_option is not None else "no sync channel (sync_channel null)",
        )


def _metadata(summary: StreamSummary, valid: np.ndarray) -> dict:
    per_joint = 1.0 - valid.mean(axis=0)
    worst = np.argsort(per_joint)[::-1][:5]
    return {
        "frames": summary.n_samples,
        "joints": summary.n_channels,
        "rate_hz": summary.measured_rate_hz,
        "occluded_fraction": summary.extra["occluded_fraction"],
        "most_occluded_joints": TableMeta(
            ("joint", "occluded_fraction"), tuple((JOINT_NAMES[i], float(per_joint[i])) for i in worst)
        ),
        "sync_pulses": TableMeta(
            ("label", "onset_device_s"), tuple((e.label, e.t_device_s) for e in summary.sync_events)
        ),
    }
