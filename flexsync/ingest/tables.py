"""Build table rows with exactly the dtypes their schema demands."""

from __future__ import annotations

from typing import Any

import polars as pl

from flexsync.schemas.tables import empty_table

__all__ = ["table_frame"]


def table_frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A DataFrame of ``rows`` with the columns and dtypes of ``table`` (strict: no coercion later)."""
    schema = empty_table(table).schema
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)
