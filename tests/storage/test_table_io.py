"""Parquet tables: validated before commit, one file per recording, same rows give the same bytes."""

from __future__ import annotations

import os

import polars as pl
import pytest

from flexsync.schemas.tables import TableValidationError, empty_table
from flexsync.storage.store import Store
from flexsync.storage.tables import write_table


def write_partition(root, table: str, key: str, df: pl.DataFrame):
    """Publish a unit for ``key`` holding just this table (what a publish does for each of its tables)."""
    with Store(root).publish_recording(key) as unit:
        return unit.write_table(table, df)


def read_table(root, table: str, **kwargs) -> pl.DataFrame:
    return Store(root).read_table(table, **kwargs)


def _events(key: str, n: int = 4, offset_s: float = 0.5) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "recording": [key] * n,
            "stream": ["cam1", "emg"] * (n // 2),
            "event": [i // 2 for i in range(n)],
            "source": ["flash", "trigger"] * (n // 2),
            "t_device_s": [1.0 + 10 * (i // 2) for i in range(n)],
            "t_ref_s": [1.0 + 10 * (i // 2) + offset_s for i in range(n)],
            "residual_s": [0.0001 * (-1) ** i for i in range(n)],
            "uncertainty_s": [0.004, 0.0005] * (n // 2),
            "reference_event": [i // 2 for i in range(n)],
            "status": ["fitted"] * n,
        },
        schema=empty_table("sync_events").schema,  # typed even with zero rows
    )


def test_write_then_read_round_trip(tmp_path):
    df = _events("S01_A01_T1")
    result = write_partition(tmp_path, "sync_events", "S01_A01_T1", df)
    path = Store(tmp_path).table_partition("sync_events", "S01_A01_T1")
    assert result.n_rows == 4 and result.recordings == ("S01_A01_T1",)
    assert result.n_bytes == path.stat().st_size > 0
    back = read_table(tmp_path, "sync_events")
    assert back.equals(df)
    assert os.listdir(path.parent) == ["sync_events.parquet"]
    assert os.listdir(tmp_path / ".work") == []  # nothing left of the unit's build


def test_same_rows_give_the_same_bytes_and_rewrites_replace(tmp_path):
    df = _events("S01_A01_T1")
    a = write_table(df, "sync_events", tmp_path / "a" / "S01_A01_T1.parquet")
    b = write_table(df.select(list(reversed(df.columns))), "sync_events", tmp_path / "b" / "S01_A01_T1.parquet")
    assert a.path.read_bytes() == b.path.read_bytes()
    # Re-running a partition replaces it: never two copies of a recording's rows.
    write_partition(tmp_path, "sync_events", "S01_A01_T1", df)
    write_partition(tmp_path, "sync_events", "S01_A01_T1", _events("S01_A01_T1", offset_s=0.75))
    back = read_table(tmp_path, "sync_events")
    assert back.height == 4
    assert back.get_column("t_ref_s").to_list() == [1.75, 1.75, 11.75, 11.75]


def test_invalid_rows_are_refused_and_nothing_is_written(tmp_path):
    df = _events("S01_A01_T1").with_columns(
        pl.when(pl.col("event") == 1).then(pl.lit("gps")).otherwise(pl.col("source")).alias("source")
    )
    with pytest.raises(TableValidationError, match=r"table 'sync_events' \(recording S01_A01_T1\): 2 schema") as info:
        write_partition(tmp_path, "sync_events", "S01_A01_T1", df)
    cases = info.value.failure_cases
    assert cases.select("recording", "column", "failure_case", "row").rows() == [
        ("S01_A01_T1", "source", "gps", 2),
        ("S01_A01_T1", "source", "gps", 3),
    ]
    assert list(tmp_path.rglob("*.parquet")) == []
    assert Store(tmp_path).table_keys("sync_events") == []


def test_rows_of_another_recording_do_not_belong_in_the_partition(tmp_path):
    df = pl.concat([_events("S01_A01_T1"), _events("S02_A01_T1")])
    with pytest.raises(
        TableValidationError,
        match=r"4 schema failure\(s\): column 'recording' failed belongs to "
        r"partition S01_A01_T1: S02_A01_T1 \(row 4\)",
    ) as info:
        write_partition(tmp_path, "sync_events", "S01_A01_T1", df)
    assert info.value.recordings == ["S01_A01_T1", "S02_A01_T1"]
    with pytest.raises(ValueError, match=r"must be a \.parquet of a valid key"):
        write_table(df, "sync_events", tmp_path / "all.csv")


def test_partitions_read_in_recording_order_ignoring_crash_debris(tmp_path):
    for key in ["S02_A01_T1", "S01_A01_T2", "S01_A01_T1"]:
        write_partition(tmp_path, "sync_events", key, _events(key))
    write_partition(tmp_path, "sync_events", "S03_A01_T1", _events("S03_A01_T1", n=0))
    # What a publisher killed mid-unit leaves: a complete-looking unit under .work/.
    debris = tmp_path / ".work" / ".recordings-S09_A01_T1.tmp-1-0" / "tables"
    debris.mkdir(parents=True)
    _events("S09_A01_T1").write_parquet(debris / "sync_events.parquet")
    back = read_table(tmp_path, "sync_events", validate=True)
    assert back.get_column("recording").unique(maintain_order=True).to_list() == [
        "S01_A01_T1",
        "S01_A01_T2",
        "S02_A01_T1",
    ]
    assert back.height == 12
    assert back.filter(pl.col("recording") == "S01_A01_T1").get_column("stream").to_list() == [
        "cam1",
        "emg",
        "cam1",
        "emg",
    ]
    # The documented glob for other tools sees the same partitions, not the debris.
    assert pl.scan_parquet(Store(tmp_path).table_glob("sync_events")).collect().height == 12


def test_reading_a_table_without_partitions_gives_its_empty_schema(tmp_path):
    empty = read_table(tmp_path, "dropped_frames")
    assert empty.height == 0
    assert empty.schema["n_missing"] == pl.Int32 and empty.schema["after_frame"] == pl.Int64
    with pytest.raises(KeyError, match="unknown table 'frames'"):
        read_table(tmp_path, "frames")
