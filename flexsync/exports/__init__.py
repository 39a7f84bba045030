"""Exports of the samples to other projects' layouts (today: the FLEX / CoRe JPEG + CSV tree).

:func:`export_flex` writes the tree; :class:`FlexExport` reads it back with FLEX's own calls.
"""

from flexsync.exports.flex import ExportResult, cross_view_index_offset, emg_column_order, export_flex
from flexsync.exports.flex_reader import FLEX_EMG_PICKS, FlexExport

__all__ = [
    "FLEX_EMG_PICKS",
    "ExportResult",
    "FlexExport",
    "cross_view_index_offset",
    "emg_column_order",
    "export_flex",
]
