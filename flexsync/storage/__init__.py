"""The flexsync store: one object that owns every path, open and commit; Zarr and Parquet IO below it.

See docs/store-format.md for the layout and how to open a store from zarr-python, polars and DuckDB,
and docs/object-stores.md for roots on an object store (``Store("s3://bucket/prefix")``).
"""

from flexsync.storage.atomic import (
    LinkStats,
    atomic_directory,
    atomic_file,
    link_or_copy_tree,
    remove_stale_temporaries,
)
from flexsync.storage.remote_store import RemoteStore  # registers the Store of object-store URLs
from flexsync.storage.store import (
    RECORDING_TABLES,
    SAMPLES_TABLE,
    SYNC_REPORT_JSON,
    SYNC_REPORT_PNG,
    Store,
    UnitWriter,
    check_slug,
    is_hidden,
)
from flexsync.storage.tables import TableWriteResult, read_partitions, write_table
from flexsync.storage.zarr_io import (
    ChunkedAppender,
    RecordingNotReadyError,
    create_array,
    normalize_attrs,
    open_group_for_write,
    open_group_readonly,
    read_recording,
    set_attrs,
    write_array,
)

__all__ = [
    "RECORDING_TABLES",
    "SAMPLES_TABLE",
    "SYNC_REPORT_JSON",
    "SYNC_REPORT_PNG",
    "ChunkedAppender",
    "LinkStats",
    "RecordingNotReadyError",
    "RemoteStore",
    "Store",
    "TableWriteResult",
    "UnitWriter",
    "atomic_directory",
    "atomic_file",
    "check_slug",
    "create_array",
    "is_hidden",
    "link_or_copy_tree",
    "normalize_attrs",
    "open_group_for_write",
    "open_group_readonly",
    "read_partitions",
    "read_recording",
    "remove_stale_temporaries",
    "set_attrs",
    "write_array",
    "write_table",
]
