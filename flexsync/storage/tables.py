"""Write and read the Parquet tables: one validated file per table and recording.

A partition file is replaced whole (atomic rename), so re-running a recording never appends
twice. Files are written with fixed settings (zstd level 3, statistics on, one polars version)
so the same rows give the same bytes. Where partitions live is the store's business
(:mod:`flexsync.storage.store`); this module writes and reads the files it is given.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from flexsync.raw.layout import RECORDING_KEY_PATTERN
from flexsync.schemas.tables import TableValidationError, empty_table, table_schema, validate_table
from flexsync.storage.atomic import atomic_file

__all__ = [
    "PARQUET_COMPRESSION",
    "PARQUET_COMPRESSION_LEVEL",
    "TableWriteResult",
    "read_partitions",
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


def write_table(
    df: pl.DataFrame, table: str, path: Path | str, *, key: str | None = None, atomic: bool = True
) -> TableWriteResult:
    """Validate ``df`` against the schema of ``table`` and write it to ``path``.

    Every row must belong to recording ``key`` (default: the file's stem), otherwise reading all
    partitions would count rows twice. Columns are written in schema order. Zero rows are fine (a
    recording without dropped frames still gets a file, so "nothing found" is distinguishable from
    "not computed"). ``atomic=False`` writes in place: for files inside a unit that is committed whole.

    Raises
    ------
    KeyError
        If ``table`` is unknown.
    TableValidationError
        If the schema fails or rows belong to another recording; nothing is written then.
    """
    path = Path(path)
    key = path.stem if key is None else key
    if path.suffix != ".parquet" or not RECORDING_KEY_PATTERN.match(key):
        raise ValueError(f"table {table!r}: partition {path} of recording {key!r} must be a .parquet of a valid key")
    table_schema(table)
    validated = validate_table(df, table)
    _check_partition(validated, table, key=key)
    settings = {"compression": PARQUET_COMPRESSION, "compression_level": PARQUET_COMPRESSION_LEVEL, "statistics": True}
    if atomic:
        with atomic_file(path) as tmp:
            validated.write_parquet(tmp, **settings)
    else:
        validated.write_parquet(path, **settings)
    n_bytes = path.stat().st_size
    logger.info("table %s, recording %s: wrote %d rows (%d bytes) to %s", table, key, df.height, n_bytes, path)
    return TableWriteResult(table=table, path=path, n_rows=df.height, n_bytes=n_bytes, recordings=(key,))


def read_partitions(table: str, files: list[Path], *, validate: bool = False) -> pl.DataFrame:
    """Partitions of ``table`` concatenated, sorted by recording (row order kept within one).

    Returns an empty frame with the schema's columns and dtypes when there is no file.
    ``validate=True`` re-checks the result against the current schema (catches partitions
    written by an older version).
    """
    table_schema(table)
    if not files:
        return empty_table(table)
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
