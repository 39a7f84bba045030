"""The metadata values the UI prints: rounded floats, typed tables, images with their path."""

from __future__ import annotations

import math

import dagster as dg
import numpy as np

from flexsync.assets import ALL_ASSETS
from flexsync.assets._display import MAX_TABLE_ROWS, display_float, table_value
from flexsync.assets._translate import to_metadata
from flexsync.quality import ImageMeta, TableMeta


def test_floats_keep_six_significant_digits_and_every_integer_digit():
    assert display_float(2000.0000000000002) == 2000.0
    assert display_float(1.1709658709563775) == 1.17097
    assert display_float(0.0141421356) == 0.0141421
    assert display_float(1733233380.1234) == 1733233380.0
    assert math.isnan(display_float(math.nan))


def test_a_table_is_typed_rounded_and_says_what_it_leaves_out():
    rows = tuple((f"s{i}", i, 0.1 * i + 1e-12, np.bool_(i % 2), math.nan) for i in range(MAX_TABLE_ROWS + 3))
    table = table_value(TableMeta(("stream", "n", "rate_hz", "ok", "gap"), rows))
    assert [(c.name, c.type) for c in table.schema.columns] == [
        ("stream", "string"),
        ("n", "int"),
        ("rate_hz", "float"),
        ("ok", "bool"),
        ("gap", "string"),  # NaN is shown as text: JSON has no NaN
    ]
    assert table.records[1].data == {"stream": "s1", "n": 1, "rate_hz": 0.1, "ok": True, "gap": "nan"}
    assert table.records[-1].data["stream"] == "… 3 more rows"
    assert len(table.records) == MAX_TABLE_ROWS + 1


def test_an_image_comes_with_its_path(tmp_path):
    png = tmp_path / "sync_report.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    metadata = to_metadata(
        {"sync_plot": ImageMeta(png), "rate_hz": 2000.0000000000002, "offsets": [0.43769743210000004]}
    )
    assert isinstance(metadata["sync_plot"], dg.MarkdownMetadataValue)
    assert metadata["sync_plot"].md_str.startswith("![sync_report.png](data:image/png;base64,")
    assert metadata["sync_plot_path"] == dg.MetadataValue.path(str(png))
    assert metadata["rate_hz"] == dg.MetadataValue.float(2000.0)
    assert metadata["offsets"] == dg.MetadataValue.json([0.437697])


def test_every_check_says_what_it_checks():
    """The Checks tab shows each check's description under "About": none may be empty."""
    missing = [spec.key.to_user_string() for asset in ALL_ASSETS for spec in asset.check_specs if not spec.description]
    assert not missing, f"checks without a description: {missing}"
