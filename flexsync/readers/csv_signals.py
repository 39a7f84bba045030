"""Signals and events exported as CSV: flexsync's physio files and Delsys/Noraxon-style exports.

What is read (docs/formats/csv.md has examples):

* flexsync physio ``time_s,heart_rate_bpm,breathing_rate_bpm`` and events ``time_s,label``;
* exports with one shared time column (``Time,Ch1 (mV),Ch2 (mV)``) or one time column per
  channel (Delsys EMGworks: ``X [s],EMG 1 [uV],X [s],ACC 1 [g]``), with preamble lines before
  the header row.

A time column is one named like ``time``, ``t``, ``timestamp`` or ``X`` (Delsys), with a time
unit (``s``, ``ms``, ``us``) in brackets, parentheses or a ``_s`` suffix; every following
column up to the next time column is sampled at its times. Units come from the header
(``[uV]``, ``(mV)``, ``_bpm``). Channel groups with identical times form one SignalStream;
groups at other rates or times become separate streams. Time columns must be strictly
increasing; trailing empty cells (shorter channels in a Delsys export) are dropped, empty
cells inside a time column are an error, inside a value column a gap (NaN, ``valid`` False).
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from flexsync.errors import InputFileError
from flexsync.readers.registry import check_readable, get_option, stream_name
from flexsync.readers.stream import EventList, FileContents, SignalStream

__all__ = ["TIME_UNITS_S", "parse_column", "read_csv_signals"]

logger = logging.getLogger(__name__)

TIME_UNITS_S = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}
_TIME_NAMES = {"time", "times", "t", "x", "timestamp", "timestamps", "seconds", "elapsed time"}
# Units recognised as a ``_suffix`` of a column name (bracketed units are taken as written).
_SUFFIX_UNITS = {
    "s": "s", "ms": "ms", "us": "us", "bpm": "bpm", "uv": "uV", "mv": "mV", "v": "V", "hz": "Hz",
    "m": "m", "mm": "mm", "deg": "deg", "pct": "%", "g": "g", "n": "N", "c": "degC",
}  # fmt: skip
_BRACKETED = re.compile(r"^(?P<name>.*?)\s*(?:\[(?P<b>[^\[\]]*)\]|\((?P<p>[^()]*)\))\s*$")
_PREAMBLE_LINES = 64


@dataclass
class _Group:
    """One time column and the value columns sampled at its times."""

    time_index: int
    time_header: str
    time_scale_s: float
    value_indices: list[int] = field(default_factory=list)


def parse_column(header: str) -> tuple[str, str]:
    """A column header split into (channel name, unit).

    ``"EMG 1 [uV]"`` -> ``("EMG 1", "uV")``; ``"Ch1 (mV)"`` -> ``("Ch1", "mV")``;
    ``"heart_rate_bpm"`` -> ``("heart_rate_bpm", "bpm")`` (suffix units keep the full name);
    ``"label"`` -> ``("label", "")``.
    """
    text = header.strip()
    match = _BRACKETED.match(text)
    if match and match.group("name"):
        unit = match.group("b") if match.group("b") is not None else match.group("p")
        return match.group("name").strip(), unit.strip()
    _, sep, suffix = text.rpartition("_")
    if sep and suffix.lower() in _SUFFIX_UNITS:
        return text, _SUFFIX_UNITS[suffix.lower()]
    return text, ""


def _time_scale(header: str) -> float | None:
    """Seconds per unit if ``header`` names a time column, else None."""
    name, unit = parse_column(header)
    base = name.lower()
    if "_" in base and unit and base.endswith("_" + unit.lower()):
        base = base[: -len(unit) - 1]  # time_s -> time
    base = base.rsplit(":", 1)[-1].strip()  # "EMG 1: X" (Delsys) -> "x"
    if base not in _TIME_NAMES:
        return None
    if not unit:
        return 1.0 if base != "x" else None  # a bare "X" is too ambiguous
    return TIME_UNITS_S.get(unit.lower(), TIME_UNITS_S.get(unit))


def read_csv_signals(path: Path, options: Mapping[str, Any]) -> FileContents:
    """Signals (one SignalStream per distinct time base) or events from a CSV export.

    Options: ``name`` (default the file stem); ``kind`` (default ``"signal"``; ``"events"``
    forces an event file); ``separator`` (default ``,``, tab for .tsv).

    Raises
    ------
    InputFileError
        No header row with a time column, no data rows, non-numeric values, empty cells or
        non-monotonic values in a time column (the message names the column and the line).
    """
    path = check_readable(path)
    base = stream_name(options, path)
    kind = get_option(options, "kind", "signal", str, path)
    separator = get_option(options, "separator", "\t" if path.suffix.lower() == ".tsv" else ",", str, path)
    header_line, headers = _find_header(path, separator)
    _refuse_cut_last_row(path, separator, len(headers))
    table = _read_table(path, separator, header_line, headers)
    if table.height == 0:
        raise InputFileError(f"no data rows after the header on line {header_line + 1}", path=path)
    groups = _group_columns(path, headers)
    contents = FileContents(source=path, format="csv", metadata={"header_line": header_line + 1})
    string_columns = [i for i, dtype in enumerate(table.dtypes) if dtype == pl.String]
    looks_like_events = len(headers) == 2 and string_columns == [1]  # time, label
    if string_columns and kind != "events" and not looks_like_events:
        raise _non_numeric_error(path, table, headers, string_columns, header_line)
    if kind == "events" or string_columns:
        contents.events[base] = _events(path, base, table, headers, groups, header_line)
        return contents
    streams = _streams(path, base, kind, table, headers, groups, header_line)
    contents.signals.update({s.name: s for s in streams})
    return contents


def _refuse_cut_last_row(path: Path, separator: str, n_columns: int) -> None:
    """A file that ends mid-row (no final newline, too few cells) was cut while being written."""
    with path.open("rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 4096))
        tail = handle.read()
    if not tail or tail.endswith(b"\n"):
        return
    last = tail.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    n_cells = len(last.split(separator))
    if n_cells < n_columns:
        with path.open("rb") as handle:
            n_lines = sum(1 for _ in handle)
        raise InputFileError(
            f"the last row (line {n_lines}) is cut: {n_cells} of {n_columns} cells and no final newline; "
            "the file was cut while being written: copy it again from the device",
            path=path,
        )


def _non_numeric_error(
    path: Path, table: pl.DataFrame, headers: list[str], columns: list[int], header_line: int
) -> InputFileError:
    """The first cell that is not a number, by line and column (a signal table holds numbers only)."""
    cells = []
    for i in columns:
        values = table[f"c{i}"]
        bad = values.is_not_null() & values.cast(pl.Float64, strict=False).is_null()
        for row in np.flatnonzero(bad.to_numpy())[:3]:
            cells.append((int(row), f"line {header_line + 2 + int(row)}, column {headers[i]!r}: {values[int(row)]!r}"))
    cells.sort()
    count = sum(
        int((table[f"c{i}"].is_not_null() & table[f"c{i}"].cast(pl.Float64, strict=False).is_null()).sum())
        for i in columns
    )
    return InputFileError(
        f"{count} value(s) are not numbers; first at " + "; ".join(text for _, text in cells[:3]),
        path=path,
    )


def _find_header(path: Path, separator: str) -> tuple[int, list[str]]:
    """The first line (0-based) whose first cell names a time column, and its cells."""
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=separator)
        try:
            for line_number, row in enumerate(reader):
                if line_number >= _PREAMBLE_LINES:
                    break
                if row and _time_scale(row[0]) is not None:
                    return line_number, [cell.strip() for cell in row]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputFileError(f"not a readable CSV text file: {exc}", path=path) from exc
    raise InputFileError(
        f"no header row starting with a time column (like time_s, Time, X [s]) in the first {_PREAMBLE_LINES} lines",
        path=path,
    )


def _read_table(path: Path, separator: str, header_line: int, headers: list[str]) -> pl.DataFrame:
    try:
        return pl.read_csv(
            path,
            separator=separator,
            has_header=False,
            skip_rows=header_line + 1,
            new_columns=[f"c{i}" for i in range(len(headers))],
            infer_schema_length=None,
            null_values=[""],
            truncate_ragged_lines=False,
            encoding="utf8-lossy",
        )
    except pl.exceptions.NoDataError:
        return pl.DataFrame()
    except (pl.exceptions.ComputeError, pl.exceptions.ShapeError) as exc:
        raise InputFileError(f"malformed CSV after the header on line {header_line + 1}: {exc}", path=path) from exc


def _group_columns(path: Path, headers: list[str]) -> list[_Group]:
    groups: list[_Group] = []
    for i, header in enumerate(headers):
        scale = _time_scale(header)
        if scale is not None:
            groups.append(_Group(i, header, scale))
        elif not header:
            continue  # trailing separator
        else:
            groups[-1].value_indices.append(i)
    empty = [g.time_header for g in groups if not g.value_indices]
    if empty and len(groups) > 1:
        raise InputFileError(f"time columns without channels: {', '.join(empty)}", path=path)
    return groups


def _times(path: Path, table: pl.DataFrame, group: _Group, header_line: int) -> tuple[np.ndarray, int]:
    """Checked times (s) of a group and the number of rows they cover (trailing empties dropped)."""
    column = table[f"c{group.time_index}"]
    if not column.dtype.is_numeric():
        raise InputFileError(f"time column {group.time_header!r} holds non-numeric values", path=path)
    values = column.cast(pl.Float64).to_numpy()
    present = np.flatnonzero(np.isfinite(values))
    if present.size == 0:
        raise InputFileError(f"time column {group.time_header!r} is empty", path=path)
    n = int(present[-1]) + 1
    holes = np.flatnonzero(~np.isfinite(values[:n]))
    if holes.size:
        raise InputFileError(
            f"time column {group.time_header!r} has {holes.size} empty cells, first on line "
            f"{header_line + 2 + int(holes[0])}",
            path=path,
        )
    times = values[:n] * group.time_scale_s
    steps = np.diff(times)
    bad = np.flatnonzero(steps <= 0)
    if bad.size:
        raise InputFileError(
            f"time column {group.time_header!r} is not strictly increasing: line {header_line + 3 + int(bad[0])} "
            f"has {float(values[bad[0] + 1]):g} after {float(values[bad[0]]):g} ({bad.size} such steps)",
            path=path,
        )
    return times, n


def _streams(
    path: Path,
    base: str,
    kind: str,
    table: pl.DataFrame,
    headers: list[str],
    groups: list[_Group],
    header_line: int,
) -> list[SignalStream]:
    merged: list[tuple[np.ndarray, list[_Group]]] = []
    for group in groups:
        times, _ = _times(path, table, group, header_line)
        for known_times, members in merged:
            if known_times.shape == times.shape and np.array_equal(known_times, times):
                members.append(group)
                break
        else:
            merged.append((times, [group]))
    streams: list[SignalStream] = []
    names: set[str] = set()
    for times, members in merged:
        columns = [i for g in members for i in g.value_indices]
        for i in columns:
            if not table[f"c{i}"].dtype.is_numeric() and table[f"c{i}"].dtype != pl.Null:
                raise InputFileError(f"column {headers[i]!r} holds non-numeric values", path=path)
        data = np.column_stack([table[f"c{i}"].cast(pl.Float64).to_numpy()[: times.size] for i in columns])
        valid = np.isfinite(data)
        rate = 1.0 / float(np.median(np.diff(times))) if times.size > 1 else 0.0
        name = base if len(merged) == 1 else _unique(f"{base}_{rate:.6g}hz".replace(".", "p"), names)
        names.add(name)
        parsed = [parse_column(headers[i]) for i in columns]
        streams.append(
            SignalStream(
                name=name,
                kind=kind,
                data=data,
                timestamps_s=times,
                channel_names=[p[0] for p in parsed],
                units=[p[1] for p in parsed],
                nominal_rate_hz=rate,
                source=path,
                format="csv",
                valid=None if valid.all() else valid,
                metadata={"time_columns": [g.time_header for g in members], "rate_measured": True},
                warnings=[f"{int((~valid).sum())} empty or non-finite values"] if not valid.all() else [],
            )
        )
    return streams


def _unique(name: str, taken: set[str]) -> str:
    candidate, k = name, 2
    while candidate in taken:
        candidate, k = f"{name}_{k}", k + 1
    return candidate


def _events(
    path: Path, base: str, table: pl.DataFrame, headers: list[str], groups: list[_Group], header_line: int
) -> EventList:
    if len(groups) != 1 or len(groups[0].value_indices) != 1:
        raise InputFileError(
            "an events CSV has one time column and one label column (like time_s,label); "
            f"got columns {', '.join(headers)}",
            path=path,
        )
    times, n = _times(path, table, groups[0], header_line)
    labels = table[f"c{groups[0].value_indices[0]}"].cast(pl.String).fill_null("").to_list()[:n]
    return EventList(name=base, times_s=times, labels=[str(label) for label in labels], source=path, format="csv")
