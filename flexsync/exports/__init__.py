"""Exports of the samples to other projects' layouts (today: the FLEX / CoRe JPEG + CSV tree).

:func:`export_flex` writes the tree; :class:`FlexExport` reads it back with FLEX's own calls;
:mod:`flexsync.exports.score_ranges` holds the per-class score ranges the consumer normalises
with. Names are loaded on first access, so ``flexsync.exports.score_ranges`` (used by the
generator) does not pull in the writer's dependencies.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "FLEX_EMG_PICKS",
    "ExportResult",
    "FlexExport",
    "ScoreRangeError",
    "cross_view_index_offset",
    "emg_column_order",
    "export_flex",
    "export_name",
    "flex_score_ranges",
    "read_score_ranges",
    "score_range_problems",
]

_WHERE = {
    "ExportResult": "flexsync.exports.flex",
    "cross_view_index_offset": "flexsync.exports.flex",
    "emg_column_order": "flexsync.exports.flex",
    "export_flex": "flexsync.exports.flex",
    "export_name": "flexsync.exports.flex",
    "FLEX_EMG_PICKS": "flexsync.exports.flex_reader",
    "FlexExport": "flexsync.exports.flex_reader",
    "ScoreRangeError": "flexsync.exports.score_ranges",
    "flex_score_ranges": "flexsync.exports.score_ranges",
    "read_score_ranges": "flexsync.exports.score_ranges",
    "score_range_problems": "flexsync.exports.score_ranges",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'flexsync.exports' has no attribute {name!r}; public names: {__all__}")
    return getattr(importlib.import_module(module), name)
