"""Where the training products live in the store, and how their tables and JSON files are committed.

::

    STORE_ROOT/
      samples/<key>.zarr                 one row per repetition: clips, pose, EMG (extract.py)
      tables/samples/<key>.parquet       the samples table partition (extract.py)
      training/sample_index.parquet      every sample, FLEX numbering, normalised score (index.py)
      training/score_ranges.json         {"A01": [min, max], ..., "1": [min, max], ...} (index.py)
      training/videoqa.parquet, .jsonl   FLEX-VideoQA (videoqa.py)
      training/fkg/<table>.parquet       the FKG as tables (fkg_tables.py)

Every file is validated first, then written under a hidden temporary name and renamed into
place (``flexsync.storage.atomic``), with the Parquet settings of ``flexsync.storage.tables``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from flexsync.raw.layout import check_recording_key
from flexsync.samples.schemas import validate_sample_table
from flexsync.storage.atomic import atomic_file
from flexsync.storage.layout import list_table_partitions, table_partition_path
from flexsync.storage.tables import PARQUET_COMPRESSION, PARQUET_COMPRESSION_LEVEL

__all__ = [
    "SAMPLES_DIR",
    "SAMPLES_TABLE",
    "TRAINING_DIR",
    "fkg_table_path",
    "list_sample_partitions",
    "samples_path",
    "samples_table_path",
    "training_path",
    "write_json",
    "write_validated_parquet",
]

logger = logging.getLogger(__name__)

SAMPLES_DIR = "samples"
SAMPLES_TABLE = "samples"
TRAINING_DIR = "training"
_TRAINING_FILES = ("sample_index.parquet", "score_ranges.json", "videoqa.parquet", "videoqa.jsonl")


def samples_path(store_root: Path | str, key: str) -> Path:
    """Zarr group of the samples of recording ``key``."""
    return Path(store_root) / SAMPLES_DIR / f"{check_recording_key(key)}.zarr"


def samples_table_path(store_root: Path | str, key: str) -> Path:
    """Parquet partition of the samples table for recording ``key``."""
    return table_partition_path(store_root, SAMPLES_TABLE, key)


def list_sample_partitions(store_root: Path | str) -> list[str]:
    """Sorted recording keys that have a samples table partition."""
    return list_table_partitions(store_root, SAMPLES_TABLE)


def training_path(store_root: Path | str, name: str) -> Path:
    """One dataset-wide training file (``sample_index.parquet``, ``videoqa.jsonl``, ...)."""
    if name not in _TRAINING_FILES:
        raise ValueError(f"unknown training file {name!r}; expected one of {', '.join(_TRAINING_FILES)}")
    return Path(store_root) / TRAINING_DIR / name


def fkg_table_path(store_root: Path | str, table: str) -> Path:
    """``training/fkg/<table>.parquet`` (table without its ``fkg_`` prefix: actions, key_steps, ...)."""
    return Path(store_root) / TRAINING_DIR / "fkg" / f"{table}.parquet"


def write_validated_parquet(df: pl.DataFrame, table: str, path: Path | str) -> pl.DataFrame:
    """Validate ``df`` against ``table``'s schema, then write it atomically; return the validated frame."""
    validated = validate_sample_table(df, table)
    with atomic_file(path) as tmp:
        validated.write_parquet(
            tmp, compression=PARQUET_COMPRESSION, compression_level=PARQUET_COMPRESSION_LEVEL, statistics=True
        )
    logger.info("table %s: wrote %d rows to %s", table, validated.height, path)
    return validated


def write_json(path: Path | str, data: Any) -> Path:
    """Write ``data`` as indented JSON (insertion order kept, NaN refused), atomically."""
    text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
