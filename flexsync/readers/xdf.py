"""Lab Streaming Layer recordings (XDF) through pyxdf: several streams, each on its own terms.

An XDF file holds any number of streams with their own rates: numeric ones become
SignalStreams, string-valued ones (markers, events) EventLists. pyxdf's defaults are kept:
clock offsets from the ClockOffset chunks are applied with clock-reset detection, and jitter
removal is decided per stream (streams whose description says they can drop samples, such as
video, are not dejittered). Timestamps are LSL seconds on the recording computer's clock.

A stream declared irregular (nominal rate 0) gets its measured mean rate as
``nominal_rate_hz`` and ``metadata["irregular_rate"] = True``. For a regular stream the timing is
checked: the effective rate (pyxdf's, over the stream's segments) against the declared one (a
warning beyond ``effective_rate_tolerance``, relative, default 0.02), and gaps in the timestamps (intervals
longer than ``GAP_PERIODS`` sample periods: count, largest, total, in ``metadata["gaps"]`` and a
warning). Streams without samples are kept with zero rows and a warning. pyxdf reports problems
by logging; while it reads, its logger is captured (nothing reaches the terminal) and each record
becomes one warning of the stream (or file) it names. A file without stream footers was not
closed by its recorder (truncated): rejected unless ``on_truncated="warn"``.
"""

from __future__ import annotations

import gzip
import logging
import re
import struct
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pyxdf

from flexsync.errors import InputFileError
from flexsync.readers.registry import check_readable, get_option, on_truncated_option, truncation
from flexsync.readers.stream import EventList, FileContents, SignalStream

__all__ = ["read_xdf"]

logger = logging.getLogger(__name__)

XDF_MAGIC = b"XDF:"
_STREAM_MESSAGE = re.compile(r"^Stream (\d+):\s*(.*)$", re.S)
# An interval longer than this many declared sample periods is a gap in a regular stream.
GAP_PERIODS = 2.0
DEFAULT_RATE_TOLERANCE = 0.02
# pyxdf messages replaced by the reader's own report (rate with its tolerance, clock segments with counts).
_REPLACED = ("Calculated effective sampling rate", "Segments and clock-segments differ")


def read_xdf(path: Path, options: Mapping[str, Any]) -> FileContents:
    """Every stream of an XDF file, keyed by its LSL name (``name#id`` when names repeat).

    Options: ``kind`` (kind of the numeric streams, default ``"signal"``);
    ``synchronize_clocks``, ``handle_clock_resets``, ``dejitter_timestamps`` (bools passed to
    pyxdf, default True); ``on_truncated`` (``"raise"`` or ``"warn"``); ``effective_rate_tolerance``
    (relative difference of effective and declared rate that warns, default 0.02).

    Raises
    ------
    InputFileError
        Not an XDF file (wrong magic), a corrupt or truncated file.
    """
    path = check_readable(path)
    kind = get_option(options, "kind", "signal", str, path)
    on_truncated = on_truncated_option(options, path)
    tolerance = float(get_option(options, "effective_rate_tolerance", DEFAULT_RATE_TOLERANCE, (int, float), path))
    pyxdf_options = {
        key: get_option(options, key, True, bool, path)
        for key in ("synchronize_clocks", "handle_clock_resets", "dejitter_timestamps")
    }
    _check_magic(path)
    with _pyxdf_log() as records:
        try:
            streams, header = pyxdf.load_xdf(str(path), **pyxdf_options)
        except (OSError, ValueError, EOFError, struct.error, KeyError) as exc:
            raise InputFileError(f"corrupt XDF file: {exc}", path=path) from exc
    by_stream, file_warnings = _sort_messages(records)
    corrupt = [m for m in file_warnings if "corruption" in m or "Error reading chunk" in m]
    missing_footers = [_info(s, "name") for s in streams if not s.get("footer")]
    if corrupt or missing_footers:
        reasons = corrupt + ([f"no stream footer for {', '.join(missing_footers)}"] if missing_footers else [])
        counts = ", ".join(f"{_info(s, 'name')!r} {len(s['time_stamps'])} samples" for s in streams)
        truncation(
            "truncated or corrupt XDF (recorder not stopped cleanly?): "
            + "; ".join(reasons)
            + f"; read {counts or 'no streams'}",
            on_truncated,
            path,
        )
    contents = FileContents(
        source=path,
        format="xdf",
        metadata={"header": _plain(header.get("info", {})), "synchronize_clocks": pyxdf_options["synchronize_clocks"]},
        warnings=file_warnings + [f"stream {n!r} has no footer (truncated file?)" for n in missing_footers],
    )
    names = [_info(s, "name") or f"stream{s['info']['stream_id']}" for s in streams]
    for stream, name in zip(streams, names, strict=True):
        key = name if names.count(name) == 1 else f"{name}#{stream['info']['stream_id']}"
        messages = _stream_messages(stream, by_stream.get(int(stream["info"]["stream_id"]), []))
        if _info(stream, "channel_format") == "string":
            contents.events[key] = _event_list(path, key, stream)
            contents.warnings.extend(f"stream {key!r}: {m}" for m in _sample_warnings(stream) + messages)
        else:
            contents.signals[key] = _signal_stream(path, key, kind, stream, messages, tolerance)
    return contents


def _check_magic(path: Path) -> None:
    opener = gzip.open if path.suffix.lower() == ".xdfz" else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
    except OSError as exc:
        raise InputFileError(f"cannot read the XDF header: {exc}", path=path) from exc
    if magic != XDF_MAGIC:
        raise InputFileError(f"wrong header: an XDF file starts with {XDF_MAGIC!r}, this one with {magic!r}", path=path)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _pyxdf_log() -> Iterator[list[logging.LogRecord]]:
    """Collect pyxdf's warning/error log records while it reads, and keep them off the terminal.

    The records become the reader's warnings (once); while pyxdf reads, its logger does not
    propagate to the application's handlers (its level is left alone).
    """
    collector = _Collector()
    target = logging.getLogger(pyxdf.pyxdf.__name__)
    propagate = target.propagate
    target.addHandler(collector)
    target.propagate = False
    try:
        yield collector.records
    finally:
        target.removeHandler(collector)
        target.propagate = propagate


def _sort_messages(records: list[logging.LogRecord]) -> tuple[dict[int, list[str]], list[str]]:
    by_stream: dict[int, list[str]] = {}
    general: list[str] = []
    for record in records:
        text = record.getMessage().strip()
        match = _STREAM_MESSAGE.match(text)
        if match:
            by_stream.setdefault(int(match.group(1)), []).append(match.group(2))
        else:
            general.append(text)
    return by_stream, general


def _stream_messages(stream: Mapping[str, Any], messages: list[str]) -> list[str]:
    """pyxdf's messages for one stream, less those the reader reports itself with numbers."""
    kept = [m for m in messages if not m.startswith(_REPLACED)]
    segments, clock_segments = stream["info"].get("segments", []), stream["info"].get("clock_segments", [])
    if stream.get("clock_times") and clock_segments and len(segments) != len(clock_segments):
        kept.append(
            f"{len(segments)} jitter segments but {len(clock_segments)} clock segments (pyxdf: "
            "'Segments and clock-segments differ')"
        )
    return kept


def _timing(
    timestamps: np.ndarray, declared_hz: float, effective_hz: float, tolerance: float
) -> tuple[dict, list[str]]:
    """Gaps and effective-vs-declared rate of a regular stream: metadata and warnings."""
    if declared_hz <= 0 or timestamps.size < 2:
        return {}, []
    warnings = []
    if effective_hz > 0 and abs(effective_hz - declared_hz) > tolerance * declared_hz:
        warnings.append(
            f"effective rate {effective_hz:.4f} Hz differs from the declared {declared_hz:g} Hz by "
            f"{100 * (effective_hz / declared_hz - 1):+.1f}% (tolerance {100 * tolerance:g}%): the device's "
            "clock or its sample count is off; the timestamps are kept as recorded"
        )
    steps = np.diff(timestamps)
    threshold = GAP_PERIODS / declared_hz
    where = np.flatnonzero(steps > threshold)
    gaps = {
        "count": int(where.size),
        "threshold_s": threshold,
        "largest_s": 0.0,
        "largest_after_s": None,
        "total_s": 0.0,
    }
    if where.size:
        largest = int(where[np.argmax(steps[where])])
        gaps.update(
            largest_s=float(steps[largest]),
            largest_after_s=float(timestamps[largest]),
            total_s=float(steps[where].sum()),
        )
        warnings.append(
            f"{where.size} gap{'s' if where.size > 1 else ''} in the timestamps (intervals longer than "
            f"{GAP_PERIODS:g} sample periods, {threshold:.4g} s): largest {steps[largest]:.3f} s after "
            f"t = {timestamps[largest]:.3f} s, {gaps['total_s']:.3f} s in all"
        )
    return {"gaps": gaps}, warnings


def _info(stream: Mapping[str, Any], key: str) -> str:
    value = stream["info"].get(key)
    if isinstance(value, list):
        return str(value[0]) if value and value[0] is not None else ""
    return "" if value is None else str(value)


def _plain(value: Any) -> Any:
    """pyxdf's XML-as-dict (lists of one string) into JSON-friendly values."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        return items[0] if len(items) == 1 else items
    if isinstance(value, np.generic):
        return value.item()
    return value


def _channels(stream: Mapping[str, Any], n_channels: int) -> tuple[list[str], list[str]]:
    """Channel labels and units from the stream description, else ``ch1..`` and ``''``."""
    labels = [f"ch{i + 1}" for i in range(n_channels)]
    units = [""] * n_channels
    desc = stream["info"].get("desc")
    try:
        entries = desc[0]["channels"][0]["channel"]
    except (TypeError, KeyError, IndexError):
        return labels, units
    for i, entry in enumerate(entries[:n_channels]):
        if not isinstance(entry, Mapping):
            continue
        label = (entry.get("label") or entry.get("name") or [None])[0]
        unit = (entry.get("unit") or [None])[0]
        labels[i] = str(label) if label else labels[i]
        units[i] = str(unit) if unit else ""
    return labels, units


def _stream_metadata(stream: Mapping[str, Any]) -> dict[str, Any]:
    info = stream["info"]
    clock_segments = [list(map(int, seg)) for seg in info.get("clock_segments", [])]
    return {
        "stream_id": int(info["stream_id"]),
        "type": _info(stream, "type"),
        "source_id": _info(stream, "source_id"),
        "hostname": _info(stream, "hostname"),
        "channel_format": _info(stream, "channel_format"),
        "declared_rate_hz": float(_info(stream, "nominal_srate") or 0.0),
        "effective_rate_hz": float(info.get("effective_srate") or 0.0),
        "segments": [list(map(int, seg)) for seg in info.get("segments", [])],
        "clock_segments": clock_segments,
        "clock_offset_times_s": [float(t) for t in stream.get("clock_times", [])],
        "clock_offset_values_s": [float(v) for v in stream.get("clock_values", [])],
        "footer": _plain(stream.get("footer", {}).get("info", {})) if stream.get("footer") else None,
    }


def _sample_warnings(stream: Mapping[str, Any]) -> list[str]:
    warnings = []
    n = len(stream["time_stamps"])
    if n == 0:
        warnings.append("stream has no samples")
    footer = stream.get("footer") or {}
    try:
        declared = int(footer["info"]["sample_count"][0])
    except (KeyError, IndexError, TypeError, ValueError):
        declared = None
    if declared is not None and declared != n:
        warnings.append(f"footer declares {declared} samples, {n} were read")
    if len(stream["info"].get("clock_segments", [])) > 1:
        warnings.append(f"{len(stream['info']['clock_segments'])} clock segments (clock reset detected)")
    return warnings


def _signal_stream(
    path: Path, name: str, kind: str, stream: Mapping[str, Any], messages: list[str], tolerance: float
) -> SignalStream:
    n_channels = int(_info(stream, "channel_count") or 0)
    series = np.asarray(stream["time_series"])
    if series.ndim == 1:
        series = series.reshape(-1, max(n_channels, 1))
    timestamps = np.asarray(stream["time_stamps"], dtype=np.float64)
    metadata = _stream_metadata(stream)
    declared = metadata["declared_rate_hz"]
    rate = declared
    if declared <= 0:
        metadata["irregular_rate"] = True
        span = float(timestamps[-1] - timestamps[0]) if timestamps.size > 1 else 0.0
        rate = (timestamps.size - 1) / span if span > 0 else 0.0
    timing, timing_warnings = _timing(timestamps, declared, metadata["effective_rate_hz"], tolerance)
    metadata.update(timing)
    labels, units = _channels(stream, series.shape[1])
    return SignalStream(
        name=name,
        kind=kind,
        data=series,
        timestamps_s=timestamps,
        channel_names=labels,
        units=units,
        nominal_rate_hz=float(rate),
        source=path,
        format="xdf",
        metadata=metadata,
        warnings=_sample_warnings(stream) + timing_warnings + messages,
    )


def _event_list(path: Path, name: str, stream: Mapping[str, Any]) -> EventList:
    labels = [",".join(str(v) for v in sample) for sample in stream["time_series"]]
    return EventList(
        name=name,
        times_s=np.asarray(stream["time_stamps"], dtype=np.float64),
        labels=labels,
        source=path,
        format="xdf",
    )
