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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mne
import numpy as np

from flexsync.errors import InputFileError
from flexsync.readers.registry import check_readable, get_option, on_truncated_option, stream_name, truncation
from flexsync.readers.stream import EventList, FileContents, SignalStream

__all__ = ["EdfLayout", "check_header", "read_edf"]

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
        Wrong header (the field, declared vs actual), truncated file, or no signal channels.
    """
    path = check_readable(path)
    base = stream_name(options, path)
    kind = get_option(options, "kind", "emg", str, path)
    on_truncated = on_truncated_option(options, path)
    fmt = _sniff_format(path)
    reader = mne.io.read_raw_bdf if fmt == "bdf" else mne.io.read_raw_edf

    layout = check_header(path, fmt)  # before mne: its failures on bad headers are slow or nameless
    if not layout.data_channels:
        raise InputFileError("no signal channels (only annotations?)", path=path)
    record_warnings = _record_count_warnings(path, layout, on_truncated)
    header, file_warnings = _call_mne(path, reader, preload=False)
    if header.info["nchan"] == 0:
        raise InputFileError("no signal channels (only annotations?)", path=path)
    groups = _channels_by_rate(path, reader, header.ch_names, layout)
    meas_date, date_warnings = _measurement_date(path, fmt, header)
    contents = FileContents(
        source=path,
        format=fmt,
        metadata={"meas_date": meas_date, "rates_hz": sorted(groups)},
        warnings=[*record_warnings, *(w for w in file_warnings if _TRUNCATION_MESSAGE not in w), *date_warnings],
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


@dataclass(frozen=True)
class EdfLayout:
    """What an EDF/BDF header declares, checked against itself and the file size (``check_header``)."""

    n_signals: int
    header_bytes: int
    n_records: int  # -1: unknown (the recorder did not close the file)
    record_s: float
    labels: tuple[str, ...]
    samples_per_record: tuple[int, ...]
    bytes_per_sample: int
    file_bytes: int

    @property
    def record_bytes(self) -> int:
        return sum(self.samples_per_record) * self.bytes_per_sample

    @property
    def complete_records(self) -> int:
        return (self.file_bytes - self.header_bytes) // self.record_bytes

    @property
    def trailing_bytes(self) -> int:
        return (self.file_bytes - self.header_bytes) % self.record_bytes

    @property
    def data_channels(self) -> list[int]:
        """Indices of the signals that are not EDF+/BDF+ annotation channels (as mne skips them)."""
        return [i for i, label in enumerate(self.labels) if label not in _ANNOTATION_LABELS]

    def rate_hz(self, index: int) -> float:
        """A signal's rate as mne computes it (samples per record / record duration, 0 s read as 1 s)."""
        record_s = self.record_s or 1.0
        return float(self.samples_per_record[index] * 1.0 / record_s)


_ANNOTATION_LABELS = ("EDF Annotations", "BDF Annotations")
# Fixed-width ASCII fields of the 256-byte main header: name, offset, width.
_MAIN_FIELDS = {
    "number of bytes in header": (184, 8),
    "number of data records": (236, 8),
    "duration of a data record": (244, 8),
    "number of signals": (252, 4),
}
# Per-signal fields, each ns times in a row after the main header: name, width.
_SIGNAL_FIELDS = (
    ("label", 16),
    ("transducer type", 80),
    ("physical dimension", 8),
    ("physical minimum", 8),
    ("physical maximum", 8),
    ("digital minimum", 8),
    ("digital maximum", 8),
    ("prefiltering", 80),
    ("number of samples in each data record", 8),
    ("reserved", 32),
)
_DIGITAL_RANGE = {"edf": (-32768, 32767), "bdf": (-8388608, 8388607)}


def check_header(path: Path, fmt: str) -> EdfLayout:
    """Read and check the EDF/BDF header (256 + 256 x ns ASCII bytes) before any library sees it.

    The number of signals is checked against the file size first, so a header claiming 9,999
    signals fails at once. Every problem is an InputFileError naming the file, the header field
    and what it declares against what it must be.
    """
    size = path.stat().st_size
    with path.open("rb") as f:
        main = f.read(256)
        if len(main) < 256:
            raise _header_error(path, f"the file is {size} bytes, shorter than the 256-byte EDF/BDF main header")
        ns = _field_int(path, main, "number of signals", minimum=0)
        needed = 256 * (ns + 1)
        if needed > size:
            raise _header_error(
                path,
                f"header field 'number of signals' (bytes 252-256) declares {ns} signals, whose header needs "
                f"{needed} bytes; the file is {size} bytes",
            )
        declared_bytes = _field_int(path, main, "number of bytes in header", minimum=0)
        if declared_bytes != needed:
            raise _header_error(
                path,
                f"header field 'number of bytes in header' (bytes 184-192) declares {declared_bytes}, "
                f"but {ns} signals make a {needed}-byte header",
            )
        n_records = _field_int(path, main, "number of data records", minimum=-1)
        record_s = _field_float(path, main, "duration of a data record", 244, 8)
        if record_s < 0:
            raise _header_error(
                path, f"header field 'duration of a data record' (bytes 244-252) is {record_s:g} s, negative"
            )
        signal_header = f.read(256 * ns)
    fields: dict[str, list[str]] = {}
    offset = 0
    for name, width in _SIGNAL_FIELDS:
        block = signal_header[offset : offset + width * ns]
        fields[name] = [block[i * width : (i + 1) * width].decode("latin-1") for i in range(ns)]
        offset += width * ns
    labels = tuple(label.strip() for label in fields["label"])
    problems: list[str] = []
    samples: list[int] = []
    low, high = _DIGITAL_RANGE[fmt]
    for i, label in enumerate(labels):
        where = f"signal {i + 1} ({label!r})"
        spr = _number(fields["number of samples in each data record"][i], int)
        if spr is None or spr < 1:
            problems.append(
                f"{where}: 'number of samples in each data record' is "
                f"{fields['number of samples in each data record'][i].strip()!r}, not a positive integer"
            )
        samples.append(spr or 0)
        if label in _ANNOTATION_LABELS:
            continue
        values = {}
        for name, kind in (
            ("physical minimum", float),
            ("physical maximum", float),
            ("digital minimum", float),
            ("digital maximum", float),
        ):
            values[name] = _number(fields[name][i], kind)
            if values[name] is None:
                problems.append(f"{where}: {name!r} is {fields[name][i].strip()!r}, not a number")
        dmin, dmax = values["digital minimum"], values["digital maximum"]
        if dmin is not None and dmax is not None:
            if not dmin < dmax:
                problems.append(f"{where}: 'digital minimum' {dmin:g} is not below 'digital maximum' {dmax:g}")
            if dmin < low or dmax > high:
                problems.append(
                    f"{where}: digital range {dmin:g}..{dmax:g} exceeds the {fmt.upper()} sample range {low}..{high}"
                )
        pmin, pmax = values["physical minimum"], values["physical maximum"]
        if pmin is not None and pmax is not None and pmin == pmax:
            problems.append(f"{where}: 'physical minimum' equals 'physical maximum' ({pmin:g}): no scale")
    if problems:
        shown = "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else "")
        raise _header_error(path, f"signal header: {shown}")
    return EdfLayout(
        n_signals=ns,
        header_bytes=needed,
        n_records=n_records,
        record_s=record_s,
        labels=labels,
        samples_per_record=tuple(samples),
        bytes_per_sample=3 if fmt == "bdf" else 2,
        file_bytes=size,
    )


def _header_error(path: Path, problem: str) -> InputFileError:
    return InputFileError(f"not a readable EDF/BDF file (wrong header): {problem}", path=path)


def _number(text: str, kind: type) -> Any:
    """A header field as ``int`` (digits only, as mne parses it) or ``float`` (``,`` accepted), else None."""
    value = text.split("\x00")[0].strip().replace(",", ".")
    if kind is int:
        return int(value) if value.lstrip("+-").isdigit() else None
    try:
        return float(value)
    except ValueError:
        return None


def _field_int(path: Path, main: bytes, name: str, *, minimum: int) -> int:
    offset, width = _MAIN_FIELDS[name]
    text = main[offset : offset + width].decode("latin-1")
    value = _number(text, int)
    if value is None or value < minimum:
        raise _header_error(
            path,
            f"header field {name!r} (bytes {offset}-{offset + width}) is {text.strip()!r}, not an integer >= {minimum}",
        )
    return value


def _field_float(path: Path, main: bytes, name: str, offset: int, width: int) -> float:
    text = main[offset : offset + width].decode("latin-1")
    value = _number(text, float)
    if value is None or not np.isfinite(value):
        raise _header_error(
            path, f"header field {name!r} (bytes {offset}-{offset + width}) is {text.strip()!r}, not a number"
        )
    return value


def _record_count_warnings(path: Path, layout: EdfLayout, on_truncated: str) -> list[str]:
    """The header's record count against the complete records in the file (``on_truncated`` policy)."""
    held, declared, record_s = layout.complete_records, layout.n_records, layout.record_s
    partial = f", plus {layout.trailing_bytes} bytes of a partial record" if layout.trailing_bytes else ""
    if declared == -1:
        return truncation(
            f"unclosed recording: the header's number of data records is -1 (unknown: the recorder did not "
            f"close the file); the file holds {held} complete records ({held * record_s:g} s){partial}",
            on_truncated,
            path,
        )
    if held < declared:
        return truncation(
            f"truncated: the header declares more data records ({declared}, {declared * record_s:g} s) than the "
            f"file holds ({held} complete records, {held * record_s:g} s{partial})",
            on_truncated,
            path,
        )
    if held > declared:
        return truncation(
            f"record count mismatch: the header declares {declared} data records ({declared * record_s:g} s), "
            f"the file holds {held} ({held * record_s:g} s{partial}); mne reads all {held}",
            on_truncated,
            path,
        )
    if layout.trailing_bytes:
        return [f"{layout.trailing_bytes} bytes after the last of the {declared} data records are ignored"]
    return []


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
        except (ValueError, OSError, RuntimeError, IndexError, UnicodeDecodeError, AssertionError) as exc:
            raise InputFileError(f"not a readable EDF/BDF file (wrong header?): {exc}", path=path) from exc
        except Exception as exc:
            if type(exc) is not Exception:  # mne raises a bare Exception for undecodable annotations
                raise
            raise InputFileError(
                f"EDF+ annotations cannot be decoded ({exc.__cause__ or exc}): EDF+ annotations are UTF-8 text; "
                "the annotation channel is damaged, export the file again from the recorder",
                path=path,
            ) from exc
    for text in collected:
        logger.debug("%s: mne: %s", path, text)
    return raw, collected


def _channels_by_rate(
    path: Path, reader: Callable[..., Any], channels: list[str], layout: EdfLayout
) -> dict[float, list[str]]:
    """Group mne's channel names by native sampling rate, from the checked header.

    mne lists the non-annotation signals in file order (names made unique), so they pair with the
    header's signals one to one; if they do not, one header-only mne read per channel decides.
    """
    data = layout.data_channels
    groups: dict[float, list[str]] = {}
    if len(data) == len(channels):
        for channel, index in zip(channels, data, strict=True):
            groups.setdefault(layout.rate_hz(index), []).append(channel)
        return groups
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
