"""C3D: analog-only files with no header rate (class 2), ROTATION-only files (class 3), frame numbers (class 8)."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers import format_inspection, inspect_file, read_file

from .conftest import set_c3d_first_frame, write_analog_only_c3d, write_c3d, write_rotation_c3d


@pytest.fixture
def force_plate(tmp_path):
    path = tmp_path / "forceplate.c3d"
    analog = np.column_stack([np.arange(500.0), np.full(500, -2.5), np.sin(np.arange(500) / 50)])
    write_analog_only_c3d(path, analog, rate_hz=1000.0, per_frame=10)
    return path, analog


def test_analog_only_c3d_with_header_rate_zero_reads_the_parameter_rate(force_plate):
    path, analog = force_plate
    contents = read_file(path, options={"name": "fp"})
    assert list(contents.signals) == ["fp_analog"]
    stream = contents.signals["fp_analog"]
    assert stream.nominal_rate_hz == 1000.0
    assert stream.channel_names == ["F1", "F2", "F3"] and stream.units == ["N"] * 3
    np.testing.assert_allclose(stream.data, analog, atol=1e-4)
    np.testing.assert_allclose(stream.timestamps_s, np.arange(500) / 1000.0, rtol=0, atol=1e-15)
    assert stream.metadata["rate_source"] == "ANALOG:RATE parameter"
    assert stream.warnings == [
        "the C3D header gives no analog rate (0 Hz); using ANALOG:RATE = 1000 Hz from the parameters"
    ]
    assert contents.metadata["c3d_first_frame"] == 1 and contents.metadata["c3d_last_frame"] == 50


def test_inspect_says_which_rate_was_used(force_plate):
    path, _ = force_plate
    summary = inspect_file(path)
    assert summary["streams"][0]["rate_source"] == "ANALOG:RATE parameter"
    text = format_inspection(summary)
    assert "rate 1000 Hz (from ANALOG:RATE parameter), 500 samples, t = 0.000000 .. 0.499000 s" in text
    assert "warning: the C3D header gives no analog rate (0 Hz); using ANALOG:RATE = 1000 Hz" in text


def _poses(n_frames: int, n_segments: int) -> np.ndarray:
    poses = np.zeros((n_frames, n_segments, 4, 4))
    for k in range(n_frames):
        for s in range(n_segments):
            angle = 0.01 * k + s
            poses[k, s] = [
                [np.cos(angle), -np.sin(angle), 0.0, 100.0 * s],
                [np.sin(angle), np.cos(angle), 0.0, 0.0],
                [0.0, 0.0, 1.0, 10.0 * k],
                [0.0, 0.0, 0.0, 1.0],
            ]
    return poses


def test_rotation_only_c3d_is_read_as_a_rotation_stream(tmp_path):
    path = tmp_path / "theia.c3d"
    poses = _poses(40, 3)
    write_rotation_c3d(path, poses, ["pelvis", "thigh_r", "shank_r"], rate_hz=100.0)
    contents = read_file(path, options={"name": "body"})
    assert list(contents.signals) == ["body_rotations"]
    segments = contents.signals["body_rotations"]
    assert segments.kind == "rotation" and segments.data.shape == (40, 3, 4, 4)
    assert segments.channel_names == ["pelvis", "thigh_r", "shank_r"] and segments.units == ["m"] * 3
    assert segments.nominal_rate_hz == 100.0
    np.testing.assert_allclose(segments.timestamps_s, np.arange(40) / 100.0, rtol=0, atol=1e-15)
    np.testing.assert_allclose(segments.data[:, :, :3, :3], poses[:, :, :3, :3], atol=1e-6)
    np.testing.assert_allclose(segments.data[7, 2, :3, 3], [0.2, 0.0, 0.07], atol=1e-6)  # mm -> m
    assert segments.valid.all()
    text = format_inspection(inspect_file(path))
    assert "Stream #0: rotation 'theia_rotations'" in text
    assert "3 segments: pelvis, thigh_r, shank_r" in text and "rate 100 Hz, 40 samples" in text


def test_rotation_only_c3d_asked_for_joints_says_what_it_holds(tmp_path):
    path = tmp_path / "theia.c3d"
    write_rotation_c3d(path, _poses(20, 2), ["pelvis", "torso"], rate_hz=120.0)
    with pytest.raises(
        InputFileError,
        match=r"theia\.c3d: the C3D file holds only ROTATION data \(2 segments at 120 Hz\): flexsync reads "
        r"POINT markers \(mapped to joints by the marker_set\) and ANALOG channels, and this file has no "
        r"markers; export the markers",
    ):
        read_file(path, options={"marker_set": "identity"})


def test_force_plate_file_asked_for_joints_says_what_it_holds(force_plate):
    path, _ = force_plate
    with pytest.raises(InputFileError, match=r"holds only ANALOG data \(3 channels at 1000 Hz\): flexsync reads"):
        read_file(path, options={"marker_set": "identity"})


@pytest.mark.parametrize(("first", "last"), [(0, 9), (1, 10), (5, 14)])
def test_first_and_last_frame_numbers_are_the_files(tmp_path, first, last):
    path = tmp_path / "numbered.c3d"
    write_c3d(path, ["m"], np.ones((10, 1, 3)))
    set_c3d_first_frame(path, first)
    contents = read_file(path)
    assert (contents.metadata["c3d_first_frame"], contents.metadata["c3d_last_frame"]) == (first, last)
    assert contents.signals["numbered"].n_samples == 10 and contents.warnings == []
    assert f"  frames {first} .. {last} (numbered as in the file)" in format_inspection(inspect_file(path))


def test_markers_with_no_point_rate_take_it_from_the_analog_rate(tmp_path):
    path = tmp_path / "norate.c3d"
    write_c3d(path, ["a", "b"], np.ones((30, 2, 3)), rate_hz=150.0, analog=np.zeros((300, 1)), analog_ratio=10)
    data = bytearray(path.read_bytes())
    data[20:24] = struct.pack("<f", 0.0)  # header frame rate
    at = data.find(struct.pack("<f", 150.0), 512)  # POINT:RATE
    data[at : at + 4] = struct.pack("<f", 0.0)
    path.write_bytes(bytes(data))
    contents = read_file(path, options={"name": "mocap"})
    markers, analog = contents.signals["mocap"], contents.signals["mocap_analog"]
    assert (markers.nominal_rate_hz, analog.nominal_rate_hz) == (150.0, 1500.0)
    np.testing.assert_allclose(markers.timestamps_s, np.arange(30) / 150.0, rtol=0, atol=1e-15)
    assert markers.metadata["rate_source"] == "ANALOG:RATE / 10 analog samples per frame"
    assert markers.warnings == ["the C3D header and POINT:RATE give no point rate; using ANALOG:RATE / 10 = 150 Hz"]
    assert analog.metadata["rate_source"] == "ANALOG:RATE parameter"


def test_no_rate_anywhere_is_an_error(tmp_path):
    path = tmp_path / "norate.c3d"
    write_c3d(path, ["a"], np.ones((10, 1, 3)), rate_hz=150.0)
    data = bytearray(path.read_bytes())
    data[20:24] = struct.pack("<f", 0.0)
    at = data.find(struct.pack("<f", 150.0), 512)
    data[at : at + 4] = struct.pack("<f", 0.0)
    path.write_bytes(bytes(data))
    with pytest.raises(
        InputFileError, match=r"norate\.c3d: point rate 0 Hz is not positive \(neither the header nor POINT:RATE"
    ):
        read_file(path)
