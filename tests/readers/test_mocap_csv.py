"""The mocap CSV export reader: time or frame columns, units, occlusion gaps, marker sets, bad files."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers.registry import read_file, resolve_format, supported_formats
from flexsync.skeleton import JOINT_NAMES

FRAME_CSV = """# exported by a lab tool
# units: mm
# rate_hz: 120
frame,LASI_x,LASI_y,LASI_z,RASI_x,RASI_y,RASI_z
11,100.0,-20.0,950.5,-100.0,-20.0,951.5
12,101.0,-21.0,950.0,,,
13,102.0,-22.0,949.5,-98.0,-22.0,950.5
"""

TIME_CSV = """time,head_x,head_y,head_z
0.000,0.01,0.02,1.70
0.010,0.02,0.02,1.71
0.021,0.03,0.02,1.72
"""


def test_frame_column_units_comment_and_gaps(tmp_path):
    path = tmp_path / "markers.csv"
    path.write_text(FRAME_CSV, encoding="utf-8")
    contents = read_file(path, format="mocap_csv", options={"name": "mocap", "nominal_rate_hz": 120.0})
    stream = contents.signals["mocap"]
    assert stream.kind == "mocap" and stream.format == "mocap_csv"
    assert stream.channel_names == ["LASI", "RASI"] and stream.units == ["m", "m"]
    assert stream.nominal_rate_hz == 120.0
    np.testing.assert_array_equal(stream.timestamps_s, np.array([0.0, 1.0, 2.0]) / 120.0)
    assert stream.data.shape == (3, 2, 3)
    np.testing.assert_allclose(stream.data[1, 0], [0.101, -0.021, 0.950], rtol=0, atol=1e-12)
    np.testing.assert_allclose(stream.data[2, 1], [-0.098, -0.022, 0.9505], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(stream.valid, [[True, True], [True, False], [True, True]])
    assert np.isnan(stream.data[1, 1]).all()


def test_time_column_units_option_and_marker_set(tmp_path):
    path = tmp_path / "markers.csv"
    path.write_text(TIME_CSV, encoding="utf-8")
    marker_set = {joint: ["head"] for joint in JOINT_NAMES}
    contents = read_file(path, format="mocap_csv", options={"name": "m", "units": "m", "marker_set": marker_set})
    markers, joints = contents.signals["m"], contents.signals["m_joints"]
    np.testing.assert_array_equal(markers.timestamps_s, [0.0, 0.010, 0.021])  # as exported, not index / rate
    assert markers.nominal_rate_hz == pytest.approx(1.0 / 0.0105)
    assert joints.channel_names == list(JOINT_NAMES) and joints.data.shape == (3, 21, 3)
    np.testing.assert_allclose(joints.data[2, JOINT_NAMES.index("l_toe")], [0.03, 0.02, 1.72], rtol=0, atol=1e-12)


def test_registered_by_name_only():
    # .csv stays with the signals reader; a manifest names "mocap_csv" as the stream's format.
    assert supported_formats()["mocap_csv"] == ()
    assert resolve_format("markers.csv").name == "csv"
    assert resolve_format("markers.csv", "mocap_csv").name == "mocap_csv"


@pytest.mark.parametrize(
    ("text", "options", "pattern"),
    [
        (TIME_CSV, {}, r"no length unit"),
        (TIME_CSV, {"units": "furlong"}, r"units 'furlong' is not one of"),
        ("# units: mm\nstamp,a_x,a_y,a_z\n1,1,2,3\n", {}, r"no 'time' or 'frame' column"),
        ("# units: mm\ntime,a_x,a_y\n0,1,2\n", {}, r"2 coordinate columns"),
        ("# units: mm\ntime,a_x,a_z,a_y\n0,1,2,3\n", {}, r"a_x, a_z, a_y are not one marker's"),
        ("# units: mm\ntime,a_x,a_y,a_z\n0,1,2,3\n0,1,2,3\n", {}, r"time column is not strictly increasing"),
        ("# units: mm\nframe,a_x,a_y,a_z\n1,1,2,3\n", {}, r"'frame' column needs a frame rate"),
        ("# units: mm\ntime,a_x,a_y,a_z\n0,1,x,3\n", {}, r"column 'a_y' holds non-numeric values"),
    ],
)
def test_bad_exports_name_the_problem(tmp_path, text, options, pattern):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match=pattern):
        read_file(path, format="mocap_csv", options=options)
