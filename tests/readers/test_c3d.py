"""C3D: the real Vicon file, written files with gaps and axes, marker sets, broken files."""

from __future__ import annotations

import numpy as np
import pytest

from flexsync.errors import InputFileError
from flexsync.readers.c3d import z_up_rotation
from flexsync.readers.marker_sets import IDENTITY_MARKER_SET, map_markers_to_joints
from flexsync.readers.registry import read_file
from flexsync.skeleton import JOINT_NAMES

from .conftest import write_c3d

VICON = "vicon_markers_analogs.c3d"


@pytest.fixture(scope="module")
def vicon(real_data):
    return read_file(real_data / VICON, options={"name": "mocap"})


def test_vicon_markers(vicon):
    markers = vicon.signals["mocap"]
    assert markers.kind == "mocap" and markers.format == "c3d"
    assert markers.data.shape == (580, 51, 3)
    assert markers.nominal_rate_hz == 100.0
    assert markers.channel_names[:2] == ["boite:gauche_ext", "boite:gauche_int"]
    assert markers.channel_names[-1] == "Daphnee:LATH"
    assert markers.units == ["m"] * 51
    assert markers.timestamps_s[0] == 0.0 and markers.timestamps_s[-1] == pytest.approx(5.79, abs=1e-12)
    # first marker, first frame, read once with ezc3d directly: (44.16278839, -276.86193848, 675.69683838) mm
    np.testing.assert_allclose(markers.data[0, 0], [0.04416278839, -0.27686193848, 0.67569683838], atol=1e-9)
    assert int((~markers.valid).sum()) == 305  # residual -1 entries in the file
    assert np.isnan(markers.data[~markers.valid]).all() and np.isfinite(markers.data[markers.valid]).all()
    assert markers.metadata["c3d_first_frame"] == 1 and markers.metadata["c3d_last_frame"] == 580
    assert (markers.metadata["x_screen"], markers.metadata["y_screen"]) == ("+X", "+Z")
    assert vicon.metadata["manufacturer"]["software"] == "Vicon Nexus"


def test_vicon_analog(vicon):
    analog = vicon.signals["mocap_analog"]
    assert analog.kind == "analog"
    assert analog.data.shape == (11600, 38)
    assert analog.nominal_rate_hz == 2000.0
    assert analog.timestamps_s[-1] == pytest.approx(5.7995, abs=1e-12)
    assert analog.channel_names[:7] == [f"Voltage.{i}" for i in range(1, 7)] + ["Delt_ant.EMG1"]
    assert analog.channel_names[-1] == "Sensor 9.IM EMG9"
    assert analog.units == ["V"] * 38
    assert analog.data[0, 0] == pytest.approx(-2.20515728e-02, rel=1e-6)


def test_written_c3d_gaps_units_and_analog(tmp_path):
    rng = np.random.default_rng(0)
    points = rng.uniform(-1000, 1000, (30, 3, 3))
    invalid = np.zeros((30, 3), bool)
    invalid[10:14, 1] = True
    analog = np.zeros((300, 1))
    analog[50:60, 0] = 5.0
    path = tmp_path / "mocap.c3d"
    write_c3d(path, ["a", "b", "c"], points, rate_hz=150.0, invalid=invalid, analog=analog)
    contents = read_file(path, format="c3d", options={"name": "mocap"})
    markers, sync = contents.signals["mocap"], contents.signals["mocap_analog"]
    np.testing.assert_array_equal(markers.valid, ~invalid)
    np.testing.assert_allclose(markers.data[~invalid], points[~invalid] / 1000, rtol=1e-6)
    np.testing.assert_allclose(markers.timestamps_s, np.arange(30) / 150.0, rtol=0, atol=1e-15)
    assert sync.nominal_rate_hz == 1500.0 and sync.channel_names == ["SYNC"]
    assert np.flatnonzero(sync.channel("SYNC") > 2.5).tolist() == list(range(50, 60))


def test_to_z_up_turns_y_up_files(tmp_path):
    points = np.array([[[1.0, 2.0, 3.0]]] * 4)  # x=1 (right), y=2 (up), z=3 mm
    path = tmp_path / "yup.c3d"
    write_c3d(path, ["m"], points, y_screen="+Y")
    as_file = read_file(path).signals["yup"]
    z_up = read_file(path, options={"to_z_up": True}).signals["yup"]
    np.testing.assert_allclose(as_file.data[0, 0], [0.001, 0.002, 0.003])
    np.testing.assert_allclose(z_up.data[0, 0], [0.001, -0.003, 0.002])  # up (y) becomes z, right-handed
    np.testing.assert_array_equal(z_up_rotation("+X", "+Z"), np.eye(3))
    assert np.linalg.det(z_up_rotation("-Y", "+X")) == pytest.approx(1.0)
    with pytest.raises(InputFileError, match="not perpendicular"):
        z_up_rotation("+X", "-X")


def test_identity_marker_set_and_mean_of_markers(tmp_path):
    rng = np.random.default_rng(1)
    n = 12
    points = rng.uniform(-500, 500, (n, len(JOINT_NAMES) + 1, 3))
    labels = [*JOINT_NAMES, "extra"]
    invalid = np.zeros((n, len(labels)), bool)
    invalid[3, 0] = True  # head occluded at frame 3
    invalid[7, -1] = True  # the extra marker occluded at frame 7
    path = tmp_path / "joints.c3d"
    write_c3d(path, [f"Subj:{label}" for label in labels], points, invalid=invalid)
    contents = read_file(path, options={"marker_set": "identity", "name": "mocap"})
    joints = contents.signals["mocap_joints"]
    assert joints.channel_names == list(JOINT_NAMES) and joints.data.shape == (n, 21, 3)
    np.testing.assert_allclose(joints.data[5], points[5, :21] / 1000, rtol=1e-6)
    assert not joints.valid[3, 0] and joints.valid[3, 1:].all()

    custom = dict(IDENTITY_MARKER_SET, head=["head", "extra"])
    mapped = map_markers_to_joints(contents.signals["mocap"], custom)
    np.testing.assert_allclose(mapped.data[5, 0], (points[5, 0] + points[5, -1]) / 2000, rtol=1e-6)
    assert not mapped.valid[7, 0] and not mapped.valid[3, 0] and mapped.valid[5, 0]
    assert np.isnan(mapped.data[7, 0]).all()


def test_marker_set_errors_name_what_is_missing(vicon):
    with pytest.raises(InputFileError, match=r"vicon_markers_analogs\.c3d.*joint head: 'head' not found"):
        map_markers_to_joints(vicon.signals["mocap"], IDENTITY_MARKER_SET)
    with pytest.raises(ValueError, match=r"joints without markers: .*l_toe"):
        map_markers_to_joints(vicon.signals["mocap"], {"head": ["Daphnee:T1"]})


def test_truncated_c3d_is_rejected_or_kept_with_warning(real_data, tmp_path, halve):
    path = halve(real_data / VICON, tmp_path)
    with pytest.raises(InputFileError, match=r"vicon_markers_analogs\.c3d: truncated C3D: .* 580 frames, .* 288"):
        read_file(path)
    kept = read_file(path, options={"on_truncated": "warn"})
    assert kept.signals["vicon_markers_analogs"].n_samples == 288
    assert kept.warnings == ["truncated C3D: the header declares 580 frames, the file holds 288"]


def test_garbage_c3d_is_rejected(tmp_path, garbage):
    with pytest.raises(InputFileError, match=r"mocap\.c3d: not a readable C3D file"):
        read_file(garbage(tmp_path, "mocap.c3d"))


def test_unknown_point_units_are_rejected(tmp_path):
    path = tmp_path / "feet.c3d"
    write_c3d(path, ["m"], np.ones((3, 1, 3)), units="ft")
    with pytest.raises(InputFileError, match=r"feet\.c3d: POINT:UNITS 'ft' is not a length unit"):
        read_file(path)
