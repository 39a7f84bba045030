"""Store paths: built in one place, keys and names checked, hidden work in progress never listed."""

from __future__ import annotations

from pathlib import Path

import pytest

from flexsync.storage.layout import (
    SYNC_REPORT_JSON,
    StoreLayout,
    list_recordings,
    list_staged_streams,
    list_table_partitions,
    recording_path,
    report_path,
    staging_stream_path,
    table_glob,
    table_partition_path,
)


def test_paths_follow_the_templates():
    root = Path("/store")
    assert staging_stream_path(root, "S01_A16_T1", "cam1") == Path("/store/staging/S01_A16_T1/cam1.zarr")
    assert recording_path(root, "S01_A16_T1") == Path("/store/recordings/S01_A16_T1.zarr")
    assert table_partition_path(root, "clock_models", "S01_A16_T1") == Path(
        "/store/tables/clock_models/S01_A16_T1.parquet"
    )
    assert table_glob(root, "streams") == "/store/tables/streams/*.parquet"
    assert report_path(root, "S01_A16_T1", SYNC_REPORT_JSON) == Path("/store/reports/S01_A16_T1/sync_report.json")


@pytest.mark.parametrize("key", ["../S01", "S01/A16", ".S01", "", "S01 A16"])
def test_unsafe_keys_are_refused(key):
    with pytest.raises(ValueError, match="invalid recording key"):
        recording_path("/store", key)


def test_unsafe_names_are_refused():
    with pytest.raises(ValueError, match=r"invalid stream name '\.\./cam1'"):
        staging_stream_path("/store", "S01_A16_T1", "../cam1")
    with pytest.raises(ValueError, match=r"invalid table name 'a/b'"):
        table_partition_path("/store", "a/b", "S01_A16_T1")
    with pytest.raises(ValueError, match=r"unknown report file 'x\.png'"):
        report_path("/store", "S01_A16_T1", "x.png")


def test_listings_skip_hidden_and_foreign_entries(tmp_path):
    for key in ["S02_A01_T1", "S01_A01_T1"]:
        recording_path(tmp_path, key).mkdir(parents=True)
    (tmp_path / "recordings" / ".S03_A01_T1.zarr.tmp-12-0").mkdir()
    (tmp_path / "recordings" / "notes.txt").write_text("x")
    (tmp_path / "recordings" / "file.zarr").write_text("a file, not a group")
    assert list_recordings(tmp_path) == ["S01_A01_T1", "S02_A01_T1"]
    for stream in ["mocap", "cam1"]:
        staging_stream_path(tmp_path, "S01_A01_T1", stream).mkdir(parents=True)
    assert list_staged_streams(tmp_path, "S01_A01_T1") == ["cam1", "mocap"]
    table_partition_path(tmp_path, "streams", "S01_A01_T1").parent.mkdir(parents=True)
    table_partition_path(tmp_path, "streams", "S01_A01_T1").write_bytes(b"")
    (table_partition_path(tmp_path, "streams", "S01_A01_T1").parent / ".S02_A01_T1.parquet.tmp-3-1").mkdir()
    assert list_table_partitions(tmp_path, "streams") == ["S01_A01_T1"]
    assert list_recordings(tmp_path / "nowhere") == []


def test_store_layout_object_gives_the_same_paths(tmp_path):
    store = StoreLayout(str(tmp_path))
    assert store.root == tmp_path
    assert store.staging_stream("S01_A16_T1", "emg") == staging_stream_path(tmp_path, "S01_A16_T1", "emg")
    assert store.recording("S01_A16_T1") == tmp_path / "recordings" / "S01_A16_T1.zarr"
    assert store.table_partition("streams", "S01_A16_T1") == tmp_path / "tables" / "streams" / "S01_A16_T1.parquet"
    assert store.report("S01_A16_T1", SYNC_REPORT_JSON).parent == tmp_path / "reports" / "S01_A16_T1"
    store.recording("S01_A16_T1").mkdir(parents=True)
    assert store.recordings() == ["S01_A16_T1"]
    with pytest.raises(ValueError, match="invalid recording key"):
        store.recording("..")
