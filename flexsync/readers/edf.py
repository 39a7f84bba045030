"""EDF, EDF+ and BDF (BioSemi 24 bit) through mne: EMG and physiology in their physical units.

EDF lets every channel have its own samples per data record; mne resamples channels to the
fastest one when they are read together, which would invent samples. So the reader asks mne
for each channel's native rate (a header-only read per channel) and reads each group of
channels sharing a rate on its own: one SignalStream per distinct rate (normally one), with
device timestamps ``i / rate`` from the start of the first data record.

mne returns volts; values are converted back to the unit the file declares (``uV``, ``mV``...),
the way the file stores them. EDF+ annotations become an EventList. EDF+ keeps the sub-second
part of the start time in its first annotation, which mne drops; it is read with edfio (the
other well-kept EDF library) for ``metadata["meas_date"]``. mne's warnings about the file (record
count mismatch, bad date) become ``warnings`` entries; a file shorter than its header says is
rejected unless ``on_truncated="warn"``.
"""

from __future__ import annotations

import datetime
import logging
import warnings as pywarnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mne
import numpy as np

from flexsync.errors import InputFileError
from flexsync.readers.registry import check_readable, get_option, stream_name
from flexsync.readers.stream import EventList, FileContents, SignalStream

__all__ = ["read_edf"]

logger = logging.getLogger(__name__)

# mne scales these units to volts (mne/io/edf/edf.py); every other unit is left as is.
_MICRO_VOLT = ("\u03bcV", "\u00b5V", "\x83\xcaV", "uV")
_TRUNCATION_MESSAGE = "Number of records from the header does not match the file size"


def read_edf(path: Path, options: Mapping[str, Any]) -> FileContents:
    """One SignalStream per distinct sampling rate, EDF+ annotations as ``<name>_annotations``.

    Options: ``name`` (default the file stem); ``kind`` (stream kind, default ``"emg"``);
    ``on_truncated`` (``"raise"`` or ``"warn"``). EDF or BDF is told by the first header
    byte (BDF starts with 0xFF), whatever the extension.

    Raises
    ------
    InputFileError
        Wrong header, truncated file, or no signal channels.
    """
    path = check_readable(path)
    base = stream_name(options, path)
    kind = get_option(options, "kind", "emg", str, path)
    on_truncated = get_option(options, "on_truncated", "raise", str, path)
    if on_truncated not in ("raise", "warn"):
        raise ValueError(f"{path}: reader option 'on_truncated' must be 'raise' or 'warn', got {on_truncated!r}")
    fmt = _sniff_format(path)
    reader = mne.io.read_raw_bdf if fmt == "bdf" else mne.io.read_raw_edf

    header, file_warnings = _call_mne(path, reader, preload=False)
    if header.info["nchan"] == 0:
        raise InputFileError("no signal channels (only annotations?)", path=path)
    truncated = [w for w in file_warnings if _TRUNCATION_MESSAGE in w]
    if truncated and on_truncated == "raise":
        raise InputFileError(
            "truncated: the header declares more data records than the file holds "
            "(pass on_truncated='warn' to keep the complete records)",
            path=path,
        )
    groups = _channels_by_rate(path, reader, header.ch_names)
    meas_date, date_warnings = _measurement_date(path, fmt, header)
    contents = FileContents(
        source=path,
        format=fmt,
        metadata={"meas_date": meas_date, "rates_hz": sorted(groups)},
        warnings=[*file_warnings, *date_warnings],
    )
    for rate in sorted(groups, reverse=True):
        name = base if len(groups) == 1 else f"{base}_{rate:g}hz".replace(".", "p")
        raw, read_warnings = _call_mne(path, reader, preload=True, include=groups[rate])
        contents.signals[name] = _signal_stream(path, name, kind, fmt, raw, meas_date, read_warnings)
        if raw.info["sfreq"] != rate:
            raise InputFileError(f"mne read channel group at {raw.info['sfreq']} Hz, expected {rate} Hz", path=path)
    if len(header.annotations):
        annotations = header.annotations
        contents.events[f"{base}_annotations"] = EventList(
            name=f"{base}_annotations",
            times_s=np.asarray(annotations.onset, dtype=np.float64),
            labels=[str(d) for d in annotations.description],
            source=path,
            format=fmt,
        )
        contents.metadata["annotation_durations_s"] = [float(d) for d in annotations.duration]
    return contents


@contextmanager
def _collected_warnings() -> Iterator[list[str]]:
    """Collect warnings raised inside the block as text (pytest turns escaped ones into errors)."""
    collected: list[str] = []
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        yield collected
    for item in caught:
        text = str(item.message).replace("\n", " ").strip()
        if text not in collected:
            collected.append(text)


def _call_mne(path: Path, reader: Callable[..., Any], **kwargs: Any) -> tuple[Any, list[str]]:
    """Run an mne reader; failures name the file, warnings are returned as text."""
    with _collected_warnings() as collected:
        try:
            raw = reader(str(path), stim_channel=None, infer_types=False, verbose="warning", **kwargs)
        except (ValueError, OSError, RuntimeError, IndexError, UnicodeDecodeError) as exc:
            raise InputFileError(f"not a readable EDF/BDF file (wrong header?): {exc}", path=path) from exc
    for text in collected:
        logger.debug("%s: mne: %s", path, text)
    return raw, collected


def _channels_by_rate(path: Path, reader: Callable[..., Any], channels: list[str]) -> dict[float, list[str]]:
    """Group channel names by native sampling rate (one header-only mne read per channel)."""
    groups: dict[float, list[str]] = {}
    for channel in channels:
        raw, _ = _call_mne(path, reader, preload=False, include=[channel])
        groups.setdefault(float(raw.info["sfreq"]), []).append(channel)
    return groups


def _unit_scale(unit: str) -> tuple[str, float]:
    """The unit as flexsync writes it and the factor mne applied to reach volts."""
    if unit in _MICRO_VOLT:
        return "uV", 1e-6
    if unit == "mV":
        return "mV", 1e-3
    return unit, 1.0


def _signal_stream(
    path: Path, name: str, kind: str, fmt: str, raw: Any, meas_date: str | None, read_warnings: list[str]
) -> SignalStream:
    # The declared units are only kept in the private _orig_units (mne-bids reads it the same way).
    units, scales = zip(*(_unit_scale(raw._orig_units.get(ch, "")) for ch in raw.ch_names), strict=True)
    data = raw.get_data().T / np.asarray(scales)[None, :]
    rate = float(raw.info["sfreq"])
    return SignalStream(
        name=name,
        kind=kind,
        data=np.ascontiguousarray(data),
        timestamps_s=np.arange(raw.n_times, dtype=np.float64) / rate,
        channel_names=list(raw.ch_names),
        units=list(units),
        nominal_rate_hz=rate,
        source=path,
        format=fmt,
        metadata={
            "meas_date": meas_date,
            "highpass_hz": float(raw.info["highpass"]),
            "lowpass_hz": float(raw.info["lowpass"]),
        },
        warnings=[w for w in read_warnings if _TRUNCATION_MESSAGE not in w],
    )


def _measurement_date(path: Path, fmt: str, raw: Any) -> tuple[str | None, list[str]]:
    """ISO start date-time: mne's header value, with EDF+'s sub-second start when there is one."""
    date = raw.info["meas_date"]
    if date is None:
        return None, []
    if not _is_edf_plus(path):
        return date.isoformat(), []
    import edfio  # only needed for EDF+/BDF+

    problems: list[str] = []
    with _collected_warnings() as collected:
        try:
            edf = edfio.read_bdf(path) if fmt == "bdf" else edfio.read_edf(path, lazy_load_data=True)
            start = datetime.datetime.combine(edf.startdate, edf.starttime, tzinfo=datetime.UTC)
        except (ValueError, OSError, IndexError, edfio.AnonymizedDateError) as exc:
            problems.append(f"sub-second start time unavailable ({exc}); using the header's whole seconds")
            start = date
    return start.isoformat(), problems + [w for w in collected if "startdate" in w]


def _sniff_format(path: Path) -> str:
    with path.open("rb") as f:
        first = f.read(1)
    return "bdf" if first == b"\xff" else "edf"


def _is_edf_plus(path: Path) -> bool:
    """EDF+/BDF+ files say so in the header's reserved field (bytes 192-236)."""
    with path.open("rb") as f:
        f.seek(192)
        reserved = f.read(44)
    return reserved[:4] in (b"EDF+", b"BDF+")
