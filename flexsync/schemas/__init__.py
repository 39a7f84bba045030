"""Contracts: the pandera schema of every table and the Zarr layout of every group.

Written once here; writers, readers, Dagster checks and tests all use these definitions.
"""

from flexsync.schemas.tables import (
    TABLE_KEYS,
    TABLE_SCHEMAS,
    ChannelQualityTable,
    ClockModelsTable,
    DroppedFramesTable,
    RecordingsTable,
    StreamsTable,
    SyncEventsTable,
    TableValidationError,
    empty_table,
    table_schema,
    validate_table,
)
from flexsync.schemas.zarr_layout import (
    GRID_SPEC,
    LAYOUT_VERSION,
    ROOT_ATTRS,
    STATUS_COMPLETE,
    STREAM_SPECS,
    ArraySpec,
    AttrSpec,
    GroupSpec,
    check_recording_group,
    check_staging_group,
    default_chunks,
    group_spec,
)

__all__ = [
    "GRID_SPEC",
    "LAYOUT_VERSION",
    "ROOT_ATTRS",
    "STATUS_COMPLETE",
    "STREAM_SPECS",
    "TABLE_KEYS",
    "TABLE_SCHEMAS",
    "ArraySpec",
    "AttrSpec",
    "ChannelQualityTable",
    "ClockModelsTable",
    "DroppedFramesTable",
    "GroupSpec",
    "RecordingsTable",
    "StreamsTable",
    "SyncEventsTable",
    "TableValidationError",
    "check_recording_group",
    "check_staging_group",
    "default_chunks",
    "empty_table",
    "group_spec",
    "table_schema",
    "validate_table",
]
