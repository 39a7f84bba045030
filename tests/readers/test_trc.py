"""TRC: a small OpenSim file written here, with a gap, a marker set, and broken variants."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers.registry import read_file
from flexsync.skeleton import JOINT_NAMES


def _trc(labels, rows, *, rate=100.0, units="mm", n_frames=None):
    """OpenSim-style TRC text; ``rows`` are (time, [x, y, z] per marker or None for a gap)."""
    n = len(rows) if n_frames is None else n_frames
    head = [
        "PathFileType\t4\t(X/Y/Z)\ttest.trc",
        "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
        f"{rate:.2f}\t{rate:.2f}\t{n}\t{len(labels)}\t{units}\t{rate:.2f}\t1\t{n}",
        "Frame#\tTime\t" + "\t\t\t".join(labels) + "\t\t",
        "\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, len(labels) + 1)),
        "",
    ]
    body = []
    for k, (t, markers) in enumerate(rows):
        cells = [str(k + 1), f"{t:.5f}"]
        for m in markers:
            cells += ["", "", ""] if m is None else [f"{v:.5f}" for v in m]
        body.append("\t".join(cells))
    return "\n".join(head + body) + "\n"


def test_trc_markers_gaps_and_time_column(tmp_path):
    rows = [
        (k / 100 + (0.002 if k == 2 else 0.0), [(k, 2.0, 3.0), None if k == 1 else (4.0, 5.0, 6.0)]) for k in range(4)
    ]
    path = tmp_path / "walk.trc"
    path.write_text(_trc(["RASI", "LASI"], rows))
    stream = read_file(path).signals["walk"]
    assert stream.kind == "mocap" and stream.format == "trc"
    assert stream.channel_names == ["RASI", "LASI"] and stream.nominal_rate_hz == 100.0
    np.testing.assert_allclose(stream.timestamps_s, [0.0, 0.01, 0.022, 0.03])  # measured, not k / rate
    np.testing.assert_allclose(stream.data[3, 0], [0.003, 0.002, 0.003])
    assert stream.valid.tolist() == [[True, True], [True, False], [True, True], [True, True]]
    assert np.isnan(stream.data[1, 1]).all()


def test_trc_identity_marker_set_in_metres(tmp_path):
    rows = [(k / 60, [(j, k, 1000.0) for j in range(len(JOINT_NAMES))]) for k in range(3)]
    path = tmp_path / "joints.trc"
    path.write_text(_trc(list(JOINT_NAMES), rows, rate=60.0, units="mm"))
    joints = read_file(path, options={"marker_set": "identity", "name": "mocap"}).signals["mocap_joints"]
    assert joints.data.shape == (3, 21, 3)
    np.testing.assert_allclose(joints.data[2, 20], [0.020, 0.002, 1.0])


def test_trc_truncated_and_wrong_header(tmp_path):
    rows = [(k / 100, [(1.0, 2.0, 3.0)]) for k in range(5)]
    path = tmp_path / "cut.trc"
    path.write_text(_trc(["M"], rows, n_frames=10))
    with pytest.raises(InputFileError, match=r"cut\.trc: NumFrames is 10 but the file has 5 data rows \(truncated\?\)"):
        read_file(path)
    assert read_file(path, options={"on_truncated": "warn"}).signals["cut"].n_samples == 5
    bad = tmp_path / "bad.trc"
    bad.write_text("hello\tworld\n" * 6)
    with pytest.raises(InputFileError, match=r"bad\.trc: wrong header: a TRC file starts with 'PathFileType'"):
        read_file(bad)
    wrong_count = tmp_path / "count.trc"
    wrong_count.write_text(_trc(["M"], rows).replace("\t5\t1\tmm", "\t5\t2\tmm"))
    with pytest.raises(InputFileError, match=r"count\.trc: NumMarkers is 2 but line 4 names 1 markers"):
        read_file(wrong_count)
