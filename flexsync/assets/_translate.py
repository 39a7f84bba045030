"""Translate the domain's plain metadata and check outcomes into Dagster types."""

from __future__ import annotations

import base64
import numbers
from typing import Any

import dagster as dg
import numpy as np

from flexsync.assets._display import display_float, rounded, table_value
from flexsync.quality import CheckOutcome, ImageMeta, PathMeta, TableMeta

__all__ = ["IMAGE_PATH_SUFFIX", "to_check_result", "to_metadata"]

# Each image also gets "<key>_path": where the PNG is, for opening it outside the UI.
IMAGE_PATH_SUFFIX = "_path"


def _image(image: ImageMeta) -> dg.MarkdownMetadataValue:
    """The PNG inline in Markdown: Dagster 1.13 has no image metadata type, and its Markdown
    dialog ("[Show Markdown]") renders an embedded image at full size (an entry under 1000
    characters would render in the table itself, but only a URL is that short, and no server
    hands the store's files to the browser)."""
    encoded = base64.b64encode(image.path.read_bytes()).decode("ascii")
    return dg.MetadataValue.md(f"![{image.path.name}](data:image/png;base64,{encoded})")


def _value(value: Any) -> Any:
    if isinstance(value, TableMeta):
        return table_value(value)
    if isinstance(value, ImageMeta):
        return _image(value)
    if isinstance(value, PathMeta):
        return dg.MetadataValue.path(str(value.path))
    if isinstance(value, (bool, np.bool_)):
        return dg.MetadataValue.bool(bool(value))
    if isinstance(value, numbers.Integral):
        return dg.MetadataValue.int(int(value))
    if isinstance(value, numbers.Real):
        return dg.MetadataValue.float(display_float(value))
    if isinstance(value, (dict, list, tuple)):
        return dg.MetadataValue.json(rounded(value))
    return dg.MetadataValue.text(str(value))


def to_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Dagster metadata for the domain's: one entry per key, plus a path entry after each image."""
    out: dict[str, Any] = {}
    for key, value in metadata.items():
        out[key] = _value(value)
        if isinstance(value, ImageMeta):
            out[key + IMAGE_PATH_SUFFIX] = dg.MetadataValue.path(str(value.path))
    return out


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
