"""Write and read the Parquet tables: one validated file per table and recording.

A partition file is replaced whole (atomic rename), so re-running a recording never appends
twice. Files are written with fixed settings (zstd level 3, statistics on, one polars version)
so the same rows give the same bytes. Readers take every ``tables/<table>/*.parquet`` partition,
skipping hidden temporaries, and concatenate them in recording order.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flexsync.raw.layout import RECORDING_KEY_PATTERN
from flexsync.schemas.tables import TableValidationError, empty_table, table_schema, validate_table
from flexsync.storage.atomic import atomic_file
from flexsync.storage.layout import list_table_partitions, table_partition_path

__all__ = [
    "PARQUET_COMPRESSION",
    "PARQUET_COMPRESSION_LEVEL",
    "TableWriteResult",
    "read_table",
    "write_partition",
    "write_table",
]

logger = logging.getLogger(__name__)

PARQUET_COMPRESSION = "zstd"
PARQUET_COMPRESSION_LEVEL = 3


@dataclass(frozen=True)
class TableWriteResult:
    """What ``write_table`` committed (for asset metadata)."""

    table: str
    path: Path
    n_rows: int
    n_bytes: int
    recordings: tuple[str, ...]


def write_table(df: pl.DataFrame, table: str, path: Path | str) -> TableWriteResult:
    """Validate ``df`` against the schema of ``table`` and write it atomically to ``path``.

    ``path`` is a partition file ``.../<key>.parquet``: every row must belong to recording
    ``<key>`` (otherwise reading all partitions would count rows twice). Columns are written in
    schema order. Zero rows are fine (a recording without dropped frames still gets a file, so
    "nothing found" is distinguishable from "not computed").

    Raises
    ------
    KeyError
        If ``table`` is unknown.
    TableValidationError
        If the schema fails or rows belong to another recording; nothing is written then.
    """
    path = Path(path)
    if path.suffix != ".parquet" or not RECORDING_KEY_PATTERN.match(path.stem):
        raise ValueError(f"table {table!r}: partition path {path} must be named <recording key>.parquet")
    table_schema(table)
    validated = validate_table(df, table)
    _check_partition(validated, table, key=path.stem)
    with atomic_file(path) as tmp:
        validated.write_parquet(
            tmp, compression=PARQUET_COMPRESSION, compression_level=PARQUET_COMPRESSION_LEVEL, statistics=True
        )
    n_bytes = path.stat().st_size
    logger.info("table %s, recording %s: wrote %d rows (%d bytes) to %s", table, path.stem, df.height, n_bytes, path)
    return TableWriteResult(table=table, path=path, n_rows=df.height, n_bytes=n_bytes, recordings=(path.stem,))


def write_partition(store_root: Path | str, table: str, key: str, df: pl.DataFrame) -> TableWriteResult:
    """``write_table`` to the standard partition ``tables/<table>/<key>.parquet`` of ``store_root``."""
    return write_table(df, table, table_partition_path(store_root, table, key))


def read_table(store_root: Path | str, table: str, *, validate: bool = False) -> pl.DataFrame:
    """All partitions of ``table`` concatenated, sorted by recording (row order kept within one).

    Returns an empty frame with the schema's columns and dtypes when no partition exists.
    ``validate=True`` re-checks the result against the current schema (catches partitions
    written by an older version).
    """
    table_schema(table)
    keys = list_table_partitions(store_root, table)
    if not keys:
        return empty_table(table)
    files = [table_partition_path(store_root, table, key) for key in keys]
    df = pl.read_parquet(files).sort("recording", maintain_order=True)
    if validate:
        df = validate_table(df, table)
    return df


def _check_partition(df: pl.DataFrame, table: str, *, key: str) -> None:
    wrong = df.with_row_index("row").filter(pl.col("recording") != key)
    if wrong.height == 0:
        return
    cases = wrong.head(100).select(
        pl.col("recording"),
        pl.lit("recording").alias("column"),
        pl.lit(f"belongs to partition {key}").alias("check"),
        pl.col("recording").alias("failure_case"),
        pl.col("row").cast(pl.Int64),
    )
    raise TableValidationError(table, sorted(set(df.get_column("recording").to_list())), cases, wrong.height)
