"""Where things live in a flexsync store: every path is built here, and only here.

The store root is a local folder today; keeping every path template in this one module is what
lets it become a URL (fsspec) later without touching callers.

::

    STORE_ROOT/
      staging/<key>/<stream>.zarr          per-stream ingest output on the DEVICE clock
                                           (one Zarr v3 group each, written atomically)
      recordings/<key>.zarr                the published, aligned recording: built from staging by
                                           hard-linking chunk files plus new small arrays, swapped
                                           in atomically; its root attrs say status="complete"
      tables/<table>/<key>.parquet         one Parquet file per table and recording (replaced whole,
                                           so idempotent per partition); read all partitions with
                                           pl.scan_parquet("tables/<table>/*.parquet")
      reports/<key>/sync_report.png
      reports/<key>/sync_report.json

Names starting with ``.`` are work in progress (temporary directories and files of
:mod:`flexsync.storage.atomic`) or debris of a crashed writer: every listing here skips them,
and none of them ends in ``.zarr`` or ``.parquet``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from flexsync.raw.layout import RECORDING_KEY_PATTERN, check_recording_key

__all__ = [
    "RECORDINGS_DIR",
    "RECORDING_TEMPLATE",
    "REPORTS_DIR",
    "SLUG_PATTERN",
    "STAGING_DIR",
    "STAGING_STREAM_TEMPLATE",
    "SYNC_REPORT_JSON",
    "SYNC_REPORT_PNG",
    "TABLES_DIR",
    "TABLE_GLOB_TEMPLATE",
    "TABLE_PARTITION_TEMPLATE",
    "StoreLayout",
    "check_slug",
    "is_hidden",
    "list_recordings",
    "list_staged_streams",
    "list_table_partitions",
    "recording_path",
    "report_dir",
    "report_path",
    "staging_dir",
    "staging_stream_path",
    "table_dir",
    "table_glob",
    "table_partition_path",
]

STAGING_DIR = "staging"
RECORDINGS_DIR = "recordings"
TABLES_DIR = "tables"
REPORTS_DIR = "reports"

STAGING_STREAM_TEMPLATE = "staging/{key}/{stream}.zarr"
RECORDING_TEMPLATE = "recordings/{key}.zarr"
TABLE_PARTITION_TEMPLATE = "tables/{table}/{key}.parquet"
TABLE_GLOB_TEMPLATE = "tables/{table}/*.parquet"
SYNC_REPORT_PNG = "sync_report.png"
SYNC_REPORT_JSON = "sync_report.json"

_ZARR_SUFFIX = ".zarr"
_PARQUET_SUFFIX = ".parquet"

# Stream and table names become folder and file names: same rule as recording keys, lower risk.
SLUG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def check_slug(name: str, what: str) -> str:
    """Return ``name`` if it is safe as a stream or table name, else raise ValueError saying why."""
    if not isinstance(name, str) or not SLUG_PATTERN.match(name):
        raise ValueError(
            f"invalid {what} name {name!r}: use letters, digits, '_' and '-' only "
            "(at most 64 characters, not starting with '_' or '-')"
        )
    return name


def is_hidden(name: str) -> bool:
    """True for work-in-progress or crash debris names, which readers must ignore."""
    return name.startswith(".")


def staging_dir(store_root: Path | str, key: str) -> Path:
    """Folder holding the staged streams of recording ``key``."""
    return Path(store_root) / STAGING_DIR / check_recording_key(key)


def staging_stream_path(store_root: Path | str, key: str, stream: str) -> Path:
    """Zarr group of one stream of recording ``key``, on the device clock."""
    return Path(store_root) / STAGING_STREAM_TEMPLATE.format(
        key=check_recording_key(key), stream=check_slug(stream, "stream")
    )


def recording_path(store_root: Path | str, key: str) -> Path:
    """Zarr group of the published, aligned recording ``key``."""
    return Path(store_root) / RECORDING_TEMPLATE.format(key=check_recording_key(key))


def table_dir(store_root: Path | str, table: str) -> Path:
    """Folder holding every partition of ``table``."""
    return Path(store_root) / TABLES_DIR / check_slug(table, "table")


def table_partition_path(store_root: Path | str, table: str, key: str) -> Path:
    """Parquet file of ``table`` for recording ``key``."""
    return Path(store_root) / TABLE_PARTITION_TEMPLATE.format(
        table=check_slug(table, "table"), key=check_recording_key(key)
    )


def table_glob(store_root: Path | str, table: str) -> str:
    """Glob matching every partition of ``table`` (for ``pl.scan_parquet``)."""
    return str(Path(store_root) / TABLE_GLOB_TEMPLATE.format(table=check_slug(table, "table")))


def report_dir(store_root: Path | str, key: str) -> Path:
    """Folder of the sync report of recording ``key``."""
    return Path(store_root) / REPORTS_DIR / check_recording_key(key)


def report_path(store_root: Path | str, key: str, name: str) -> Path:
    """One report file, ``SYNC_REPORT_PNG`` or ``SYNC_REPORT_JSON``, of recording ``key``."""
    if name not in (SYNC_REPORT_PNG, SYNC_REPORT_JSON):
        raise ValueError(f"unknown report file {name!r}; expected {SYNC_REPORT_PNG!r} or {SYNC_REPORT_JSON!r}")
    return report_dir(store_root, key) / name


def _list_with_suffix(folder: Path, suffix: str, *, want_dir: bool) -> list[str]:
    if not folder.is_dir():
        return []
    names = []
    for child in folder.iterdir():
        if is_hidden(child.name) or not child.name.endswith(suffix):
            continue
        if child.is_dir() != want_dir:
            continue
        stem = child.name[: -len(suffix)]
        # Stream names are a subset of recording keys; anything else was not written by us.
        if RECORDING_KEY_PATTERN.match(stem):
            names.append(stem)
    return sorted(names)


def list_recordings(store_root: Path | str) -> list[str]:
    """Sorted keys of published recordings; temporaries and crash debris are ignored."""
    return _list_with_suffix(Path(store_root) / RECORDINGS_DIR, _ZARR_SUFFIX, want_dir=True)


def list_staged_streams(store_root: Path | str, key: str) -> list[str]:
    """Sorted names of the streams staged for recording ``key``."""
    return _list_with_suffix(staging_dir(store_root, key), _ZARR_SUFFIX, want_dir=True)


def list_table_partitions(store_root: Path | str, table: str) -> list[str]:
    """Sorted recording keys that have a partition of ``table``."""
    return _list_with_suffix(table_dir(store_root, table), _PARQUET_SUFFIX, want_dir=False)


@dataclass(frozen=True)
class StoreLayout:
    """One store root with every path of the layout as a method (what a Dagster resource hands out).

    Thin wrapper over the module functions: same templates, same validation of keys and names.
    """

    root: Path

    def __init__(self, root: Path | str) -> None:
        object.__setattr__(self, "root", Path(root))

    def staging_dir(self, key: str) -> Path:
        return staging_dir(self.root, key)

    def staging_stream(self, key: str, stream: str) -> Path:
        return staging_stream_path(self.root, key, stream)

    def recording(self, key: str) -> Path:
        return recording_path(self.root, key)

    def table_dir(self, table: str) -> Path:
        return table_dir(self.root, table)

    def table_partition(self, table: str, key: str) -> Path:
        return table_partition_path(self.root, table, key)

    def table_glob(self, table: str) -> str:
        return table_glob(self.root, table)

    def report_dir(self, key: str) -> Path:
        return report_dir(self.root, key)

    def report(self, key: str, name: str) -> Path:
        return report_path(self.root, key, name)

    def recordings(self) -> list[str]:
        """Keys of published recordings."""
        return list_recordings(self.root)

    def staged_streams(self, key: str) -> list[str]:
        return list_staged_streams(self.root, key)

    def table_partitions(self, table: str) -> list[str]:
        return list_table_partitions(self.root, table)
