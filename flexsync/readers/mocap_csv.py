"""Marker trajectories exported as CSV (Vicon Nexus, Qualisys, OptiTrack "export to CSV" flavours).

Labs often hand over mocap as a plain table rather than C3D. The accepted shape is one header
row, then one row per frame::

    # units: mm
    # rate_hz: 100
    frame,RASI_x,RASI_y,RASI_z,LASI_x,LASI_y,LASI_z
    1,102.5,-31.0,950.2,,,
    2,102.7,-31.1,950.0,-98.1,-30.2,951.7

A ``time`` column (seconds, the device clock as exported) or a ``frame`` column (then
time = (frame - first frame) / rate, like a C3D file) and, per marker, ``<marker>_x``,
``<marker>_y``, ``<marker>_z``. Units come from the ``units`` option or a ``# units:`` comment
line before the header (one is required: a silent mm/m mix-up is a factor of 1000). Empty cells
mean the marker was not seen: NaN and invalid. The result has the same shape as the C3D reader's
markers stream, so marker sets (``marker_set``) work the same way.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flexsync.errors import InputFileError
from flexsync.readers.c3d import LENGTH_UNITS_M
from flexsync.readers.marker_sets import marker_file_contents
from flexsync.readers.registry import check_readable, get_option, stream_name
from flexsync.readers.stream import FileContents

__all__ = ["read_mocap_csv"]

logger = logging.getLogger(__name__)

_COMMENT = re.compile(r"^\s*#\s*([A-Za-z_]+)\s*[:=]\s*(.*?)\s*$")
_AXES = ("x", "y", "z")


def read_mocap_csv(path: Path, options: Mapping[str, Any]) -> FileContents:
    """Markers as one SignalStream (kind ``"mocap"``), data (n_frames, n_markers, 3) in metres.

    Options: ``name`` (default the file stem); ``units`` (``mm``, ``cm``, ``m``...; overrides a
    ``# units:`` comment); ``rate_hz`` (frame rate for a ``frame`` column; else a ``# rate_hz:``
    comment, else ``nominal_rate_hz``); ``marker_set`` (``"identity"`` or ``{joint: [markers]}``:
    adds ``<name>_joints``).

    Raises
    ------
    InputFileError
        No units, no time/frame column, columns not in x/y/z triplets, non-numeric cells, times or
        frames not strictly increasing, no rows.
    """
    path = check_readable(path)
    base = stream_name(options, path)
    marker_set = get_option(options, "marker_set", None, (str, dict), path)
    comments, body = _split_comments(path)
    unit = str(get_option(options, "units", comments.get("units"), str, path) or "").strip().lower()
    if not unit:
        raise InputFileError("no length unit: pass the 'units' option or write a '# units: mm' line", path=path)
    if unit not in LENGTH_UNITS_M:
        raise InputFileError(f"units {unit!r} is not one of {', '.join(LENGTH_UNITS_M)}", path=path)
    table = _read_table(path, body)
    columns = table.columns
    time_column = next((c for c in columns if c.strip().lower() in ("time", "time_s")), None)
    frame_column = next((c for c in columns if c.strip().lower() == "frame"), None)
    if time_column is None and frame_column is None:
        raise InputFileError(f"no 'time' or 'frame' column; the header is {', '.join(columns)}", path=path)
    labels = _marker_labels(path, [c for c in columns if c not in (time_column, frame_column)])
    if table.height == 0:
        raise InputFileError("no data rows", path=path)
    values = {c: _numeric(path, table, c) for c in columns}
    if time_column is not None:
        times = values[time_column]
        rate = _rate_from_times(times)
    else:
        rate = _frame_rate(path, options, comments)
        frames = values[frame_column]
        times = (frames - frames[0]) / rate
    return marker_file_contents(
        path=path,
        file_format="mocap_csv",
        name=base,
        positions_m=np.stack(
            [np.column_stack([values[f"{label}_{axis}"] for axis in _AXES]) for label in labels], axis=1
        )
        * LENGTH_UNITS_M[unit],
        times_s=times,
        time_column=time_column or frame_column,
        labels=labels,
        rate_hz=rate,
        metadata={"units_in_file": unit, "comments": comments, "time_column": time_column or frame_column},
        marker_set=marker_set,
    )


def _split_comments(path: Path) -> tuple[dict[str, str], str]:
    """``# key: value`` lines before the header (keys lower-case), and the rest of the file."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"not a UTF-8 text file: {exc}", path=path) from exc
    lines = text.splitlines()
    comments: dict[str, str] = {}
    start = 0
    while start < len(lines) and (lines[start].lstrip().startswith("#") or not lines[start].strip()):
        match = _COMMENT.match(lines[start])
        if match:
            comments[match.group(1).lower()] = match.group(2)
        start += 1
    return comments, "\n".join(lines[start:])


def _read_table(path: Path, body: str) -> pl.DataFrame:
    if not body.strip():
        raise InputFileError("no header row", path=path)
    try:
        return pl.read_csv(io.StringIO(body), infer_schema_length=None, null_values=[""], separator=",")
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as exc:
        raise InputFileError(f"malformed CSV rows: {exc}", path=path) from exc


def _marker_labels(path: Path, columns: list[str]) -> list[str]:
    """Marker labels in column order; every marker needs its _x, _y, _z columns, in that order."""
    if not columns or len(columns) % 3:
        raise InputFileError(
            f"{len(columns)} coordinate columns: expected <marker>_x,<marker>_y,<marker>_z triplets", path=path
        )
    labels = []
    for i in range(0, len(columns), 3):
        triplet = columns[i : i + 3]
        label = triplet[0][:-2]
        if not label or [c.lower() for c in triplet] != [f"{label}_{a}".lower() for a in _AXES]:
            raise InputFileError(
                f"columns {', '.join(triplet)} are not one marker's <marker>_x,<marker>_y,<marker>_z", path=path
            )
        labels.append(label)
    if len(set(labels)) != len(labels):
        raise InputFileError(f"marker labels repeat: {', '.join(labels)}", path=path)
    return labels


def _numeric(path: Path, table: pl.DataFrame, column: str) -> np.ndarray:
    series = table[column]
    if not (series.dtype.is_numeric() or series.dtype == pl.Null):
        raise InputFileError(f"column {column!r} holds non-numeric values", path=path)
    return series.cast(pl.Float64).to_numpy()


def _rate_from_times(times: np.ndarray) -> float:
    steps = np.diff(times)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    return float(1.0 / np.median(steps)) if steps.size else float("nan")


def _frame_rate(path: Path, options: Mapping[str, Any], comments: dict[str, str]) -> float:
    rate = get_option(options, "rate_hz", None, (int, float), path)
    if rate is None and "rate_hz" in comments:
        try:
            rate = float(comments["rate_hz"])
        except ValueError:
            raise InputFileError(f"'# rate_hz: {comments['rate_hz']}' is not a number", path=path) from None
    if rate is None:
        rate = get_option(options, "nominal_rate_hz", None, (int, float), path)
    if rate is None or not rate > 0:
        raise InputFileError(
            "a 'frame' column needs a frame rate: the 'rate_hz' option, a '# rate_hz:' line or nominal_rate_hz",
            path=path,
        )
    return float(rate)
