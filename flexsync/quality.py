"""Check outcomes and UI-facing metadata in plain Python, free of any orchestrator.

The domain library decides whether data is good and what a person should see about it;
the Dagster layer only translates these objects into its own types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["CheckOutcome", "ImageMeta", "Metadata", "PathMeta", "TableMeta"]

Severity = Literal["error", "warn"]


@dataclass(frozen=True)
class TableMeta:
    """A small table for the UI: column names and rows of plain values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def to_markdown(self, max_rows: int = 50) -> str:
        head = "| " + " | ".join(self.columns) + " |\n|" + "---|" * len(self.columns) + "\n"
        body = "".join("| " + " | ".join(_cell(v) for v in row) + " |\n" for row in self.rows[:max_rows])
        more = f"\n… {len(self.rows) - max_rows} more rows\n" if len(self.rows) > max_rows else ""
        return head + body + more


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass(frozen=True)
class ImageMeta:
    """A PNG file to show inline."""

    path: Path


@dataclass(frozen=True)
class PathMeta:
    path: Path


Metadata = dict[str, Any]


@dataclass(frozen=True)
class CheckOutcome:
    """The result of one data check for one recording.

    ``severity`` says what a failure means: "error" blocks downstream work, "warn" is reported.
    ``description`` names the recording, the stream and the reason.
    """

    name: str
    passed: bool
    severity: Severity
    description: str
    metadata: Metadata = field(default_factory=dict)
