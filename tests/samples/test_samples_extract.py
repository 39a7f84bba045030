"""Samples cut from a real pipeline store: spans, chosen frames, pose, EMG, scores, bytes on disk."""

from __future__ import annotations

import json
import shutil

import numpy as np
import polars as pl
import pytest
import zarr

from flexsync.fkg import fkg_score
from flexsync.frame_quality import psnr_db as psnr
from flexsync.samples import build_recording_samples
from flexsync.skeleton import JOINT_NAMES
from flexsync.storage import SAMPLES_TABLE, Store, set_attrs
from flexsync.storage.zarr_io import frame_codec_of
from flexsync.timing.resample import interpolate_pose

T = 103


def _annotations(sample_store, key):
    path = sample_store.raw / "recordings" / key / "annotations.json"
    return json.loads(path.read_text(encoding="utf-8"))["repetitions"]


def _open(sample_store, key):
    return (
        sample_store.store.open_samples(key),
        sample_store.store.open_recording(key),
        pl.read_parquet(sample_store.store.table_partition(SAMPLES_TABLE, key)),
    )


def test_one_sample_per_annotated_repetition(sample_store):
    for key in sample_store.keys:
        reps = _annotations(sample_store, key)
        group, _, table = _open(sample_store, key)
        assert len(reps) == 2
        assert table.height == len(reps) == group["t"].shape[0] == sample_store.results[key].n_samples
        assert table.get_column("sample_id").to_list() == [f"{key}_R{r['index']:02d}" for r in reps]
        assert group.attrs["sample_ids"] == table.get_column("sample_id").to_list()
        assert group.attrs["status"] == "complete" and group.attrs["frame_length"] == T
        assert group.attrs["views"] == ["cam1", "cam2", "cam3", "cam4", "phone"]
        assert group.attrs["joint_names"] == list(JOINT_NAMES)
        assert table.get_column("rep_index").to_list() == [r["index"] for r in reps]


def test_instants_span_the_annotated_cam1_frames(sample_store):
    for key in sample_store.keys:
        group, rec, table = _open(sample_store, key)
        cam1_t = rec["streams/cam1/t"][:]
        t = group["t"][:]
        for r, rep in enumerate(_annotations(sample_store, key)):
            t0, t1 = cam1_t[rep["start_frame"]], cam1_t[rep["end_frame"]]
            np.testing.assert_array_equal(t[r], np.linspace(t0, t1, T))
            assert table["t_start_s"][r] == t0 and table["t_end_s"][r] == t1
            phases = table["phases"][r].to_list()
            assert [p["key_step"] for p in phases] == [p["key_step"] for p in rep["phases"]]
            assert [p["t_start_s"] for p in phases] == [cam1_t[p["start_frame"]] for p in rep["phases"]]
            # the first instant is exactly the annotated start frame's exposure start: cam1 picks that frame
            assert group["video_index"][r, 0, 0] == rep["start_frame"]
            assert group["video_index"][r, 0, -1] == rep["end_frame"]


def test_clips_are_the_published_frames_at_video_index(sample_store):
    key = sample_store.keys[0]
    group, rec, _ = _open(sample_store, key)
    index, valid = group["video_index"][:], group["video_valid"][:]
    for v, view in enumerate(group.attrs["views"]):
        frames = rec[f"streams/{view}/frames"]
        ft = rec[f"streams/{view}/t"][:]
        clips = group[f"video/{view}"]
        assert clips.chunks == (1, T, *frames.shape[1:]) and clips.dtype == np.uint8
        lo, hi = int(index[:, v].min()), int(index[:, v].max()) + 1
        published = frames[lo:hi]
        for r in range(index.shape[0]):
            chosen = index[r, v]
            assert (chosen >= 0).all() and valid[r, v].all()
            # nearest frame in time to every instant (independent check on the reference clock)
            nearest = np.abs(ft[None, :] - group["t"][r][:, None]).argmin(axis=1)
            np.testing.assert_array_equal(chosen, nearest)
            if frame_codec_of(frames)["compressor"] == "h264":  # a clip is re-encoded as one GOP: near, not equal
                assert psnr(clips[r], published[chosen - lo]) > 40.0
            else:
                assert np.array_equal(clips[r], published[chosen - lo])
    # chunks read once per view: exactly the distinct 16-frame source chunks the clips need
    expected = sum(len(np.unique(index[:, v] // 16)) for v in range(index.shape[1]))
    assert sample_store.results[key].n_source_chunks_read == expected


def test_pose_is_the_interpolated_published_mocap(sample_store):
    for key in sample_store.keys:
        group, rec, _ = _open(sample_store, key)
        mocap = rec["streams/mocap"]
        t = group["t"][:]
        joints, valid = mocap["joints"][:], mocap["valid"][:]
        pose, mask = interpolate_pose(mocap["t"][:], joints, valid, t.reshape(-1), max_gap_s=0.1)
        np.testing.assert_array_equal(group["pose"][:], pose.reshape(*t.shape, 21, 3))
        np.testing.assert_array_equal(group["pose_valid"][:], mask.reshape(*t.shape, 21))
        assert group["pose_valid"][:].mean() > 0.9


def test_emg_rows_lie_in_each_span_with_consistent_offsets(sample_store):
    for key in sample_store.keys:
        group, rec, table = _open(sample_store, key)
        emg_t_all = rec["streams/emg/t"][:]
        clean = rec["streams/emg/clean"]
        offsets, emg, emg_t = group["emg_offsets"][:], group["emg"][:], group["emg_t"][:]
        assert offsets[0] == 0 and offsets[-1] == emg.shape[0] == emg_t.shape[0] == sample_store.results[key].n_emg_rows
        assert np.all(np.diff(offsets) > 0)
        channels = rec["streams/emg"].attrs["channel_names"]
        assert group.attrs["emg_channel_names"] == channels == table["emg_channels"][0].to_list()
        for r, (t0, t1) in enumerate(table.select("t_start_s", "t_end_s").rows()):
            rows = slice(offsets[r], offsets[r + 1])
            a, b = np.searchsorted(emg_t_all, t0), np.searchsorted(emg_t_all, t1, side="right")
            assert emg_t[rows][0] >= t0 and emg_t[rows][-1] <= t1
            assert emg_t_all[a - 1] < t0 and emg_t_all[b] > t1  # nothing inside the span was left out
            np.testing.assert_array_equal(emg[rows], clean[a:b])
            # ~2 kHz on the reference clock over the span
            assert abs((b - a) - 2000.0 * (t1 - t0)) <= 2
        assert group["emg_envelope"].shape == (table.height, T, 16) and group["emg_envelope_valid"][:].all()
        assert group["physio"].shape == (table.height, T, 2) and group["physio_valid"][:].all()


def test_fkg_score_equals_expert_score(sample_store):
    for key in sample_store.keys:
        _, _, table = _open(sample_store, key)
        for row, rep in zip(table.iter_rows(named=True), _annotations(sample_store, key), strict=True):
            assert row["errors"] == [e["error"] for e in rep["errors"]]
            assert row["expert_score"] == rep["score"]
            assert row["fkg_score"] == fkg_score(sample_store.fkg, row["action"], row["errors"])
            assert abs(row["fkg_score"] - row["expert_score"]) <= 0.005 and row["score_agrees"]
            assert row["class_idx"] == int(row["action"][1:]) and row["skill"] in ("expert", "amateur", "novice")


def test_rebuild_gives_identical_bytes_and_leaves_no_temporaries(sample_store, tree_digest):
    key = sample_store.keys[0]
    store = sample_store.store
    group_path, table_path = store.samples_path(key), store.table_partition(SAMPLES_TABLE, key)
    before = {**tree_digest(group_path), **tree_digest(table_path)}
    build_recording_samples(sample_store.raw, sample_store.store, key)
    assert {**tree_digest(group_path), **tree_digest(table_path)} == before
    assert len([f for f in before if "/video/cam1/c." in f]) == 2  # one chunk file per sample-view
    for folder in (group_path.parent, table_path.parent, group_path.parent.parent):
        assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_frame_length_is_a_parameter(sample_store, tmp_path):
    with pytest.raises(ValueError, match="frame_length must be >= 2"):
        build_recording_samples(sample_store.raw, Store(tmp_path), sample_store.keys[0], frame_length=1)


def _sixth_camera_copy(sample_store, tmp_path, key):
    """A raw root and a store where recording ``key`` has a sixth camera and a second EMG device.

    ``cam5`` is a copy of cam1 appended to the grid's views. ``aemg`` is a copy of the EMG stream
    with other channel names, listed after ``emg`` in the manifest but sorted before it by name.
    """
    raw = tmp_path / "raw"
    (raw / "recordings").mkdir(parents=True)
    for name in ("fkg.json", "subjects.csv"):
        shutil.copyfile(sample_store.raw / name, raw / name)
    shutil.copytree(sample_store.raw / "recordings" / key, raw / "recordings" / key)
    manifest_path = raw / "recordings" / key / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["streams"]["aemg"] = dict(manifest["streams"]["emg"])
    manifest_path.write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    store = Store(tmp_path / "store")
    with store.publish_recording(key) as unit:
        shutil.copytree(sample_store.store.recording_path(key), unit.zarr_path)
        shutil.copytree(unit.zarr_path / "streams" / "cam1", unit.zarr_path / "streams" / "cam5")
        shutil.copytree(unit.zarr_path / "streams" / "emg", unit.zarr_path / "streams" / "aemg")
        group = zarr.open_group(unit.zarr_path, mode="r+")
        set_attrs(group["grid"], {"views": [*group["grid"].attrs["views"], "cam5"]})
        aemg = group["streams/aemg"]
        set_attrs(aemg, {"channel_names": [f"other_{c}" for c in aemg.attrs["channel_names"]]})
    return raw, store


def test_views_follow_the_grid_and_emg_the_manifest(sample_store, tmp_path, tree_digest):
    key = sample_store.keys[0]
    raw, store = _sixth_camera_copy(sample_store, tmp_path, key)
    result = build_recording_samples(raw, store, key)
    group, table = store.open_samples(key), pl.read_parquet(store.table_partition(SAMPLES_TABLE, key))
    standard = list(sample_store.store.open_samples(key).attrs["views"])
    assert list(result.views) == list(group.attrs["views"]) == [*standard, "cam5"]
    np.testing.assert_array_equal(group["video/cam5"][:], group["video/cam1"][:])
    assert group["video_index"].shape[1] == len(standard) + 1
    np.testing.assert_array_equal(group["video_index"][:, -1], group["video_index"][:, 0])
    # EMG: the first EMG stream in manifest order (emg), not the first by name (aemg)
    recording = store.open_recording(key)
    assert group["emg"].attrs["source"] == "streams/emg/clean"
    channels = list(recording["streams/emg"].attrs["channel_names"])
    assert group.attrs["emg_channel_names"] == channels
    assert all(row == channels for row in table["emg_channels"].to_list())
    # the standard views' clips and every other array keep their bytes
    before, after = sample_store.store.samples_path(key), store.samples_path(key)
    for member in [f"video/{v}" for v in standard] + ["t", "pose", "emg", "emg_offsets", "emg_envelope", "physio"]:
        assert tree_digest(after / member) == tree_digest(before / member), member
