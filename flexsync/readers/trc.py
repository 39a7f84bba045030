"""OpenSim TRC marker trajectories (tab-separated text with a five-line header).

No well-kept TRC library exists, so the header is split by hand and the numbers are read with
polars. Layout::

    PathFileType  4  (X/Y/Z)  walk.trc
    DataRate  CameraRate  NumFrames  NumMarkers  Units  OrigDataRate  OrigDataStartFrame  OrigNumFrames
    100.00    100.00      580        51          mm     100.00        1                   580
    Frame#  Time  RASI          LASI ...
                  X1  Y1  Z1    X2  Y2  Z2 ...
    1       0.000 ...

Timestamps are the file's Time column (as measured, not ``frame / rate``); positions are
converted to metres; empty cells (marker not seen) are NaN and invalid. A file with fewer rows
than NumFrames is truncated: rejected unless ``on_truncated="warn"``.
"""

from __future__ import annotations

import logging
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

__all__ = ["read_trc"]

logger = logging.getLogger(__name__)

_HEADER_LINES = 5
_REQUIRED_KEYS = ("DataRate", "NumFrames", "NumMarkers", "Units")


def read_trc(path: Path, options: Mapping[str, Any]) -> FileContents:
    """Markers as one SignalStream (kind ``"mocap"``), data (n_frames, n_markers, 3) in metres.

    Options: ``name`` (default the file stem); ``marker_set`` (``"identity"`` or
    ``{joint: [markers]}``: adds ``<name>_joints``); ``on_truncated`` (``"raise"`` or ``"warn"``).

    Raises
    ------
    InputFileError
        Not a TRC header, unknown units, marker count or column count not matching the header,
        truncated, or a Time column that is not strictly increasing.
    """
    path = check_readable(path)
    base = stream_name(options, path)
    on_truncated = get_option(options, "on_truncated", "raise", str, path)
    marker_set = get_option(options, "marker_set", None, (str, dict), path)
    lines = _header_lines(path)
    if not lines[0].startswith("PathFileType"):
        raise InputFileError(
            f"wrong header: a TRC file starts with 'PathFileType', this one with {lines[0][:40]!r}", path=path
        )
    keys, values = lines[1].split("\t"), lines[2].split("\t")
    header = {k.strip(): v.strip() for k, v in zip(keys, values, strict=False)}
    missing = [k for k in _REQUIRED_KEYS if k not in header]
    if missing:
        raise InputFileError(f"TRC header line 2 lacks {', '.join(missing)}", path=path)
    try:
        rate = float(header["DataRate"])
        n_frames = int(float(header["NumFrames"]))
        n_markers = int(float(header["NumMarkers"]))
    except ValueError as exc:
        raise InputFileError(f"TRC header line 3 has a non-numeric value: {exc}", path=path) from exc
    unit = header["Units"].lower()
    if unit not in LENGTH_UNITS_M:
        raise InputFileError(f"TRC Units {header['Units']!r} is not one of {', '.join(LENGTH_UNITS_M)}", path=path)
    labels = [cell.strip() for cell in lines[3].split("\t")[2:] if cell.strip()]
    if len(labels) != n_markers:
        raise InputFileError(f"NumMarkers is {n_markers} but line 4 names {len(labels)} markers", path=path)
    table = _read_rows(path, 2 + 3 * n_markers)
    warnings = []
    if table.height != n_frames:
        problem = f"NumFrames is {n_frames} but the file has {table.height} data rows"
        if table.height > n_frames or on_truncated != "warn":
            raise InputFileError(problem + ("" if table.height > n_frames else " (truncated?)"), path=path)
        warnings.append(problem)
    if table.height == 0:
        raise InputFileError("no data rows", path=path)
    times = table["c1"].cast(pl.Float64).to_numpy()
    values_m = np.column_stack([table[f"c{i}"].cast(pl.Float64).to_numpy() for i in range(2, 2 + 3 * n_markers)])
    return marker_file_contents(
        path=path,
        file_format="trc",
        name=base,
        positions_m=values_m.reshape(-1, n_markers, 3) * LENGTH_UNITS_M[unit],
        times_s=times,
        time_column="Time",
        labels=labels,
        rate_hz=rate,
        metadata={"units_in_file": header["Units"], "header": header},
        warnings=warnings,
        marker_set=marker_set,
    )


def _header_lines(path: Path) -> list[str]:
    try:
        with path.open("r", encoding="utf-8", errors="strict") as f:
            lines = [f.readline().rstrip("\r\n") for _ in range(_HEADER_LINES)]
    except UnicodeDecodeError as exc:
        raise InputFileError(f"not a TRC text file: {exc}", path=path) from exc
    if any(not line.strip() for line in lines[:4]):
        raise InputFileError(
            "the TRC header needs five lines (PathFileType, keys, values, names, X1 Y1 Z1...)", path=path
        )
    return lines


def _read_rows(path: Path, n_columns: int) -> pl.DataFrame:
    try:
        table = pl.read_csv(
            path,
            separator="\t",
            has_header=False,
            skip_rows=_HEADER_LINES,
            infer_schema_length=None,
            null_values=[""],
            truncate_ragged_lines=True,
        )
    except pl.exceptions.NoDataError:
        return pl.DataFrame({f"c{i}": [] for i in range(n_columns)})
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as exc:
        raise InputFileError(f"malformed TRC data rows: {exc}", path=path) from exc
    table = table.rename({old: f"c{i}" for i, old in enumerate(table.columns)})
    # A blank line after the header is customary; drop fully empty rows.
    table = table.filter(~pl.all_horizontal(pl.all().is_null()))
    if table.width < n_columns:
        raise InputFileError(f"data rows have {table.width} columns, the header implies {n_columns}", path=path)
    for i in range(n_columns):
        if not (table[f"c{i}"].dtype.is_numeric() or table[f"c{i}"].dtype == pl.Null):
            raise InputFileError(f"data column {i + 1} holds non-numeric values", path=path)
    return table.select([f"c{i}" for i in range(n_columns)])
