"""CSV: flexsync physio/events, Delsys and Noraxon style exports, broken files."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers.csv_signals import parse_column
from flexsync.readers.registry import read_file


def _write(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("EMG 1 [uV]", ("EMG 1", "uV")),
        ("Ch1 (mV)", ("Ch1", "mV")),
        ("R VL: EMG 1 [V]", ("R VL: EMG 1", "V")),
        ("heart_rate_bpm", ("heart_rate_bpm", "bpm")),
        ("label", ("label", "")),
    ],
)
def test_parse_column(header, expected):
    assert parse_column(header) == expected


def test_physio_and_events(tmp_path):
    physio = _write(
        tmp_path / "physio.csv", "time_s,heart_rate_bpm,breathing_rate_bpm\n0.0,72.1,14\n1.01,72.5,14.2\n2.0,73,\n"
    )
    contents = read_file(physio, options={"kind": "physio"})
    stream = contents.signals["physio"]
    assert stream.kind == "physio" and stream.channel_names == ["heart_rate_bpm", "breathing_rate_bpm"]
    assert stream.units == ["bpm", "bpm"]
    np.testing.assert_array_equal(stream.timestamps_s, [0.0, 1.01, 2.0])
    assert stream.nominal_rate_hz == pytest.approx(1.0)
    assert stream.valid is not None and stream.valid.tolist() == [[True, True], [True, True], [True, False]]
    events = _write(tmp_path / "physio_events.csv", "time_s,label\n1.2,sync\n24.8,sync\n")
    listed = read_file(events).events["physio_events"]
    assert listed.labels == ["sync", "sync"]
    np.testing.assert_array_equal(listed.times_s, [1.2, 24.8])


def test_delsys_time_column_per_channel_gives_a_stream_per_rate(tmp_path):
    emg_t = np.arange(40) / 2000
    acc_t = np.arange(2) / 148.148
    lines = [
        "Application: EMGworks",
        "Date/Time: 2024-03-05",
        "",
        "X [s],EMG 1 [uV],X [s],ACC X 1 [g],X [s],EMG 2 [uV]",
    ]
    for i, t in enumerate(emg_t):
        acc = f"{acc_t[i]:.6f},{0.1 * i:.3f}" if i < acc_t.size else ","
        lines.append(f"{t:.4f},{i:.1f},{acc},{t:.4f},{-i:.1f}")
    path = _write(tmp_path / "delsys.csv", "\n".join(lines) + "\n")
    contents = read_file(path, options={"name": "emg", "kind": "emg"})
    assert sorted(contents.signals) == ["emg_148p148hz", "emg_2000hz"]
    emg = contents.signals["emg_2000hz"]
    assert emg.channel_names == ["EMG 1", "EMG 2"] and emg.units == ["uV", "uV"]
    assert emg.nominal_rate_hz == pytest.approx(2000.0) and emg.n_samples == 40
    np.testing.assert_array_equal(emg.data[:, 1], -np.arange(40.0))
    acc = contents.signals["emg_148p148hz"]
    assert acc.n_samples == 2 and acc.units == ["g"] and acc.channel_names == ["ACC X 1"]


def test_noraxon_shared_time_in_milliseconds(tmp_path):
    path = _write(tmp_path / "noraxon.csv", "Time (ms),Ch1 (mV),Ch2 (mV)\n0,1,2\n0.5,1.5,2.5\n1.0,2,3\n")
    stream = read_file(path).signals["noraxon"]
    np.testing.assert_allclose(stream.timestamps_s, [0.0, 0.0005, 0.001])
    assert stream.nominal_rate_hz == pytest.approx(2000.0)
    assert stream.units == ["mV", "mV"]


def test_non_monotonic_time_names_column_and_line(tmp_path):
    path = _write(tmp_path / "bad.csv", "Time,Ch1 (mV)\n0,1\n0.001,1\n0.0005,1\n")
    with pytest.raises(InputFileError, match=r"bad\.csv: time column 'Time' is not strictly increasing: line 4"):
        read_file(path)


def test_empty_cells_inside_a_time_column(tmp_path):
    path = _write(tmp_path / "holes.csv", "time_s,v\n0,1\n,2\n0.2,3\n")
    with pytest.raises(InputFileError, match=r"holes\.csv: time column 'time_s' has 1 empty cells, first on line 3"):
        read_file(path)


def test_rate_mismatch_with_manifest(tmp_path):
    path = _write(tmp_path / "emg.csv", "Time,EMG 1 [uV]\n" + "".join(f"{i / 1000:.3f},{i}\n" for i in range(20)))
    with pytest.raises(InputFileError, match=r"emg\.csv: rate mismatch: .* 1000 Hz .* manifest says 2000 Hz"):
        read_file(path, options={"nominal_rate_hz": 2000.0})


def test_header_only_and_no_time_column(tmp_path):
    with pytest.raises(InputFileError, match=r"only\.csv: no data rows after the header on line 1"):
        read_file(_write(tmp_path / "only.csv", "time_s,heart_rate_bpm\n"))
    with pytest.raises(InputFileError, match=r"notime\.csv: no header row starting with a time column"):
        read_file(_write(tmp_path / "notime.csv", "a,b\n1,2\n"))


def test_a_non_numeric_value_in_a_signal_table_is_named_by_line_and_column(tmp_path):
    path = tmp_path / "physio.csv"
    path.write_text(
        "time_s,heart_rate_bpm,breathing_rate_bpm\n0.0,71.4,14.4\n1.0,70.0,14.2\n2.0,abc,13.8\n3.0,69.0,n/a\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InputFileError,
        match=r"2 value\(s\) are not numbers; first at line 4, column 'heart_rate_bpm': 'abc'; "
        r"line 5, column 'breathing_rate_bpm': 'n/a'",
    ):
        read_file(path)


def test_a_last_row_cut_mid_line_is_refused(tmp_path):
    path = tmp_path / "physio.csv"
    path.write_text("time_s,heart_rate_bpm,breathing_rate_bpm\n0.0,71.4,14.4\n1.0,70.0,14.2\n2.0,69", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"the last row \(line 4\) is cut: 2 of 3 cells and no final newline"):
        read_file(path)
    path.write_text("time_s,heart_rate_bpm,breathing_rate_bpm\n0.0,71.4,14.4\n1.0,70.0,14.2", encoding="utf-8")
    assert read_file(path).signals["physio"].data.shape == (2, 2)  # a whole last row without newline is fine
