"""Registry dispatch and errors; ``inspect_file`` on every real file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from flexsync.errors import InputFileError, MissingInputError
from flexsync.readers import (
    FileContents,
    SignalStream,
    format_inspection,
    inspect_file,
    read_file,
    register_reader,
    registry,
    resolve_format,
    supported_formats,
)


def test_supported_formats_cover_the_spec():
    formats = supported_formats()
    extensions = {ext for exts in formats.values() for ext in exts}
    assert {
        ".c3d",
        ".trc",
        ".edf",
        ".bdf",
        ".xdf",
        ".xdfz",
        ".csv",
        ".mp4",
        ".mov",
        ".mkv",
        ".avi",
        ".webm",
    } <= extensions
    assert resolve_format("x/cam1.MP4").name == "mp4"
    assert resolve_format("emg.dat", "bdf").name == "bdf"
    assert resolve_format("emg.dat", ".edf").name == "edf"


def test_unknown_extension_lists_supported(tmp_path):
    path = tmp_path / "session.foo"
    path.write_text("x")
    with pytest.raises(
        InputFileError, match=r"session\.foo: unknown extension '\.foo'; supported extensions are .*\.c3d"
    ):
        read_file(path)
    with pytest.raises(InputFileError, match=r"session\.foo: unknown format 'nwb'; supported formats are .*xdf"):
        read_file(path, format="nwb")


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(MissingInputError, match=r"nope\.c3d: file does not exist"):
        read_file(tmp_path / "nope.c3d")
    empty = tmp_path / "cam1.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match=r"cam1\.mp4: file is empty \(0 bytes\)"):
        read_file(empty)


def test_register_reader_plugs_in_a_format(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # leave the real registry untouched
    monkeypatch.setattr(registry, "_BY_EXTENSION", dict(registry._BY_EXTENSION))

    @register_reader("ticks_test", extensions=(".ticks",), description="test format")
    def read_ticks(path, options):
        values = np.array([float(v) for v in path.read_text().split()])
        stream = SignalStream("ticks", "signal", values[:, None], values, ["t"], ["s"], 1.0, path, "ticks_test")
        return FileContents(source=path, format="ticks_test", signals={"ticks": stream})

    path = tmp_path / "a.ticks"
    path.write_text("0 1 2")
    assert read_file(path).signals["ticks"].n_samples == 3
    assert supported_formats()["ticks_test"] == (".ticks",)


def test_inspect_every_real_file(real_data):
    expected = {
        "vicon_markers_analogs.c3d": [("mocap", 51, 100.0, 580, 0.0, 5.79), ("analog", 38, 2000.0, 11600, 0.0, 5.7995)],
        "edfbrowser_generator.bdf": [
            ("emg", 1, 500.0, 15000, 0.0, 29.998),
            ("emg", 1, 499.5, 14985, 0.0, 14984 / 499.5),
            ("emg", 1, 487.5, 14625, 0.0, 14624 / 487.5),
            ("emg", 1, 400.0, 12000, 0.0, 29.9975),
            ("emg", 1, 250.0, 7500, 0.0, 29.996),
        ],
        "lsl_minimal.xdf": [("signal", 3, 10.0, 9, 5.0, 5.8), ("events", 5, None, 9, 5.1, 5.9)],
        "nasa_13013.mp4": [
            ("video", 0, 25.0, 325, 0.0, 12.96),
            ("video", 0, 30000 / 1001, 390, 0.0, 389 * 1001 / 30000),
        ],
    }
    for name, streams in expected.items():
        summary = inspect_file(real_data / name)
        assert json.loads(json.dumps(summary)) == summary
        got = [
            (
                s["kind"],
                s["n_channels"],
                s["nominal_rate_hz"],
                s["n_samples"],
                s["first_timestamp_s"],
                s["last_timestamp_s"],
            )
            for s in summary["streams"]
        ]
        assert len(got) == len(streams), name
        for g, e in zip(got, streams, strict=True):
            assert g[:4] == pytest.approx(e[:4], abs=1e-9), name
            assert g[4:] == pytest.approx(e[4:], abs=1e-6), name
        text = format_inspection(summary)
        assert text.startswith(f"Input: {real_data / name}")
        assert text.count("Stream #") == len(streams)


def test_inspect_empty_streams_and_text(real_data):
    summary = inspect_file(real_data / "lsl_empty_streams.xdf")
    kinds = [(s["kind"], s["name"], s["n_samples"]) for s in summary["streams"]]
    assert kinds == [
        ("signal", "Empty data stream: test stream 0 counter", 0),
        ("signal", "Data stream: test stream 0 counter", 10),
        ("events", "ctrl", 1),
        ("events", "Empty marker stream: test stream 0 counter", 0),
    ]
    assert summary["streams"][0]["first_timestamp_s"] is None
    assert summary["streams"][3]["warnings"] == [
        "stream 'Empty marker stream: test stream 0 counter': stream has no samples"
    ]
    text = format_inspection(summary)
    assert "rate 1 Hz, 0 samples, no timestamps" in text
    assert "warning: stream has no samples" in text
    c3d_text = format_inspection(inspect_file(real_data / "vicon_markers_analogs.c3d"))
    assert (
        "51 markers: boite:gauche_ext" in c3d_text
        and "rate 100 Hz, 580 samples, t = 0.000000 .. 5.790000 s" in c3d_text
    )
