"""What a published recording holds about 2D pose: keypoint arrays, their layout rules, samples, overlay, metadata."""

from __future__ import annotations

import base64
import io
import re
import shutil

import av
import cv2
import dagster as dg
import numpy as np
import zarr

from flexsync.ingest import overlay
from flexsync.schemas.zarr_layout import check_recording_group, check_staging_group
from flexsync.skeleton import N_JOINTS
from flexsync.storage.atomic import link_or_copy_tree
from flexsync.storage.zarr_io import write_array
from flexsync.timing.resample import nearest_frame

VIEWS = ["cam1", "cam2", "cam3", "cam4", "phone"]


def test_every_calibrated_view_has_keypoints_inside_its_frames(pose_store):
    rec = pose_store.store.open_recording(pose_store.key)
    assert rec["grid"].attrs["views"] == VIEWS
    for view in VIEWS:
        stream = rec[f"streams/{view}"]
        n, width, height = stream["t"].shape[0], stream.attrs["width"], stream.attrs["height"]
        xy, visible = stream["keypoints_2d"][:], stream["keypoints_visible"][:]
        assert (xy.dtype, xy.shape, visible.dtype, visible.shape) == (
            np.float32,
            (n, N_JOINTS, 2),
            np.bool_,
            (n, N_JOINTS),
        )
        assert np.isfinite(xy[visible]).all()
        u, v = xy[visible][:, 0], xy[visible][:, 1]
        assert u.min() >= -0.5 and u.max() < width - 0.5 and v.min() >= -0.5 and v.max() < height - 0.5
        # the generated subject is seen whole: every finite keypoint is visible, and most are
        finite = np.isfinite(xy).all(axis=-1)
        assert np.array_equal(finite, visible), view
        assert visible.mean() > 0.9, view
    assert check_recording_group(rec) == []


def test_layout_requires_both_keypoint_arrays_with_their_dtypes(pose_store, tmp_path):
    copy = tmp_path / "recording.zarr"
    link_or_copy_tree(pose_store.store.recording_path(pose_store.key), copy)  # zarr replaces files: links stay safe
    shutil.rmtree(copy / "streams/phone/keypoints_2d")
    shutil.rmtree(copy / "streams/phone/keypoints_visible")  # an uncalibrated view: allowed
    assert check_recording_group(copy) == []
    shutil.rmtree(copy / "streams/cam2/keypoints_visible")
    cam3 = zarr.open_group(copy / "streams/cam3", mode="r+")
    xy = cam3["keypoints_2d"][:]
    shutil.rmtree(copy / "streams/cam3/keypoints_2d")
    write_array(cam3, "keypoints_2d", xy.astype(np.float64))
    cam4 = zarr.open_group(copy / "streams/cam4", mode="r+")
    visible = cam4["keypoints_visible"][:]
    shutil.rmtree(copy / "streams/cam4/keypoints_visible")
    write_array(cam4, "keypoints_visible", visible[:-1])
    problems = check_recording_group(copy)
    assert problems == [
        "streams/cam2: missing array 'keypoints_visible' (bool (N, 21): "
        "mocap valid at t, in front of the camera and inside the stored image)",
        "streams/cam3/keypoints_2d: dtype float64, expected float32",
        f"streams/cam4/keypoints_visible: axis 0 has length {visible.shape[0] - 1}, expected {visible.shape[0]} "
        "(N, as in frames)",
    ]
    # staging stays on the device clock: keypoints (at reference times) may not be staged
    staged = tmp_path / "cam1.zarr"
    link_or_copy_tree(pose_store.store.staged_stream_path(pose_store.key, "cam1"), staged)
    assert check_staging_group(staged, "video") == []
    write_array(zarr.open_group(staged, mode="r+"), "keypoints_visible", visible)
    assert check_staging_group(staged, "video") == [
        "keypoints_visible: present in a staging group; staging stays on the device clock"
    ]


def test_samples_carry_the_keypoints_of_their_clip_frames(pose_store):
    rec = pose_store.store.open_recording(pose_store.key)
    samples = pose_store.store.open_samples(pose_store.key)
    instants = samples["t"][:]
    n_reps, n_t = instants.shape
    for v, view in enumerate(VIEWS):
        stream = rec[f"streams/{view}"]
        index, _ = nearest_frame(stream["t"][:], instants.reshape(-1), max_distance_s=np.inf)
        index = index.reshape(n_reps, n_t)
        shown = samples["video_index"][:, v]
        assert np.array_equal(index[shown >= 0], shown[shown >= 0])  # the clip frames
        xy, visible = samples[f"keypoints_2d/{view}"][:], samples[f"keypoints_visible/{view}"][:]
        assert xy.shape == (n_reps, n_t, N_JOINTS, 2) and visible.shape == (n_reps, n_t, N_JOINTS)
        np.testing.assert_array_equal(xy, stream["keypoints_2d"][:][index])
        np.testing.assert_array_equal(visible, stream["keypoints_visible"][:][index])
        assert visible.mean() > 0.9


def _materialization(pose_store) -> dg.AssetMaterialization:
    records = pose_store.instance.fetch_materializations(dg.AssetKey("aligned_recording"), limit=1).records
    return records[0].asset_materialization


def test_overlay_preview_is_published_and_shown_in_the_metadata(pose_store):
    store, key = pose_store.store, pose_store.key
    png_path, mp4_path = store.report_file(key, "overlay.png"), store.report_file(key, "overlay.mp4")
    png = png_path.read_bytes()
    sheet = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    stored_w, stored_h = 455, 256  # the default stored frame size
    tw, th = overlay.TILE_WIDTH, round(stored_h * overlay.TILE_WIDTH / stored_w)
    events = overlay.sync_event_times([row["t_ref_s"] for row in store.read_report(key)["events"]])
    assert len(events) == 2  # the start and end sync events, every stream's mapped onto one time each
    columns = overlay.SPREAD_MOMENTS + len(events)
    assert sheet.shape == (overlay._HEADER_H + 5 * (th + overlay._GAP), overlay._LABEL_W + columns * (tw + 2), 3)
    # the skeleton is drawn: both side colours appear in every row of tiles
    rgb = cv2.cvtColor(sheet, cv2.COLOR_BGR2RGB)
    for r in range(len(VIEWS)):
        row = rgb[overlay._HEADER_H + r * (th + 2) : overlay._HEADER_H + (r + 1) * (th + 2)]
        for colour in (overlay._LEFT, overlay._RIGHT):
            assert np.all(row == colour, axis=-1).sum() > 20, (VIEWS[r], colour)
    with av.open(io.BytesIO(mp4_path.read_bytes())) as container:
        stream = container.streams.video[0]
        n_frames = sum(1 for _ in container.decode(video=0))
        cw, ch = overlay.CLIP_TILE_WIDTH, round(stored_h * overlay.CLIP_TILE_WIDTH / stored_w)
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 3 * cw, 2 * ch)
    assert n_frames == round(overlay.CLIP_SECONDS * overlay.CLIP_RATE_HZ)

    metadata = _materialization(pose_store).metadata
    embedded = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", metadata["overlay_preview"].value)
    assert base64.b64decode(embedded.group(1)) == png
    assert metadata["overlay_clip"].value == str(mp4_path)
    assert "reprojection" in metadata  # the per-view table (its values: the check below and the publish tests)
    records = pose_store.instance.all_logs(pose_store.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    (check,) = [
        r.dagster_event.event_specific_data
        for r in records
        if r.dagster_event.event_specific_data.check_name == "keypoints_in_image"
    ]
    assert check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["outside_fraction"].value == dict.fromkeys(VIEWS, 0.0)
    assert f"recording {key}: valid mocap joints outside the image: cam1 0.00%" in check.description
