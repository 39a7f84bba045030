"""EDF/BDF: the real EDFbrowser BDF (five rates), EDF+ written with edfio, broken files."""

from __future__ import annotations

import datetime

import edfio
import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers.registry import read_file

BDF = "edfbrowser_generator.bdf"


@pytest.fixture(scope="module")
def generator(real_data):
    return read_file(real_data / BDF, options={"name": "gen"})


def test_real_bdf_one_stream_per_rate(generator):
    # per-signal rates, read once with edfio: 1000, 800, 500, 975, 999 samples per 2 s record, 15 records
    expected = {
        "gen_500hz": ("sine 2.5Hz", 500.0, 15000),
        "gen_499p5hz": ("white noise", 499.5, 14985),
        "gen_487p5hz": ("pink noise", 487.5, 14625),
        "gen_400hz": ("square 6.5Hz", 400.0, 12000),
        "gen_250hz": ("ramp 3.5Hz", 250.0, 7500),
    }
    assert list(generator.signals) == list(expected)
    for name, (channel, rate, n) in expected.items():
        stream = generator.signals[name]
        assert stream.channel_names == [channel] and stream.units == ["uV"]
        assert stream.nominal_rate_hz == rate and stream.n_samples == n
        assert stream.timestamps_s[0] == 0.0
        assert stream.timestamps_s[-1] == pytest.approx((n - 1) / rate, abs=1e-12)
        assert stream.warnings == []
    assert generator.metadata["meas_date"] == "2000-01-01T00:00:00+00:00"
    assert generator.events == {}


def test_real_bdf_values_in_microvolts(generator):
    sine = generator.signals["gen_500hz"]
    t = sine.timestamps_s
    # EDFbrowser's generator: 1000 uV sine at 2.5 Hz whose first stored sample is one sample into
    # the period (edfio reads the same 31.4106 uV first); 24-bit resolution 6000/2^24 uV.
    np.testing.assert_allclose(sine.data[:, 0], 1000 * np.sin(2 * np.pi * 2.5 * (t + 1 / 500)), atol=1e-2)
    assert sine.data[0, 0] == pytest.approx(31.4106364, abs=1e-6)
    square = generator.signals["gen_400hz"].data[:, 0]
    assert np.abs(np.abs(square) - 1000).max() < 1e-2


def _write_edf_plus(path, *, starttime=datetime.time(10, 11, 12, 250000)):
    t = np.arange(4000) / 2000
    signals = [
        edfio.EdfSignal(
            100 * np.sin(2 * np.pi * 5 * t), 2000, label="VL_L", physical_dimension="uV", physical_range=(-500, 500)
        ),
        edfio.EdfSignal(np.where(t > 1, 1.0, 0.0), 2000, label="TRIG", physical_dimension="V", physical_range=(-5, 5)),
        edfio.EdfSignal(np.full(8, 2.5), 4, label="TEMP", physical_dimension="mV", physical_range=(-5, 5)),
    ]
    annotations = [edfio.EdfAnnotation(0.5, None, "sync"), edfio.EdfAnnotation(1.75, 0.1, "sync end")]
    edf = edfio.Edf(
        signals,
        recording=edfio.Recording(startdate=datetime.date(2024, 3, 5)),
        starttime=starttime,
        annotations=annotations,
        data_record_duration=1,
    )
    edf.write(path)


def test_edf_plus_annotations_subsecond_start_and_units(tmp_path):
    path = tmp_path / "emg.edf"
    _write_edf_plus(path)
    contents = read_file(path, options={"name": "emg"})
    assert contents.format == "edf"
    assert contents.metadata["meas_date"] == "2024-03-05T10:11:12.250000+00:00"
    fast, slow = contents.signals["emg_2000hz"], contents.signals["emg_4hz"]
    assert fast.channel_names == ["VL_L", "TRIG"] and fast.units == ["uV", "V"]
    step_uv = 1000 / 65535  # 16-bit EDF over a 1000 uV physical range
    t = fast.timestamps_s
    np.testing.assert_allclose(fast.channel("VL_L"), 100 * np.sin(2 * np.pi * 5 * t), atol=step_uv)
    assert np.flatnonzero(fast.channel("TRIG") > 0.5)[0] == 2001
    assert slow.units == ["mV"] and np.allclose(slow.data, 2.5, atol=1e-3) and slow.n_samples == 8
    events = contents.events["emg_annotations"]
    np.testing.assert_allclose(events.times_s, [0.5, 1.75])
    assert events.labels == ["sync", "sync end"]


def test_truncated_bdf_is_rejected_or_recovered(real_data, tmp_path, halve):
    path = halve(real_data / BDF, tmp_path)
    with pytest.raises(InputFileError, match=r"edfbrowser_generator\.bdf: truncated: the header declares more"):
        read_file(path)
    kept = read_file(path, options={"on_truncated": "warn", "name": "gen"})
    # the reader's own count replaces mne's "Number of records from the header does not match the file size"
    assert kept.warnings == [
        "truncated: the header declares more data records (15, 30 s) than the file holds (7 complete records, "
        "14 s, plus 5572 bytes of a partial record)"
    ]
    assert kept.signals["gen_500hz"].n_samples == 7000  # 7 complete 2 s records survive


def test_garbage_edf_is_rejected(tmp_path, garbage):
    with pytest.raises(InputFileError, match=r"emg\.bdf: not a readable EDF/BDF file"):
        read_file(garbage(tmp_path, "emg.bdf"))


def test_empty_edf_is_rejected(tmp_path):
    path = tmp_path / "emg.edf"
    path.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"emg\.edf: file is empty \(0 bytes\)"):
        read_file(path)


def test_rate_contradicting_the_manifest_is_rejected(tmp_path):
    path = tmp_path / "emg.edf"
    _write_edf_plus(path)
    with pytest.raises(InputFileError, match=r"emg\.edf: rate mismatch: .* 2000 Hz .* manifest says 1000 Hz"):
        read_file(path, options={"nominal_rate_hz": 1000.0})
    assert read_file(path, options={"nominal_rate_hz": 2000.0}).signals
