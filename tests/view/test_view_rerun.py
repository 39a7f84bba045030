"""``flexsync view --save`` writes a Rerun recording that holds every stream of the store, on both clocks.

The .rrd is read back with Rerun's own reader (``rerun.chunk.RrdReader``) and compared with the
published recording: entity paths, row counts, reference and device times (to 1 us), values, and
the video itself (the MP4 asset decodes to the stored frames, frame references in presentation order).
"""

from __future__ import annotations

import io
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from published_store import published_store
from typer.testing import CliRunner

from flexsync.cli import app
from flexsync.skeleton import BONES
from flexsync.storage import Store

rerun_chunk = pytest.importorskip("rerun.chunk", reason="rerun-sdk (the view extra) is not installed")

US = 1e-6


@pytest.fixture(scope="session")
def published(synth_dataset, tmp_path_factory) -> tuple[Path, str]:
    return published_store(synth_dataset, tmp_path_factory)


@pytest.fixture(scope="session")
def saved(published, tmp_path_factory) -> tuple[dict[str, Logged], Path]:
    """The whole recording saved through the CLI, read back per entity."""
    store, key = published
    out = tmp_path_factory.mktemp("view") / f"{key}.rrd"
    result = CliRunner().invoke(app, ["view", key, "--store", str(store), "--save", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{key}: ") and f"to {out} (" in result.output
    return read_rrd(out), out


@dataclass
class Logged:
    """What one entity holds: its temporal rows sorted by reference time, and its static components."""

    table: pa.Table | None
    static: dict[str, pa.ChunkedArray]

    def times(self, timeline: str) -> np.ndarray:
        """A timeline's values in seconds."""
        return self.table.column(timeline).cast(pa.int64()).to_numpy() / 1e9

    def lengths(self, component: str) -> np.ndarray:
        """Instances per row of a list column (e.g. points per frame)."""
        return pa.concat_arrays(self.table.column(component).chunks).value_lengths().to_numpy()

    def values(self, component: str) -> np.ndarray:
        """A list column's values, flattened over rows (fixed-size lists stay one row per instance)."""
        flat = pa.concat_arrays(self.table.column(component).chunks).flatten()
        if pa.types.is_fixed_size_list(flat.type):
            return flat.flatten().to_numpy().reshape(len(flat), flat.type.list_size)
        return flat.to_numpy(zero_copy_only=False)


def read_rrd(path: Path) -> dict[str, Logged]:
    """Every entity of the first recording in ``path``, through rerun's reader."""
    temporal: dict[str, list[pa.RecordBatch]] = defaultdict(list)
    static: dict[str, dict[str, pa.ChunkedArray]] = defaultdict(dict)
    for chunk in rerun_chunk.RrdReader(path).stream():
        entity = chunk.entity_path.lstrip("/") or "/"
        batch = chunk.to_record_batch()
        if chunk.is_static:
            static[entity].update({n: pa.chunked_array([batch.column(n)]) for n in batch.schema.names if ":" in n})
        else:
            temporal[entity].append(batch)
    out = {}
    for entity in sorted(set(temporal) | set(static)):
        table = None
        if temporal[entity]:
            table = pa.concat_tables([pa.Table.from_batches([b]) for b in temporal[entity]], promote_options="default")
            order = np.argsort(table.column("reference").cast(pa.int64()).to_numpy(), kind="stable")
            table = table.take(order)
        out[entity] = Logged(table=table, static=static.get(entity, {}))
    return out


def test_every_stream_has_its_entity(saved, published):
    logged, _ = saved
    store, key = published
    rec = Store(store).open_recording(key)
    views = list(rec["grid"].attrs["views"])
    events = pl.read_parquet(Store(store).table_partition("sync_events", key))
    expected = {
        "recording",
        "mocap/mocap/joints",
        "emg/emg/envelope",
        "emg/emg/raw",
        "physio/physio/heart_rate_bpm",
        "physio/physio/breathing_rate_bpm",
        "repetitions",
        "repetitions/phases",
        *(f"video/{v}" for v in views),
        *(f"sync_events/{s}" for s in events["stream"].unique()),
    }
    keypoint_views = [v for v in views if "keypoints_2d" in rec[f"streams/{v}"]]
    expected |= {f"video/{v}/keypoints" for v in keypoint_views}
    assert expected <= set(logged)
    assert len(views) == 5 and events.height >= 2 * len(views)
    assert sorted(set(logged) - expected) == ["/", "__properties", "mocap/mocap"]  # body model, recording props, axes
    (context,) = logged["/"].static["AnnotationContext:context"].to_pylist()[0]  # one context, one class: the body
    bones = context[0]["class_description"]
    assert len(bones["keypoint_connections"]) == len(BONES) and len(bones["keypoint_annotations"]) == 21


def test_frames_are_the_stored_frames_at_their_times(saved, published):
    logged, _ = saved
    store, key = published
    rec = Store(store).open_recording(key)
    for view in rec["grid"].attrs["views"]:
        group, entity = rec[f"streams/{view}"], logged[f"video/{view}"]
        t, t_device = group["t"][:], group["t_device"][:]
        assert entity.table.num_rows == t.size
        np.testing.assert_allclose(entity.times("reference"), t, rtol=0, atol=US)
        np.testing.assert_allclose(entity.times(f"t_device_{view}"), t_device, rtol=0, atol=US)
        shown = entity.values("VideoFrameReference:timestamp")
        assert shown.size == t.size and np.all(np.diff(shown) > 0)
        assert entity.static["AssetVideo:media_type"].to_pylist() == [["video/mp4"]]
        mp4 = bytes(entity.static["AssetVideo:blob"].to_pylist()[0][0])
        with av.open(io.BytesIO(mp4)) as container:
            stream = container.streams.video[0]
            pts = sorted(p.pts for p in container.demux(stream) if p.pts is not None)
        # A stored last chunk is padded to 16 frames: the padding is in the file, never referenced.
        assert t.size <= len(pts) <= -(-t.size // 16) * 16
        starts = (np.asarray(pts[: t.size]) - pts[0]) * float(stream.time_base) * 1e9
        np.testing.assert_allclose(shown - shown[0], starts, rtol=0, atol=1e3)
    # The pixels: the MP4 of cam1 decodes to exactly the stored frames (remuxed, not re-encoded).
    mp4 = bytes(logged["video/cam1"].static["AssetVideo:blob"].to_pylist()[0][0])
    stored = rec["streams/cam1/frames"][:24]
    with av.open(io.BytesIO(mp4)) as container:
        decoded = [f.to_ndarray(format="rgb24") for _, f in zip(range(24), container.decode(video=0), strict=False)]
    assert np.array_equal(np.stack(decoded)[:, : stored.shape[1], : stored.shape[2]], stored)


def test_keypoints_lie_on_their_frames(saved, published):
    logged, _ = saved
    store, key = published
    rec = Store(store).open_recording(key)
    views = [v for v in rec["grid"].attrs["views"] if "keypoints_2d" in rec[f"streams/{v}"]]
    assert views, "the generated views are calibrated: the store must have their keypoints_2d"
    for view in views:
        group, entity = rec[f"streams/{view}"], logged[f"video/{view}/keypoints"]
        points, visible = group["keypoints_2d"][:], group["keypoints_visible"][:]
        visible &= np.isfinite(points).all(axis=-1)
        assert entity.table.num_rows == group["t"].shape[0]
        np.testing.assert_allclose(entity.times("reference"), group["t"][:], rtol=0, atol=US)
        assert np.array_equal(entity.lengths("Points2D:positions"), visible.sum(axis=1))
        frame, joint = np.nonzero(visible)
        np.testing.assert_allclose(entity.values("Points2D:positions"), points[frame, joint] + 0.5, rtol=0, atol=1e-4)
        assert np.array_equal(entity.values("Points2D:keypoint_ids"), joint)


def test_skeleton_signals_events_and_repetitions(saved, published):
    logged, _ = saved
    store, key = published
    rec = Store(store).open_recording(key)
    mocap, joints = rec["streams/mocap"], logged["mocap/mocap/joints"]
    valid = mocap["valid"][:]
    assert joints.table.num_rows == mocap["t"].shape[0]
    np.testing.assert_allclose(joints.times("t_device_mocap"), mocap["t_device"][:], rtol=0, atol=US)
    assert np.array_equal(joints.lengths("Points3D:positions"), valid.sum(axis=1))
    frame, joint = np.nonzero(valid)
    np.testing.assert_allclose(joints.values("Points3D:positions"), mocap["joints"][:][frame, joint], atol=1e-6)

    emg = rec["streams/emg"]
    channels = len(emg.attrs["channel_names"])
    for signal, t_name in (("raw", "t"), ("envelope", "envelope_t")):
        entity = logged[f"emg/emg/{signal}"]
        assert entity.table.num_rows == emg[t_name].shape[0] == emg[signal].shape[0]
        np.testing.assert_allclose(entity.times("reference"), emg[t_name][:], rtol=0, atol=US)
        np.testing.assert_allclose(entity.times("t_device_emg"), emg[f"{t_name}_device"][:], rtol=0, atol=US)
        values = entity.values("Scalars:scalars").reshape(-1, channels)
        assert np.array_equal(values, emg[signal][:].astype(np.float64))
        assert entity.static["SeriesLines:names"].to_pylist() == [list(emg.attrs["channel_names"])]
    assert emg["raw"].shape[0] > 10_000  # 2 kHz over the whole recording

    physio = rec["streams/physio"]
    for column, channel in enumerate(physio.attrs["channel_names"]):
        entity = logged[f"physio/physio/{channel}"]
        np.testing.assert_allclose(entity.times("t_device_physio"), physio["t_device"][:], rtol=0, atol=US)
        assert np.array_equal(entity.values("Scalars:scalars"), physio["values"][:, column].astype(np.float64))

    events = pl.read_parquet(Store(store).table_partition("sync_events", key))
    for (stream,), rows in events.sort("t_ref_s").group_by("stream", maintain_order=True):
        entity = logged[f"sync_events/{stream}"]
        np.testing.assert_allclose(entity.times("reference"), rows["t_ref_s"].to_numpy(), rtol=0, atol=US)
        np.testing.assert_allclose(entity.times(f"t_device_{stream}"), rows["t_device_s"].to_numpy(), rtol=0, atol=US)
        assert all(text.startswith(f"{stream} event ") for text in entity.values("TextLog:text"))

    reps = pl.read_parquet(Store(store).table_partition("samples", key)).sort("rep_index")
    spans = logged["repetitions"]
    labels = [f"R{r['rep_index']:02d} (score {r['expert_score']:g})" for r in reps.iter_rows(named=True)]
    assert list(spans.values("StateChange:state")) == [s for label in labels for s in (label, "")]
    np.testing.assert_allclose(spans.times("reference")[0::2], reps["t_start_s"].to_numpy(), rtol=0, atol=US)
    np.testing.assert_allclose(spans.times("reference")[1::2], reps["t_end_s"].to_numpy(), rtol=0, atol=US)
    n_phases = int(reps["phases"].list.len().sum())
    assert reps.height == 2 and n_phases > 0
    assert logged["repetitions/phases"].table.num_rows == 2 * n_phases


def test_window_and_jpeg_frames(published, tmp_path):
    store, key = published
    rec = Store(store).open_recording(key)
    t = rec["streams/cam2/t"][:]
    start, end = float(t[40]), float(t[40]) + 0.5
    out = tmp_path / "window.rrd"
    args = ["view", key, "--store", str(store), "--save", str(out), "--views", "cam2", "--video", "jpeg"]
    result = CliRunner().invoke(app, [*args, "--start", str(start), "--end", str(end), "--no-emg-raw"])
    assert result.exit_code == 0, result.output
    logged = read_rrd(out)
    inside = (t >= start) & (t <= end)
    frames = logged["video/cam2"]
    assert frames.table.num_rows == int(inside.sum()) > 10
    np.testing.assert_allclose(frames.times("reference"), t[inside], rtol=0, atol=US)
    first = bytes(pa.concat_arrays(frames.table.column("EncodedImage:blob").chunks)[0][0].as_py())
    assert first[:2] == b"\xff\xd8"  # JPEG
    assert not any(e.startswith("video/cam1") for e in logged) and "emg/emg/raw" not in logged
    envelope_t = rec["streams/emg/envelope_t"][:]
    assert logged["emg/emg/envelope"].table.num_rows == int(((envelope_t >= start) & (envelope_t <= end)).sum())


def test_missing_recording_display_or_rerun_are_one_line_errors(published, tmp_path, monkeypatch):
    store, _ = published
    result = CliRunner().invoke(app, ["view", "S09_A01_T1", "--store", str(store), "--save", str(tmp_path / "x.rrd")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"flexsync view: error: no published recording S09_A01_T1 in store {store} "
        "(run the pipeline first: flexsync run)"
    ]
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "WAYLAND_SOCKET"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(app, ["view", "S01_A01_T1", "--store", str(store)])
    assert (result.exit_code, result.output.strip().splitlines()) == (
        1,
        [
            "flexsync view: error: no display to open the Rerun viewer on; "
            "save the recording with --save FILE.rrd and open it elsewhere"
        ],
    )
    monkeypatch.setitem(sys.modules, "rerun", None)  # what an environment without rerun-sdk looks like to import
    result = CliRunner().invoke(app, ["view", "S01_A01_T1", "--store", str(store)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "flexsync view: error: rerun-sdk is not installed; install it with: pip install 'flexsync[view]'"
    ]
    assert not (tmp_path / "x.rrd").exists()
