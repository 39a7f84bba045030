"""How plain values look in the Dagster UI: rounded floats and typed tables.

The UI prints a float as JavaScript does (``2000.0000000000002``), so every float shown is
rounded first; tables become Dagster table metadata, which the asset page renders inline.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import dagster as dg
import numpy as np

from flexsync.quality import TableMeta

__all__ = ["MAX_TABLE_ROWS", "display_float", "rounded", "table_value"]

# A table in the metadata panel is for reading, not a data dump: the rest is in the store.
MAX_TABLE_ROWS = 50
SIGNIFICANT_DIGITS = 6


def display_float(value: float) -> float:
    """``value`` to six significant digits, never dropping integer digits (2000.0000000000002 -> 2000.0)."""
    value = float(value)
    if not math.isfinite(value) or value == 0.0:
        return value
    return round(value, max(0, SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value)))))


def _cell(value: Any) -> str | int | float | bool | None:
    """One table cell as a JSON scalar the UI can print (NaN and infinities as text)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        number = float(value)
        return display_float(number) if math.isfinite(number) else str(number)
    return str(value)


def rounded(value: Any) -> Any:
    """``value`` with every float inside it (dicts, lists, tuples) rounded by ``display_float``."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return display_float(value)
    return value


def _column_type(cells: Sequence[Any]) -> str:
    present = [c for c in cells if c is not None]
    if present and all(isinstance(c, bool) for c in present):
        return "bool"
    if present and all(isinstance(c, int) and not isinstance(c, bool) for c in present):
        return "int"
    if present and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in present):
        return "float"
    return "string"


def table_value(table: TableMeta, max_rows: int = MAX_TABLE_ROWS) -> dg.TableMetadataValue:
    """``table`` as Dagster table metadata: typed columns, rounded floats, a last row naming rows left out."""
    rows = [[_cell(v) for v in row] for row in table.rows[:max_rows]]
    columns = list(table.columns)
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, _column_type([row[i] for row in rows])) for i, name in enumerate(columns)]
    )
    records = [dg.TableRecord(dict(zip(columns, row, strict=True))) for row in rows]
    left_out = len(table.rows) - len(rows)
    if left_out > 0 and columns:
        records.append(
            dg.TableRecord({name: f"… {left_out} more rows" if i == 0 else None for i, name in enumerate(columns)})
        )
    return dg.MetadataValue.table(records=records, schema=schema)
