"""The Store: every path in one place, keys and names checked, units committed whole, debris never listed."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from flexsync.errors import MissingInputError
from flexsync.storage.store import SYNC_REPORT_JSON, SYNC_REPORT_PNG, Store


def test_paths_follow_the_layout():
    store = Store("/store")
    key = "S01_A16_T1"
    assert store.recording_path(key) == Path("/store/recordings/S01_A16_T1/recording.zarr")
    assert store.table_partition("streams", key) == Path("/store/recordings/S01_A16_T1/tables/streams.parquet")
    assert store.table_partition("samples", key) == Path("/store/samples/S01_A16_T1/tables/samples.parquet")
    assert store.report_file(key, SYNC_REPORT_PNG) == Path("/store/recordings/S01_A16_T1/report/sync_report.png")
    assert store.samples_path(key) == Path("/store/samples/S01_A16_T1/samples.zarr")
    assert store.samples_member(key) == "samples/S01_A16_T1/samples.zarr"
    assert store.training_path("splits.parquet") == Path("/store/training/splits.parquet")
    assert store.fkg_table_path("actions") == Path("/store/training/fkg/actions.parquet")
    assert store.export_dir() == Path("/store/export/flex")
    assert store.table_glob("clock_models") == "/store/recordings/*/tables/clock_models.parquet"


@pytest.mark.parametrize("key", ["", "../x", "a/b", "S01 A01", "_x", "x" * 200])
def test_bad_keys_are_refused(key):
    with pytest.raises(ValueError, match="invalid recording key"):
        Store("/store").recording_path(key)


def test_unsafe_names_are_refused(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(ValueError, match=r"invalid stream name '\.\./cam1'"):
        store.staged_stream_path("S01_A16_T1", "../cam1")
    with pytest.raises(ValueError, match=r"invalid table name 'a/b'"):
        store.table_partition("a/b", "S01_A16_T1")
    with pytest.raises(ValueError, match=r"unknown report file 'x\.png'"):
        store.report_file("S01_A16_T1", "x.png")
    with pytest.raises(ValueError, match=r"unknown training file 'x\.parquet'"):
        store.training_path("x.parquet")
    with pytest.raises(ValueError, match="is not inside the store"):
        store.write_text(tmp_path.parent / "elsewhere.json", "{}")


def test_listings_skip_hidden_foreign_and_incomplete_entries(tmp_path):
    store = Store(tmp_path)
    for key in ["S02_A01_T1", "S01_A01_T1"]:
        with store.publish_recording(key) as unit:
            unit.open_zarr({"status": "complete"})
    (tmp_path / "recordings" / ".S03_A01_T1").mkdir()
    (tmp_path / "recordings" / "notes.txt").write_text("x")
    (tmp_path / "recordings" / "S04_A01_T1").mkdir()  # a folder without recording.zarr: not a unit
    assert store.recordings() == ["S01_A01_T1", "S02_A01_T1"]
    assert store.table_keys("streams") == []
    assert Store(tmp_path / "nowhere").recordings() == []


def test_a_failed_unit_changes_nothing_and_leaves_no_debris(tmp_path):
    store = Store(tmp_path)
    with store.publish_recording("S01_A01_T1") as unit:
        unit.open_zarr({"version": 1})
        (unit.folder / "report").mkdir()
        (unit.folder / "report" / SYNC_REPORT_JSON).write_text('{"v": 1}')
    before = {p: p.read_bytes() for p in (tmp_path / "recordings").rglob("*") if p.is_file()}
    with pytest.raises(RuntimeError, match="half-way"), store.publish_recording("S01_A01_T1") as unit:
        unit.open_zarr({"version": 2})
        raise RuntimeError("half-way")
    assert {p: p.read_bytes() for p in (tmp_path / "recordings").rglob("*") if p.is_file()} == before
    assert os.listdir(tmp_path / ".work") == []
    assert store.report_file("S01_A01_T1", SYNC_REPORT_JSON).read_text() == '{"v": 1}'


def test_staged_stream_and_clock_fit(tmp_path):
    store = Store(tmp_path)
    with pytest.raises(MissingInputError, match="materialise its stream asset first"):
        store.staged_stream_path("S01_A01_T1", "cam1")
    with store.write_staged_stream("S01_A01_T1", "cam1") as folder:
        (folder / "zarr.json").write_text("{}")
    assert store.staged_stream_path("S01_A01_T1", "cam1") == tmp_path / "staging/S01_A01_T1/cam1.zarr"
    with pytest.raises(MissingInputError, match="materialise clock_models first"):
        store.read_clock_report("S01_A01_T1")
    with pytest.raises(ValueError, match="a clock fit is the tables"):
        store.write_clock_fit("S01_A01_T1", {}, {})


def test_training_files_are_written_atomically_and_read_back(tmp_path):
    store = Store(tmp_path)
    path = store.write_parquet(store.training_path("splits.parquet"), pl.DataFrame({"a": [1, 2]}))
    assert store.read_parquet(path, what="splits").get_column("a").to_list() == [1, 2]
    with pytest.raises(MissingInputError, match=r"sample_index\.parquet not found: materialise sample_index first"):
        store.read_parquet(store.training_path("sample_index.parquet"), what="sample_index")
    assert os.listdir(tmp_path / ".work") == []


def test_check_writable_names_the_store(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match=f"store {blocker / 'store'} cannot be written"):
        Store(blocker / "store").check_writable()
    Store(tmp_path / "fine").check_writable()
