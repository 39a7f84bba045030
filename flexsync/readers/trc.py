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
converted to metres; missing cells (marker not seen: empty, blank, or ``NaN`` in any letter case)
are NaN and invalid, any other non-numeric cell is an error naming its line and column. A file
with fewer rows than NumFrames is truncated: rejected unless ``on_truncated="warn"``.
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
from flexsync.readers.registry import check_readable, get_option, on_truncated_option, stream_name, truncation
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
    on_truncated = on_truncated_option(options, path)
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
    times, values_m = _read_rows(path, 2 + 3 * n_markers, labels)
    warnings = []
    if times.size != n_frames:
        problem = f"NumFrames is {n_frames} but the file has {times.size} data rows"
        if times.size > n_frames:
            raise InputFileError(problem, path=path)
        warnings = truncation(problem + " (truncated?)", on_truncated, path)
    if times.size == 0:
        raise InputFileError("no data rows", path=path)
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


def _read_rows(path: Path, n_columns: int, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The Time column and the ``3 * n_markers`` coordinate columns as float64, missing cells NaN.

    Cells are read as text: empty, blank (spaces) or ``NaN`` in any letter case is a missing value
    (marker not seen); anything else must be a number, or the file is rejected naming the line and
    column of the first bad cells. Fully empty lines (the customary blank line after the header) are
    skipped. The Time cell of a row may not be missing.
    """
    names = [f"c{i}" for i in range(n_columns)]
    try:
        # One text column per line (0x1f never occurs in a TRC), split on tabs here: a blank line
        # stays a row, so row i of the table is line HEADER + 1 + i of the file.
        lines = pl.read_csv(
            path,
            separator="\x1f",
            has_header=False,
            skip_rows=_HEADER_LINES,
            schema={"text": pl.String},
            quote_char=None,
        )
    except pl.exceptions.NoDataError:
        lines = pl.DataFrame(schema={"text": pl.String})
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as exc:
        raise InputFileError(f"malformed TRC data rows: {exc}", path=path) from exc
    split = lines.with_row_index("line", offset=_HEADER_LINES + 1).with_columns(
        pl.col("text").str.strip_chars_end("\r").str.split("\t")
    )
    widest = split["text"].list.len().max() if split.height else 0
    if split.height and int(widest) < n_columns:  # shorter rows are rows whose last cells were left out
        raise InputFileError(
            f"data rows have at most {int(widest)} columns, the header implies {n_columns} "
            "(Frame#, Time, then X Y Z per marker)",
            path=path,
        )
    cells = split.select(
        "line",
        *(pl.col("text").list.get(i, null_on_oob=True).str.strip_chars().alias(name) for i, name in enumerate(names)),
    )
    missing = {
        name: pl.col(name).is_null() | (pl.col(name) == "") | (pl.col(name).str.to_lowercase() == "nan")
        for name in names
    }
    cells = cells.filter(~pl.all_horizontal(*missing.values()))
    numbers = cells.select(
        "line",
        *(pl.when(missing[name]).then(None).otherwise(pl.col(name)).alias(name) for name in names),
    ).with_columns(pl.col(name).cast(pl.Float64, strict=False).alias(f"{name}_value") for name in names)
    headings = ["Frame#", "Time"] + [f"{label} {axis}" for label in labels for axis in "XYZ"]
    problems = []
    for i, name in enumerate(names):
        bad = numbers.filter(pl.col(name).is_not_null() & pl.col(f"{name}_value").is_null())
        problems += [(line, i, headings[i], text) for line, text in bad.select("line", name).iter_rows()]
        if name == "c1":
            empty = numbers.filter(pl.col(name).is_null())["line"].to_list()
            problems += [(line, i, headings[i], "") for line in empty]
    if problems:
        problems.sort()
        shown = "; ".join(
            f"line {line}, column {i + 1} ({name}): "
            + (f"{text!r} is not a number" if text else "the Time cell is empty")
            for line, i, name, text in problems[:5]
        )
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise InputFileError(
            f"non-numeric TRC cells: {shown}{more}; missing coordinates must be empty or NaN", path=path
        )
    times = numbers["c1_value"].to_numpy().astype(np.float64)
    values = (
        np.column_stack([numbers[f"c{i}_value"].to_numpy().astype(np.float64) for i in range(2, n_columns)])
        if numbers.height
        else np.zeros((0, n_columns - 2))
    )
    return times, np.where(np.isnan(values), np.nan, values)
