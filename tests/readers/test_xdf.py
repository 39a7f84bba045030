"""XDF: the two real LSL recordings, and broken copies."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers.registry import read_file


def test_minimal_numeric_stream_with_clock_offsets(real_data):
    contents = read_file(real_data / "lsl_minimal.xdf")
    stream = contents.signals["SendDataC"]
    assert stream.data.dtype == np.int16 and stream.data.shape == (9, 3)
    assert stream.channel_names == ["ch1", "ch2", "ch3"]
    assert stream.nominal_rate_hz == 10.0
    # recorded 5.1 .. 5.9 s; the file's ClockOffset chunks say -0.1 s, applied by pyxdf's clock sync
    np.testing.assert_allclose(stream.timestamps_s, 5.0 + 0.1 * np.arange(9), atol=1e-9)
    assert stream.metadata["clock_offset_values_s"] == [-0.1, -0.1]
    assert stream.data[0].tolist() == [192, 255, 238] and stream.data[1].tolist() == [12, 22, 32]
    unsynced = read_file(real_data / "lsl_minimal.xdf", options={"synchronize_clocks": False})
    np.testing.assert_allclose(unsynced.signals["SendDataC"].timestamps_s, 5.1 + 0.1 * np.arange(9), atol=1e-9)


def test_minimal_marker_stream_is_events(real_data):
    events = read_file(real_data / "lsl_minimal.xdf").events["SendDataString"]
    assert events.labels[0].startswith('<?xml version="1.0"?><info><writer>LabRecorder xdfwriter')
    assert events.labels[1:] == ["Hello", "World", "from", "LSL"] * 2
    np.testing.assert_allclose(events.times_s, 5.1 + 0.1 * np.arange(9), atol=1e-9)


def test_empty_streams_are_kept_with_warnings(real_data):
    contents = read_file(real_data / "lsl_empty_streams.xdf")
    empty = contents.signals["Empty data stream: test stream 0 counter"]
    assert empty.data.shape == (0, 1) and empty.timestamps_s.shape == (0,)
    assert empty.channel_names == ["ch:00"]
    assert "stream has no samples" in empty.warnings
    data = contents.signals["Data stream: test stream 0 counter"]
    assert data.data[:, 0].tolist() == list(range(10)) and data.nominal_rate_hz == 1.0
    assert data.timestamps_s[0] == pytest.approx(91725.21392547, abs=1e-6)
    assert data.timestamps_s[-1] == pytest.approx(91734.21391809, abs=1e-6)
    assert data.warnings == []
    assert contents.events["ctrl"].labels == ['{"state": 2}']
    marker = contents.events["Empty marker stream: test stream 0 counter"]
    assert marker.labels == [] and marker.times_s.shape == (0,)
    assert "stream 'Empty marker stream: test stream 0 counter': stream has no samples" in contents.warnings


def test_truncated_xdf_is_rejected_or_kept(real_data, tmp_path, halve):
    path = halve(real_data / "lsl_minimal.xdf", tmp_path)
    with pytest.raises(InputFileError, match=r"lsl_minimal\.xdf: truncated or corrupt XDF .* no stream footer"):
        read_file(path)
    kept = read_file(path, options={"on_truncated": "warn"})
    assert kept.signals["SendDataC"].n_samples < 9
    assert "stream 'SendDataC' has no footer (truncated file?)" in kept.warnings


def test_garbage_xdf_is_rejected(tmp_path, garbage):
    with pytest.raises(InputFileError, match=r"session\.xdf: wrong header: an XDF file starts with b'XDF:'"):
        read_file(garbage(tmp_path, "session.xdf"))
