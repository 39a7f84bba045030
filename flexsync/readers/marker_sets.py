"""From a lab's marker labels to the 21 FLEX joints, through a configurable marker set.

Labs place markers their own way (Plug-in Gait, a custom shoulder set...). A marker set says,
for every FLEX joint, which markers locate it: one marker (joint = marker) or several (joint =
mean of markers, e.g. the hip centre from ASIS/PSIS). A joint is valid at a sample only if every
one of its markers is: averaging the markers that happen to be visible would make the joint jump.
Files whose labels already are the FLEX joint names use ``IDENTITY_MARKER_SET``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from flexsync.errors import InputFileError
from flexsync.readers.stream import FileContents, SignalStream
from flexsync.skeleton import JOINT_NAMES

__all__ = ["IDENTITY_MARKER_SET", "map_markers_to_joints", "resolve_marker_labels", "validate_marker_set"]

logger = logging.getLogger(__name__)

IDENTITY_MARKER_SET: dict[str, list[str]] = {joint: [joint] for joint in JOINT_NAMES}


def validate_marker_set(marker_set: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """The marker set as ``{joint: [markers]}`` in JOINT_NAMES order, or ValueError listing every problem."""
    problems = []
    missing = [j for j in JOINT_NAMES if j not in marker_set]
    unknown = sorted(k for k in marker_set if k not in JOINT_NAMES)
    if missing:
        problems.append(f"joints without markers: {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown joints: {', '.join(unknown)} (expected {', '.join(JOINT_NAMES)})")
    cleaned: dict[str, list[str]] = {}
    for joint in JOINT_NAMES:
        markers = marker_set.get(joint)
        if markers is None:
            continue
        if isinstance(markers, str):
            markers = [markers]
        if not markers or not all(isinstance(m, str) and m for m in markers):
            problems.append(f"joint {joint!r} needs a non-empty list of marker labels, got {markers!r}")
            continue
        cleaned[joint] = list(markers)
    if problems:
        raise ValueError("invalid marker set: " + "; ".join(problems))
    return cleaned


def resolve_marker_labels(wanted: Sequence[str], labels: Sequence[str]) -> list[int]:
    """Indices of ``wanted`` markers in ``labels``.

    A label matches exactly, or after its subject prefix (Vicon writes ``Subject:LASI``) when
    that is unambiguous. Raises KeyError naming the markers not found.
    """
    exact = {label: i for i, label in enumerate(labels)}
    by_suffix: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        by_suffix.setdefault(label.rsplit(":", 1)[-1], []).append(i)
    indices, problems = [], []
    for marker in wanted:
        if marker in exact:
            indices.append(exact[marker])
        elif len(by_suffix.get(marker, [])) == 1:
            indices.append(by_suffix[marker][0])
        elif marker in by_suffix:
            problems.append(f"{marker!r} is ambiguous ({', '.join(labels[i] for i in by_suffix[marker])})")
        else:
            problems.append(f"{marker!r} not found")
    if problems:
        raise KeyError("; ".join(problems))
    return indices


def map_markers_to_joints(
    points: SignalStream, marker_set: Mapping[str, Sequence[str]], *, name: str | None = None
) -> SignalStream:
    """The 21 FLEX joints from marker trajectories: each joint the mean of its markers.

    Parameters
    ----------
    points
        Marker stream, data (n_samples, n_markers, 3) in metres, ``valid`` (n_samples, n_markers).
    marker_set
        ``{joint: [marker labels]}`` for every name in ``flexsync.skeleton.JOINT_NAMES``.
    name
        Name of the returned stream (default ``<points.name>_joints``).

    Returns
    -------
    SignalStream
        kind ``"mocap"``, data (n_samples, 21, 3) with NaN where invalid, same timestamps.

    Raises
    ------
    InputFileError
        Markers named by the set are missing from the stream (all listed at once).
    """
    if points.data.ndim != 3 or points.data.shape[2] != 3:
        raise ValueError(f"{points.source}: stream {points.name} is not a marker stream (shape {points.data.shape})")
    cleaned = validate_marker_set(marker_set)
    valid_in = points.valid if points.valid is not None else np.isfinite(points.data).all(axis=2)
    n = points.n_samples
    data = np.full((n, len(JOINT_NAMES), 3), np.nan, dtype=np.float64)
    valid = np.zeros((n, len(JOINT_NAMES)), dtype=bool)
    problems = []
    for j, joint in enumerate(JOINT_NAMES):
        try:
            idx = resolve_marker_labels(cleaned[joint], points.channel_names)
        except KeyError as exc:
            problems.append(f"joint {joint}: {exc.args[0]}")
            continue
        ok = valid_in[:, idx].all(axis=1)
        mean = points.data[:, idx, :].mean(axis=1)
        data[ok, j] = mean[ok]
        valid[:, j] = ok
    if problems:
        raise InputFileError(
            "marker set does not match the file's labels: " + "; ".join(problems),
            path=points.source,
            stream=points.name,
        )
    units = sorted(set(points.units))
    return SignalStream(
        name=name or f"{points.name}_joints",
        kind="mocap",
        data=data,
        timestamps_s=points.timestamps_s,
        channel_names=list(JOINT_NAMES),
        units=[units[0] if len(units) == 1 else "m"] * len(JOINT_NAMES),
        nominal_rate_hz=points.nominal_rate_hz,
        source=points.source,
        format=points.format,
        valid=valid,
        metadata={**points.metadata, "marker_set": cleaned, "markers_stream": points.name},
        warnings=list(points.warnings),
    )


def marker_file_contents(
    *,
    path: Path,
    file_format: str,
    name: str,
    positions_m: np.ndarray,
    times_s: np.ndarray,
    time_column: str,
    labels: Sequence[str],
    rate_hz: float,
    metadata: dict[str, Any],
    warnings: Sequence[str] = (),
    marker_set: str | Mapping[str, Sequence[str]] | None = None,
) -> FileContents:
    """A marker file's trajectories as one mocap stream, plus the 21 joints when a marker set is given.

    ``positions_m`` is (frames, markers, 3) in metres; a marker with a non-finite coordinate is
    invalid (occluded) in that frame. The shared tail of the text marker formats (TRC, CSV).

    Raises
    ------
    InputFileError
        If the times are not finite and strictly increasing (names the first bad data row).
    """
    times = np.asarray(times_s, dtype=np.float64)
    bad = np.flatnonzero(~(np.diff(times) > 0))
    if not np.isfinite(times).all() or bad.size:
        where = f" (first at data row {int(bad[0]) + 2})" if bad.size else ""
        raise InputFileError(f"the {time_column} column is not strictly increasing{where}", path=path)
    data = np.array(positions_m, dtype=np.float64)
    valid = np.isfinite(data).all(axis=2)
    data[~valid] = np.nan
    stream = SignalStream(
        name=name,
        kind="mocap",
        data=data,
        timestamps_s=times,
        channel_names=list(labels),
        units=["m"] * len(labels),
        nominal_rate_hz=rate_hz,
        source=path,
        format=file_format,
        valid=valid,
        metadata=metadata,
        warnings=list(warnings),
    )
    contents = FileContents(source=path, format=file_format, signals={name: stream}, warnings=list(warnings))
    if marker_set is not None:
        chosen = IDENTITY_MARKER_SET if marker_set == "identity" else marker_set
        if isinstance(chosen, str):
            raise ValueError(f"{path}: reader option 'marker_set' must be 'identity' or a mapping, got {chosen!r}")
        contents.signals[f"{name}_joints"] = map_markers_to_joints(stream, chosen)
    return contents
