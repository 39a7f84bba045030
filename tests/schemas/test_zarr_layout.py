"""The Zarr layout contract: a conforming group passes, each single defect is reported exactly."""

from __future__ import annotations

import numpy as np
import pytest
from layout_factory import GroupsSpec, write_spec

from flexsync.schemas.zarr_layout import (
    GRID_SPEC,
    STREAM_SPECS,
    check_recording_group,
    check_staging_group,
    default_chunks,
    group_spec,
)
from flexsync.storage.zarr_io import open_group_readonly


def test_conforming_recording_has_no_problems(tmp_path, recording_spec):
    path = write_spec(tmp_path / "rec.zarr", recording_spec)
    assert check_recording_group(path) == []
    # An already open group is checked the same way.
    assert check_recording_group(open_group_readonly(path)) == []


def _drop(spec: GroupsSpec, path: str) -> None:
    del spec.arrays[path]


def _retype(spec: GroupsSpec, path: str, dtype: str) -> None:
    spec.arrays[path] = spec.arrays[path].astype(dtype)


def _truncate(spec: GroupsSpec, path: str, n: int) -> None:
    spec.arrays[path] = spec.arrays[path][:n]


def _del_attr(spec: GroupsSpec, group: str, name: str) -> None:
    del spec.attrs[group][name]


def _set_attr(spec: GroupsSpec, group: str, name: str, value) -> None:
    spec.attrs[group][name] = value


BREAKAGES = [
    pytest.param(
        lambda s: _retype(s, "streams/cam1/frames", "float32"),
        "streams/cam1/frames: dtype float32, expected uint8",
        id="wrong-dtype-frames",
    ),
    pytest.param(
        lambda s: _retype(s, "streams/emg/t", "float32"),
        "streams/emg/t: dtype float32, expected float64",
        id="wrong-dtype-t",
    ),
    pytest.param(
        lambda s: _drop(s, "streams/cam1/t"),
        "streams/cam1: missing array 't' (float64 (N,) [s]: reference-clock seconds)",
        id="missing-t",
    ),
    pytest.param(
        lambda s: _truncate(s, "streams/cam1/t", 9),
        "streams/cam1/t: axis 0 has length 9, expected 10 (N, as in frames)",
        id="t-shorter-than-frames",
    ),
    pytest.param(
        lambda s: _truncate(s, "streams/emg/envelope_t", 9),
        "streams/emg/envelope_t: axis 0 has length 9, expected 10 (M, as in envelope)",
        id="envelope-t-length",
    ),
    pytest.param(
        lambda s: _set_attr(s, "streams/cam1", "width", 9),
        "streams/cam1/frames: axis 2 has length 8, expected 9 (attribute width)",
        id="frames-width-attr",
    ),
    pytest.param(
        lambda s: _set_attr(s, "streams/emg", "channel_names", ["a", "b", "c"]),
        [
            f"streams/emg/{name}: axis 1 has length 4, expected 3 (length of attribute channel_names)"
            for name in ("raw", "clean", "envelope")
        ],
        id="channel-count",
    ),
    pytest.param(
        lambda s: _del_attr(s, "", "provenance"),
        "/: missing attribute 'provenance' (dict: code_version, inputs {file: sha256}, parameters)",
        id="missing-root-attr",
    ),
    pytest.param(
        lambda s: _del_attr(s, "streams/emg", "mains_hz"),
        "streams/emg: missing attribute 'mains_hz' (number: power-line frequency removed from clean)",
        id="missing-stream-attr",
    ),
    pytest.param(
        lambda s: _set_attr(s, "", "status", "writing"),
        "/: attribute 'status' is 'writing', expected 'complete'",
        id="status-not-complete",
    ),
    pytest.param(lambda s: _set_attr(s, "", "take", 0), "/: attribute 'take' must be > 0, got 0", id="take-zero"),
    pytest.param(
        lambda s: _set_attr(s, "", "reference_stream", "cam9"),
        "/: reference_stream 'cam9' is not one of the streams ['cam1', 'emg', 'mocap', 'physio']",
        id="unknown-reference",
    ),
    pytest.param(
        lambda s: s.attrs[""]["clock_models"].pop("emg"),
        "/: clock_models has no model for stream(s) emg",
        id="clock-model-missing",
    ),
    pytest.param(
        lambda s: _set_attr(s, "", "provenance", {"code_version": "1", "inputs": {"a.c3d": "xyz"}, "parameters": {}}),
        "/: attribute 'provenance' inputs has no valid sha256 for a.c3d",
        id="bad-sha",
    ),
    pytest.param(
        lambda s: _set_attr(s, "streams/emg", "band_hz", [450.0, 20.0]),
        "streams/emg: attribute 'band_hz' must be [low_hz, high_hz] with 0 <= low < high, got [450.0, 20.0]",
        id="band-order",
    ),
    pytest.param(
        lambda s: _set_attr(s, "streams/mocap", "units", "mm"),
        "streams/mocap: attribute 'units' is 'mm', expected 'm'",
        id="mocap-units",
    ),
    pytest.param(
        lambda s: _set_attr(s, "streams/physio", "kind", "audio"),
        "streams/physio: attribute 'kind' is 'audio', expected one of ['video', 'mocap', 'emg', 'physio']",
        id="unknown-kind",
    ),
    pytest.param(
        lambda s: s.arrays["streams/physio/t"].__setitem__(2, 4.0),
        "streams/physio/t: not strictly increasing at index 2 (4.0 then 4.0)",
        id="t-not-increasing",
    ),
    pytest.param(lambda s: s.arrays["grid/t"].__setitem__(0, np.nan), "grid/t: 1 non-finite value(s)", id="grid-t-nan"),
    pytest.param(
        lambda s: _drop(s, "grid/pose"),
        "grid: missing array 'pose' (float32 (G, 21, 3) [m]: interpolated joints)",
        id="grid-pose-missing",
    ),
    pytest.param(
        lambda s: _set_attr(s, "grid", "views", ["cam2"]),
        "grid: attribute 'views' names ['cam2'], which are not video streams ['cam1']",
        id="grid-view",
    ),
    pytest.param(
        lambda s: s.arrays["grid/video_frame_index"].__setitem__((3, 0), 10),
        "grid/video_frame_index: view cam1 has 1 index(es) outside [-1, 9]",
        id="frame-index-range",
    ),
    pytest.param(
        lambda s: s.arrays.__setitem__("grid/emg_envelope", np.zeros((12, 3), dtype=np.float32)),
        "grid/emg_envelope: 3 channels, expected 4 (the envelopes of streams/emg side by side)",
        id="grid-emg-width",
    ),
    pytest.param(
        lambda s: s.arrays.__setitem__("streams/cam1/t_device", np.zeros((10, 1))),
        "streams/cam1/t_device: 2 dimensions (10, 1), expected 1 (N)",
        id="wrong-ndim",
    ),
]


@pytest.mark.parametrize(("breakage", "expected"), BREAKAGES)
def test_single_defect_is_reported_exactly(tmp_path, recording_spec, breakage, expected):
    breakage(recording_spec)
    problems = check_recording_group(write_spec(tmp_path / "rec.zarr", recording_spec))
    assert problems == (expected if isinstance(expected, list) else [expected])


def test_grid_arrays_of_absent_modalities_are_not_required(tmp_path, recording_spec):
    for path in [p for p in recording_spec.arrays if p.startswith(("streams/physio/", "grid/physio"))]:
        del recording_spec.arrays[path]
    del recording_spec.attrs["streams/physio"]
    recording_spec.attrs[""]["clock_models"].pop("physio")
    assert check_recording_group(write_spec(tmp_path / "rec.zarr", recording_spec)) == []


def test_several_defects_are_all_reported(tmp_path, recording_spec):
    _drop(recording_spec, "streams/mocap/valid")
    _retype(recording_spec, "grid/video_frame_index", "int64")
    _del_attr(recording_spec, "", "subject")
    problems = check_recording_group(write_spec(tmp_path / "rec.zarr", recording_spec))
    assert problems == [
        "/: missing attribute 'subject' (str: subject id)",
        "streams/mocap: missing array 'valid' (bool (N, #joint_names): True where the joint was measured)",
        "grid/video_frame_index: dtype int64, expected int32",
    ]


def test_value_checks_can_be_skipped(tmp_path, recording_spec):
    recording_spec.arrays["streams/physio/t"][2] = 4.0
    path = write_spec(tmp_path / "rec.zarr", recording_spec)
    assert check_recording_group(path, check_values=False) == []


def test_not_a_group(tmp_path):
    assert check_recording_group(tmp_path / "nothing.zarr") == [
        f"{tmp_path / 'nothing.zarr'}: not a Zarr v3 group (zarr.json missing)"
    ]


@pytest.mark.parametrize(
    ("stream", "kind"), [("cam1", "video"), ("mocap", "mocap"), ("emg", "emg"), ("physio", "physio")]
)
def test_conforming_staging_groups(tmp_path, staging_spec, stream, kind):
    assert check_staging_group(write_spec(tmp_path / f"{stream}.zarr", staging_spec(stream)), kind) == []


def test_staging_must_not_hold_reference_clock_arrays(tmp_path, staging_spec):
    spec = staging_spec("emg")
    spec.arrays["t"] = np.arange(100) / 2000.0
    assert check_staging_group(write_spec(tmp_path / "emg.zarr", spec), "emg") == [
        "t: present in a staging group; staging stays on the device clock"
    ]


def test_staging_missing_frames_and_kind_mismatch(tmp_path, staging_spec):
    spec = staging_spec("cam1")
    del spec.arrays["frames"]
    path = write_spec(tmp_path / "cam1.zarr", spec)
    assert check_staging_group(path, "video") == [
        "/: missing array 'frames' (uint8 (N, @height, @width, 3): decoded RGB frames)"
    ]
    problems = check_staging_group(path, "emg")
    assert "/: attribute 'kind' is 'video', expected 'emg'" in problems


def test_unknown_kind_is_refused(tmp_path):
    with pytest.raises(KeyError, match="unknown group kind 'audio'"):
        check_staging_group(tmp_path, "audio")


def test_default_chunks_follow_the_layout():
    assert default_chunks("video", "frames", (500, 256, 455, 3)) == (16, 256, 455, 3)
    assert default_chunks("video", "luma_grid", (500, 9, 16)) == (4096, 9, 16)
    assert default_chunks("video", "t", (500,)) == (500,)
    assert default_chunks("emg", "raw", (120_000, 16)) == (20_000, 16)
    assert default_chunks("grid", "pose", (0, 21, 3)) == (1, 21, 3)
    # Every stream array on the EMG time axis shares its chunking, so chunk k covers the same samples.
    rows = {a.chunk_rows for a in STREAM_SPECS["emg"].arrays}
    assert rows == {20_000}
    assert group_spec("grid") is GRID_SPEC
