"""The flexsync store: where files go, how they are committed atomically, Zarr and Parquet IO.

See docs/store-format.md for the layout and how to open a store from zarr-python and polars.
"""

from flexsync.storage.atomic import (
    LinkStats,
    atomic_directory,
    atomic_file,
    link_or_copy_tree,
    remove_stale_temporaries,
)
from flexsync.storage.layout import (
    StoreLayout,
    list_recordings,
    list_staged_streams,
    list_table_partitions,
    recording_path,
    report_path,
    staging_dir,
    staging_stream_path,
    table_glob,
    table_partition_path,
)
from flexsync.storage.tables import TableWriteResult, read_table, write_partition, write_table
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
    "ChunkedAppender",
    "LinkStats",
    "RecordingNotReadyError",
    "StoreLayout",
    "TableWriteResult",
    "atomic_directory",
    "atomic_file",
    "create_array",
    "link_or_copy_tree",
    "list_recordings",
    "list_staged_streams",
    "list_table_partitions",
    "normalize_attrs",
    "open_group_for_write",
    "open_group_readonly",
    "read_recording",
    "read_table",
    "recording_path",
    "remove_stale_temporaries",
    "report_path",
    "set_attrs",
    "staging_dir",
    "staging_stream_path",
    "table_glob",
    "table_partition_path",
    "write_array",
    "write_partition",
    "write_table",
]
