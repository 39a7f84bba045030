"""xarray reads a published recording's groups and DuckDB its tables, as docs/store-format.md says.

Each value is compared with what flexsync's own readers give (``Store.open_recording``, the
loaders' ``ZarrRowReader``, ``Store.read_table``, ``ClockModel``), on a recording the pipeline
published with H.264 frames: xarray decodes those through the ``flexsync.h264`` codec, found by
zarr through the entry point.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from published_store import published_store

from flexsync.storage import Store
from flexsync.storage.chunk_reader import ZarrRowReader
from flexsync.timing.clock_model import ClockModel

xr = pytest.importorskip("xarray")
duckdb = pytest.importorskip("duckdb")


@pytest.fixture(scope="session")
def published(synth_dataset, tmp_path_factory) -> tuple[Path, str]:
    return published_store(synth_dataset, tmp_path_factory)


def _open(path: Path, group: str):
    return xr.open_zarr(path, group=group, consolidated=False)


def test_xarray_opens_emg_with_named_dimensions(published):
    store, key = published
    path = Store(store).recording_path(key)
    rec = Store(store).open_recording(key)
    emg = rec["streams/emg"]
    n, channels = emg["raw"].shape
    m = emg["envelope"].shape[0]
    ds = _open(path, "streams/emg")
    assert dict(ds.sizes) == {"N": n, "channel": channels, "M": m}
    assert ds["raw"].dims == ("N", "channel") and ds["envelope"].dims == ("M", "channel")
    assert ds["t"].dims == ds["t_device"].dims == ds["trigger"].dims == ("N",)
    assert ds.attrs["channel_names"] == emg.attrs["channel_names"] and ds.attrs["kind"] == "emg"
    assert np.array_equal(ds["raw"].values, emg["raw"][:])
    assert np.array_equal(ds["envelope_t"].values, emg["envelope_t"][:])
    reader = ZarrRowReader(path)
    assert np.array_equal(ds["clean"][5000:7000].values, reader.read_rows("streams/emg/clean", 5000, 7000))
    # Reference-clock selection the xarray way: t as the index of N.
    window = ds.set_coords("t").swap_dims(N="t").sel(t=slice(2.0, 3.0))
    inside = (emg["t"][:] >= 2.0) & (emg["t"][:] <= 3.0)
    assert window.sizes["t"] == int(inside.sum()) > 1000
    assert np.array_equal(window["raw"].values, emg["raw"][:][inside])


def test_xarray_decodes_h264_frames_of_a_view(published):
    store, key = published
    path = Store(store).recording_path(key)
    cam = Store(store).open_recording(key)["streams/cam1"]
    assert cam["frames"].metadata.codecs[0].to_dict()["name"] == "flexsync.h264"
    n, height, width, _ = cam["frames"].shape
    ds = _open(path, "streams/cam1")
    assert ds["frames"].dims == ("N", "height", "width", "rgb")
    assert ds["frames"].shape == (n, height, width, 3) and ds["frames"].dtype == np.uint8
    assert ds["luma_grid"].dims[0] == "N" and ds.sizes["N"] == n
    assert ds.attrs["width"] == width and ds.attrs["height"] == height
    if "keypoints_2d" in cam:
        assert ds["keypoints_2d"].dims == ("N", "joint", "uv") and ds["keypoints_visible"].dims == ("N", "joint")
        assert np.array_equal(ds["keypoints_visible"].values, cam["keypoints_visible"][:])
    # Rows 10:40 span two GOPs, the last rows end in the padded last chunk.
    frames = ds["frames"][10:40].values
    assert np.array_equal(frames, ZarrRowReader(path).read_rows("streams/cam1/frames", 10, 40))
    assert np.array_equal(frames, cam["frames"][10:40])
    assert np.array_equal(ds["frames"][n - 3 :].values, cam["frames"][n - 3 :])
    assert frames.std() > 10  # real pictures, not the fill value


def test_xarray_opens_the_grid(published):
    store, key = published
    path = Store(store).recording_path(key)
    grid = Store(store).open_recording(key)["grid"]
    ds = _open(path, "grid")
    g = grid["t"].shape[0]
    assert dict(ds.sizes) == {
        "G": g,
        "view": len(grid.attrs["views"]),
        "joint": 21,
        "xyz": 3,
        "E": grid["emg_envelope"].shape[1],
        "P": 2,
    }
    assert ds["pose"].dims == ("G", "joint", "xyz") and ds["video_frame_index"].dims == ("G", "view")
    assert np.array_equal(ds["video_frame_index"].values, grid["video_frame_index"][:])
    np.testing.assert_array_equal(ds["pose"].values, grid["pose"][:])
    assert ds.attrs["views"] == grid.attrs["views"]


def test_duckdb_counts_sync_events_per_stream(published):
    store, _ = published
    glob = f"{store}/recordings/*/tables/sync_events.parquet"
    rows = duckdb.sql(f"select stream, count(*) as n from '{glob}' group by stream order by stream").fetchall()
    ours = Store(store).read_table("sync_events").group_by("stream").len().sort("stream")
    assert rows == list(zip(ours["stream"], ours["len"], strict=True))
    assert len(rows) == 8 and all(n >= 2 for _, n in rows)
    # The glob of the docs' example reads the same rows as flexsync.
    models = duckdb.sql(f"select * from '{store}/recordings/*/tables/clock_models.parquet'").pl()
    assert models.sort("stream").equals(Store(store).read_table("clock_models").sort("stream"))


def test_duckdb_join_of_clock_models_and_sync_events_is_the_clock_model(published):
    store, key = published
    rec = Store(store).open_recording(key)
    joined = duckdb.sql(
        f"""
        select e.stream, e.event, e.t_device_s, e.t_ref_s,
               m.offset_s + (1 + m.drift_ppm * 1e-6) * e.t_device_s as t_model
        from '{store}/recordings/*/tables/sync_events.parquet' e
        join '{store}/recordings/*/tables/clock_models.parquet' m
          on e.recording = m.recording and e.stream = m.stream
         and e.t_device_s between m.device_start_s and m.device_end_s
        order by e.stream, e.event
        """
    ).pl()
    assert joined.height == Store(store).read_table("sync_events").height
    for (stream,), rows in joined.group_by("stream", maintain_order=True):
        model = ClockModel.from_dict(rec.attrs["clock_models"][stream])
        expected = model.to_reference(rows["t_device_s"].to_numpy())
        np.testing.assert_allclose(rows["t_model"].to_numpy(), expected, rtol=0, atol=1e-9)
        np.testing.assert_allclose(rows["t_ref_s"].to_numpy(), expected, rtol=0, atol=1e-9)
    assert joined.filter(pl.col("t_model").is_null()).height == 0
