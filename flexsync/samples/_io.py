"""How the training products' tables and JSON files are committed: validated first, then through the Store.

Where they live is the store's business (:class:`flexsync.storage.Store`: ``training_path``,
``fkg_table_path``); these helpers only add the validation and the JSON text format, so that a
file that fails its schema is never written and the same data always gives the same bytes.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import polars as pl

from flexsync.samples.schemas import validate_sample_table
from flexsync.storage.store import Store

__all__ = ["write_json", "write_validated_parquet"]

logger = logging.getLogger(__name__)


def write_validated_parquet(store: Store, df: pl.DataFrame, table: str, path: Path) -> pl.DataFrame:
    """Validate ``df`` against ``table``'s schema, then write it to ``path`` (a Store path); return it validated."""
    validated = validate_sample_table(df, table)
    store.write_parquet(path, validated)
    logger.info("table %s: wrote %d rows to %s", table, validated.height, path)
    return validated


def write_json(store: Store, path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON (insertion order kept, NaN refused) to ``path`` (a Store path)."""
    text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False) + "\n"
    return store.write_text(path, text)
