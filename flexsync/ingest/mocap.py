"""Ingest motion capture: joints in metres with a gap mask, and the analog sync pulses."""

from __future__ import annotations

import numpy as np

from flexsync.config import PipelineSettings
from flexsync.errors import InputFileError
from flexsync.ingest.checks import STREAM_CHECKS, outcome
from flexsync.ingest.recording import RawRecording, verify_input
from flexsync.ingest.staging import StreamSummary, events_check_text, label_events, strictly_increasing_problem
from flexsync.ingest.streams import StreamResult
from flexsync.quality import TableMeta
from flexsync.readers.registry import read_file
from flexsync.readers.stream import SignalStream
from flexsync.skeleton import JOINT_NAMES
from flexsync.storage.atomic import atomic_directory
from flexsync.storage.layout import StoreLayout
from flexsync.storage.zarr_io import open_group_for_write, write_array
from flexsync.timing.pulses import detect_pulses

__all__ = ["ingest_mocap"]

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


def ingest_mocap(recording: RawRecording, stream: str, store: StoreLayout, settings: PipelineSettings) -> StreamResult:
    entry = recording.stream(stream)
    path = recording.stream_path(stream)
    sha256, size = verify_input(recording, entry.file, stream=stream)
    options = {"name": stream, "nominal_rate_hz": entry.nominal_rate_hz, **entry.options}
    options.setdefault("marker_set", "identity")
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
    sync_name = str(entry.options.get("sync_channel", "SYNC"))
    analog = _pick(contents, f"{stream}_analog", kind="analog", path=path, recording=recording.key)
    sync = np.asarray(analog.channel(sync_name), dtype=np.float32)
    t_device = np.asarray(joints.timestamps_s, dtype=np.float64)
    valid = np.asarray(joints.valid, dtype=bool)
    pulses = detect_pulses(sync, analog.timestamps_s)
    events = label_events(
        pulses.onset_s,
        t_device,
        source="analog",
        uncertainty_s=ANALOG_EDGE_UNCERTAINTY_S,
    )
    summary = StreamSummary.measure(
        entry,
        stream=stream,
        kind="mocap",
        sha256=sha256,
        size=size,
        t_device=t_device,
        n_channels=len(JOINT_NAMES),
        sync_events=events,
        warnings=[*contents.warnings, *joints.warnings],
        extra={"occluded_fraction": float(1.0 - valid.mean()), "analog_rate_hz": float(analog.nominal_rate_hz)},
    )
    target = store.staging_stream(recording.key, stream)
    with atomic_directory(target) as tmp:
        group = open_group_for_write(tmp)
        write_array(group, "joints", np.where(valid[..., None], joints.data, np.nan).astype(np.float32))
        write_array(group, "valid", valid)
        write_array(group, "t_device", t_device)
        write_array(group, "sync", sync)
        write_array(group, "sync_t_device", np.asarray(analog.timestamps_s, dtype=np.float64))
        group.attrs.update(
            {
                "kind": "mocap",
                "units": "m",
                "joint_names": list(JOINT_NAMES),
                "nominal_rate_hz": float(entry.nominal_rate_hz),
                "ingest": summary.to_attrs(),
            }
        )
    return StreamResult(
        stream=stream,
        kind="mocap",
        staging_path=target,
        metadata=_metadata(summary, valid),
        checks=_checks(recording.key, summary, t_device, valid),
        warnings=summary.warnings,
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


def _checks(key: str, summary: StreamSummary, t_device: np.ndarray, valid: np.ndarray) -> list:
    timestamps, gaps, sync = STREAM_CHECKS["mocap"]
    where = f"recording {key}, stream {summary.stream}"
    problem = strictly_increasing_problem(t_device)
    occluded = summary.extra["occluded_fraction"]
    found, text = events_check_text(summary.sync_events)
    return [
        outcome(timestamps, problem is None, f"{where}: " + (problem or "frame times strictly increasing")),
        outcome(
            gaps,
            occluded <= MAX_OCCLUDED_FRACTION,
            f"{where}: {occluded:.1%} of joint samples occluded",
            occluded_fraction=occluded,
            occluded_samples=int((~valid).sum()),
        ),
        outcome(sync, found, f"{where}: {text}", n_events=len(summary.sync_events)),
    ]
