"""Translate the domain's plain metadata and check outcomes into Dagster types."""

from __future__ import annotations

import base64
from typing import Any

import dagster as dg

from flexsync.quality import CheckOutcome, ImageMeta, PathMeta, TableMeta

__all__ = ["to_check_result", "to_metadata"]


def _value(value: Any) -> Any:
    if isinstance(value, TableMeta):
        return dg.MetadataValue.md(value.to_markdown())
    if isinstance(value, ImageMeta):
        encoded = base64.b64encode(value.path.read_bytes()).decode("ascii")
        return dg.MetadataValue.md(f"![{value.path.name}](data:image/png;base64,{encoded})")
    if isinstance(value, PathMeta):
        return dg.MetadataValue.path(str(value.path))
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, bool):
        return dg.MetadataValue.bool(value)
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    if isinstance(value, (dict, list, tuple)):
        return dg.MetadataValue.json(value if not isinstance(value, tuple) else list(value))
    return dg.MetadataValue.text(str(value))


def to_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    return {key: _value(value) for key, value in metadata.items()}


def to_check_result(outcome: CheckOutcome, asset_key: dg.AssetKey | str) -> dg.AssetCheckResult:
    severity = dg.AssetCheckSeverity.ERROR if outcome.severity == "error" else dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=outcome.name,
        asset_key=dg.AssetKey(asset_key) if isinstance(asset_key, str) else asset_key,
        passed=outcome.passed,
        severity=severity,
        description=outcome.description,
        metadata=to_metadata(outcome.metadata),
    )
