"""EDF/BDF headers checked before mne (class 6), record counts in truncation messages, start time in inspect."""

from __future__ import annotations

import datetime
import time

import edfio
import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers import format_inspection, inspect_file, read_file
from flexsync.readers.edf import check_header

# Per-signal field widths (EDF spec), 3 signals in the file below: VL_L, TRIG, EDF Annotations.
NS = 3
WIDTHS = {"label": 16, "transducer": 80, "dimension": 8, "pmin": 8, "pmax": 8, "dmin": 8, "dmax": 8, "prefilter": 80}


@pytest.fixture
def edf_bytes(tmp_path) -> bytes:
    t = np.arange(4000) / 2000
    signals = [
        edfio.EdfSignal(np.sin(t), 2000, label="VL_L", physical_dimension="uV", physical_range=(-500, 500)),
        edfio.EdfSignal(np.where(t > 1, 1.0, 0.0), 2000, label="TRIG", physical_dimension="V", physical_range=(-5, 5)),
    ]
    edf = edfio.Edf(
        signals,
        recording=edfio.Recording(startdate=datetime.date(2024, 3, 5)),
        starttime=datetime.time(10, 11, 12, 250000),
        annotations=[edfio.EdfAnnotation(0.5, None, "sync")],
        data_record_duration=1,
    )
    path = tmp_path / "source.edf"
    edf.write(path)
    return path.read_bytes()


def _signal_field(name: str, signal: int) -> int:
    """Byte offset of a per-signal field of ``signal`` (0-based)."""
    offset = 256
    for field, width in WIDTHS.items():
        if field == name:
            return offset + width * signal
        offset += width * NS
    if name == "samples":
        return offset + 8 * signal
    raise KeyError(name)


def _patched(tmp_path, data: bytes, offset: int, width: int, text: str, name: str = "emg.edf"):
    damaged = bytearray(data)
    damaged[offset : offset + width] = text.ljust(width).encode("latin-1")[:width]
    path = tmp_path / name
    path.write_bytes(bytes(damaged))
    return path


def test_the_intact_file_passes_the_header_check(tmp_path, edf_bytes):
    path = tmp_path / "emg.edf"
    path.write_bytes(edf_bytes)
    layout = check_header(path, "edf")
    assert (layout.n_signals, layout.header_bytes, layout.n_records, layout.record_s) == (3, 1024, 2, 1.0)
    assert layout.labels[:2] == ("VL_L", "TRIG") and layout.data_channels == [0, 1]
    assert layout.samples_per_record[:2] == (2000, 2000)
    assert layout.complete_records == 2 and layout.trailing_bytes == 0


@pytest.mark.parametrize(
    ("offset", "width", "text", "message"),
    [
        (
            184,
            8,
            "999",
            r"header field 'number of bytes in header' \(bytes 184-192\) declares 999, but 3 signals make a "
            r"1024-byte header",
        ),  # mne: bare AssertionError
        (236, 8, "abc", r"header field 'number of data records' \(bytes 236-244\) is 'abc', not an integer >= -1"),
        (244, 8, "x", r"header field 'duration of a data record' \(bytes 244-252\) is 'x', not a number"),
        (244, 8, "-1", r"header field 'duration of a data record' \(bytes 244-252\) is -1 s, negative"),
        (252, 4, "zz", r"header field 'number of signals' \(bytes 252-256\) is 'zz', not an integer >= 0"),
    ],
)
def test_main_header_problems_name_the_field(tmp_path, edf_bytes, offset, width, text, message):
    path = _patched(tmp_path, edf_bytes, offset, width, text)
    with pytest.raises(InputFileError, match=r"emg\.edf: not a readable EDF/BDF file \(wrong header\): " + message):
        read_file(path)


def test_a_header_claiming_9999_signals_fails_at_once(tmp_path, edf_bytes):
    path = _patched(tmp_path, edf_bytes, 252, 4, "9999")
    started = time.perf_counter()
    with pytest.raises(
        InputFileError,
        match=rf"emg\.edf: .*'number of signals' \(bytes 252-256\) declares 9999 signals, whose header needs "
        rf"2560000 bytes; the file is {len(edf_bytes)} bytes",
    ):
        read_file(path)
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("field", "signal", "text", "message"),
    [
        ("samples", 0, "q", r"signal 1 \('VL_L'\): 'number of samples in each data record' is 'q', not a positive"),
        ("samples", 1, "0", r"signal 2 \('TRIG'\): 'number of samples in each data record' is '0'"),
        ("pmin", 0, "500", r"signal 1 \('VL_L'\): 'physical minimum' equals 'physical maximum' \(500\): no scale"),
        ("dmin", 1, "40000", r"signal 2 \('TRIG'\): 'digital minimum' 40000 is not below 'digital maximum' 32767"),
        ("dmax", 0, "99999", r"signal 1 \('VL_L'\): digital range -32768\.\.99999 exceeds the EDF sample range"),
        ("pmax", 1, "five", r"signal 2 \('TRIG'\): 'physical maximum' is 'five', not a number"),
    ],
)
def test_signal_header_problems_name_signal_and_field(tmp_path, edf_bytes, field, signal, text, message):
    path = _patched(tmp_path, edf_bytes, _signal_field(field, signal), 8, text)
    with pytest.raises(
        InputFileError, match=r"emg\.edf: not a readable EDF/BDF file \(wrong header\): signal header: " + message
    ):
        read_file(path)


def test_undecodable_annotations_name_the_file(tmp_path, edf_bytes):
    damaged = bytearray(edf_bytes)
    at = damaged.find(b"\x14sync\x14")
    assert at > 1024
    damaged[at + 2 : at + 4] = b"\xff\xfe"  # inside the "sync" text
    path = tmp_path / "emg.edf"
    path.write_bytes(bytes(damaged))
    with pytest.raises(
        InputFileError,
        match=r"emg\.edf: EDF\+ annotations cannot be decoded \('utf-8' codec can't decode byte 0xff.*\): EDF\+ "
        r"annotations are UTF-8 text",
    ):
        read_file(path)


def test_truncation_gives_declared_and_complete_record_counts(tmp_path, edf_bytes):
    record = 2 * 2000 * 2 + (len(edf_bytes) - 1024 - 2 * 4000 * 2) // 2  # both signals + the annotation signal
    path = tmp_path / "emg.edf"
    path.write_bytes(edf_bytes[: 1024 + record + 100])
    message = (
        "truncated: the header declares more data records (2, 2 s) than the file holds (1 complete records, 1 s, "
        "plus 100 bytes of a partial record)"
    )
    with pytest.raises(InputFileError, match=rf"emg\.edf: {_escape(message)}; copy the file again from the recorder$"):
        read_file(path)
    kept = read_file(path, options={"on_truncated": "warn", "name": "emg"})
    assert kept.warnings == [message]
    assert kept.signals["emg"].n_samples == 2000
    summary = inspect_file(path)  # inspect shows it, with the numbers
    assert summary["warnings"] == [message]
    assert f"  warning: {message}" in format_inspection(summary)
    assert "on_truncated" not in message


def test_unknown_record_count_and_extra_records(tmp_path, edf_bytes):
    unknown = _patched(tmp_path, edf_bytes, 236, 8, "-1", "unknown.edf")
    with pytest.raises(
        InputFileError,
        match=r"unknown\.edf: unclosed recording: the header's number of data records "
        r"is -1 .* the file holds 2 complete records \(2 s\)",
    ):
        read_file(unknown)
    extra = _patched(tmp_path, edf_bytes, 236, 8, "1", "extra.edf")
    with pytest.raises(
        InputFileError,
        match=r"extra\.edf: record count mismatch: the header declares 1 data records \(1 s\), the file holds 2 "
        r"\(2 s\); mne reads all 2",
    ):
        read_file(extra)
    assert read_file(extra, options={"on_truncated": "warn", "name": "e"}).signals["e"].n_samples == 4000


def test_inspect_text_shows_the_start_time(tmp_path, edf_bytes):
    path = tmp_path / "emg.edf"
    path.write_bytes(edf_bytes)
    summary = inspect_file(path)
    assert summary["metadata"]["meas_date"] == "2024-03-05T10:11:12.250000+00:00"
    assert "\n  start: 2024-03-05T10:11:12.250000+00:00\n" in format_inspection(summary)


def _escape(text: str) -> str:
    import re

    return re.escape(text)
