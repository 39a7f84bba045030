"""C3D motion capture from any vendor (Vicon, Qualisys, Motion Analysis...) through ezc3d.

A C3D file holds marker trajectories at the camera rate and analog channels (force plates,
EMG and sync pulses wired into the mocap analog board) at a multiple of it; markerless systems
write segment poses in a ROTATION group instead. All become SignalStreams on the mocap device
clock: timestamps start at 0 for the first frame stored in the file (the file's own first and
last frame numbers, read from its header, are kept in metadata). Rates come from the header;
where it gives none (force-plate files with a frame rate of 0), from the groups' RATE parameters,
and the stream's warnings say so. Markers are converted to
metres from POINT:UNITS; a point is invalid where its residual is negative or it is NaN
(occlusion), and invalid points are NaN. Axes stay as the file has them; X_SCREEN/Y_SCREEN
are recorded and ``to_z_up`` turns the lab frame so that the screen's vertical axis is +Z.

ezc3d quietly shortens a truncated file to the frames present, so the reader compares the
frame count with the one the header declares and rejects the file (``on_truncated="raise"``,
the default) or keeps the frames with a warning (``"warn"``).
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ezc3d
import numpy as np

from flexsync.errors import InputFileError
from flexsync.readers.marker_sets import IDENTITY_MARKER_SET, map_markers_to_joints
from flexsync.readers.registry import check_readable, get_option, on_truncated_option, stream_name, truncation
from flexsync.readers.stream import EventList, FileContents, SignalStream

__all__ = ["LENGTH_UNITS_M", "read_c3d", "z_up_rotation"]

logger = logging.getLogger(__name__)

# Metres per unit, for POINT:UNITS.
LENGTH_UNITS_M = {"mm": 1e-3, "cm": 1e-2, "dm": 1e-1, "m": 1.0, "in": 0.0254}

_AXES = {"X": 0, "Y": 1, "Z": 2}
# C3D processor types (parameter section byte 4): 84 Intel, 85 DEC (both little endian), 86 MIPS.
_MIPS_PROCESSOR = 86


def read_c3d(path: Path, options: Mapping[str, Any]) -> FileContents:
    """Markers (kind ``"mocap"``, name ``<name>``), analog channels (kind ``"analog"``, ``<name>_analog``)
    and segment rotations (kind ``"rotation"``, ``<name>_rotations``).

    Options: ``name`` (default the file stem); ``to_z_up`` (bool, default False);
    ``marker_set`` (``"identity"`` or ``{joint: [markers]}``: adds ``<name>_joints``);
    ``on_truncated`` (``"raise"`` or ``"warn"``).

    Raises
    ------
    InputFileError
        Not a C3D file, truncated, unknown point units, no rates, no points, analog channels or
        rotations, or a marker set asked of a file without points.
    """
    path = check_readable(path)
    base = stream_name(options, path)
    to_z_up = get_option(options, "to_z_up", False, bool, path)
    on_truncated = on_truncated_option(options, path)
    marker_set = get_option(options, "marker_set", None, (str, dict), path)
    try:
        c3d = ezc3d.c3d(str(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise InputFileError(f"not a readable C3D file (wrong header or corrupt parameters): {exc}", path=path) from exc
    params = c3d["parameters"]
    header = c3d["header"]
    frames = _file_frame_range(path, params)
    warnings = _truncation_warnings(path, header, frames, on_truncated)
    rates = _rates(c3d)
    # The file's own frame numbers (ezc3d renumbers from 0 and cannot tell a file starting at 0 from one at 1).
    first_frame = frames.first if frames else int(header["points"]["first_frame"]) + 1
    last_frame = frames.last if frames else int(header["points"]["last_frame"]) + 1
    axes = {
        "x_screen": _param(params, "POINT", "X_SCREEN", ["+X"])[0],
        "y_screen": _param(params, "POINT", "Y_SCREEN", ["+Y"])[0],
    }
    metadata: dict[str, Any] = {
        "c3d_first_frame": first_frame,
        "c3d_last_frame": last_frame,
        **axes,
        "manufacturer": _manufacturer(params),
    }
    rotation = z_up_rotation(axes["x_screen"], axes["y_screen"], path=path) if to_z_up else None
    contents = FileContents(source=path, format="c3d", metadata=metadata, warnings=warnings)
    points = _points_stream(path, base, c3d, metadata, rotation, rates)
    if points is not None:
        contents.signals[base] = points
        if marker_set is not None:
            chosen = IDENTITY_MARKER_SET if marker_set == "identity" else marker_set
            if isinstance(chosen, str):
                raise ValueError(f"{path}: reader option 'marker_set' must be 'identity' or a mapping, got {chosen!r}")
            contents.signals[f"{base}_joints"] = map_markers_to_joints(points, chosen)
    analog = _analog_stream(path, f"{base}_analog", c3d, metadata, points, rates)
    if analog is not None:
        contents.signals[analog.name] = analog
    segments = _rotation_stream(path, f"{base}_rotations", c3d, metadata, rotation, rates)
    if segments is not None:
        contents.signals[segments.name] = segments
    if points is None and marker_set is not None:
        raise InputFileError(
            f"the C3D file {_what_it_holds(segments, analog)}: flexsync reads POINT markers (mapped to joints by "
            "the marker_set) and ANALOG channels, and this file has no markers; export the markers (POINT data) "
            "from the mocap software, or read the file without a marker_set",
            path=path,
        )
    if not contents.signals:
        raise InputFileError(
            "the C3D file holds no data flexsync reads: no POINT markers, no ANALOG channels, no ROTATION segments "
            f"(POINT:USED {int(header['points']['size'])}, ANALOG:USED {int(header['analogs']['size'])})",
            path=path,
        )
    events = _events(path, f"{base}_events", params, first_frame, rates.point_hz)
    if events is not None:
        contents.events[events.name] = events
    return contents


def _what_it_holds(segments: SignalStream | None, analog: SignalStream | None) -> str:
    parts = []
    if segments is not None:
        parts.append(f"ROTATION data ({len(segments.channel_names)} segments at {segments.nominal_rate_hz:g} Hz)")
    if analog is not None:
        parts.append(f"ANALOG data ({len(analog.channel_names)} channels at {analog.nominal_rate_hz:g} Hz)")
    return "holds only " + (" and ".join(parts) or "no data")


@dataclass(frozen=True)
class _FrameRange:
    """The first and last frame numbers as the file writes them (its header, or TRIAL past 65535)."""

    first: int
    last: int
    samples_per_frame: int  # analog samples per point frame (header word 10)

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class _Rates:
    """Point, analog and rotation rates, and where each came from when the header lacked it."""

    point_hz: float
    analog_hz: float
    rotation_hz: float
    notes: dict[str, str]  # kind ("point", "analog", "rotation") -> the warning saying where its rate came from
    sources: dict[str, str]  # kind -> "ANALOG:RATE parameter", ... (only where the header gave none)


def _rates(c3d: Any) -> _Rates:
    """Rates from ezc3d's header; where it gives 0 (analog-only files), from the RATE parameters.

    A force-plate file without markers may have a frame rate of 0 in its header (and POINT:RATE 0),
    so ezc3d computes an analog rate of 0 while ANALOG:RATE holds the real one.
    """
    header, params = c3d["header"], c3d["parameters"]
    notes: dict[str, str] = {}
    sources: dict[str, str] = {}

    def pick(kind: str, from_header: float, group: str) -> float:
        if from_header > 0:
            return from_header
        value = _param(params, group, "RATE", [0.0])
        parameter = float(value[0]) if len(value) else 0.0
        if parameter > 0:
            notes[kind] = (
                f"the C3D header gives no {kind} rate ({from_header:g} Hz); using {group}:RATE = {parameter:g} Hz "
                "from the parameters"
            )
            sources[kind] = f"{group}:RATE parameter"
            return parameter
        return from_header

    point = pick("point", float(header["points"]["frame_rate"]), "POINT")
    analog = pick("analog", float(header["analogs"]["frame_rate"]), "ANALOG")
    try:
        rotation_header = float(header["rotations"]["frame_rate"])
    except KeyError:
        rotation_header = 0.0
    rotation = pick("rotation", rotation_header, "ROTATION")
    if point <= 0 and analog > 0:
        ratio = int(c3d["data"]["analogs"].shape[2]) // max(1, int(c3d["data"]["points"].shape[2]))
        if ratio > 0:
            point = analog / ratio
            notes["point"] = (
                f"the C3D header and POINT:RATE give no point rate; using ANALOG:RATE / {ratio} = {point:g} Hz"
            )
            sources["point"] = f"ANALOG:RATE / {ratio} analog samples per frame"
    return _Rates(point, analog, rotation, notes, sources)


def z_up_rotation(x_screen: str, y_screen: str, *, path: Path | None = None) -> np.ndarray:
    """Rotation matrix R (3x3) with ``p_zup = R @ p_file``: X_SCREEN becomes +X, Y_SCREEN (up) +Z.

    Raises InputFileError when the two axes are not distinct signed axes like ``"+X"``, ``"-Z"``.
    """
    a, b = _axis_vector(x_screen, path), _axis_vector(y_screen, path)
    if abs(float(a @ b)) > 0:
        raise InputFileError(f"X_SCREEN {x_screen!r} and Y_SCREEN {y_screen!r} are not perpendicular axes", path=path)
    return np.stack([a, np.cross(b, a), b])


def _axis_vector(axis: str, path: Path | None) -> np.ndarray:
    text = axis.strip().upper()
    sign = -1.0 if text.startswith("-") else 1.0
    letter = text.lstrip("+-")
    if letter not in _AXES:
        raise InputFileError(f"screen axis {axis!r} is not one of +X, -X, +Y, -Y, +Z, -Z", path=path)
    vector = np.zeros(3)
    vector[_AXES[letter]] = sign
    return vector


def _param(params: Mapping[str, Any], group: str, name: str, default: Any) -> Any:
    try:
        value = params[group][name]["value"]
    except KeyError:
        return default
    if isinstance(value, np.ndarray):
        return value if value.size else default
    return value if len(value) else default


def _labels(params: Mapping[str, Any], group: str, count: int) -> list[str]:
    """LABELS, continued in LABELS2, LABELS3... for files with more than 255 entries."""
    labels: list[str] = list(_param(params, group, "LABELS", []))
    k = 2
    while len(labels) < count and f"LABELS{k}" in params.get(group, {}):
        labels.extend(_param(params, group, f"LABELS{k}", []))
        k += 1
    labels = [str(label).strip() for label in labels[:count]]
    labels += [f"{group.lower()}{i + 1}" for i in range(len(labels), count)]
    return _unique(labels)


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        label = label or "unnamed"
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label}_{seen[label]}")
    return out


def _manufacturer(params: Mapping[str, Any]) -> dict[str, str]:
    group = params.get("MANUFACTURER", {})
    return {
        key.lower(): str(group[key]["value"][0])
        for key in ("COMPANY", "SOFTWARE", "VERSION_LABEL")
        if key in group and len(group[key]["value"])
    }


def _file_frame_range(path: Path, params: Mapping[str, Any]) -> _FrameRange | None:
    """First and last frame numbers the C3D header declares.

    ezc3d rewrites its header and POINT:FRAMES to what it could read, so they are read from the
    file's own 512-byte header (words 4, 5 and 10); past 65535 frames the header overflows and
    Vicon's TRIAL:ACTUAL_START_FIELD/ACTUAL_END_FIELD (two 16-bit words each) are used.
    """
    with path.open("rb") as f:
        head = f.read(512)
        if len(head) < 20:
            return None
        f.seek(max(head[0] - 1, 0) * 512 + 3)
        processor = f.read(1)
    endian = ">" if processor and processor[0] == _MIPS_PROCESSOR else "<"
    first, last = struct.unpack(endian + "HH", head[6:10])
    (samples_per_frame,) = struct.unpack(endian + "H", head[18:20])
    if last != 0xFFFF and last >= first:
        return _FrameRange(first, last, samples_per_frame)
    start = _param(params, "TRIAL", "ACTUAL_START_FIELD", None)
    end = _param(params, "TRIAL", "ACTUAL_END_FIELD", None)
    if start is None or end is None or len(start) < 2 or len(end) < 2:
        return None
    first_long = int(start[0]) + 65536 * int(start[1])
    last_long = int(end[0]) + 65536 * int(end[1])
    return _FrameRange(first_long, last_long, samples_per_frame)


def _truncation_warnings(path: Path, header: Any, frames: _FrameRange | None, on_truncated: str) -> list[str]:
    read = int(header["points"]["last_frame"]) - int(header["points"]["first_frame"]) + 1
    if frames is None or frames.count == read:
        return []
    return truncation(
        f"truncated C3D: the header declares {frames.count} frames, the file holds {read}", on_truncated, path
    )


def _points_stream(
    path: Path, name: str, c3d: Any, metadata: dict[str, Any], rotation: np.ndarray | None, rates: _Rates
) -> SignalStream | None:
    params = c3d["parameters"]
    raw = c3d["data"]["points"]  # (4, n_markers, n_frames), homogeneous coordinates
    n_markers, n_frames = int(raw.shape[1]), int(raw.shape[2])
    if n_markers == 0:
        return None
    unit = str(_param(params, "POINT", "UNITS", ["mm"])[0]).strip().lower()
    if unit not in LENGTH_UNITS_M:
        raise InputFileError(
            f"POINT:UNITS {unit!r} is not a length unit flexsync knows ({', '.join(LENGTH_UNITS_M)})", path=path
        )
    rate = rates.point_hz
    if rate <= 0:
        raise InputFileError(
            f"point rate {rate:g} Hz is not positive (neither the header nor POINT:RATE gives one)", path=path
        )
    data = np.ascontiguousarray(raw[:3].transpose(2, 1, 0), dtype=np.float64) * LENGTH_UNITS_M[unit]
    residuals = c3d["data"]["meta_points"]["residuals"][0].T  # (n_frames, n_markers)
    valid = (residuals >= 0) & np.isfinite(data).all(axis=2)
    data[~valid] = np.nan
    if rotation is not None:
        data = data @ rotation.T
    labels = _labels(params, "POINT", n_markers)
    notes = [rates.notes["point"]] if "point" in rates.notes else []
    return SignalStream(
        name=name,
        kind="mocap",
        data=data,
        timestamps_s=np.arange(n_frames, dtype=np.float64) / rate,
        channel_names=labels,
        units=["m"] * n_markers,
        nominal_rate_hz=rate,
        source=path,
        format="c3d",
        valid=valid,
        metadata={
            **metadata,
            "units_in_file": unit,
            "axes": "z_up" if rotation is not None else "as in file",
            "invalid_fraction": float(1.0 - valid.mean()) if valid.size else 0.0,
            **({"rate_source": rates.sources["point"]} if "point" in rates.sources else {}),
        },
        warnings=notes,
    )


def _analog_stream(
    path: Path, name: str, c3d: Any, metadata: dict[str, Any], points: SignalStream | None, rates: _Rates
) -> SignalStream | None:
    params = c3d["parameters"]
    raw = c3d["data"]["analogs"]  # (1, n_channels, n_samples), scaled by ezc3d
    n_channels, n_samples = int(raw.shape[1]), int(raw.shape[2])
    if n_channels == 0:
        return None
    rate = rates.analog_hz
    if rate <= 0:
        raise InputFileError(
            f"analog rate {rate:g} Hz is not positive (neither the header nor ANALOG:RATE gives one)", path=path
        )
    warnings = [rates.notes["analog"]] if "analog" in rates.notes else []
    if points is not None:
        ratio = rate / points.nominal_rate_hz
        if abs(ratio - round(ratio)) > 1e-9 or n_samples != round(ratio) * points.n_samples:
            raise InputFileError(
                f"mismatched rates: {n_samples} analog samples at {rate:g} Hz do not fit "
                f"{points.n_samples} frames at {points.nominal_rate_hz:g} Hz",
                path=path,
                stream=name,
            )
    units = [str(u).strip() for u in _param(params, "ANALOG", "UNITS", [])][:n_channels]
    if len(units) < n_channels:
        warnings.append(f"ANALOG:UNITS lists {len(units)} units for {n_channels} channels; the rest are ''")
        units += [""] * (n_channels - len(units))
    return SignalStream(
        name=name,
        kind="analog",
        data=np.ascontiguousarray(raw[0].T, dtype=np.float64),
        timestamps_s=np.arange(n_samples, dtype=np.float64) / rate,
        channel_names=_labels(params, "ANALOG", n_channels),
        units=units,
        nominal_rate_hz=rate,
        source=path,
        format="c3d",
        metadata={
            **metadata,
            "descriptions": [str(d) for d in _param(params, "ANALOG", "DESCRIPTIONS", [])],
            **({"rate_source": rates.sources["analog"]} if "analog" in rates.sources else {}),
        },
        warnings=warnings,
    )


def _rotation_stream(
    path: Path, name: str, c3d: Any, metadata: dict[str, Any], rotation: np.ndarray | None, rates: _Rates
) -> SignalStream | None:
    """The ROTATION group (markerless systems, Visual3D): one 4x4 homogeneous pose per segment and frame.

    ``data`` is (n_frames, n_segments, 4, 4): rotation and translation, the translation in metres
    from POINT:UNITS; a pose with a non-finite element is invalid (NaN).
    """
    params = c3d["parameters"]
    try:
        raw = np.asarray(c3d["data"]["rotations"])
    except KeyError:
        return None
    if raw.ndim != 4 or raw.shape[2] == 0 or raw.shape[3] == 0:
        return None
    n_segments, n_frames = int(raw.shape[2]), int(raw.shape[3])
    rate = rates.rotation_hz
    if rate <= 0:
        raise InputFileError(
            f"rotation rate {rate:g} Hz is not positive (neither the header nor ROTATION:RATE gives one)", path=path
        )
    unit = str(_param(params, "POINT", "UNITS", ["mm"])[0]).strip().lower()
    if unit not in LENGTH_UNITS_M:
        raise InputFileError(
            f"POINT:UNITS {unit!r} (the unit of ROTATION translations) is not a length unit flexsync knows "
            f"({', '.join(LENGTH_UNITS_M)})",
            path=path,
        )
    data = np.ascontiguousarray(raw.transpose(3, 2, 0, 1), dtype=np.float64)
    data[:, :, :3, 3] *= LENGTH_UNITS_M[unit]
    valid = np.isfinite(data).all(axis=(2, 3))
    data[~valid] = np.nan
    if rotation is not None:  # p_zup = R p: poses become R @ T, translations included
        data[:, :, :3, :] = np.einsum("ij,fsjk->fsik", rotation, data[:, :, :3, :])
    notes = [rates.notes["rotation"]] if "rotation" in rates.notes else []
    return SignalStream(
        name=name,
        kind="rotation",
        data=data,
        timestamps_s=np.arange(n_frames, dtype=np.float64) / rate,
        channel_names=_labels(params, "ROTATION", n_segments),
        units=["m"] * n_segments,
        nominal_rate_hz=rate,
        source=path,
        format="c3d",
        valid=valid,
        metadata={
            **metadata,
            "units_in_file": unit,
            "axes": "z_up" if rotation is not None else "as in file",
            "layout": "4x4 homogeneous pose per segment (rotation, translation in m)",
            **({"rate_source": rates.sources["rotation"]} if "rotation" in rates.sources else {}),
        },
        warnings=notes,
    )


def _events(path: Path, name: str, params: Mapping[str, Any], first_frame: int, rate: float) -> EventList | None:
    """EVENT group: times are (minutes, seconds) from the capture's first frame; shifted to the file's clock.

    Frame ``n`` of the capture is at ``(n - 1) / rate`` (frame 1 at 0); a file numbered from 0 is taken
    to start at the capture's start too.
    """
    times = _param(params, "EVENT", "TIMES", None)
    if times is None or np.size(times) == 0:
        return None
    times = np.asarray(times, dtype=np.float64).reshape(2, -1)
    labels = list(_param(params, "EVENT", "LABELS", []))
    contexts = list(_param(params, "EVENT", "CONTEXTS", []))
    n = times.shape[1]
    names = [
        " ".join(p for p in (contexts[i] if i < len(contexts) else "", labels[i] if i < len(labels) else "") if p)
        for i in range(n)
    ]
    shift = max(first_frame - 1, 0) / rate if rate > 0 else 0.0
    seconds = times[0] * 60.0 + times[1] - shift
    order = np.argsort(seconds, kind="stable")
    return EventList(name=name, times_s=seconds[order], labels=[names[i] for i in order], source=path, format="c3d")
